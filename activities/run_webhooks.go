package activities

import (
	"context"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/rulelog"
)

// runWebhookStore is what the run webhook checks read.
type runWebhookStore interface {
	outcomeReader
	runEnds
}

type outcomeReader interface {
	Outcomes(ctx context.Context, ruleID uuid.UUID, runIDs []uuid.UUID) ([]clickhouse.Outcome, error)
}

type runEnds interface {
	RunEnded(ctx context.Context, runID uuid.UUID) (ended, found bool, err error)
	RunsEnded(ctx context.Context, ids []uuid.UUID) (map[uuid.UUID]bool, error)
}

// RunRef names a run.
type RunRef struct {
	RunID uuid.UUID
}

// RunWebhookState is where a run's webhook stands.
type RunWebhookState struct {
	// Ended: the newest stored version of the run has an end_time.
	Ended bool
	// Done: the webhook already has an outcome (delivered, or failed or given
	// up on), e.g. from an earlier workflow for the same run: nothing more is sent.
	Done    bool
	Outcome string `json:",omitempty"`
}

// CheckRunWebhook reads whether the run has ended and whether its webhook is
// already done with. A run not stored yet has not ended.
func (a *Activities) CheckRunWebhook(ctx context.Context, in RunRef) (RunWebhookState, error) {
	outcomes, err := a.Store.Outcomes(ctx, rulelog.RunWebhookRuleID(), []uuid.UUID{in.RunID})
	if err != nil {
		return RunWebhookState{}, err
	}
	if len(outcomes) > 0 {
		return RunWebhookState{Done: true, Outcome: outcomes[0].Outcome}, nil
	}
	ended, _, err := a.Store.RunEnded(ctx, in.RunID)
	if err != nil {
		return RunWebhookState{}, err
	}
	return RunWebhookState{Ended: ended}, nil
}

// RunRefs names runs.
type RunRefs struct {
	RunIDs []uuid.UUID
}

// RunWebhooksState sorts runs by where their webhooks stand.
type RunWebhooksState struct {
	// Ended: stored ended, webhook not yet done with: to be sent now.
	Ended []uuid.UUID `json:",omitempty"`
	// Waiting: not stored ended yet.
	Waiting []uuid.UUID `json:",omitempty"`
	// Done: the webhook already has an outcome (an earlier workflow for the
	// same run): nothing more is sent.
	Done []uuid.UUID `json:",omitempty"`
}

// CheckRunWebhooks is CheckRunWebhook for many runs at once: two reads,
// whatever their number.
func (a *Activities) CheckRunWebhooks(ctx context.Context, in RunRefs) (RunWebhooksState, error) {
	outcomes, err := a.Store.Outcomes(ctx, rulelog.RunWebhookRuleID(), in.RunIDs)
	if err != nil {
		return RunWebhooksState{}, err
	}
	done := map[uuid.UUID]bool{}
	for _, o := range outcomes {
		done[o.RunID] = true
	}
	var rest []uuid.UUID
	var out RunWebhooksState
	for _, id := range in.RunIDs {
		if done[id] {
			out.Done = append(out.Done, id)
		} else {
			rest = append(rest, id)
		}
	}
	ended, err := a.Store.RunsEnded(ctx, rest)
	if err != nil {
		return RunWebhooksState{}, err
	}
	for _, id := range rest {
		if ended[id] {
			out.Ended = append(out.Ended, id)
		} else {
			out.Waiting = append(out.Waiting, id)
		}
	}
	return out, nil
}
