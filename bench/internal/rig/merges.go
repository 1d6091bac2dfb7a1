package rig

import (
	"context"
	"time"

	"github.com/runhook/runhook/internal/clickhouse"
)

// WaitMerges waits (a few minutes at most) until no merge runs in the
// store's database, so that queries measure the tables as they settle, not
// mid-merge.
func WaitMerges(ctx context.Context, store *clickhouse.Store) {
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		var merging uint64
		if err := store.QueryRow(ctx, `SELECT count() FROM system.merges WHERE database = currentDatabase()`).Scan(&merging); err != nil || merging == 0 {
			return
		}
		time.Sleep(2 * time.Second)
	}
}
