package payload_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/runs"
)

var update = flag.Bool("update", false, "rewrite testdata/langgraph.golden from testdata/langgraph_runs.jsonl")

// sentAt is the webhook_sent_at of the golden bodies.
var sentAt = time.Date(2026, 12, 5, 9, 10, 0, 123456000, time.UTC)

// langGraphRuns reads testdata/langgraph_runs.jsonl as ingest does: runs
// written by LangGraph's tracing (root and node runs, every status) and
// others without its metadata.
func langGraphRuns(t *testing.T) []runs.Run {
	t.Helper()
	f, err := os.Open("testdata/langgraph_runs.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []runs.Run
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		r, err := runs.DecodeRun(sc.Bytes(), sentAt)
		if err != nil {
			t.Fatalf("decode %s: %v", sc.Bytes(), err)
		}
		out = append(out, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLangGraphGolden checks the whole mapping, body by body, against
// testdata/langgraph.golden; go test ./internal/payload/ -run Golden -update
// rewrites it after a deliberate change.
func TestLangGraphGolden(t *testing.T) {
	var got bytes.Buffer
	for _, r := range langGraphRuns(t) {
		body, err := runs.MarshalJSON(payload.ToLangGraph(r, sentAt))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Indent(&got, body, "", "  "); err != nil {
			t.Fatal(err)
		}
		got.WriteString("\n")
	}
	const golden = "testdata/langgraph.golden"
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got.String() != string(want) {
		t.Errorf("LangGraph bodies differ from %s (rerun with -update if the change is meant):\n%s", golden, got.String())
	}
}

func TestLangGraphFields(t *testing.T) {
	rs := langGraphRuns(t)
	want := []struct{ runID, thread, assistant, status string }{
		{"1f0b6d2e-8a41-6c3e-9d2b-5a7e1c0f4b11", "9dde5490-2b67-47c8-aa14-4bfec88af217", "fe096781-5601-53d2-b2f6-0d3403f7e9ca", payload.LangGraphSuccess},
		// A node's run belongs to the graph run its metadata names.
		{"1f0b6d2e-8a41-6c3e-9d2b-5a7e1c0f4b22", "9dde5490-2b67-47c8-aa14-4bfec88af217", "agent", payload.LangGraphTimeout},
		{"3a1c3b4d-0000-4000-8000-000000000003", "7c1e0f63-95a6-4c0e-8c2b-3b1f2f1d2e33", "agent", payload.LangGraphInterrupted},
		{"4a1c3b4d-0000-4000-8000-000000000004", "7c1e0f63-95a6-4c0e-8c2b-3b1f2f1d2e44", "agent", payload.LangGraphInterrupted},
		// A TimeoutError in the traceback is a cause, not the error.
		{"5a1c3b4d-0000-4000-8000-000000000005", "chat-42", "", payload.LangGraphError},
		{"6a1c3b4d-0000-4000-8000-000000000006", "", "", payload.LangGraphPending},
		{"7a1c3b4d-0000-4000-8000-000000000007", "42", "agent", payload.LangGraphInterrupted},
	}
	if len(rs) != len(want) {
		t.Fatalf("%d runs in testdata, %d expected", len(rs), len(want))
	}
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	for i, r := range rs {
		g := payload.ToLangGraph(r, sentAt)
		if g.RunID != want[i].runID || str(g.ThreadID) != want[i].thread || str(g.AssistantID) != want[i].assistant || g.Status != want[i].status {
			t.Errorf("run %d: run_id %s thread_id %q assistant_id %q status %s, want %+v", i, g.RunID, str(g.ThreadID), str(g.AssistantID), g.Status, want[i])
		}
		if !bytes.Equal(g.Kwargs.Input, r.Inputs) || !bytes.Equal(g.Values, r.Outputs) {
			t.Errorf("run %d: kwargs.input %s values %s, want the inputs and outputs", i, g.Kwargs.Input, g.Values)
		}
	}
}

func TestLangGraphOffload(t *testing.T) {
	r := langGraphRuns(t)[3] // interrupted, by "__interrupt__" in its outputs
	o := payload.Offload{MaxBytes: 10, Signer: signer(t)}
	g, err := o.LangGraph(r, sentAt)
	if err != nil {
		t.Fatal(err)
	}
	if g.Status != payload.LangGraphInterrupted {
		t.Errorf("status %s: the interrupt in offloaded outputs must still count", g.Status)
	}
	body, err := json.Marshal(g)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]json.RawMessage
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	if string(got["values"]) != "null" || !strings.Contains(string(got["outputs_s3_urls"]), "presigned_url") ||
		!strings.Contains(string(got["inputs_s3_urls"]), "presigned_url") || string(got["kwargs"]) != `{"input":null}` {
		t.Errorf("offloaded body %s: want values and kwargs.input null, with *_s3_urls", body)
	}

	inline, err := payload.Offload{}.LangGraph(r, sentAt)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = json.Marshal(inline)
	if strings.Contains(string(body), "s3_urls") {
		t.Errorf("inline body %s has *_s3_urls", body)
	}
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]payload.Format{"": payload.FormatLangSmith, "langsmith": payload.FormatLangSmith, "langgraph": payload.FormatLangGraph} {
		got, err := payload.ParseFormat(in)
		if err != nil || got != want {
			t.Errorf("ParseFormat(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := payload.ParseFormat("LangGraph"); err == nil {
		t.Error("ParseFormat(LangGraph) accepted")
	}
	if payload.FormatLangSmith.String() != "langsmith" || payload.FormatLangGraph.String() != "langgraph" {
		t.Error("String does not give the names ParseFormat reads")
	}
}
