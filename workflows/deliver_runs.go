package workflows

import (
	"slices"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/activities"
)

// Batch is activities.Batch, so that those who start these workflows (the
// starter's redelivery) build their inputs without importing activities.
type Batch = activities.Batch

// DeliverRunsInput hands a rule's matched runs to delivery.
type DeliverRunsInput struct {
	activities.Batch
	RuleName string // shown as the memo of each Delivery in the Temporal UI
	// MaxRuns is the rule's max_runs_per_delivery; 0 uses the worker's delivery.max_runs_per_delivery.
	MaxRuns     int
	Retry       RetrySettings
	HTTPTimeout time.Duration
	// Webhooks limits delivery to these positions (a redelivery); empty means every webhook of the rule.
	Webhooks []uint16 `json:",omitempty"`
}

// DeliverRunsResult counts what happened; the per-run outcomes are in ClickHouse.
type DeliverRunsResult struct {
	Deliveries  int
	Delivered   int
	Failed      int
	RunsSkipped int
	Paused      bool
}

// DeliverRuns sends every batch of the runs to every webhook of the rule, one
// Deliver activity each, all at once. Each POST's delivery ID,
// <this workflow's ID>/b<batch>/w<webhook>, is the webhook-id receivers see,
// and shows as the activity's input in the Temporal UI.
func DeliverRuns(ctx workflow.Context, in DeliverRunsInput) (DeliverRunsResult, error) {
	ctx = activityOptions(ctx, time.Minute, storageRetry())
	var a *activities.Activities
	var result DeliverRunsResult

	var plan activities.Plan
	if err := workflow.ExecuteActivity(ctx, a.PlanDelivery, activities.PlanInput{
		Batch: in.Batch, MaxRuns: in.MaxRuns, Webhooks: in.Webhooks,
	}).Get(ctx, &plan); err != nil {
		return result, err
	}

	skip := func(runIDs []uuid.UUID, reason string) error {
		for _, w := range plan.Webhooks {
			if err := workflow.ExecuteActivity(ctx, a.RecordOutcome, activities.OutcomeInput{
				DeliveryID: workflow.GetInfo(ctx).WorkflowExecution.ID, RuleID: in.RuleID, WebhookIndex: w,
				RunIDs: runIDs, Skipped: true, Reason: reason,
			}).Get(ctx, nil); err != nil {
				return err
			}
		}
		result.RunsSkipped += len(runIDs)
		return nil
	}
	if plan.Paused {
		result.Paused = true
		return result, skip(in.RunIDs, plan.PauseReason)
	}
	if len(plan.Oversize) > 0 {
		if err := skip(plan.Oversize, "run exceeds delivery.max_body_bytes on its own"); err != nil {
			return result, err
		}
	}

	// Plans name paused or standard webhooks only for rules that have one, so
	// other histories are as they were before retry: standard.
	standard := false
	if len(plan.Standard) > 0 || len(plan.Gone) > 0 {
		standard = workflow.GetVersion(ctx, standardRetryChange, workflow.DefaultVersion, standardRetryVersion) >= standardRetryVersion
	}
	if standard {
		for _, g := range plan.Gone {
			if err := workflow.ExecuteActivity(ctx, a.RecordOutcome, activities.OutcomeInput{
				DeliveryID: workflow.GetInfo(ctx).WorkflowExecution.ID, RuleID: in.RuleID, WebhookIndex: g.Index,
				RunIDs: in.RunIDs, Skipped: true, Reason: g.Reason,
			}).Get(ctx, nil); err != nil {
				return result, err
			}
		}
	}

	id := workflow.GetInfo(ctx).WorkflowExecution.ID
	var deliveries []DeliveryInput
	for b, batch := range plan.Batches {
		for _, w := range plan.Webhooks {
			deliveries = append(deliveries, DeliveryInput{
				DeliveryID: BatchDeliveryID(id, b, w), WebhookIndex: w,
				Batch: activities.Batch{RuleID: in.RuleID, WindowStart: in.WindowStart, WindowEnd: in.WindowEnd, RunIDs: batch},
				Retry: in.Retry, HTTPTimeout: in.HTTPTimeout,
			})
		}
	}
	count := func(r DeliveryResult) {
		result.Deliveries++
		if r.Delivered {
			result.Delivered++
		} else {
			result.Failed++
		}
		result.Paused = result.Paused || r.Paused
	}

	if workflow.GetVersion(ctx, deliverActivitiesChange, workflow.DefaultVersion, deliverActivitiesVersion) == workflow.DefaultVersion {
		// Started before the change: a child Delivery workflow per POST.
		var children []workflow.ChildWorkflowFuture
		for _, d := range deliveries {
			childCtx := workflow.WithChildOptions(ctx, workflow.ChildWorkflowOptions{WorkflowID: d.DeliveryID, Memo: memo(in.RuleName)})
			children = append(children, workflow.ExecuteChildWorkflow(childCtx, Delivery, d))
		}
		for _, child := range children {
			var r DeliveryResult
			if err := child.Get(ctx, &r); err != nil {
				return result, err
			}
			count(r)
		}
		return result, nil
	}

	// Every POST at once, each a Deliver activity that retries by the
	// delivery rules and records its own outcome.
	futures := make([]workflow.Future, len(deliveries))
	for i, d := range deliveries {
		if standard && slices.Contains(plan.Standard, d.WebhookIndex) {
			futures[i] = goStandardDelivery(ctx, d, plan.Schedule)
			continue
		}
		futures[i] = startDelivery(ctx, d)
	}
	for i, d := range deliveries {
		if standard && slices.Contains(plan.Standard, d.WebhookIndex) {
			var r DeliveryResult
			if err := futures[i].Get(ctx, &r); err != nil {
				return result, err
			}
			count(r)
			continue
		}
		r, err := endDelivery(ctx, d, futures[i])
		if err != nil {
			return result, err
		}
		count(r)
	}
	return result, nil
}

// memo names the rule in the Temporal UI; none when the name is unknown.
func memo(rule string) map[string]any {
	if rule == "" {
		return nil
	}
	return map[string]any{"rule": rule}
}
