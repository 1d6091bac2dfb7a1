package demo_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/demo"
	"github.com/runhook/runhook/internal/runs"
)

var t0 = time.Date(2024, 4, 5, 1, 28, 54, 85646000, time.UTC)

func traces(seed uint64, n int) []demo.Trace {
	g := demo.NewGenerator(demo.Project, seed)
	out := make([]demo.Trace, n)
	for i := range out {
		out[i] = g.Trace(t0.Add(time.Duration(i) * 700 * time.Millisecond))
	}
	return out
}

func TestGeneratorIsDeterministic(t *testing.T) {
	a, b := traces(42, 50), traces(42, 50)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed made different traces")
	}
	if reflect.DeepEqual(a, traces(43, 50)) {
		t.Fatal("different seeds made the same traces")
	}
}

func TestTraceStructure(t *testing.T) {
	for i, tr := range traces(7, 500) {
		root := tr.Root()
		if !root.IsRoot || root.ParentRunID != nil || len(root.ParentRunIDs) != 0 || root.TraceID != root.ID || root.RunType != "chain" {
			t.Fatalf("trace %d: bad root %+v", i, root)
		}
		if root.DottedOrder != runs.DottedOrderPart(root.StartTime, root.ID) {
			t.Fatalf("trace %d: root dotted_order %q", i, root.DottedOrder)
		}
		if root.Name != demo.QAAgent && root.Name != demo.Summarizer {
			t.Fatalf("trace %d: root name %q", i, root.Name)
		}
		if len(tr.Runs) < 2 {
			t.Fatalf("trace %d: no children", i)
		}
		var prompt, completion uint64
		prevEnd := root.StartTime
		seen := map[uuid.UUID]bool{}
		for j, r := range tr.Runs {
			if seen[r.ID] {
				t.Fatalf("trace %d: duplicate id %s", i, r.ID)
			}
			seen[r.ID] = true
			if r.SessionID != demo.Project || r.TraceID != root.ID {
				t.Fatalf("trace %d run %d: session %s trace %s", i, j, r.SessionID, r.TraceID)
			}
			if r.EndTime == nil || !r.EndTime.After(r.StartTime) || !r.ModifiedAt.Equal(*r.EndTime) {
				t.Fatalf("trace %d run %d: start %s end %v modified %s", i, j, r.StartTime, r.EndTime, r.ModifiedAt)
			}
			if r.TotalTokens != r.PromptTokens+r.CompletionTokens {
				t.Fatalf("trace %d run %d: total_tokens %d != %d + %d", i, j, r.TotalTokens, r.PromptTokens, r.CompletionTokens)
			}
			if (r.Status == "error") != (r.Error != nil) || (r.Status != "error" && r.Status != "success") {
				t.Fatalf("trace %d run %d: status %q, error %v", i, j, r.Status, r.Error)
			}
			if r.Error == nil && r.Outputs == nil || r.Inputs == nil {
				t.Fatalf("trace %d run %d: inputs %s outputs %s", i, j, r.Inputs, r.Outputs)
			}
			var extra struct {
				Metadata map[string]any `json:"metadata"`
			}
			if err := json.Unmarshal(r.Extra, &extra); err != nil || extra.Metadata["env"] == nil || extra.Metadata["user_id"] == nil || extra.Metadata["model"] == nil {
				t.Fatalf("trace %d run %d: extra %s", i, j, r.Extra)
			}
			if len(r.Tags) == 0 || r.Tags[0] != extra.Metadata["env"] {
				t.Fatalf("trace %d run %d: tags %v", i, j, r.Tags)
			}
			if j == 0 {
				continue
			}
			if r.IsRoot || r.ParentRunID == nil || *r.ParentRunID != root.ID || !reflect.DeepEqual(r.ParentRunIDs, []uuid.UUID{root.ID}) {
				t.Fatalf("trace %d run %d: parents %v %v", i, j, r.ParentRunID, r.ParentRunIDs)
			}
			if r.DottedOrder != root.DottedOrder+"."+runs.DottedOrderPart(r.StartTime, r.ID) {
				t.Fatalf("trace %d run %d: dotted_order %q under %q", i, j, r.DottedOrder, root.DottedOrder)
			}
			// Steps run one after another, inside the root.
			if r.StartTime.Before(prevEnd) || r.EndTime.After(*root.EndTime) {
				t.Fatalf("trace %d run %d: %s-%s not after %s and inside root %s-%s", i, j, r.StartTime, r.EndTime, prevEnd, root.StartTime, root.EndTime)
			}
			prevEnd = *r.EndTime
			prompt += r.PromptTokens
			completion += r.CompletionTokens
			if r.Error != nil && j != len(tr.Runs)-1 {
				t.Fatalf("trace %d: steps after the failed one ran", i)
			}
			if r.Error != nil && (root.Error == nil || *root.Error != *r.Error) {
				t.Fatalf("trace %d: the failure did not reach the root: %v", i, root.Error)
			}
		}
		if root.PromptTokens != prompt || root.CompletionTokens != completion {
			t.Fatalf("trace %d: root tokens %d/%d, children %d/%d", i, root.PromptTokens, root.CompletionTokens, prompt, completion)
		}
	}
}

