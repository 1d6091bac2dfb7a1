package ruleops

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/runs"
)

// Matcher reads a rule's matches against the server's clock: what a tick
// reads before it claims.
type Matcher interface {
	ServerNow(ctx context.Context) (time.Time, error)
	MatchRuns(ctx context.Context, m clickhouse.Match) ([]uuid.UUID, error)
}

// FeedbackReady says which runs carry every key of a feedback gate.
type FeedbackReady interface {
	Ready(ctx context.Context, runIDs []uuid.UUID, keys []string) ([]uuid.UUID, error)
}

// RunReader reads stored runs by id.
type RunReader interface {
	LatestRuns(ctx context.Context, ids []uuid.UUID) ([]runs.Run, error)
}

// PreviewStore is all a preview reads. It has no method that writes.
type PreviewStore interface {
	Matcher
	FeedbackReady
	RunReader
}

// PreviewOptions shape a preview.
type PreviewOptions struct {
	// Since is how far back from the window's end runs are read.
	Since time.Duration
	// Limit is how many of the picked runs are listed.
	Limit int
	// SettleLag and Recent are config rules.settle_lag and rules.recent, as
	// the ticks use them.
	SettleLag time.Duration
	Recent    time.Duration
}

// Picks is which stored runs a rule picks in a window, stage by stage.
type Picks struct {
	Window clickhouse.Window
	// Filtered pass the filter; Traced the trace filter too (Filtered when
	// the rule has none); Sampled the sampling too (Traced at rate 1).
	Filtered, Traced, Sampled int
	// Unclaimed are those of Sampled the rule has not handed on yet: what
	// a tick over the window would hand on now.
	Unclaimed int
	// Ready of Sampled carry every key of the rule's feedback gate, and
	// Waiting do not yet; both 0 when the rule has no gate.
	Ready, Waiting int
	// Runs are the first Limit of Sampled, in the id order ticks page in.
	Runs []Pick
}

// Pick is one picked run.
type Pick struct {
	ID        uuid.UUID
	Name      string
	StartTime time.Time
	// InsertedAt is the server's insertion time of the run's newest version.
	InsertedAt time.Time
	// Claimed: the rule has handed it on already.
	Claimed bool
	// Waiting: the rule's feedback gate would hold it.
	Waiting bool
}

// feedbackChunk bounds the ids of one feedback read.
const feedbackChunk = 1000

// Preview reads which stored runs spec picks in the window that ends at
// the server's clock less the settle lag and starts opts.Since before. Each
// stage is the tick's own match (MatchFor, then MatchRuns) with the later
// stages left out, so its counts are what ticks would find; nothing is
// claimed, recorded or sent. The rule's start (its creation or
// backfill_from) is not applied: the preview shows the window as a
// backfill of it would.
func Preview(ctx context.Context, store PreviewStore, spec rules.Spec, opts PreviewOptions) (Picks, error) {
	if opts.Since <= 0 {
		return Picks{}, fmt.Errorf("--since must be positive, not %s", opts.Since)
	}
	now, err := store.ServerNow(ctx)
	if err != nil {
		return Picks{}, err
	}
	end := now.Add(-opts.SettleLag).Truncate(time.Second)
	p := Picks{Window: clickhouse.Window{After: end.Add(-opts.Since), UpTo: end}}
	full, err := MatchFor(spec, p.Window)
	if err != nil {
		return Picks{}, fmt.Errorf("rule %q: %w", spec.Name, err)
	}
	full.Owner, full.Limit, full.Recent = "preview", math.MaxInt, opts.Recent

	count := func(m clickhouse.Match) ([]uuid.UUID, error) {
		m.KeepClaimed = true
		return store.MatchRuns(ctx, m)
	}
	stage := full
	stage.TraceFilter, stage.SamplingRate = nil, 1
	ids, err := count(stage)
	if err != nil {
		return Picks{}, err
	}
	p.Filtered = len(ids)
	if full.TraceFilter != nil {
		stage.TraceFilter = full.TraceFilter
		if ids, err = count(stage); err != nil {
			return Picks{}, err
		}
	}
	p.Traced = len(ids)
	if full.SamplingRate < 1 {
		if ids, err = count(full); err != nil {
			return Picks{}, err
		}
	}
	p.Sampled = len(ids)

	unclaimed, err := store.MatchRuns(ctx, full)
	if err != nil {
		return Picks{}, err
	}
	p.Unclaimed = len(unclaimed)
	claimed := make(map[uuid.UUID]bool, len(ids))
	for _, id := range ids {
		claimed[id] = true
	}
	for _, id := range unclaimed {
		delete(claimed, id)
	}

	waiting := map[uuid.UUID]bool{}
	if keys := spec.Feedback.Require; len(keys) > 0 {
		for _, id := range ids {
			waiting[id] = true
		}
		for chunk := range slices.Chunk(ids, feedbackChunk) {
			ready, err := store.Ready(ctx, chunk, keys)
			if err != nil {
				return Picks{}, err
			}
			for _, id := range ready {
				delete(waiting, id)
			}
		}
		p.Waiting = len(waiting)
		p.Ready = p.Sampled - p.Waiting
	}

	first := ids[:min(len(ids), max(opts.Limit, 0))]
	read, err := store.LatestRuns(ctx, first)
	if err != nil {
		return Picks{}, err
	}
	byID := make(map[uuid.UUID]runs.Run, len(read))
	for _, r := range read {
		byID[r.ID] = r
	}
	for _, id := range first {
		r := byID[id]
		p.Runs = append(p.Runs, Pick{ID: id, Name: r.Name, StartTime: r.StartTime, InsertedAt: r.InsertedAt,
			Claimed: claimed[id], Waiting: waiting[id]})
	}
	return p, nil
}
