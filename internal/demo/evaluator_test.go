package demo_test

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/demo"
	"github.com/runhook/runhook/internal/runs"
)

func TestEvaluatorScoresSomeRootsLater(t *testing.T) {
	const n = 2000
	e := demo.NewEvaluator(9)
	scored := 0
	for _, tr := range traces(9, n) {
		for _, r := range tr.Runs[1:] {
			if _, ok := e.Score(r); ok {
				t.Fatalf("scored a child run %s", r)
			}
		}
		if _, ok := e.Score(demo.Started(tr.Root())); ok {
			t.Fatal("scored a root that has not ended")
		}
		root := tr.Root()
		f, ok := e.Score(root)
		if !ok {
			continue
		}
		scored++
		if f.Key != demo.FeedbackKey || f.RunID != root.ID || *f.TraceID != root.TraceID || *f.SessionID != root.SessionID {
			t.Fatalf("feedback %+v for %s", f, root)
		}
		if delay := f.CreatedAt.Sub(*root.EndTime); delay < 2*time.Second || delay >= 20*time.Second || !f.ModifiedAt.Equal(f.CreatedAt) {
			t.Fatalf("score %s after the root ended", delay)
		}
		if f.Score == nil || *f.Score < 0 || *f.Score > 1 || f.Comment == nil || *f.Comment == "" {
			t.Fatalf("score %v comment %v", f.Score, f.Comment)
		}
		if root.Error != nil && *f.Score >= 0.4 {
			t.Fatalf("a failed trace scored %v", *f.Score)
		}
		var src map[string]any
		if err := json.Unmarshal(f.Source, &src); err != nil || !reflect.DeepEqual(src, map[string]any{"type": "model"}) {
			t.Fatalf("feedback_source %s", f.Source)
		}
		// Valid LangSmith feedback: it survives the REST shape.
		b, _ := json.Marshal(f)
		back, err := runs.DecodeFeedback(b, time.Now())
		if err != nil || !reflect.DeepEqual(back, f) {
			t.Fatalf("round trip: %v\n got %+v\nwant %+v", err, back, f)
		}
	}
	if scored < n*55/100 || scored > n*65/100 {
		t.Errorf("scored %d of %d roots, want about 60%%", scored, n)
	}
}

func TestEvaluatorIsDeterministic(t *testing.T) {
	score := func() []runs.Feedback {
		e := demo.NewEvaluator(4)
		var out []runs.Feedback
		for _, tr := range traces(4, 100) {
			if f, ok := e.Score(tr.Root()); ok {
				out = append(out, f)
			}
		}
		return out
	}
	if a, b := score(), score(); len(a) == 0 || !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed scored differently")
	}
}