func TestTrafficMix(t *testing.T) {
	const n = 2000
	var qa, failed, llm, slow, slowQA int
	for _, tr := range traces(11, n) {
		if tr.Root().Name == demo.QAAgent {
			qa++
		}
		if tr.Root().Error != nil {
			failed++
		}
		for _, r := range tr.Runs {
			if r.RunType != "llm" || r.Error != nil {
				continue
			}
			llm++
			lat := demo.Latency(r)
			if lat < 200*time.Millisecond || lat > 3*time.Second {
				t.Fatalf("llm latency %s outside 0.2-3 s", lat)
			}
			if r.TotalTokens == 0 || r.TotalCost == nil || *r.TotalCost <= 0 || *r.TotalCost != *r.PromptCost+*r.CompletionCost {
				t.Fatalf("llm usage: tokens %d cost %v", r.TotalTokens, r.TotalCost)
			}
			if r.Name != "ChatOpenAI" && r.Name != "ChatAnthropic" {
				t.Fatalf("llm name %q", r.Name)
			}
			if lat > demo.SlowLLM {
				slow++
				if tr.Root().Name == demo.QAAgent {
					slowQA++
				}
			}
		}
	}
	if qa < n*7/10 || qa > n*9/10 {
		t.Errorf("%d of %d traces are qa_agent, want most", qa, n)
	}
	if failed < n*2/100 || failed > n*8/100 {
		t.Errorf("%d of %d traces failed, want about 5%%", failed, n)
	}
	if slow < llm/3 || slow > llm*9/10 || slowQA == 0 {
		t.Errorf("%d of %d llm calls slower than 0.5 s (%d in qa_agent traces), want some but not all", slow, llm, slowQA)
	}
}

// The runs are valid LangSmith runs: what the webhook payload shows of them
// decodes back to the same run.
func TestRunsRoundTripLangSmithJSON(t *testing.T) {
	for _, tr := range traces(3, 50) {
		for _, done := range tr.Runs {
			for _, r := range []runs.Run{done, demo.Started(done)} {
				b, err := json.Marshal(r)
				if err != nil {
					t.Fatal(err)
				}
				back, err := runs.DecodeRun(b, time.Now())
				if err != nil {
					t.Fatalf("%s: %v", b, err)
				}
				if !reflect.DeepEqual(back, r) {
					t.Fatalf("round trip:\n got %+v\nwant %+v", back, r)
				}
			}
		}
	}
}

func TestStartedIsThePostAtStart(t *testing.T) {
	tr := traces(5, 1)[0]
	done := tr.Runs[len(tr.Runs)-1]
	s := demo.Started(done)
	if s.EndTime != nil || s.Outputs != nil || s.Error != nil || s.Status != "pending" || !s.ModifiedAt.Equal(s.StartTime) || s.TotalTokens != 0 || s.TotalCost != nil {
		t.Fatalf("started version: %+v", s)
	}
	if s.ID != done.ID || s.DottedOrder != done.DottedOrder || s.Completed() || !bytes.Equal(s.Inputs, done.Inputs) {
		t.Fatalf("started version lost what is known at start: %+v", s)
	}
	if done.EndTime == nil {
		t.Fatal("Started changed its argument")
	}
}
