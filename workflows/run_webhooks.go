package workflows

import (
	"fmt"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/rulelog"
)

// RunWebhooksInput names runs, each with a webhook of its own, registered
// together (one API request's): they share one workflow, and each is still
// one POST, a Deliver activity with its own retries and webhook-id.
type RunWebhooksInput struct {
	RunIDs []uuid.UUID
	// MaxWait is http.webhook_max_wait: a run not stored ended by then (its
	// write was lost) gets its webhook recorded failed. 0 means 24h.
	MaxWait     time.Duration
	Retry       RetrySettings
	HTTPTimeout time.Duration
}

// RunWebhooksResult counts how the runs' webhooks ended.
type RunWebhooksResult struct {
	Delivered   int
	Failed      int
	GaveUp      int `json:",omitempty"`
	AlreadyDone int `json:",omitempty"`
}

// RunWebhooks sends the run-completion webhooks of runs registered
// together. It looks which are stored ended, posts those, and looks again,
// backing off, for the rest, up to MaxWait; a RunEndedSignal (the API wrote
// one of them ended) makes it look at once. Runs written already ended are
// registered a moment before their write is visible, so the API starts it
// that much later (runhooks.EndedStartDelay). Each run gets one POST, whose
// webhook-id is run-webhook/<run id>/delivery, as from RunWebhook.
func RunWebhooks(ctx workflow.Context, in RunWebhooksInput) (RunWebhooksResult, error) {
	ctx = storageOptions(ctx)
	var a *activities.Activities
	var result RunWebhooksResult
	if in.MaxWait <= 0 {
		in.MaxWait = defaultMaxWait
	}
	deadline := workflow.Now(ctx).Add(in.MaxWait)
	ended := workflow.GetSignalChannel(ctx, RunEndedSignal)

	type sent struct {
		d DeliveryInput
		f workflow.Future
	}
	var deliveries []sent
	pending := in.RunIDs
	for delay := firstRunCheck; len(pending) > 0; delay = min(2*delay, maxRunCheck) {
		var state activities.RunWebhooksState
		if err := workflow.ExecuteActivity(ctx, a.CheckRunWebhooks, activities.RunRefs{RunIDs: pending}).Get(ctx, &state); err != nil {
			return result, err
		}
		result.AlreadyDone += len(state.Done)
		for _, id := range state.Ended {
			d := DeliveryInput{
				DeliveryID: RunWebhookDeliveryID(id), Batch: activities.Batch{RuleID: rulelog.RunWebhookRuleID(), RunIDs: []uuid.UUID{id}},
				Retry: in.Retry, HTTPTimeout: in.HTTPTimeout, RunWebhookOf: id,
			}
			deliveries = append(deliveries, sent{d, startDelivery(ctx, d)})
		}
		if pending = state.Waiting; len(pending) == 0 {
			break
		}
		left := deadline.Sub(workflow.Now(ctx))
		if left <= 0 {
			reason := fmt.Sprintf("run not stored ended within http.webhook_max_wait (%s); nothing sent", in.MaxWait)
			if err := workflow.ExecuteActivity(ctx, a.RecordOutcome, activities.OutcomeInput{
				DeliveryID: workflow.GetInfo(ctx).WorkflowExecution.ID, RuleID: rulelog.RunWebhookRuleID(),
				RunIDs: pending, Reason: reason, Expired: true,
			}).Get(ctx, nil); err != nil {
				return result, err
			}
			result.GaveUp = len(pending)
			break
		}
		if err := sleepUnlessEnded(ctx, ended, min(delay, left)); err != nil {
			return result, err
		}
	}

	for _, s := range deliveries {
		r, err := endDelivery(ctx, s.d, s.f)
		if err != nil {
			return result, err
		}
		if r.Delivered {
			result.Delivered++
		} else {
			result.Failed++
		}
	}
	return result, nil
}

// sleepUnlessEnded waits d, or less if a run-ended signal comes: then every
// signal already waiting is taken, as one look covers them all. Executions
// begun before the signal was listened for slept through it.
func sleepUnlessEnded(ctx workflow.Context, ended workflow.ReceiveChannel, d time.Duration) error {
	if workflow.GetVersion(ctx, "run-webhooks-ended-signal", workflow.DefaultVersion, 1) == workflow.DefaultVersion {
		return workflow.Sleep(ctx, d)
	}
	tctx, cancel := workflow.WithCancel(ctx)
	defer cancel()
	var err error
	sel := workflow.NewSelector(ctx)
	sel.AddFuture(workflow.NewTimer(tctx, d), func(f workflow.Future) { err = f.Get(ctx, nil) })
	sel.AddReceive(ended, func(c workflow.ReceiveChannel, _ bool) {
		c.Receive(ctx, nil)
		for c.ReceiveAsync(nil) {
		}
	})
	sel.Select(ctx)
	return err
}
