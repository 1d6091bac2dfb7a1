package activities

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/activity"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/ruleops"
	"github.com/runhook/runhook/internal/runs"
)

// deliverStore is what Deliver and RecordOutcome read and write.
type deliverStore interface {
	webhookReader
	runWebhookReader
	payload.Source
	attemptLog
	outcomeWriter
	pauseReader
	failureStreak
	webhookPauser
}

// webhookPauser pauses a `retry: standard` webhook whose receiver answered 410.
type webhookPauser interface {
	PauseWebhook(ctx context.Context, p clickhouse.WebhookPause) error
}

// attemptLog holds every attempt of every delivery.
type attemptLog interface {
	RecordAttempt(ctx context.Context, a clickhouse.Attempt) error
	AttemptsSince(ctx context.Context, ruleID uuid.UUID, since time.Time, deliveryID string) ([]clickhouse.Attempt, error)
}

type runWebhookReader interface {
	RunWebhook(ctx context.Context, runID uuid.UUID) (clickhouse.RunWebhook, bool, error)
}

type outcomeWriter interface {
	RecordOutcomes(ctx context.Context, outcomes []clickhouse.Outcome) error
}

// failureStreak pauses a rule after delivery.pause_after_failures failed
// deliveries in a row.
type failureStreak interface {
	ConsecutiveFailedDeliveries(ctx context.Context, ruleID uuid.UUID, since time.Time, atMost int) (int, error)
	RecordPause(ctx context.Context, p clickhouse.Pause) error
}

// DeliverInput names one POST; it carries IDs, never run bodies or secrets.
type DeliverInput struct {
	DeliveryID string
	Batch
	WebhookIndex uint16
	// RunWebhookOf, when set, makes this the run-completion webhook of that
	// run: the URL is the one the run was created with, the body is the run
	// itself, RuleID is rulelog.RunWebhookRuleID() and RunIDs is just the run.
	RunWebhookOf uuid.UUID `json:",omitzero"`
	// Record makes the attempt that ends the delivery (delivered, or failed
	// with no retry left) write its outcome, so the workflow needs no
	// RecordOutcome of its own. Delivery workflows started before this
	// record the outcome themselves and leave it false.
	Record bool `json:",omitempty"`
	// Standard marks one attempt of a `retry: standard` webhook, number
	// Attempt of its schedule: the workflow, not Temporal's retry policy,
	// decides on the next, from the StandardAnswer a failure carries.
	Standard bool  `json:",omitempty"`
	Attempt  int32 `json:",omitempty"`
	// Since is when a standard delivery's first attempt was scheduled: its
	// later attempts look back that far for one that delivered.
	Since time.Time `json:",omitzero"`
}

// DeliverResult is what a delivered POST came to.
type DeliverResult struct {
	StatusCode int
	Bytes      int
	// Recorded: the outcome is stored (Record was set).
	Recorded bool `json:",omitempty"`
}

