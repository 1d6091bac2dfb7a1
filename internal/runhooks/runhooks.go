// Package runhooks holds run-completion webhooks (LangGraph's `webhook`
// parameter): a run created with a webhook URL gets exactly one POST of the
// completed run when it ends, through the same delivery workflow and activity
// as rule webhooks.
package runhooks

import (
	"context"
	"errors"

	"github.com/google/uuid"
)

// Request asks for a webhook when run RunID ends.
type Request struct {
	RunID uuid.UUID
	URL   string // as given; its query (token, secret) is kept and sealed
}

// Registration says what became of one Request.
type Registration struct {
	RunID      uuid.UUID
	Registered bool
	// Reason says why it was not registered (e.g. http.disable_webhooks).
	Reason string
}

// PolicyError is a webhook URL refused at creation (a 4xx for the API). Its
// message names the problem and never holds the URL's query values.
type PolicyError struct{ Msg string }

func (e *PolicyError) Error() string { return e.Msg }

// Hooks registers run-completion webhooks and tells their workflows when runs end.
type Hooks struct{}

// ErrNotImplemented is returned until the package is filled in.
var ErrNotImplemented = errors.New("run-completion webhooks are not implemented yet")

// Check validates a webhook URL at creation; the error is a *PolicyError.
func (h *Hooks) Check(rawURL string) error { return ErrNotImplemented }

// Register stores each request's URL sealed and starts the run's webhook
// workflow, before the runs are written. Under http.disable_webhooks it
// stores nothing and says so in each Registration.
func (h *Hooks) Register(ctx context.Context, reqs []Request) ([]Registration, error) {
	return nil, ErrNotImplemented
}

// Completed tells the webhook workflows of these runs (those that have one)
// that the runs were written ended.
func (h *Hooks) Completed(ctx context.Context, runIDs []uuid.UUID) error { return ErrNotImplemented }
