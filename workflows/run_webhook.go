package workflows

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/rulelog"
)

// RunEndedSignal tells a run's webhook workflow that the run was written
// with an end_time. It is a hint to look now: the workflow believes only
// what ClickHouse says.
const RunEndedSignal = "run-ended"

// RunWebhookInput names the run whose completion is posted to the webhook it
// was created with; the URL stays sealed in ClickHouse.
type RunWebhookInput struct {
	RunID uuid.UUID
	// MaxWait is http.webhook_max_wait: a run that has not ended by then gets
	// its webhook recorded failed and nothing is sent. 0 means 24h.
	MaxWait time.Duration
	// Retry and HTTPTimeout come from config (delivery.*), as for rule webhooks.
	Retry       RetrySettings
	HTTPTimeout time.Duration
	// Set by the workflow when it continues as new.
	Deadline time.Time     `json:",omitzero"`
	Delay    time.Duration `json:",omitzero"`
}

// RunWebhookResult says how a run's webhook ended.
type RunWebhookResult struct {
	Delivered  bool
	Class      string `json:",omitempty"`
	StatusCode int    `json:",omitempty"`
	// GaveUp: the run did not end within MaxWait; nothing was sent.
	GaveUp bool `json:",omitempty"`
	// AlreadyDone: the run's webhook had an outcome before this workflow
	// (an earlier one for the same run): nothing was sent again.
	AlreadyDone bool `json:",omitempty"`
}

// Checks for the run's end back off from firstRunCheck to maxRunCheck; the
// signal makes the common case (the API saw the run end) immediate.
const (
	firstRunCheck  = time.Second
	maxRunCheck    = 5 * time.Minute
	defaultMaxWait = 24 * time.Hour
)

// RunWebhook waits for a run to end, then sends it once to the webhook it was
// created with, through the same Deliver activity and retry rules as rule
// webhooks. It is started before the run is written, so it finds the
// run ended even if the API dies between writing and signalling.
func RunWebhook(ctx workflow.Context, in RunWebhookInput) (RunWebhookResult, error) {
	ctx = storageOptions(ctx)
	var a *activities.Activities
	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	if in.MaxWait <= 0 {
		in.MaxWait = defaultMaxWait
	}
	if in.Deadline.IsZero() {
		in.Deadline = workflow.Now(ctx).Add(in.MaxWait)
	}
	delay := max(in.Delay, firstRunCheck)
	ended := workflow.GetSignalChannel(ctx, RunEndedSignal)

	for {
		var state activities.RunWebhookState
		if err := workflow.ExecuteActivity(ctx, a.CheckRunWebhook, activities.RunRef{RunID: in.RunID}).Get(ctx, &state); err != nil {
			return RunWebhookResult{}, err
		}
		if state.Done {
			return RunWebhookResult{AlreadyDone: true, Class: state.Outcome}, nil
		}
		if state.Ended {
			break
		}
		left := in.Deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			reason := fmt.Sprintf("run did not end within http.webhook_max_wait (%s); nothing sent", in.MaxWait)
			if err := workflow.ExecuteActivity(ctx, a.RecordOutcome, activities.OutcomeInput{
				DeliveryID: id, RuleID: rulelog.RunWebhookRuleID(), RunIDs: []uuid.UUID{in.RunID}, Reason: reason,
				Expired: true,
			}).Get(ctx, nil); err != nil {
				return RunWebhookResult{}, err
			}
			return RunWebhookResult{GaveUp: true}, nil
		}
		if workflow.GetInfo(ctx).GetCurrentHistoryLength() > historyBudget {
			in.Delay = delay
			return RunWebhookResult{}, workflow.NewContinueAsNewError(ctx, RunWebhook, in)
		}
		if waitForEnd(ctx, ended, min(delay, left)) {
			continue // signalled: look again at once
		}
		delay = min(2*delay, maxRunCheck)
	}

	d := DeliveryInput{
		DeliveryID: RunWebhookDeliveryID(in.RunID), Batch: activities.Batch{RuleID: rulelog.RunWebhookRuleID(), RunIDs: []uuid.UUID{in.RunID}},
		Retry: in.Retry, HTTPTimeout: in.HTTPTimeout, RunWebhookOf: in.RunID,
	}
	var res DeliveryResult
	var err error
	if workflow.GetVersion(ctx, deliverActivitiesChange, workflow.DefaultVersion, deliverActivitiesVersion) == workflow.DefaultVersion {
		// Started before the change: a child Delivery workflow under the delivery ID.
		err = workflow.ExecuteChildWorkflow(workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: d.DeliveryID}),
			Delivery, d).Get(ctx, &res)
	} else {
		res, err = endDelivery(ctx, d, startDelivery(ctx, d))
	}
	if err != nil {
		return RunWebhookResult{}, err
	}
	return RunWebhookResult{Delivered: res.Delivered, Class: res.Class, StatusCode: res.StatusCode}, nil
}

// waitForEnd sleeps for d or until the run-ended signal, and says whether
// the signal came. Repeated signals (a client re-sending the end) are taken
// together, and the timer of a signalled wait is cancelled.
func waitForEnd(ctx workflow.Context, ended workflow.ReceiveChannel, d time.Duration) bool {
	timerCtx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	signalled := false
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(timerCtx, d), func(workflow.Future) {})
	sel.AddReceive(ended, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		signalled = true
	})
	sel.Select(ctx)
	for signalled && ended.ReceiveAsync(nil) {
	}
	return signalled
}
