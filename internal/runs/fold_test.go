package runs_test

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/runs"
)

var (
	reqA = uuid.MustParse("0190a1b2-0000-7000-8000-00000000000a")
	reqB = uuid.MustParse("0190a1b2-0000-7000-8000-00000000000b")
	reqC = uuid.MustParse("0190a1b2-0000-7000-8000-00000000000c")
)

func logged(t *testing.T, kind runs.WriteKind, at time.Duration, req uuid.UUID, seq uint32, members map[string]any) runs.Write {
	t.Helper()
	return runs.Write{RunID: mergeChild, ReceivedAt: mergeNow.Add(at), Request: req, Seq: seq, Kind: kind,
		Body: write(t, members), Label: "w" + req.String()[34:] + string(rune('0'+seq))}
}

func mustFold(t *testing.T, ws []runs.Write) runs.Run {
	t.Helper()
	r, err := runs.Fold(ws)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// A fold is the same whatever order its writes come in and however often a
// write is given: two servers that read the same log store the same version.
func TestFoldIgnoresOrderAndRepeats(t *testing.T) {
	ws := []runs.Write{
		logged(t, runs.Create, 0, reqA, 0, childCreate(map[string]any{"inputs": map[string]any{"q": "why"}})),
		logged(t, runs.Patch, time.Millisecond, reqB, 0, map[string]any{"outputs": map[string]any{"a": "because"}}),
		logged(t, runs.Patch, 2*time.Millisecond, reqC, 0, map[string]any{"end_time": "2024-04-05T01:28:55Z"}),
		logged(t, runs.Patch, 2*time.Millisecond, reqC, 1, map[string]any{"error": "late"}),
	}
	want := mustFold(t, ws)
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20 {
		shuffled := append([]runs.Write(nil), ws...)
		shuffled = append(shuffled, ws[rng.IntN(len(ws))])
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := mustFold(t, shuffled); !reflect.DeepEqual(got, want) {
			t.Fatalf("fold of a shuffled log differs:\n got %+v\nwant %+v", got, want)
		}
	}
	if string(want.Outputs) != `{"a":"because"}` || want.EndTime == nil || want.Error == nil || string(want.Inputs) != `{"q":"why"}` {
		t.Errorf("fold lost a write: %+v", want)
	}
}

// Of two folds stored, the one of more writes has the greater modified_at:
// servers read a run's log after logging their own writes, so the logs they
// read grow by inclusion, and the table keeps the fold of the most.
func TestFoldVersionGrowsWithTheLog(t *testing.T) {
	ws := []runs.Write{
		// The second is stamped earlier by a server whose clock is behind.
		logged(t, runs.Create, 5*time.Millisecond, reqA, 0, childCreate(nil)),
		logged(t, runs.Patch, 0, reqB, 0, map[string]any{"outputs": map[string]any{"a": 1}}),
		logged(t, runs.Patch, 5*time.Millisecond, reqC, 0, map[string]any{"outputs": map[string]any{"a": 2}}),
	}
	var prev time.Time
	for n := 1; n <= len(ws); n++ {
		r := mustFold(t, ws[:n])
		if !r.ModifiedAt.After(prev) {
			t.Fatalf("fold of %d writes has modified_at %v, not after %v", n, r.ModifiedAt, prev)
		}
		prev = r.ModifiedAt
	}
	if want := mergeNow.Add(5*time.Millisecond + 2*time.Microsecond); !prev.Equal(want) {
		t.Errorf("modified_at = %v, want the last receipt plus 2µs, %v", prev, want)
	}
}

// Creates: the first received wins (a later one is a retry or a late
// arrival), the last within one request; a patch outranks every create,
// even one received after it (the SDKs send batches in parallel).
func TestFoldOrdersCreatesAndPatches(t *testing.T) {
	ws := []runs.Write{
		logged(t, runs.Patch, 0, reqA, 0, map[string]any{"name": "patched"}),
		logged(t, runs.Create, time.Millisecond, reqB, 0, childCreate(map[string]any{"name": "first", "tags": []string{"b0"}})),
		logged(t, runs.Create, time.Millisecond, reqB, 1, childCreate(map[string]any{"name": "first", "tags": []string{"b1"}})),
		logged(t, runs.Create, 2*time.Millisecond, reqC, 0, childCreate(map[string]any{"name": "retry", "tags": []string{"c"},
			"inputs": map[string]any{"only": "here"}})),
	}
	r := mustFold(t, ws)
	if r.Name != "patched" {
		t.Errorf("name = %q, want the patch's", r.Name)
	}
	if !reflect.DeepEqual(r.Tags, []string{"b1"}) {
		t.Errorf("tags = %v, want the first request's last create's [b1]", r.Tags)
	}
	if string(r.Inputs) != `{"only":"here"}` {
		t.Errorf("inputs = %s, want the later create's member the first lacks", r.Inputs)
	}
}

// A version stored without a log (JSON Lines, or before the log) is folded
// under the log's writes as a base, and two servers log the same base.
func TestFoldOverABase(t *testing.T) {
	stored, err := runs.Merge([]runs.Object{write(t, childCreate(map[string]any{"inputs": map[string]any{"q": 1}}))}, nil, nil, mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	b1, err := runs.BaseWrite(stored)
	if err != nil {
		t.Fatal(err)
	}
	b2, _ := runs.BaseWrite(stored)
	if !reflect.DeepEqual(b1, b2) || b1.Kind != runs.Base || !b1.ReceivedAt.Equal(stored.ModifiedAt) {
		t.Fatalf("base writes differ or are not stamped with the version: %+v / %+v", b1, b2)
	}
	patch := logged(t, runs.Patch, time.Second, reqA, 0, map[string]any{"end_time": "2024-04-05T01:28:55Z"})
	if runs.HasOrigin([]runs.Write{patch}) || !runs.HasOrigin([]runs.Write{patch, b1}) {
		t.Error("HasOrigin: a patch alone has none, a base is one")
	}
	r := mustFold(t, []runs.Write{b1, patch, b2})
	if string(r.Inputs) != `{"q":1}` || r.EndTime == nil || r.Status != "success" {
		t.Errorf("fold over the base lost the base or the patch: %+v", r)
	}
	if !r.ModifiedAt.After(stored.ModifiedAt) {
		t.Errorf("modified_at %v is not after the base's %v", r.ModifiedAt, stored.ModifiedAt)
	}
}

// A write that cannot be stored is blamed by its label; patches with no
// create or base are Unstored.
func TestFoldBlamesTheWrite(t *testing.T) {
	good := logged(t, runs.Create, 0, reqA, 0, childCreate(nil))
	bad := logged(t, runs.Patch, time.Millisecond, reqB, 3, map[string]any{"end_time": "yesterday"})
	_, err := runs.Fold([]runs.Write{good, bad})
	var fe *runs.FoldError
	if !errors.As(err, &fe) || fe.Write == nil || fe.Write.Label != bad.Label {
		t.Fatalf("err = %v, want a FoldError blaming %s", err, bad.Label)
	}
	var field *runs.FieldError
	if !errors.As(err, &field) || field.Field != "end_time" {
		t.Errorf("err = %v, want it to name end_time", err)
	}

	_, err = runs.Fold([]runs.Write{logged(t, runs.Patch, 0, reqA, 0, map[string]any{"outputs": map[string]any{}})})
	if !errors.As(err, &fe) || !fe.Err.Unstored {
		t.Errorf("err = %v, want Unstored", err)
	}
}

// One request's writes folded alone are what Merge makes of them.
func TestFoldOfOneRequestIsMerge(t *testing.T) {
	create := childCreate(map[string]any{"inputs": map[string]any{"q": 1}})
	patch := map[string]any{"end_time": "2024-04-05T01:28:55Z", "outputs": map[string]any{"a": 2}}
	merged, err := runs.Merge([]runs.Object{write(t, create)}, nil, []runs.Object{write(t, patch)}, mergeNow)
	if err != nil {
		t.Fatal(err)
	}
	folded := mustFold(t, []runs.Write{
		logged(t, runs.Create, 0, reqA, 0, create), logged(t, runs.Patch, 0, reqA, 1, patch),
	})
	merged.ModifiedAt = mergeNow.Add(time.Microsecond)
	if !reflect.DeepEqual(folded, merged) {
		t.Errorf("fold:\n%+v\nmerge:\n%+v", folded, merged)
	}
}
