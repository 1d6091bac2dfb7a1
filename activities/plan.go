package activities

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/payload"
)

// planStore is what PlanDelivery reads: the rule's webhooks and pause, and
// the runs' sizes.
type planStore interface {
	webhookLister
	pauseReader
	payload.Sizer
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
}

// PlanDelivery splits the runs into batches under the run and body limits and
// lists the rule's webhooks.
func (a *Activities) PlanDelivery(ctx context.Context, in PlanInput) (Plan, error) {
	hooks, err := a.Store.Webhooks(ctx, in.RuleID)
	if err != nil {
		return Plan{}, err
	}
	var plan Plan
	oneRun := false
	for _, w := range hooks {
		if len(in.Webhooks) == 0 || slices.Contains(in.Webhooks, w.Index) {
			plan.Webhooks = append(plan.Webhooks, w.Index)
			oneRun = oneRun || payload.Format(w.Format) == payload.FormatLangGraph
		}
	}
	if pause, ok, err := a.Store.LatestPause(ctx, in.RuleID); err != nil {
		return Plan{}, err
	} else if ok && pause.Paused {
		plan.Paused, plan.PauseReason = true, "rule paused: "+pause.Reason
		return plan, nil
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