// Deliver makes one attempt. Its error's type is the delivery.Class, which the
// workflow's retry policy reads to retry or stop; its message is redacted.
func (a *Activities) Deliver(ctx context.Context, in DeliverInput) (DeliverResult, error) {
	tries := activity.GetInfo(ctx).Attempt
	attempt := tries
	if in.Standard && in.Attempt > 0 {
		attempt = in.Attempt
	}
	log := a.log().With("delivery_id", in.DeliveryID, "attempt", attempt, "workflow_id", activity.GetInfo(ctx).WorkflowExecution.ID)
	if in.RunWebhookOf != uuid.Nil {
		log = log.With("run_id", in.RunWebhookOf)
	} else {
		log = log.With("rule_id", in.RuleID, "webhook", in.WebhookIndex)
	}
	started := time.Now()
	// Storage trouble (ClickHouse restarting) is ridden out inside the
	// attempt, so that it does not spend one of the receiver's attempts.
	beforePost := started.Add(storageBudget)

	if tries > 1 || in.Standard && attempt > 1 {
		// A worker that died after the POST but before reporting it leaves a
		// delivered attempt on record; sending again would deliver twice.
		// Attempts started before this activity was first scheduled belong to
		// other deliveries, so the read is a range of the sort key.
		since := activity.GetInfo(ctx).ScheduledTime.Add(-attemptClockSkew)
		if in.Standard && !in.Since.IsZero() {
			since = in.Since.Add(-attemptClockSkew)
		}
		var prev []clickhouse.Attempt
		if err := retryStorage(ctx, beforePost, func() (err error) {
			prev, err = a.Store.AttemptsSince(ctx, in.RuleID, since, in.DeliveryID)
			return err
		}); err != nil {
			return DeliverResult{}, err
		} else if i := slices.IndexFunc(prev, func(p clickhouse.Attempt) bool { return p.Class == string(delivery.Delivered) }); i >= 0 {
			log.Info("webhook already delivered by an earlier attempt", "attempt_delivered", prev[i].Attempt)
			res := DeliverResult{StatusCode: int(prev[i].StatusCode)}
			return a.delivered(ctx, in, res)
		}
	}
	var (
		target   delivery.Target
		redacted string
		refused  *delivery.Result
	)
	if err := retryStorage(ctx, beforePost, func() (err error) {
		target, redacted, refused, err = a.openTarget(ctx, in)
		return err
	}); err != nil {
		return DeliverResult{}, err // storage trouble: retried by the policy
	}
	var keys [][]byte
	if refused == nil {
		keys, refused = target.Check(a.Policy)
	}
	if refused == nil && target.Format == payload.FormatLangGraph && in.RunWebhookOf == uuid.Nil && len(in.RunIDs) != 1 {
		// Planned before the webhook's format changed: its body cannot be one run.
		refused = &delivery.Result{Class: delivery.Invalid,
			Err: fmt.Sprintf("format langgraph posts one run per request; this delivery has %d", len(in.RunIDs))}
	}
	if refused != nil {
		refused.Duration = time.Since(started)
		a.recordAttempt(ctx, log, in, redacted, attempt, started, *refused)
		return DeliverResult{}, a.failed(ctx, in, *refused)
	}

	var body []byte
	if err := retryStorage(ctx, beforePost, func() (err error) {
		body, err = a.body(ctx, in, target.Format)
		return err
	}); err != nil {
		return DeliverResult{}, err
	}
	res := a.Sender.Send(ctx, delivery.Request{
		URL: target.URL, Headers: target.Headers, Body: body, MessageID: in.DeliveryID, SigningKeys: keys,
	})
	a.recordAttempt(ctx, log, in, redacted, attempt, started, res)
	if res.Class != delivery.Delivered {
		return DeliverResult{}, a.failed(ctx, in, res)
	}
	log.Info("webhook delivered", "url", redacted, "status", res.StatusCode, "runs", len(in.RunIDs), "bytes", len(body),
		"duration", res.Duration)
	return a.delivered(ctx, in, DeliverResult{StatusCode: res.StatusCode, Bytes: len(body)})
}

// storageBudget is how long one attempt retries its storage reads before
// the POST. Workflows give each attempt 30 s beyond the HTTP timeout
// (workflows/delivery.go), which this stays inside; a restart of ClickHouse
// takes seconds.
const storageBudget = 20 * time.Second

// retryStorage calls fn until it succeeds, the context ends, or the next
// try would start after until, with backoff from 250 ms to 2 s; it returns
// fn's last error.
func retryStorage(ctx context.Context, until time.Time, fn func() error) error {
	for wait := 250 * time.Millisecond; ; wait = min(2*wait, 2*time.Second) {
		err := fn()
		if err == nil || ctx.Err() != nil || time.Now().Add(wait).After(until) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
	}
}

// afterPost is when storage writes after the POST stop retrying: shortly
// before the attempt's deadline, so that its failure is reported, not cut.
func afterPost(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d.Add(-2 * time.Second)
	}
	return time.Now().Add(storageBudget)
}

// attemptClockSkew allows for the worker's clock running ahead of the
// server's, which stamps ScheduledTime.
const attemptClockSkew = time.Minute

// delivered records a delivered outcome when the input asks for it. If that
// write fails the activity fails and is retried, and the retry finds the
// delivered attempt instead of sending again.
func (a *Activities) delivered(ctx context.Context, in DeliverInput, res DeliverResult) (DeliverResult, error) {
	if !in.Record {
		return res, nil
	}
	if err := retryStorage(ctx, afterPost(ctx), func() error {
		_, err := a.RecordOutcome(ctx, in.outcome(true, ""))
		return err
	}); err != nil {
		return DeliverResult{}, err
	}
	res.Recorded = true
	return res, nil
}

// failed is the error for a failed attempt; when no retry follows it and the
// input asks for it, the outcome is recorded first and the error carries
// the OutcomeResult, so the workflow knows it need not record it.
func (a *Activities) failed(ctx context.Context, in DeliverInput, res delivery.Result) error {
	if in.Standard {
		return a.standardFailed(ctx, in, res)
	}
	err := failure(res, nil)
	if !in.Record || !lastAttempt(ctx, res.Class) {
		return err
	}
	var recorded OutcomeResult
	rerr := retryStorage(ctx, afterPost(ctx), func() (rerr error) {
		recorded, rerr = a.RecordOutcome(ctx, in.outcome(false, err.Error()))
		return rerr
	})
	if rerr != nil {
		// Unrecorded: the workflow records the failure from this error.
		a.log().Error("record outcome", "delivery_id", in.DeliveryID, "error", rerr)
		return err
	}
	recorded.Recorded = true
	return failure(res, &recorded)
}

