package workflows

import (
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
	DeliveryID string
	activities.Batch
	WebhookIndex uint16
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

// Delivery posts one batch and records the outcome for each of its runs. It
// is the one-child-workflow-per-POST shape that DeliverRuns and RunWebhook
// used before deliverActivitiesVersion; it stays registered so that those
// in flight at an upgrade finish.
func Delivery(ctx workflow.Context, in DeliveryInput) (DeliveryResult, error) {
	var a *activities.Activities
	var sent activities.DeliverResult
	err := workflow.ExecuteActivity(deliverOptions(ctx, in), a.Deliver, activities.DeliverInput{
		DeliveryID: in.DeliveryID, Batch: in.Batch, WebhookIndex: in.WebhookIndex, RunWebhookOf: in.RunWebhookOf,
	}).Get(ctx, &sent)

	result := DeliveryResult{Delivered: err == nil, Class: string(delivery.Delivered), StatusCode: sent.StatusCode, Runs: len(in.RunIDs)}
	reason := ""
	if err != nil {
		result.Class, reason = activities.Failure(err)
	}
	paused, err := recordOutcome(ctx, in, result.Delivered, reason)
	result.Paused = paused
	return result, err
}

// deliverActivitiesVersion marks workflows that run each POST as a Deliver
// activity of their own, which records its outcome, instead of a child
// Delivery workflow: a POST then costs one activity rather than a workflow
// execution, two activities and their history (issue 12).
const (
	deliverActivitiesChange  = "deliver-activities"
	deliverActivitiesVersion = 1
)

// startDelivery schedules one POST as a Deliver activity whose retry policy
// is the delivery rules; endDelivery waits for it.
func startDelivery(ctx workflow.Context, in DeliveryInput) workflow.Future {
	var a *activities.Activities
	return workflow.ExecuteActivity(deliverOptions(ctx, in), a.Deliver, activities.DeliverInput{
		DeliveryID: in.DeliveryID, Batch: in.Batch, WebhookIndex: in.WebhookIndex, RunWebhookOf: in.RunWebhookOf,
		Record: true,
	})
}

// endDelivery reads how a POST started by startDelivery ended. The attempt
// that ended it has recorded the outcome; only what no attempt could record
// (an activity timed out, or storage failed on its last attempt) is recorded
// here.
func endDelivery(ctx workflow.Context, in DeliveryInput, f workflow.Future) (DeliveryResult, error) {
	var sent activities.DeliverResult
	err := f.Get(ctx, &sent)
	result := DeliveryResult{Delivered: err == nil, Class: string(delivery.Delivered), StatusCode: sent.StatusCode, Runs: len(in.RunIDs)}
	if err == nil && sent.Recorded {
		return result, nil
	}
	reason := ""
	if err != nil {
		result.Class, reason = activities.Failure(err)
		if recorded, ok := activities.RecordedOutcome(err); ok {
			result.Paused = recorded.Paused
			return result, nil
		}
	}
	paused, err := recordOutcome(ctx, in, result.Delivered, reason)
	result.Paused = paused
	return result, err
}

func deliverOptions(ctx workflow.Context, in DeliveryInput) workflow.Context {
	return deliverOptionsWith(ctx, in, DeliveryRetryPolicy(in.Retry))
}

func deliverOptionsWith(ctx workflow.Context, in DeliveryInput, retry *temporal.RetryPolicy) workflow.Context {
	httpTimeout := in.HTTPTimeout
	if httpTimeout <= 0 {
		httpTimeout = 5 * time.Second
	}
	// Longer than the HTTP timeout, so a slow receiver ends as the
	// activity's own non-retryable timeout, never as a Temporal timeout
	// that Temporal would retry.
	return activityOptions(ctx, httpTimeout+30*time.Second, retry)
}

func recordOutcome(ctx workflow.Context, in DeliveryInput, delivered bool, reason string) (paused bool, err error) {
	var a *activities.Activities
	var recorded activities.OutcomeResult
	err = workflow.ExecuteActivity(storageOptions(ctx), a.RecordOutcome, activities.OutcomeInput{
		DeliveryID: in.DeliveryID, RuleID: in.RuleID, WebhookIndex: in.WebhookIndex,
		RunIDs: in.RunIDs, Delivered: delivered, Reason: reason,
	}).Get(ctx, &recorded)
	return recorded.Paused, err
}
