package payload

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// Sizer is the storage Plan reads; *clickhouse.Store is one.
type Sizer interface {
	Source
	// RunSizes returns the stored size of the newest version of each known
	// run of ids, in any order.
	RunSizes(ctx context.Context, ids []uuid.UUID) ([]runs.Size, error)
}

// Plan splits runIDs, in order, into the batches Batches would cut from the
// payload that Build and off would make of them, without reading the runs'
// documents: each run's size comes from the parts storage keeps beside it
// (runs.Size) and its feedback_stats. Runs stored before sizes were are read
// and measured. Runs storage does not have are a *MissingRunsError; runs too
// large alone an *OversizeError, with the batches, as Batches returns them.
func Plan(ctx context.Context, src Sizer, off Offload, ruleID uuid.UUID, start, end time.Time, runIDs []uuid.UUID, maxRuns, maxBodyBytes int) ([][]uuid.UUID, error) {
	if maxRuns < 1 || maxBodyBytes < 1 {
		return nil, fmt.Errorf("payload: batch limits must be positive, got %d runs and %d bytes", maxRuns, maxBodyBytes)
	}
	seen := make(map[uuid.UUID]bool, len(runIDs))
	for _, id := range runIDs {
		if seen[id] {
			return nil, fmt.Errorf("payload: run %s is listed twice", id)
		}
		seen[id] = true
	}
	if len(runIDs) == 0 {
		return nil, nil
	}
	stored, err := src.RunSizes(ctx, runIDs)
	if err != nil {
		return nil, err
	}
	sizes := make(map[uuid.UUID]runs.Size, len(stored))
	var unsized []uuid.UUID
	for _, s := range stored {
		if s.Known() {
			sizes[s.ID] = s
		} else {
			unsized = append(unsized, s.ID)
		}
	}
	if len(unsized) > 0 {
		measured, err := src.LatestRuns(ctx, unsized)
		if err != nil {
			return nil, err
		}
		for _, r := range measured {
			if sizes[r.ID], err = runs.SizeOf(r); err != nil {
				return nil, err
			}
		}
	}
	var missing []uuid.UUID
	for _, id := range runIDs {
		if _, ok := sizes[id]; !ok {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return nil, &MissingRunsError{IDs: missing}
	}

	perRun, batch, err := src.FeedbackStats(ctx, runIDs)
	if err != nil {
		return nil, err
	}
	fixed, err := headSize(ruleID, start, end, batch)
	if err != nil {
		return nil, err
	}
	sized := make([]sizedRun, len(runIDs))
	for i, id := range runIDs {
		n, err := off.size(sizes[id], perRun[id])
		if err != nil {
			return nil, err
		}
		sized[i] = sizedRun{id, n}
	}
	return split(sized, fixed, maxRuns, maxBodyBytes)
}

// size is the length of a run's JSON as Build, with stats as its
// feedback_stats, and then o, would leave it.
func (o Offload) size(s runs.Size, stats runs.FeedbackStats) (int, error) {
	n := int(s.Base)
	for _, doc := range []struct {
		field  string
		stored uint32
		inline int32
	}{{"inputs", s.Inputs, s.InputsInline}, {"outputs", s.Outputs, s.OutputsInline}} {
		if !o.offloads(int(doc.stored)) {
			n += int(doc.inline)
			continue
		}
		urls, err := o.urls(s.ID, doc.field)
		if err != nil {
			return 0, err
		}
		n += len(urls) - len("null") // the document is null, its URLs replace a null
	}
	if len(stats) > 0 {
		raw, err := runs.MarshalJSON(stats)
		if err != nil {
			return 0, fmt.Errorf("payload: feedback_stats of run %s: %w", s.ID, err)
		}
		n += len(raw) - len("null")
	}
	return n, nil
}
