// Package payload builds the body runhook POSTs to a webhook: LangSmith's
// automation-rule payload, from the runs and feedback in storage.
package payload

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

// Source is the storage Build reads; *clickhouse.Store is one.
type Source interface {
	// LatestRuns returns the newest version of each known run of ids, in any order.
	LatestRuns(ctx context.Context, ids []uuid.UUID) ([]runs.Run, error)
	// FeedbackStats returns feedback_stats per run (runs without feedback
	// absent) and over all of runIDs together.
	FeedbackStats(ctx context.Context, runIDs []uuid.UUID) (map[uuid.UUID]runs.FeedbackStats, runs.FeedbackStats, error)
}

// Payload is one webhook body.
type Payload struct {
	RuleID    uuid.UUID
	StartTime time.Time
	EndTime   time.Time
	// Runs carry their own feedback_stats, set by Build.
	Runs []runs.Run
	// FeedbackStats is over all of Runs together.
	FeedbackStats runs.FeedbackStats
}

type payloadJSON struct {
	RuleID        uuid.UUID          `json:"rule_id"`
	StartTime     string             `json:"start_time"`
	EndTime       string             `json:"end_time"`
	Runs          []runs.Run         `json:"runs"`
	FeedbackStats runs.FeedbackStats `json:"feedback_stats"`
}

// MarshalJSON writes the fields in LangSmith's order. LangSmith's example
// payload has no top-level feedback_stats but its docs describe one as "a
// dictionary with the feedback statistics for the runs": it is {} when the
// runs have no feedback, never null, so receivers can index it without a check.
func (p Payload) MarshalJSON() ([]byte, error) {
	out := payloadJSON{
		RuleID:        p.RuleID,
		StartTime:     runs.FormatWindowTime(p.StartTime),
		EndTime:       runs.FormatWindowTime(p.EndTime),
		Runs:          p.Runs,
		FeedbackStats: p.FeedbackStats,
	}
	if out.Runs == nil {
		out.Runs = []runs.Run{}
	}
	if out.FeedbackStats == nil {
		out.FeedbackStats = runs.FeedbackStats{}
	}
	return runs.MarshalJSON(out)
}

// MissingRunsError names runs a payload was asked to carry that storage does
// not hold.
type MissingRunsError struct{ IDs []uuid.UUID }

func (e *MissingRunsError) Error() string {
	ids := make([]string, len(e.IDs))
	for i, id := range e.IDs {
		ids[i] = id.String()
	}
	return fmt.Sprintf("payload: %d run(s) not found: %s", len(ids), strings.Join(ids, ", "))
}

