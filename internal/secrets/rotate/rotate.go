// Package rotate re-seals every stored sealed value (the URLs, headers and
// signing secrets of rules' webhooks, and run-completion webhook URLs) under
// the current secrets key, so that a retired key can be dropped. It is what
// `starter secrets rotate` runs.
package rotate

import (
	"context"
	"fmt"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/secrets"
)

// Store is what a rotation reads and writes back. Writes are new versions
// of rows: the newest version wins on read, so nothing is mutated in place.
type Store interface {
	LiveWebhooks(ctx context.Context) ([]clickhouse.Webhook, error)
	PutWebhooks(ctx context.Context, ws []clickhouse.Webhook) error
	RunWebhooksAfter(ctx context.Context, after uuid.UUID, limit int) ([]clickhouse.RunWebhook, error)
	PutRunWebhooks(ctx context.Context, ws []clickhouse.RunWebhook) error
}

// Count is how many rows of one table were re-sealed, were already under
// the current key, or did not open with any configured key.
type Count struct {
	Resealed, Current, Failed int
}

// Result counts each table. Failures names the rows that did not open
// (their ids and redacted URLs, never a value), up to maxFailures.
type Result struct {
	Webhooks, RunWebhooks Count
	Failures              []string
}

const maxFailures = 20

// DefaultPage is how many run webhooks are read and written back at once.
const DefaultPage = 5000

// Rotator re-seals with Box, whose current key is the one values end under.
type Rotator struct {
	Store Store
	Box   *secrets.Box
	// Page is the run webhooks read and written per step; DefaultPage when 0.
	Page int
}

// Run re-seals every stored value not yet under the current key. Rows that
// do not open are counted and named in the result, and the rest are still
// re-sealed; the caller decides whether that is a failure. Running it again
// re-seals nothing.
func (r Rotator) Run(ctx context.Context) (Result, error) {
	if r.Box == nil {
		return Result{}, fmt.Errorf("secrets.key is not set: there is no key to re-seal under")
	}
	var res Result
	hooks, err := r.Store.LiveWebhooks(ctx)
	if err != nil {
		return res, err
	}
	var out []clickhouse.Webhook
	for _, w := range hooks {
		nw, changed, err := delivery.Reseal(r.Box, w)
		switch {
		case err != nil:
			res.fail(&res.Webhooks, err)
		case changed:
			out = append(out, nw)
		default:
			res.Webhooks.Current++
		}
	}
	if len(out) > 0 {
		if err := r.Store.PutWebhooks(ctx, out); err != nil {
			return res, err
		}
		res.Webhooks.Resealed = len(out)
	}

	page := r.Page
	if page <= 0 {
		page = DefaultPage
	}
	for after := uuid.Nil; ; {
		ws, err := r.Store.RunWebhooksAfter(ctx, after, page)
		if err != nil {
			return res, err
		}
		if len(ws) == 0 {
			return res, nil
		}
		after = ws[len(ws)-1].RunID
		var out []clickhouse.RunWebhook
		for _, w := range ws {
			nw, changed, err := delivery.ResealRunWebhook(r.Box, w)
			switch {
			case err != nil:
				res.fail(&res.RunWebhooks, err)
			case changed:
				out = append(out, nw)
			default:
				res.RunWebhooks.Current++
			}
		}
		if len(out) > 0 {
			if err := r.Store.PutRunWebhooks(ctx, out); err != nil {
				return res, err
			}
			res.RunWebhooks.Resealed += len(out)
		}
	}
}

// fail counts a row that does not open. delivery's errors name the row by
// ids and redacted URL and secrets' errors never carry the value.
func (res *Result) fail(c *Count, err error) {
	c.Failed++
	if len(res.Failures) < maxFailures {
		res.Failures = append(res.Failures, err.Error())
	}
}
