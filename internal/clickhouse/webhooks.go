package clickhouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// Webhook is one version of the webhook at position Index of a rule. The
// sealed fields are opaque here: internal/secrets seals and opens them.
type Webhook struct {
	RuleID              uuid.UUID
	Index               uint16
	URLSealed           string
	URLRedacted         string
	HeadersSealed       string // "" = no headers
	SigningSecretSealed string // "" = unsigned
	KeyID               string
	// UpdatedAt orders versions: the greatest wins, so every change must advance it.
	UpdatedAt time.Time
	// Deleted, in the winning version, removes the position.
	Deleted bool
	// Format is the body's shape (payload.Format): "" is LangSmith's.
	Format string
	// Retry is the retry mode (delivery.RetryStandard): "" is LangSmith's rules.
	Retry string
}

const webhookColumns = `rule_id, idx, url_sealed, url_redacted, headers_sealed, signing_secret_sealed, key_id, updated_at, deleted, format, retry`

// insertWebhooksSQL names its columns, as 18.16 batches need.
const insertWebhooksSQL = `INSERT INTO webhooks (` + webhookColumns + `)`

// webhooksSQL reads a rule's current webhooks by the sort key (rule_id, idx).
// The deleted filter sits outside the LIMIT BY: filtering first would bring
// back the version a deletion superseded.
const webhooksSQL = `SELECT ` + webhookColumns + `
FROM
(
    SELECT ` + webhookColumns + `
    FROM webhooks
    WHERE rule_id = ?
    ORDER BY idx, updated_at DESC, deleted DESC
    LIMIT 1 BY idx
)
WHERE deleted = 0
ORDER BY idx`

// webhookSQL reads the newest version of one position, deleted or not (the
// caller treats a deletion as absent). On a tie in updated_at the deletion
// wins, as in webhooksSQL, so the two never disagree.
const webhookSQL = `SELECT ` + webhookColumns + `
FROM webhooks
WHERE rule_id = ? AND idx = ?
ORDER BY updated_at DESC, deleted DESC
LIMIT 1`

// PutWebhooks writes new versions of webhooks; set Deleted to remove one.
func (s *Store) PutWebhooks(ctx context.Context, ws []Webhook) error {
	err := s.insertRows(ctx, insertWebhooksSQL, len(ws), func(i int) ([]any, error) {
		w := ws[i]
		updated, err := micros("updated_at", w.UpdatedAt)
		if err != nil {
			return nil, fmt.Errorf("webhook %s/%d: %w", w.RuleID, w.Index, err)
		}
		return []any{w.RuleID, w.Index, w.URLSealed, w.URLRedacted, w.HeadersSealed,
			w.SigningSecretSealed, w.KeyID, updated, boolByte(w.Deleted), w.Format, w.Retry}, nil
	})
	if err != nil {
		return fmt.Errorf("put webhooks: %w", err)
	}
	return nil
}

func scanWebhook(r rowScanner) (Webhook, error) {
	var (
		w       Webhook
		updated uint64
		deleted uint8
	)
	if err := r.Scan(&w.RuleID, &w.Index, &w.URLSealed, &w.URLRedacted, &w.HeadersSealed,
		&w.SigningSecretSealed, &w.KeyID, &updated, &deleted, &w.Format, &w.Retry); err != nil {
		return Webhook{}, err
	}
	w.UpdatedAt, w.Deleted = runs.FromMicros(updated), deleted == 1
	return w, nil
}

// Webhooks reads a rule's current webhooks, by position.
func (s *Store) Webhooks(ctx context.Context, ruleID uuid.UUID) ([]Webhook, error) {
	return scanAll(ctx, s, "read webhooks", webhooksSQL, []any{ruleID}, func(rows driver.Rows, w *Webhook) error {
		var err error
		*w, err = scanWebhook(rows)
		return err
	})
}

// Webhook reads the current webhook at position idx of a rule; false when
// there is none or it was deleted.
func (s *Store) Webhook(ctx context.Context, ruleID uuid.UUID, idx uint16) (Webhook, bool, error) {
	w, err := scanWebhook(s.conn.QueryRow(ctx, webhookSQL, ruleID, idx))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Webhook{}, false, nil
	case err != nil:
		return Webhook{}, false, fmt.Errorf("read webhook %s/%d: %w", ruleID, idx, err)
	case w.Deleted:
		return Webhook{}, false, nil
	}
	return w, true, nil
}

// WebhookPause is a webhook paused because its receiver answered 410 Gone.
type WebhookPause struct {
	RuleID uuid.UUID
	Index  uint16
	At     time.Time
	Reason string // redacted
}

const webhookPauseColumns = `rule_id, idx, at, reason`

// insertWebhookPausesSQL names its columns, as 18.16 batches need.
const insertWebhookPausesSQL = `INSERT INTO webhook_pauses (` + webhookPauseColumns + `)`

// webhookPausesSQL reads the newest pause of each webhook of a rule, by the
// sort key (rule_id, idx, at).
const webhookPausesSQL = `SELECT ` + webhookPauseColumns + `
FROM webhook_pauses
WHERE rule_id = ?
ORDER BY idx, at DESC
LIMIT 1 BY idx`

// PauseWebhook records that a webhook is paused.
func (s *Store) PauseWebhook(ctx context.Context, p WebhookPause) error {
	err := s.insertRows(ctx, insertWebhookPausesSQL, 1, func(int) ([]any, error) {
		at, err := micros("at", p.At)
		if err != nil {
			return nil, err
		}
		return []any{p.RuleID, p.Index, at, p.Reason}, nil
	})
	if err != nil {
		return fmt.Errorf("pause webhook %s/%d: %w", p.RuleID, p.Index, err)
	}
	return nil
}

// WebhookPauses reads the newest pause of each of a rule's webhooks that was
// ever paused; whether it still holds is the caller's to judge (against the
// webhook's UpdatedAt and the rule's resumptions).
func (s *Store) WebhookPauses(ctx context.Context, ruleID uuid.UUID) ([]WebhookPause, error) {
	return scanAll(ctx, s, "read webhook pauses", webhookPausesSQL, []any{ruleID}, func(rows driver.Rows, p *WebhookPause) error {
		var at uint64
		if err := rows.Scan(&p.RuleID, &p.Index, &at, &p.Reason); err != nil {
			return err
		}
		p.At = runs.FromMicros(at)
		return nil
	})
}
