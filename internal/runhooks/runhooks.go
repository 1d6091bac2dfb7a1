// Package runhooks holds run-completion webhooks (LangGraph's `webhook`
// parameter): a run created with a webhook URL gets exactly one POST of the
// completed run when it ends, through the same delivery workflow and activity
// as rule webhooks.
package runhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/google/uuid"
	enumspb "go.temporal.io/api/enums/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/sdk/client"
	"golang.org/x/sync/errgroup"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/secrets"
	"github.com/runhook/runhook/workflows"
)

// Request asks for a webhook when run RunID ends.
type Request struct {
	RunID uuid.UUID
	URL   string // as given; its query (token, secret) is kept and sealed
	// Ended: the run is being written already ended (an SDK that batched a
	// finished run). The runs of one Register share one RunWebhooks
	// workflow; when some are ended it starts EndedStartDelay late, by when
	// the runs are written, and those need no Completed signal.
	Ended bool
}

// EndedStartDelay is how long the workflow of a run written already ended
// waits before its first look: long enough for the run's insert (a group
// commit) to be stored, so the first look finds it ended. A slower insert is
// found at the next check.
const EndedStartDelay = 500 * time.Millisecond

// Registration says what became of one Request.
type Registration struct {
	RunID      uuid.UUID
	Registered bool
	// Reason says why it was not registered (e.g. http.disable_webhooks).
	Reason string
	// Delayed: the run was written already ended and its shared workflow
	// was started now, to look when it starts; Completed need not signal it.
	Delayed bool
}

// PolicyError is a webhook URL refused at creation (a 4xx for the API). Its
// message names the problem and never holds the URL's query values.
type PolicyError struct{ Msg string }

func (e *PolicyError) Error() string { return e.Msg }

// DisabledReason is the Reason of every Registration under http.disable_webhooks.
const DisabledReason = "webhook not registered: http.disable_webhooks"

// ErrNotConfigured is returned by a Hooks not built with New.
var ErrNotConfigured = errors.New("run-completion webhooks are not configured (runhooks.New)")

// Store is the part of ClickHouse the hooks use (*clickhouse.Store).
type Store interface {
	PutRunWebhooks(ctx context.Context, ws []clickhouse.RunWebhook) error
	RunWebhooks(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]clickhouse.RunWebhook, error)
}

// Options configure New.
type Options struct {
	Store    Store
	Temporal client.Client
	// TaskQueue is where the workers poll (temporal.task_queue).
	TaskQueue string
	// Secrets seals the URLs; nil (no secrets.key) makes Register fail,
	// unless webhooks are disabled.
	Secrets *secrets.Box
	// Policy is the delivery.* URL policy, applied at creation.
	Policy delivery.URLPolicy
	// Disabled is http.disable_webhooks: nothing is registered or stored.
	Disabled bool
	// Format is http.webhook_format, the shape of the bodies of the webhooks
	// registered: stored with each, so a later change of the setting leaves
	// the runs already registered as they were asked for.
	Format payload.Format
	// MaxWait is http.webhook_max_wait: how long a run may take to end.
	MaxWait time.Duration
	// Retry and HTTPTimeout are delivery.*, as for rule webhooks.
	Retry       workflows.RetrySettings
	HTTPTimeout time.Duration
	Logger      *slog.Logger
	// Now is the clock (tests); nil is time.Now.
	Now func() time.Time
}

// Hooks registers run-completion webhooks and tells their workflows when runs end.
type Hooks struct {
	o Options
}

// New builds the hooks.
func New(o Options) *Hooks {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Hooks{o: o}
}

func (h *Hooks) ready() error {
	if h == nil || h.o.Store == nil || (!h.o.Disabled && h.o.Temporal == nil) {
		return ErrNotConfigured
	}
	return nil
}

// Check validates a webhook URL at creation; the error is a *PolicyError
// ("webhook: http is not allowed (delivery.require_https)"). Under
// http.disable_webhooks every URL passes: it is not used.
func (h *Hooks) Check(rawURL string) error {
	if h != nil && h.o.Disabled {
		return nil
	}
	var policy delivery.URLPolicy
	if h != nil {
		policy = h.o.Policy
	}
	err := policy.Check(rawURL)
	if err == nil {
		return nil
	}
	var ue *delivery.URLError
	if errors.As(err, &ue) {
		return &PolicyError{Msg: "webhook: " + ue.Problem}
	}
	return &PolicyError{Msg: "webhook: URL refused"}
}

