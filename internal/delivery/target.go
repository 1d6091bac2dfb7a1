package delivery

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/secrets"
	"github.com/runhook/runhook/internal/signing"
)

// Target is a webhook in the clear: only the delivery activity holds one.
type Target struct {
	URL     string
	Headers map[string]string
	// SigningSecrets are whsec_... secrets, at most signing.MaxSecrets; none
	// = unsigned. Two while a receiver rotates: each POST is signed with both.
	SigningSecrets []string
	// Format is the body's shape; the zero value is LangSmith's.
	Format payload.Format
	// Retry is the retry mode: RetryLangSmith (the zero value) or RetryStandard.
	Retry string
}

// The signing secrets are sealed as one value, space-separated (a whsec_
// secret has no space): one secret seals as it always has.
const secretsSep = " "

// Each sealed field is bound to its rule, position and role, so a value
// copied into another row does not open there.
func sealContext(rule uuid.UUID, idx uint16, field string) string {
	return fmt.Sprintf("webhook/%s/%d/%s", rule, idx, field)
}

// Seal checks a target against the URL policy and header rules and encrypts
// it for storage. Errors never contain the URL's secrets or header values.
func Seal(box *secrets.Box, policy URLPolicy, rule uuid.UUID, idx uint16, t Target, now time.Time) (clickhouse.Webhook, error) {
	if box == nil {
		return clickhouse.Webhook{}, fmt.Errorf("secrets.key is not set: webhook targets cannot be stored")
	}
	if err := policy.Check(t.URL); err != nil {
		return clickhouse.Webhook{}, err
	}
	if err := CheckHeaders(t.Headers); err != nil {
		return clickhouse.Webhook{}, err
	}
	if len(t.SigningSecrets) > signing.MaxSecrets {
		return clickhouse.Webhook{}, fmt.Errorf("%d signing secrets, at most %d", len(t.SigningSecrets), signing.MaxSecrets)
	}
	for _, secret := range t.SigningSecrets {
		if _, err := signing.ParseSecret(secret); err != nil {
			return clickhouse.Webhook{}, err
		}
	}
	if _, err := payload.ParseFormat(string(t.Format)); err != nil {
		return clickhouse.Webhook{}, err
	}
	if t.Retry != RetryLangSmith && t.Retry != RetryStandard {
		return clickhouse.Webhook{}, fmt.Errorf("retry must be langsmith or standard, got %q", t.Retry)
	}
	w := clickhouse.Webhook{RuleID: rule, Index: idx, URLRedacted: RedactURL(t.URL), KeyID: box.CurrentKeyID(), UpdatedAt: now,
		Format: string(t.Format), Retry: t.Retry}
	var err error
	if w.URLSealed, err = box.Seal([]byte(t.URL), sealContext(rule, idx, "url")); err != nil {
		return clickhouse.Webhook{}, err
	}
	if len(t.Headers) > 0 {
		raw, _ := json.Marshal(t.Headers)
		if w.HeadersSealed, err = box.Seal(raw, sealContext(rule, idx, "headers")); err != nil {
			return clickhouse.Webhook{}, err
		}
	}
	if len(t.SigningSecrets) > 0 {
		joined := strings.Join(t.SigningSecrets, secretsSep)
		if w.SigningSecretSealed, err = box.Seal([]byte(joined), sealContext(rule, idx, "signing_secret")); err != nil {
			return clickhouse.Webhook{}, err
		}
	}
	return w, nil
}

// Open decrypts a stored webhook.
func Open(box *secrets.Box, w clickhouse.Webhook) (Target, error) {
	if box == nil {
		return Target{}, fmt.Errorf("secrets.key is not set: webhook %s cannot be opened", w.URLRedacted)
	}
	url, err := box.Open(w.URLSealed, sealContext(w.RuleID, w.Index, "url"))
	if err != nil {
		return Target{}, fmt.Errorf("webhook %s url: %w", w.URLRedacted, err)
	}
	t := Target{URL: string(url), Format: payload.Format(w.Format), Retry: w.Retry}
	if w.HeadersSealed != "" {
		raw, err := box.Open(w.HeadersSealed, sealContext(w.RuleID, w.Index, "headers"))
		if err != nil {
			return Target{}, fmt.Errorf("webhook %s headers: %w", w.URLRedacted, err)
		}
		if err := json.Unmarshal(raw, &t.Headers); err != nil {
			return Target{}, fmt.Errorf("webhook %s headers: not a JSON object", w.URLRedacted)
		}
	}
	if w.SigningSecretSealed != "" {
		raw, err := box.Open(w.SigningSecretSealed, sealContext(w.RuleID, w.Index, "signing_secret"))
		if err != nil {
			return Target{}, fmt.Errorf("webhook %s signing secret: %w", w.URLRedacted, err)
		}
		t.SigningSecrets = strings.Fields(string(raw))
	}
	return t, nil
}
