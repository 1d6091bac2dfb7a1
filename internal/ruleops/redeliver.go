package ruleops

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/rules"
)

// FailedRuns reads the runs whose last delivery to a webhook of the rule
// failed, by webhook, at most limit (run, webhook) pairs.
type FailedRuns interface {
	Failed(ctx context.Context, ruleID uuid.UUID, limit int) (map[uint16][]uuid.UUID, error)
}

// Redelivery is the failed runs of one webhook of a rule, sent again by one
// delivery workflow.
type Redelivery struct {
	RuleID             uuid.UUID
	RuleName           string
	Webhook            uint16
	RunIDs             []uuid.UUID
	MaxRunsPerDelivery int // the rule's max_runs_per_delivery
	// At is the time of the redelivery, the payload's start_time and end_time.
	At time.Time
	// WorkflowID is the started workflow's, set by Redeliver.
	WorkflowID string
}

// Starter starts the delivery workflow of a redelivery and returns its ID.
// It is declared here, not written here, because the workflows import
// this package (through the activities).
type Starter interface {
	StartRedelivery(ctx context.Context, d Redelivery) (workflowID string, err error)
}

// Redeliver sends again, to each webhook, the rule's runs whose last
// delivery to it failed: one workflow per webhook, in webhook order. It
// returns the redeliveries started, also when a later one did not start;
// none and no error means nothing had failed.
func Redeliver(ctx context.Context, store FailedRuns, start Starter, r clickhouse.StoredRule, limit int, at time.Time) ([]Redelivery, error) {
	byHook, err := store.Failed(ctx, r.ID, limit)
	if err != nil || len(byHook) == 0 {
		return nil, err
	}
	spec, err := rules.ParseSpec([]byte(r.Spec))
	if err != nil {
		return nil, fmt.Errorf("rule %s: %w", r.ID, err)
	}
	var started []Redelivery
	for _, idx := range slices.Sorted(maps.Keys(byHook)) {
		d := Redelivery{RuleID: r.ID, RuleName: r.Name, Webhook: idx, RunIDs: byHook[idx],
			MaxRunsPerDelivery: spec.MaxRunsPerDelivery, At: at}
		if d.WorkflowID, err = start.StartRedelivery(ctx, d); err != nil {
			return started, fmt.Errorf("start redelivery to webhook %d: %w", idx, err)
		}
		started = append(started, d)
	}
	return started, nil
}
