package payload_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// Plan, from the sizes stored beside the runs, cuts the very batches that
// Batches cuts from the payload Build and Offload make of the same runs: with
// documents inline and offloaded, per-run feedback_stats, a run stored before
// sizes were (measured from its documents), and every limit from one run a
// batch to all of them.
func TestPlanFromStoredSizes(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	base, _, start, end := seed(t)
	var rs []runs.Run
	for i, in := range []int{10, 300, 9000, 40, 20000, 10, 700} {
		r := base
		r.ID, r.Name = uuid.New(), strings.Repeat("n", i)
		r.Inputs = json.RawMessage(`{ "q": "` + strings.Repeat("x", in) + `" }`)
		if i%2 == 1 {
			r.Outputs = json.RawMessage(`{"a":"` + strings.Repeat("y", in*2) + `"}`)
		}
		rs = append(rs, r)
	}
	if err := store.InsertRuns(ctx, rs); err != nil {
		t.Fatal(err)
	}
	legacy := rs[2].ID // 9000 bytes of inputs, offloaded
	if err := store.Exec(ctx, `ALTER TABLE runs UPDATE size_base = 0 WHERE id = ?`, legacy); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		sizes, err := store.RunSizes(ctx, []uuid.UUID{legacy})
		if err != nil {
			t.Fatal(err)
		}
		if len(sizes) == 1 && !sizes[0].Known() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the size of run %s was not cleared: %+v", legacy, sizes)
		}
	}
	one := 0.5
	fb := []runs.Feedback{
		{ID: uuid.New(), RunID: rs[1].ID, Key: "correctness", Score: &one, CreatedAt: start, ModifiedAt: start},
		{ID: uuid.New(), RunID: rs[4].ID, Key: "note", Value: json.RawMessage(`"long enough to matter"`), CreatedAt: start, ModifiedAt: start},
	}
	if err := store.InsertFeedback(ctx, fb); err != nil {
		t.Fatal(err)
	}

	ids := idsOf(rs)
	for _, off := range []payload.Offload{{}, {MaxBytes: 4096, Signer: signer(t)}} {
		p, err := payload.Build(ctx, store, seedRule, start, end, ids)
		if err != nil {
			t.Fatal(err)
		}
		if err := off.Apply(&p); err != nil {
			t.Fatal(err)
		}
		// Steps from one run's size to all of them, at every run limit, and
		// at no run limit every batch boundary with a byte either side.
		var steps, bounds []int
		for n, whole := 500, size(t, p, p.Runs); n <= whole; n += whole / 20 {
			steps = append(steps, n)
		}
		for i := range p.Runs {
			for j := i + 1; j <= len(p.Runs); j++ {
				n := size(t, p, p.Runs[i:j])
				bounds = append(bounds, n-1, n, n+1)
			}
		}
		limits := map[int][]int{1: steps, 2: steps, 3: steps, len(rs): append(steps, bounds...)}
		for maxRuns, bodies := range limits {
			for _, maxBody := range bodies {
				want, wantErr := payload.Batches(p, maxRuns, maxBody)
				got, err := payload.Plan(ctx, store, off, seedRule, start, end, ids, maxRuns, maxBody)
				if !reflect.DeepEqual(got, want) || (err == nil) != (wantErr == nil) {
					t.Fatalf("offload %d, %d runs, %d bytes: Plan = %v, %v\nBatches = %v, %v", off.MaxBytes, maxRuns, maxBody, got, err, want, wantErr)
				}
			}
		}
	}

	if _, err := payload.Plan(ctx, store, payload.Offload{}, seedRule, start, end, []uuid.UUID{ids[0], uuid.New()}, 10, 1<<20); !errors.As(err, new(*payload.MissingRunsError)) {
		t.Errorf("a run not stored: err = %v, want a MissingRunsError", err)
	}
	if _, err := payload.Plan(ctx, store, payload.Offload{}, seedRule, start, end, []uuid.UUID{ids[0], ids[0]}, 10, 1<<20); err == nil {
		t.Error("a run listed twice was planned")
	}
	if got, err := payload.Plan(ctx, store, payload.Offload{}, seedRule, start, end, nil, 10, 1<<20); got != nil || err != nil {
		t.Errorf("no runs: %v, %v", got, err)
	}
}
