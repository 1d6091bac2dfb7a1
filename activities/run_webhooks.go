package activities

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/secrets"
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

// runWebhookContext binds a sealed run webhook URL to its run, so a value
// copied to another run's row does not open there.
func runWebhookContext(runID uuid.UUID) string {
	return fmt.Sprintf("run-webhook/%s/url", runID)
}

// SealRunWebhook encrypts the webhook URL a run was created with for
// storage. The caller has checked it against the URL policy. Errors never
// contain the URL.
func SealRunWebhook(box *secrets.Box, runID uuid.UUID, rawURL string, now time.Time) (clickhouse.RunWebhook, error) {
	if box == nil {
		return clickhouse.RunWebhook{}, fmt.Errorf("secrets.key is not set: run webhooks cannot be stored")
	}
	sealed, err := box.Seal([]byte(rawURL), runWebhookContext(runID))
	if err != nil {
		return clickhouse.RunWebhook{}, err
	}
	return clickhouse.RunWebhook{RunID: runID, URLSealed: sealed, URLRedacted: delivery.RedactURL(rawURL),
		KeyID: box.CurrentKeyID(), CreatedAt: now}, nil
}

// OpenRunWebhook decrypts a stored run webhook URL.
func OpenRunWebhook(box *secrets.Box, w clickhouse.RunWebhook) (string, error) {
	if box == nil {
		return "", fmt.Errorf("secrets.key is not set: webhook %s cannot be opened", w.URLRedacted)
	}
	url, err := box.Open(w.URLSealed, runWebhookContext(w.RunID))
	if err != nil {
		return "", fmt.Errorf("webhook %s url: %w", w.URLRedacted, err)
	}
	return string(url), nil
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
	outcomes, err := a.Store.Outcomes(ctx, clickhouse.RunWebhookRuleID, []uuid.UUID{in.RunID})
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
	outcomes, err := a.Store.Outcomes(ctx, clickhouse.RunWebhookRuleID, in.RunIDs)
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
