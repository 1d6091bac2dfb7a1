package clickhouse

import (
	"context"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// The reads of a key rotation: the newest version of every stored sealed
// row, which `starter secrets rotate` re-seals and writes back as a newer
// version (PutWebhooks, PutRunWebhooks). Older versions are never read, so
// they are left for the merges.

// liveWebhooksSQL reads the current webhooks of every rule. As in
// webhooksSQL, the deleted filter sits outside the LIMIT BY. The table holds
// a few rows per rule, so it is read whole.
const liveWebhooksSQL = `SELECT ` + webhookColumns + `
FROM
(
    SELECT ` + webhookColumns + `
    FROM webhooks
    ORDER BY rule_id, idx, updated_at DESC, deleted DESC
    LIMIT 1 BY rule_id, idx
)
WHERE deleted = 0
ORDER BY rule_id, idx`

// runWebhooksAfterSQL reads the newest webhook of each run after a run id,
// a page at a time along the sort key (there is one row per run ever
// created with a webhook).
const runWebhooksAfterSQL = `SELECT ` + runWebhookColumns + `
FROM run_webhooks
WHERE run_id > toUUID(?)
ORDER BY run_id, created_at DESC
LIMIT 1 BY run_id
LIMIT ?`

// LiveWebhooks reads the current webhook of every position of every rule.
func (s *Store) LiveWebhooks(ctx context.Context) ([]Webhook, error) {
	return scanAll(ctx, s, "read all webhooks", liveWebhooksSQL, nil, func(rows driver.Rows, w *Webhook) error {
		var err error
		*w, err = scanWebhook(rows)
		return err
	})
}

// RunWebhooksAfter reads the current webhooks of up to limit runs whose id
// sorts after after (uuid.Nil: from the start), in sort order: pass the last
// one's RunID to read the next page.
func (s *Store) RunWebhooksAfter(ctx context.Context, after uuid.UUID, limit int) ([]RunWebhook, error) {
	return scanAll(ctx, s, "read run webhooks", runWebhooksAfterSQL, []any{after.String(), uint64(limit)}, func(rows driver.Rows, w *RunWebhook) error {
		var created uint64
		if err := rows.Scan(&w.RunID, &w.URLSealed, &w.URLRedacted, &w.KeyID, &created, &w.WorkflowID, &w.Format); err != nil {
			return err
		}
		w.CreatedAt = runs.FromMicros(created)
		return nil
	})
}