// lastAttempt says whether Temporal will not retry an attempt that failed
// with class c.
func lastAttempt(ctx context.Context, c delivery.Class) bool {
	if !c.Retryable() {
		return true
	}
	info := activity.GetInfo(ctx)
	return info.RetryPolicy != nil && info.RetryPolicy.MaximumAttempts > 0 && info.Attempt >= info.RetryPolicy.MaximumAttempts
}

func (in DeliverInput) outcome(delivered bool, reason string) OutcomeInput {
	return OutcomeInput{DeliveryID: in.DeliveryID, RuleID: in.RuleID, WebhookIndex: in.WebhookIndex,
		RunIDs: in.RunIDs, Delivered: delivered, Reason: reason}
}

// openTarget loads and opens the delivery's webhook: the rule's webhook at
// its position, or the URL a run was created with. A webhook that is gone or
// does not open is a final attempt (refused), not an error to retry.
func (a *Activities) openTarget(ctx context.Context, in DeliverInput) (t delivery.Target, redacted string, refused *delivery.Result, err error) {
	if in.RunWebhookOf != uuid.Nil {
		if a.RunWebhooksDisabled {
			return t, "", &delivery.Result{Class: delivery.Refused, Err: "run webhooks are disabled (http.disable_webhooks)"}, nil
		}
		w, found, err := a.Store.RunWebhook(ctx, in.RunWebhookOf)
		if err != nil || !found {
			return t, "", &delivery.Result{Class: delivery.Invalid, Err: fmt.Sprintf("run %s has no webhook", in.RunWebhookOf)}, err
		}
		url, err := delivery.OpenRunWebhook(a.Secrets, w)
		if err != nil {
			return t, w.URLRedacted, &delivery.Result{Class: delivery.Invalid, Err: err.Error()}, nil
		}
		// Run webhooks have a URL only: no custom headers, no signing secret.
		return delivery.Target{URL: url, Format: payload.Format(w.Format)}, w.URLRedacted, nil, nil
	}
	w, found, err := a.webhook(ctx, in.RuleID, in.WebhookIndex)
	if err != nil || !found {
		return t, "", &delivery.Result{Class: delivery.Invalid, Err: fmt.Sprintf("rule %s has no webhook %d", in.RuleID, in.WebhookIndex)}, err
	}
	if t, err = delivery.Open(a.Secrets, w); err != nil {
		return t, w.URLRedacted, &delivery.Result{Class: delivery.Invalid, Err: err.Error()}, nil
	}
	return t, w.URLRedacted, nil, nil
}

// body is what is POSTed: the rule payload of the runs, or for a run webhook
// the run alone in the same shape (LangGraph sends "the format of a Run");
// in LangGraph's format, the one run in LangGraph's Run shape. Large inputs
// and outputs go by presigned URL either way.
func (a *Activities) body(ctx context.Context, in DeliverInput, format payload.Format) ([]byte, error) {
	ruleID, start, end, ids := in.RuleID, in.WindowStart, in.WindowEnd, in.RunIDs
	if in.RunWebhookOf != uuid.Nil {
		ruleID, start, end, ids = rulelog.RunWebhookRuleID(), time.Time{}, time.Time{}, []uuid.UUID{in.RunWebhookOf}
	}
	p, err := payload.Build(ctx, a.Store, ruleID, start, end, ids)
	if err != nil {
		return nil, fmt.Errorf("build payload: %w", err)
	}
	// Large inputs and outputs are offloaded in place before the body is
	// taken from p.
	var v any
	switch {
	case format == payload.FormatLangGraph:
		v, err = a.Offload.LangGraph(p.Runs[0], time.Now())
	case in.RunWebhookOf != uuid.Nil:
		if err = a.Offload.Run(&p.Runs[0]); err == nil {
			v = p.Runs[0]
		}
	default:
		if err = a.Offload.Apply(&p); err == nil {
			v = p
		}
	}
	if err != nil {
		return nil, err
	}
	body, err := runs.MarshalJSON(v)
	if err != nil {
		return nil, fmt.Errorf("encode payload: %w", err)
	}
	return body, nil
}

func (a *Activities) recordAttempt(ctx context.Context, log *slog.Logger, in DeliverInput, redacted string, attempt int32, started time.Time, res delivery.Result) {
	if a.Metrics != nil {
		a.Metrics.Attempt(string(res.Class), res.Duration)
	}
	if res.Class != delivery.Delivered {
		log.Warn("webhook attempt failed", "url", redacted, "class", res.Class, "status", res.StatusCode, "error", res.Err,
			"duration", res.Duration)
	}
	// Retried: a delivered attempt on record is what keeps a retry of this
	// activity from sending again.
	err := retryStorage(ctx, afterPost(ctx), func() error {
		return a.Store.RecordAttempt(ctx, clickhouse.Attempt{
			DeliveryID: in.DeliveryID, RuleID: in.RuleID, WebhookIndex: in.WebhookIndex, URLRedacted: redacted,
			Attempt: uint32(attempt), StartedAt: started, Duration: res.Duration, Class: string(res.Class),
			StatusCode: uint16(res.StatusCode), Error: res.Err,
		})
	})
	if err != nil {
		// The attempt itself happened; losing its record must not make Temporal send it again.
		log.Error("record attempt", "error", err)
	}
}

