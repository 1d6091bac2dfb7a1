package workflows

import (
	"errors"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/delivery"
)

// DeliveryInput names one delivery: one POST of one batch of runs of one rule
// to one webhook. It carries IDs only; the activity loads the runs.
type DeliveryInput struct {
	// DeliveryID is the webhook-id receivers deduplicate on; stable across retries.
	DeliveryID   string
	RuleID       uuid.UUID
	WebhookIndex uint16
	WindowStart  time.Time
	WindowEnd    time.Time
	RunIDs       []uuid.UUID
	// Retry and HTTPTimeout come from config (delivery.*); zero values mean the defaults.
	Retry       RetrySettings
	HTTPTimeout time.Duration
	// RunWebhookOf, when set, makes this the run-completion webhook of that
	// run (RunWebhook): RuleID is the nil UUID and RunIDs just the run.
	RunWebhookOf uuid.UUID `json:",omitzero"`
}

// RetrySettings shape the backoff between attempts.
type RetrySettings struct {
	InitialInterval    time.Duration
	BackoffCoefficient float64
}

// DeliveryResult says how the delivery ended.
type DeliveryResult struct {
	Delivered  bool
	Class      string // the last attempt's class
	StatusCode int
	Runs       int
	// Paused is true when this failure paused the rule (delivery.pause_after_failures).
	Paused bool
}

// MaxAttempts is LangSmith's rule: the first attempt and up to 2 retries.
const MaxAttempts = 3

// DeliveryRetryPolicy is LangSmith's delivery rules as a Temporal retry
// policy: connect failures and 5xx are retried with exponential backoff, up to
// 3 attempts; timeouts, 4xx, redirects and refused targets are final.
func DeliveryRetryPolicy(r RetrySettings) *temporal.RetryPolicy {
	if r.InitialInterval <= 0 {
		r.InitialInterval = time.Second
	}
	if r.BackoffCoefficient < 1 {
		r.BackoffCoefficient = 2
	}
	return &temporal.RetryPolicy{
		InitialInterval:        r.InitialInterval,
		BackoffCoefficient:     r.BackoffCoefficient,
		MaximumAttempts:        MaxAttempts,
		NonRetryableErrorTypes: delivery.NonRetryable,
	}
}

// Delivery posts one batch and records the outcome for each of its runs.
func Delivery(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
	httpTimeout := in.HTTPTimeout
	if httpTimeout <= 0 {
		httpTimeout = 5 * time.Second
	}
	deliverCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		// Longer than the HTTP timeout, so a slow receiver ends as the
		// activity's own non-retryable timeout, never as a Temporal timeout
		// that Temporal would retry.
		StartToCloseTimeout: httpTimeout + 30*time.Second,
		RetryPolicy:         DeliveryRetryPolicy(in.Retry),
	})
	recordCtx := workflow.WithActivityOptions(ctx, workflow.ActivityOptions{
		StartToCloseTimeout: 30 * time.Second,
		RetryPolicy:         &temporal.RetryPolicy{InitialInterval: time.Second, MaximumInterval: time.Minute},
	})

	var a *activities.Activities
	var sent activities.DeliverResult
	err := workflow.ExecuteActivity(deliverCtx, a.Deliver, activities.DeliverInput{
		DeliveryID: in.DeliveryID, RuleID: in.RuleID, WebhookIndex: in.WebhookIndex,
		WindowStart: in.WindowStart, WindowEnd: in.WindowEnd, RunIDs: in.RunIDs, RunWebhookOf: in.RunWebhookOf,
	}).Get(ctx, &sent)

	result := DeliveryResult{Delivered: err == nil, Class: string(delivery.Delivered), StatusCode: sent.StatusCode, Runs: len(in.RunIDs)}
	reason := ""
	if err != nil {
		result.Class, reason = failure(err)
	}

	var recorded activities.OutcomeResult
	if err := workflow.ExecuteActivity(recordCtx, a.RecordOutcome, activities.OutcomeInput{
		DeliveryID: in.DeliveryID, RuleID: in.RuleID, WebhookIndex: in.WebhookIndex,
		RunIDs: in.RunIDs, Delivered: result.Delivered, Reason: reason,
	}).Get(ctx, &recorded); err != nil {
		return result, err
	}
	result.Paused = recorded.Paused
	return result, nil
}

// failure reads the class and the (already redacted) reason of the last attempt.
func failure(err error) (class, reason string) {
	var appErr *temporal.ApplicationError
	if errors.As(err, &appErr) {
		return appErr.Type(), appErr.Error()
	}
	var timeoutErr *temporal.TimeoutError
	if errors.As(err, &timeoutErr) {
		return string(delivery.Timeout), "activity timed out"
	}
	return "error", err.Error()
}
