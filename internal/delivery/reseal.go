package delivery

import (
	"fmt"
	"time"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/secrets"
)

// A re-sealed row is the next version of the stored one, a microsecond
// newer (the stores' resolution): newer than what it replaces, and older
// than anything `rules apply` or a retried run create writes meanwhile, which
// is sealed under the current key anyway and must keep winning.
const resealStep = time.Microsecond

// Reseal re-seals a stored webhook's URL, headers and signing secrets under
// the current key, each in its own context. changed is false, and w is
// returned as it is, when every field is already under the current key.
// Errors name the webhook by its redacted URL only.
func Reseal(box *secrets.Box, w clickhouse.Webhook) (out clickhouse.Webhook, changed bool, err error) {
	out = w
	fields := []struct {
		sealed *string
		field  string
	}{{&out.URLSealed, "url"}, {&out.HeadersSealed, "headers"}, {&out.SigningSecretSealed, "signing_secret"}}
	for _, f := range fields {
		if *f.sealed == "" {
			continue
		}
		v, c, err := box.Reseal(*f.sealed, sealContext(w.RuleID, w.Index, f.field))
		if err != nil {
			return w, false, fmt.Errorf("rule %s webhook %d (%s) %s: %w", w.RuleID, w.Index, w.URLRedacted, f.field, err)
		}
		*f.sealed, changed = v, changed || c
	}
	if !changed {
		return w, false, nil
	}
	out.KeyID, out.UpdatedAt = box.CurrentKeyID(), w.UpdatedAt.Add(resealStep)
	return out, true, nil
}

// ResealRunWebhook re-seals a run webhook's URL under the current key, bound
// to the same run; changed is false when it already is.
func ResealRunWebhook(box *secrets.Box, w clickhouse.RunWebhook) (out clickhouse.RunWebhook, changed bool, err error) {
	out = w
	out.URLSealed, changed, err = box.Reseal(w.URLSealed, runWebhookContext(w.RunID))
	if err != nil {
		return w, false, fmt.Errorf("run %s webhook (%s): %w", w.RunID, w.URLRedacted, err)
	}
	if !changed {
		return w, false, nil
	}
	out.KeyID, out.CreatedAt = box.CurrentKeyID(), w.CreatedAt.Add(resealStep)
	return out, true, nil
}