// OutcomeInput is the end of one delivery, for each of its runs.
type OutcomeInput struct {
	DeliveryID   string
	RuleID       uuid.UUID
	WebhookIndex uint16
	RunIDs       []uuid.UUID
	Delivered    bool
	// Skipped records the runs as skipped (not sent) rather than failed.
	Skipped bool
	Reason  string // redacted
	// Expired: run webhooks that gave up waiting for their runs to end
	// (http.webhook_max_wait), which raises run_webhook.expired.
	Expired bool `json:",omitempty"`
}

// OutcomeResult says whether the rule is now paused for failing too often.
type OutcomeResult struct {
	Paused              bool
	ConsecutiveFailures int
	// Recorded is set on the details of a failed Deliver that stored its
	// outcome itself.
	Recorded bool `json:",omitempty"`
}

// RecordOutcome stores delivered/failed for every run of the delivery and
// pauses the rule after delivery.pause_after_failures failed deliveries in a row.
func (a *Activities) RecordOutcome(ctx context.Context, in OutcomeInput) (OutcomeResult, error) {
	outcome, reason := rulelog.Delivered, ""
	switch {
	case in.Skipped:
		outcome, reason = rulelog.Skipped, in.Reason
	case !in.Delivered:
		outcome, reason = rulelog.Failed, in.Reason
	}
	now := time.Now()
	rows := make([]clickhouse.Outcome, len(in.RunIDs))
	for i, id := range in.RunIDs {
		rows[i] = clickhouse.Outcome{RuleID: in.RuleID, RunID: id, WebhookIndex: in.WebhookIndex,
			DeliveryID: in.DeliveryID, Outcome: outcome, Reason: reason, At: now}
	}
	if err := a.Store.RecordOutcomes(ctx, rows); err != nil {
		return OutcomeResult{}, err
	}
	if a.Metrics != nil {
		a.Metrics.Delivery(outcome)
	}
	// A run webhook has no rule to pause.
	if in.Delivered || in.Skipped || in.RuleID == rulelog.RunWebhookRuleID() {
		a.alertExpired(ctx, in, now)
		return OutcomeResult{}, nil
	}
	a.alertFailed(ctx, in, now)
	log := a.log().With("rule_id", in.RuleID, "delivery_id", in.DeliveryID)
	if activity.IsActivity(ctx) {
		log = log.With("workflow_id", activity.GetInfo(ctx).WorkflowExecution.ID)
	}
	pauser := ruleops.AutoPause{After: a.PauseAfterFailures, Store: a.Store, Schedules: a.Schedules, Logger: log}
	streak, err := pauser.Failed(ctx, in.RuleID, in.Reason, now)
	if err == nil {
		a.alertPaused(ctx, in, streak, now)
	}
	return OutcomeResult{Paused: streak.Paused, ConsecutiveFailures: streak.Failures}, err
}

func (a *Activities) log() *slog.Logger {
	if a.Logger != nil {
		return a.Logger
	}
	return slog.Default()
}

// standardFailed is the error for a failed attempt of a `retry: standard`
// webhook: final for Temporal, with the StandardAnswer for the workflow. A
// 410 pauses the webhook first, so that later deliveries skip it.
func (a *Activities) standardFailed(ctx context.Context, in DeliverInput, res delivery.Result) error {
	answer := StandardAnswer{Retry: delivery.StandardRetryable(res), RetryAfter: res.RetryAfter}
	if delivery.Gone(res.StatusCode) && in.RunWebhookOf == uuid.Nil {
		reason := fmt.Sprintf("webhook %d paused: its receiver answered 410 Gone (retry: standard); "+
			"re-apply the rule with the webhook changed, or resume the rule, to send to it again", in.WebhookIndex)
		err := retryStorage(ctx, afterPost(ctx), func() error {
			return a.Store.PauseWebhook(ctx, clickhouse.WebhookPause{RuleID: in.RuleID, Index: in.WebhookIndex, At: time.Now(), Reason: reason})
		})
		if err != nil {
			// Unrecorded, the next delivery tries the webhook again and meets the 410 again.
			a.log().Error("pause webhook", "delivery_id", in.DeliveryID, "error", err)
		} else {
			answer.Gone = true
			res.Err += "; " + reason
		}
	}
	return standardFailure(res, answer)
}
