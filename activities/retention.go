package activities

import (
	"context"
	"time"

	"github.com/runhook/runhook/internal/retention"
)

// RetentionInput is ApplyRetention's argument.
type RetentionInput struct {
	// Now is the time retention is measured back from: the workflow's, so a
	// retried attempt plans what the first one did.
	Now time.Time
}

// RetentionResult counts what one application dropped: counts only, so the
// workflow's history holds no table contents.
type RetentionResult struct {
	Tables     int
	Partitions int
}

// ApplyRetention drops the partitions older than config retention.* allows
// (internal/retention). Partitions dropped before a failure stay dropped; the
// error makes the attempt retry, and the retry plans again from what is left.
func (a *Activities) ApplyRetention(ctx context.Context, in RetentionInput) (RetentionResult, error) {
	res, err := retention.Apply(ctx, a.Store, a.Retention, in.Now, false)
	for _, p := range res.Dropped {
		a.log().Info("retention dropped a partition", "table", p.Table, "partition", p.ID)
	}
	return RetentionResult{Tables: res.Tables(), Partitions: len(res.Dropped)}, err
}