// Build reads the runs of runIDs and their feedback_stats from src into the
// payload of rule ruleID for the window [start, end]. Runs come in the order of
// runIDs, each with its own feedback_stats (null when it has no feedback, as
// in LangSmith's example). Runs src does not have are a *MissingRunsError; an
// id listed twice is an error, as the payload would carry the run twice.
func Build(ctx context.Context, src Source, ruleID uuid.UUID, start, end time.Time, runIDs []uuid.UUID) (Payload, error) {
	seen := make(map[uuid.UUID]bool, len(runIDs))
	for _, id := range runIDs {
		if seen[id] {
			return Payload{}, fmt.Errorf("payload: run %s is listed twice", id)
		}
		seen[id] = true
	}
	p := Payload{RuleID: ruleID, StartTime: start, EndTime: end, Runs: []runs.Run{}}
	if len(runIDs) == 0 {
		return p, nil
	}
	found, err := src.LatestRuns(ctx, runIDs)
	if err != nil {
		return Payload{}, err
	}
	byID := make(map[uuid.UUID]runs.Run, len(found))
	for _, r := range found {
		byID[r.ID] = r
	}
	var missing []uuid.UUID
	for _, id := range runIDs {
		r, ok := byID[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		p.Runs = append(p.Runs, r)
	}
	if len(missing) > 0 {
		return Payload{}, &MissingRunsError{IDs: missing}
	}

	perRun, batch, err := src.FeedbackStats(ctx, runIDs)
	if err != nil {
		return Payload{}, err
	}
	p.FeedbackStats = batch
	for i := range p.Runs {
		// Always replaced: a feedback_stats stored with the run is LangSmith's
		// as of ingestion, not the feedback runhook holds now.
		p.Runs[i].FeedbackStats = nil
		if stats := perRun[p.Runs[i].ID]; len(stats) > 0 {
			if p.Runs[i].FeedbackStats, err = runs.MarshalJSON(stats); err != nil {
				return Payload{}, fmt.Errorf("payload: feedback_stats of run %s: %w", p.Runs[i].ID, err)
			}
		}
	}
	return p, nil
}

// OversizeError names runs whose payload exceeds the body limit even with no
// other run in it. Batches still puts each in a batch of its own. Offloading
// large inputs and outputs to presigned URLs (Offload, applied before
// Batches) makes most of them fit; what is left is a run whose other fields
// (extra, events, serialized, ...) alone exceed the limit.
type OversizeError struct {
	IDs          []uuid.UUID
	MaxBodyBytes int
}

func (e *OversizeError) Error() string {
	ids := make([]string, len(e.IDs))
	for i, id := range e.IDs {
		ids[i] = id.String()
	}
	return fmt.Sprintf("payload: %d run(s) exceed the %d-byte body limit on their own: %s",
		len(ids), e.MaxBodyBytes, strings.Join(ids, ", "))
}

// maxNumberJSON is the longest float64 encoding/json writes, e.g.
// -0.0000012345678901234567.
const maxNumberJSON = 25

// Batches splits p's runs, in order, into batches of at most maxRuns runs
// whose payloads (as runs.MarshalJSON writes them, which is what is sent) are
// at most maxBodyBytes. Runs are measured as given: offload p (Offload.Apply)
// first, as the sender does, so large inputs and outputs count as their URLs,
// whose length does not change between the plan and the send. The
// caller builds each batch's payload with Build, so its top-level
// feedback_stats is over that batch only, and is not known here: it is taken
// to be p's, which has the same keys or more, as many comments and categories
// or more, and counts as large or larger. Only avg, stdev, min and max can
// grow longer, so each is allowed the longest number. The bound holds as long
// as the feedback does not change between the two Builds.
//
// A run too large for maxBodyBytes on its own still gets a batch of its own,
// where the order puts it. Then the error is an *OversizeError naming those
// runs, and the batches are returned with it, complete.
func Batches(p Payload, maxRuns, maxBodyBytes int) ([][]uuid.UUID, error) {
	if maxRuns < 1 || maxBodyBytes < 1 {
		return nil, fmt.Errorf("payload: batch limits must be positive, got %d runs and %d bytes", maxRuns, maxBodyBytes)
	}
	fixed, err := headSize(p.RuleID, p.StartTime, p.EndTime, p.FeedbackStats)
	if err != nil {
		return nil, err
	}
	sized := make([]sizedRun, len(p.Runs))
	for i, r := range p.Runs {
		body, err := runs.MarshalJSON(r)
		if err != nil {
			return nil, fmt.Errorf("payload: %v: %w", r, err)
		}
		sized[i] = sizedRun{r.ID, len(body)}
	}
	return split(sized, fixed, maxRuns, maxBodyBytes)
}

// headSize is what a payload takes besides its runs. Its feedback_stats is
// over a batch, which is not known until the batch is: it is taken to be
// stats, over every run the batches come from, which has the same keys or
// more, as many comments and categories or more, and counts as large or
// larger. Only avg, stdev, min and max can grow longer, so each is allowed
// the longest number.
func headSize(ruleID uuid.UUID, start, end time.Time, stats runs.FeedbackStats) (int, error) {
	head, err := runs.MarshalJSON(Payload{RuleID: ruleID, StartTime: start, EndTime: end, FeedbackStats: stats})
	if err != nil {
		return 0, err
	}
	return len(head) + len(stats)*4*maxNumberJSON, nil
}

type sizedRun struct {
	id    uuid.UUID
	bytes int
}

// split cuts runs, in order, into batches of at most maxRuns runs whose
// payloads, fixed bytes and their runs with commas between, are at most
// maxBodyBytes; see Batches.
func split(sized []sizedRun, fixed, maxRuns, maxBodyBytes int) ([][]uuid.UUID, error) {
	var (
		batches  [][]uuid.UUID
		oversize []uuid.UUID
		cur      []uuid.UUID
		size     = fixed
	)
	flush := func() {
		if len(cur) > 0 {
			batches = append(batches, cur)
		}
		cur, size = nil, fixed
	}
	for _, r := range sized {
		if fixed+r.bytes > maxBodyBytes {
			flush()
			batches = append(batches, []uuid.UUID{r.id})
			oversize = append(oversize, r.id)
			continue
		}
		grow := r.bytes
		if len(cur) > 0 {
			grow++ // the comma before it
		}
		if len(cur) == maxRuns || size+grow > maxBodyBytes {
			flush()
			grow = r.bytes
		}
		cur = append(cur, r.id)
		size += grow
	}
	flush()
	if len(oversize) > 0 {
		return batches, &OversizeError{IDs: oversize, MaxBodyBytes: maxBodyBytes}
	}
	return batches, nil
}
