package synth

import (
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestShape(t *testing.T) {
	rs := Generate(3*TraceSize+2, 1, time.Now(), "p")
	if len(rs) != 3*TraceSize+2 {
		t.Fatalf("%d runs", len(rs))
	}
	seen := map[uuid.UUID]Run{}
	roots, maxDepth := 0, 0
	for _, r := range rs {
		if r.ParentRunID == nil {
			roots++
			if r.TraceID != r.ID || strings.Contains(r.DottedOrder, ".") {
				t.Fatalf("root %s: trace %s, dotted %s", r.ID, r.TraceID, r.DottedOrder)
			}
		} else {
			p, ok := seen[*r.ParentRunID]
			if !ok {
				t.Fatalf("run %s comes before its parent", r.ID)
			}
			if r.TraceID != p.TraceID || !strings.HasPrefix(r.DottedOrder, p.DottedOrder+".") {
				t.Fatalf("run %s: trace %s, dotted %s; parent's %s, %s", r.ID, r.TraceID, r.DottedOrder, p.TraceID, p.DottedOrder)
			}
			if len(r.ParentRunIDs) == 0 || r.ParentRunIDs[len(r.ParentRunIDs)-1] != p.ID || r.ParentRunIDs[0] != r.TraceID {
				t.Fatalf("run %s: ancestors %v", r.ID, r.ParentRunIDs)
			}
		}
		maxDepth = max(maxDepth, len(r.ParentRunIDs)+1)
		for name, size := range map[string]int{"inputs": len(r.Inputs), "outputs": len(r.Outputs)} {
			if size < 60 || size > 8000 {
				t.Errorf("%s run %s: %s of %d bytes", r.RunType, r.Name, name, size)
			}
		}
		if _, err := Stored(r, time.Now()); err != nil {
			t.Fatalf("run %s does not decode: %v", r.ID, err)
		}
		seen[r.ID] = r
	}
	if roots != 4 || maxDepth != 3 {
		t.Fatalf("%d roots and depth %d, want 4 and 3", roots, maxDepth)
	}
}

func TestSameSeedSamePayloadsNewIDs(t *testing.T) {
	at := time.Now()
	a, b := Generate(20, 5, at, "p"), Generate(20, 5, at, "p")
	for i := range a {
		if a[i].ID == b[i].ID {
			t.Fatalf("run %d: same id twice", i)
		}
		if string(a[i].Inputs) != string(b[i].Inputs) || string(a[i].Outputs) != string(b[i].Outputs) {
			t.Fatalf("run %d: payloads differ between calls with one seed", i)
		}
	}
	if c := Generate(1, 6, at, "p"); string(c[0].Inputs) == string(a[0].Inputs) {
		t.Fatal("another seed gave the same text")
	}
}

// TestSizes keeps the generated runs in the range the bench claims: inputs and
// outputs of a few hundred bytes to a few KB.
func TestSizes(t *testing.T) {
	rs := Generate(700, 1, time.Now(), "p")
	var total int
	for _, r := range rs {
		total += len(r.Inputs) + len(r.Outputs)
	}
	avg := total / len(rs)
	if avg < 800 || avg > 4000 {
		t.Fatalf("inputs and outputs average %d bytes a run", avg)
	}
	t.Logf("inputs+outputs average %d bytes a run", avg)
}