// Register stores each request's URL sealed and starts one webhook workflow
// for all the runs, before they are written: one Temporal call, whatever the
// number of runs. Under http.disable_webhooks it stores nothing and says so
// in each Registration. Registering the same runs again (a client retrying
// its create) starts nothing new: each run still gets one POST.
func (h *Hooks) Register(ctx context.Context, reqs []Request) ([]Registration, error) {
	if err := h.ready(); err != nil {
		return nil, err
	}
	out := make([]Registration, len(reqs))
	if h.o.Disabled {
		for i, r := range reqs {
			h.o.Logger.Info(DisabledReason, "run_id", r.RunID)
			out[i] = Registration{RunID: r.RunID, Reason: DisabledReason}
		}
		return out, nil
	}
	if h.o.Secrets == nil {
		return nil, fmt.Errorf("secrets.key is not set: run webhooks cannot be stored")
	}
	now := h.o.Now()
	var rows []clickhouse.RunWebhook
	ended := map[uuid.UUID]bool{}
	last := map[uuid.UUID]int{} // a run listed twice keeps its last URL
	for _, r := range reqs {
		if r.RunID == uuid.Nil {
			return nil, &PolicyError{Msg: "webhook: the run has no id"}
		}
		if err := h.Check(r.URL); err != nil {
			return nil, err
		}
		w, err := delivery.SealRunWebhook(h.o.Secrets, r.RunID, r.URL, now)
		if err != nil {
			return nil, fmt.Errorf("run %s: %w", r.RunID, err)
		}
		w.Format = string(h.o.Format)
		ended[r.RunID] = r.Ended
		if j, dup := last[r.RunID]; dup {
			rows[j] = w
		} else {
			last[r.RunID] = len(rows)
			rows = append(rows, w)
		}
	}
	if len(rows) == 0 {
		return out, nil
	}
	ids := make([]uuid.UUID, len(rows))
	anyEnded := false
	for i, w := range rows {
		ids[i] = w.RunID
		anyEnded = anyEnded || ended[w.RunID]
	}
	id := workflows.RunWebhooksID(ids)
	for i := range rows {
		rows[i].WorkflowID = id
	}
	// Stored before the workflow starts, so it always finds the URLs, and
	// Completed finds the workflow to signal.
	if err := h.o.Store.PutRunWebhooks(ctx, rows); err != nil {
		return nil, err
	}
	var delay time.Duration
	if anyEnded {
		delay = EndedStartDelay
	}
	_, err := h.o.Temporal.ExecuteWorkflow(ctx, h.startOptions(id, delay), workflows.RunWebhooks, workflows.RunWebhooksInput{
		RunIDs: ids, MaxWait: h.o.MaxWait, Retry: h.o.Retry, HTTPTimeout: h.o.HTTPTimeout,
	})
	started, err := h.started(err, id, fmt.Sprintf("%d runs", len(ids)))
	if err != nil {
		return nil, err
	}
	if started {
		h.o.Logger.Info("run webhooks registered", "runs", len(ids), "workflow_id", id)
	}
	for i, r := range reqs {
		out[i] = Registration{RunID: r.RunID, Registered: true, Delayed: started && anyEnded && ended[r.RunID]}
	}
	return out, nil
}

func (h *Hooks) startOptions(id string, delay time.Duration) client.StartWorkflowOptions {
	return client.StartWorkflowOptions{
		ID:                                       id,
		TaskQueue:                                h.o.TaskQueue,
		WorkflowIDReusePolicy:                    enumspb.WORKFLOW_ID_REUSE_POLICY_REJECT_DUPLICATE,
		WorkflowExecutionErrorWhenAlreadyStarted: true,
		StartDelay:                               delay,
	}
}

// started reads a start's error: already started is not one.
func (h *Hooks) started(err error, id, what string) (bool, error) {
	var already *serviceerror.WorkflowExecutionAlreadyStarted
	switch {
	case errors.As(err, &already):
		h.o.Logger.Info("run webhook already registered", "workflow_id", id)
		return false, nil
	case err != nil:
		return false, fmt.Errorf("start webhook workflow of %s: %w", what, err)
	}
	return true, nil
}

// Completed tells the webhook workflows of these runs (those that have one)
// that the runs were written ended: one signal per workflow, so the runs of
// one request cost one call. Runs registered Ended need not be listed: their
// workflow looks when it starts. A workflow that is already done, or gone,
// is fine: the workflow checks ClickHouse on its own too.
func (h *Hooks) Completed(ctx context.Context, runIDs []uuid.UUID) error {
	if err := h.ready(); err != nil {
		return err
	}
	if h.o.Disabled || len(runIDs) == 0 {
		return nil
	}
	hooked, err := h.o.Store.RunWebhooks(ctx, runIDs)
	if err != nil {
		return err
	}
	targets := map[string]bool{}
	for _, w := range hooked {
		id := w.WorkflowID
		if id == "" { // registered before workflows were shared
			id = workflows.RunWebhookID(w.RunID)
		}
		targets[id] = true
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(8)
	for id := range targets {
		g.Go(func() error {
			err := h.o.Temporal.SignalWorkflow(gctx, id, "", workflows.RunEndedSignal, nil)
			var notFound *serviceerror.NotFound
			if err != nil && !errors.As(err, &notFound) {
				return fmt.Errorf("signal webhook workflow %s: %w", id, err)
			}
			return nil
		})
	}
	return g.Wait()
}
