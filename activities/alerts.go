package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"

	"github.com/runhook/runhook/internal/alerts"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/ruleops"
)

// Alerts are raised here, from RecordOutcome, where each event is already
// known (the delivery failed finally, the rule paused, the run webhook gave
// up), by starting an Alert workflow with the Temporal client: the workflows
// that trigger them change by no command, and each alert has its own retries
// under a workflow ID derived from the event, so a retried RecordOutcome
// raises nothing twice.

// alertExpired raises run_webhook.expired for each run whose webhook gave up.
func (a *Activities) alertExpired(ctx context.Context, in OutcomeInput, at time.Time) {
	if a.Alerts == nil || !in.Expired {
		return
	}
	for _, id := range in.RunIDs {
		a.Alerts.Raise(ctx, alerts.RunWebhookExpiredEvent(id, in.DeliveryID, in.Reason, at))
	}
}

// alertFailed raises delivery.failed for a rule's delivery recorded failed.
func (a *Activities) alertFailed(ctx context.Context, in OutcomeInput, at time.Time) {
	if a.Alerts == nil {
		return
	}
	ev := alerts.DeliveryFailedEvent(in.RuleID, in.WebhookIndex, in.DeliveryID, len(in.RunIDs), in.Reason, at)
	ev.RuleName = a.ruleName(ctx, in)
	a.Alerts.Raise(ctx, ev)
}

// alertPaused raises rule.paused when this failure paused the rule; a rule
// paused before it has Failures 0.
func (a *Activities) alertPaused(ctx context.Context, in OutcomeInput, streak ruleops.Streak, at time.Time) {
	if a.Alerts == nil || !streak.Paused || streak.Failures == 0 {
		return
	}
	reason := streak.Reason
	if reason == "" {
		reason = in.Reason
	}
	ev := alerts.RulePausedEvent(in.RuleID, in.DeliveryID, streak.Failures, reason, at)
	ev.RuleName = a.ruleName(ctx, in)
	a.Alerts.Raise(ctx, ev)
}

// ruleName is for the alert's reader; an alert goes without it rather than
// wait for storage.
func (a *Activities) ruleName(ctx context.Context, in OutcomeInput) string {
	r, found, err := a.Store.Rule(ctx, in.RuleID)
	if err != nil || !found {
		return ""
	}
	return r.Name
}

// SendAlert makes one attempt to post an alert to alerts.url, through the
// webhooks' sender. Like Deliver's, its error's type is the delivery.Class,
// so the Alert workflow's retry policy retries it as a delivery.
func (a *Activities) SendAlert(ctx context.Context, ev alerts.Event) error {
	log := a.log().With("alert", ev.Type, "alert_id", ev.ID)
	if a.AlertTarget == nil {
		log.Warn("alert dropped: alerts.url is no longer set")
		return nil
	}
	log = log.With("url", a.AlertTarget.URL())
	res := a.AlertTarget.Post(ctx, ev)
	if res.Class == delivery.Delivered {
		log.Info("alert delivered", "status", res.StatusCode, "duration", res.Duration)
		return nil
	}
	log.Warn("alert attempt failed", "attempt", activity.GetInfo(ctx).Attempt, "class", res.Class, "status", res.StatusCode,
		"error", res.Err, "duration", res.Duration)
	if lastAttempt(ctx, res.Class) {
		log.Error("alert not delivered: no attempt left")
		a.Metrics.AlertFailed(string(ev.Type))
	}
	return failure(res, nil)
}
