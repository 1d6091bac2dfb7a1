package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/payload"
)

// planStore is what PlanDelivery reads: the rule's webhooks and pause, and
// the runs' sizes.
type planStore interface {
	webhookLister
	pauseReader
	webhookPauseReader
	payload.Sizer
}

type webhookPauseReader interface {
	WebhookPauses(ctx context.Context, ruleID uuid.UUID) ([]clickhouse.WebhookPause, error)
}

type webhookLister interface {
	Webhooks(ctx context.Context, ruleID uuid.UUID) ([]clickhouse.Webhook, error)
}

type pauseReader interface {
	LatestPause(ctx context.Context, ruleID uuid.UUID) (clickhouse.Pause, bool, error)
}

// PlanInput asks how to deliver a set of matched runs of one rule.
type PlanInput struct {
	Batch
	// MaxRuns is the rule's max_runs_per_delivery; 0 uses delivery.max_runs_per_delivery.
	MaxRuns int
	// Webhooks limits the plan to these positions (a redelivery); empty means all.
	Webhooks []uint16
}

// Plan is the deliveries to make: every batch goes to every webhook.
type Plan struct {
	Webhooks []uint16
	Batches  [][]uuid.UUID
	// Oversize runs exceed delivery.max_body_bytes even alone; they are not sent.
	Oversize []uuid.UUID
	// Paused is set when the rule is paused; then nothing is sent.
	Paused      bool
	PauseReason string
	// Standard lists the planned webhooks that set `retry: standard`, and
	// Schedule their delays (delivery.standard_schedule). Both are absent
	// when no webhook sets it, so those plans read as they always have.
	Standard []uint16        `json:",omitempty"`
	Schedule []time.Duration `json:",omitempty"`
	// Gone lists webhooks paused after a 410; they are skipped, not sent.
	Gone []GoneWebhook `json:",omitempty"`
}

// GoneWebhook is a webhook paused because its receiver answered 410 Gone.
type GoneWebhook struct {
	Index  uint16
	Reason string
}

// PlanDelivery splits the runs into batches under the run and body limits and
// lists the rule's webhooks.
func (a *Activities) PlanDelivery(ctx context.Context, in PlanInput) (Plan, error) {
	hooks, err := a.Store.Webhooks(ctx, in.RuleID)
	if err != nil {
		return Plan{}, err
	}
	var plan Plan
	oneRun, standard := false, false
	for _, w := range hooks {
		if len(in.Webhooks) == 0 || slices.Contains(in.Webhooks, w.Index) {
			plan.Webhooks = append(plan.Webhooks, w.Index)
			oneRun = oneRun || payload.Format(w.Format) == payload.FormatLangGraph
			standard = standard || w.Retry == delivery.RetryStandard
		}
	}
	pause, paused, err := a.Store.LatestPause(ctx, in.RuleID)
	if err != nil {
		return Plan{}, err
	} else if paused && pause.Paused {
		plan.Paused, plan.PauseReason = true, "rule paused: "+pause.Reason
		return plan, nil
	}
	if standard {
		// Only rules with a standard webhook read the webhook pauses: a
		// 410 pauses only those.
		resumed := time.Time{}
		if paused {
			resumed = pause.At // the rule's latest row is a resumption
		}
		if err := a.planStandard(ctx, &plan, in.RuleID, hooks, resumed); err != nil {
			return Plan{}, err
		}
	}
	if len(plan.Webhooks) == 0 || len(in.RunIDs) == 0 {
		return plan, nil
	}
	maxRuns := in.MaxRuns
	if maxRuns <= 0 {
		maxRuns = a.MaxRunsPerDelivery
	}
	if oneRun {
		// LangGraph's shape is one run per POST, and every webhook gets the
		// same batches.
		maxRuns = 1
	}
	// From the sizes stored beside the runs, offloaded as Deliver sends them:
	// the runs' documents are read once, by the attempt that sends them.
	batches, err := payload.Plan(ctx, a.Store, a.Offload, in.RuleID, in.WindowStart, in.WindowEnd, in.RunIDs, maxRuns, a.MaxBodyBytes)
	var oversize *payload.OversizeError
	switch {
	case errors.As(err, &oversize):
		big := map[uuid.UUID]bool{}
		for _, id := range oversize.IDs {
			big[id] = true
		}
		for _, b := range batches {
			if len(b) == 1 && big[b[0]] {
				continue
			}
			plan.Batches = append(plan.Batches, b)
		}
		plan.Oversize = oversize.IDs
	case err != nil:
		return Plan{}, fmt.Errorf("plan: %w", err)
	default:
		plan.Batches = batches
	}
	return plan, nil
}

// planStandard moves the webhooks a 410 paused from Webhooks to Gone, and
// names the standard ones and their schedule. A pause holds until the
// webhook is written again (its rule re-applied with a change) or the rule
// is resumed after it.
func (a *Activities) planStandard(ctx context.Context, plan *Plan, ruleID uuid.UUID, hooks []clickhouse.Webhook, resumed time.Time) error {
	pauses, err := a.Store.WebhookPauses(ctx, ruleID)
	if err != nil {
		return err
	}
	planned := plan.Webhooks
	plan.Webhooks = nil
	for _, w := range hooks {
		if !slices.Contains(planned, w.Index) {
			continue
		}
		i := slices.IndexFunc(pauses, func(p clickhouse.WebhookPause) bool { return p.Index == w.Index })
		if i >= 0 && pauses[i].At.After(w.UpdatedAt) && pauses[i].At.After(resumed) {
			plan.Gone = append(plan.Gone, GoneWebhook{Index: w.Index, Reason: pauses[i].Reason})
			continue
		}
		plan.Webhooks = append(plan.Webhooks, w.Index)
		if w.Retry == delivery.RetryStandard {
			plan.Standard = append(plan.Standard, w.Index)
		}
	}
	if len(plan.Standard) > 0 {
		plan.Schedule = a.StandardSchedule
		if len(plan.Schedule) == 0 {
			plan.Schedule = delivery.StandardSchedule
		}
	}
	return nil
}
