package delivery

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/secrets"
)

// runWebhookContext binds a sealed run webhook URL to its run, so a value
// copied to another run's row does not open there.
func runWebhookContext(runID uuid.UUID) string {
	return fmt.Sprintf("run-webhook/%s/url", runID)
}

// SealRunWebhook encrypts the webhook URL a run was created with for
// storage. The caller has checked it against the URL policy. Errors never
// contain the URL.
func SealRunWebhook(box *secrets.Box, runID uuid.UUID, rawURL string, now time.Time) (clickhouse.RunWebhook, error) {
	if box == nil {
		return clickhouse.RunWebhook{}, fmt.Errorf("secrets.key is not set: run webhooks cannot be stored")
	}
	sealed, err := box.Seal([]byte(rawURL), runWebhookContext(runID))
	if err != nil {
		return clickhouse.RunWebhook{}, err
	}
	return clickhouse.RunWebhook{RunID: runID, URLSealed: sealed, URLRedacted: RedactURL(rawURL),
		KeyID: box.CurrentKeyID(), CreatedAt: now}, nil
}

// OpenRunWebhook decrypts a stored run webhook URL.
func OpenRunWebhook(box *secrets.Box, w clickhouse.RunWebhook) (string, error) {
	if box == nil {
		return "", fmt.Errorf("secrets.key is not set: webhook %s cannot be opened", w.URLRedacted)
	}
	url, err := box.Open(w.URLSealed, runWebhookContext(w.RunID))
	if err != nil {
		return "", fmt.Errorf("webhook %s url: %w", w.URLRedacted, err)
	}
	return string(url), nil
}
