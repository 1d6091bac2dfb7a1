package workflows

import (
	"fmt"
	"hash/fnv"
	"time"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/workflow"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/delivery"
)

// standardRetryVersion marks workflows that deliver to `retry: standard`
// webhooks on the Standard Webhooks schedule and skip webhooks a 410 paused.
// Only plans that name such webhooks reach the GetVersion, so the histories
// of rules without them are unchanged.
const (
	standardRetryChange  = "standard-retry"
	standardRetryVersion = 1
)

// standardRetryPolicy retries an attempt only for what is no answer from
// the receiver (storage trouble, a worker lost mid-attempt): every delivery
// class is final for Temporal, and the workflow's timers make the schedule.
func standardRetryPolicy() *temporal.RetryPolicy {
	return &temporal.RetryPolicy{
		InitialInterval:        time.Second,
		BackoffCoefficient:     2,
		MaximumAttempts:        MaxAttempts,
		NonRetryableErrorTypes: classNames(),
	}
}

func classNames() []string {
	names := make([]string, len(delivery.Classes))
	for i, c := range delivery.Classes {
		names[i] = string(c)
	}
	return names
}

// goStandardDelivery runs standardDelivery beside the workflow's other
// deliveries; the future holds its DeliveryResult.
func goStandardDelivery(ctx workflow.Context, in DeliveryInput, schedule []time.Duration) workflow.Future {
	f, set := workflow.NewFuture(ctx)
	workflow.Go(ctx, func(ctx workflow.Context) {
		r, err := standardDelivery(ctx, in, schedule)
		set.Set(r, err)
	})
	return f
}

// standardDelivery posts one batch to a `retry: standard` webhook: an
// attempt at once, then one after each delay of the schedule, on durable
// timers, while the attempts fail in a way worth retrying. It records the
// outcome once, when the delivery ends.
func standardDelivery(ctx workflow.Context, in DeliveryInput, schedule []time.Duration) (DeliveryResult, error) {
	var a *activities.Activities
	ctx = deliverOptionsWith(ctx, in, standardRetryPolicy())
	since := workflow.Now(ctx)
	result := DeliveryResult{Runs: len(in.RunIDs)}
	reason := ""
	for n := 1; ; n++ {
		var sent activities.DeliverResult
		err := workflow.ExecuteActivity(ctx, a.Deliver, activities.DeliverInput{
			DeliveryID: in.DeliveryID, Batch: in.Batch, WebhookIndex: in.WebhookIndex, RunWebhookOf: in.RunWebhookOf,
			Standard: true, Attempt: int32(n), Since: since,
		}).Get(ctx, &sent)
		if err == nil {
			result.Delivered, result.Class, result.StatusCode = true, string(delivery.Delivered), sent.StatusCode
			break
		}
		result.Class, reason = activities.Failure(err)
		answer := activities.Answer(err)
		if !answer.Retry || n > len(schedule) {
			if answer.Retry {
				reason = fmt.Sprintf("%s (after %d attempts, retry: standard)", reason, n)
			}
			break
		}
		if err := workflow.Sleep(ctx, standardWait(schedule[n-1], answer.RetryAfter, in.DeliveryID, n)); err != nil {
			return result, err
		}
	}
	paused, err := recordOutcome(ctx, in, result.Delivered, reason)
	result.Paused = paused
	return result, err
}

// standardWait is the wait before attempt n+1: the schedule's step with up
// to 10% jitter either way, so that deliveries that failed together do not
// retry together, or the receiver's Retry-After when that is longer (it is
// capped at delivery.MaxRetryAfter when read). The jitter is a hash of the
// delivery and attempt, so replays wait the same.
func standardWait(step, retryAfter time.Duration, deliveryID string, n int) time.Duration {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", deliveryID, n)
	frac := float64(h.Sum64()%2001)/1000 - 1 // -1 .. 1
	wait := step + time.Duration(frac*float64(step)/10)
	return max(wait, retryAfter)
}
