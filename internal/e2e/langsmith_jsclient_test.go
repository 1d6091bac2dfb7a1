// The file is not named langsmith_js_test.go: Go reads a _js suffix as GOOS=js and would never build it.

package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/logging"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// jsClientDir holds the pinned npm langsmith package and trace.mjs.
const jsClientDir = "../../test/langsmith-js"

// installJSClient installs the pinned JS SDK (package-lock.json) with npm ci.
func installJSClient(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is needed to run the LangSmith JS SDK and is not on PATH (Node.js 20 or later with npm): %v", tool, err)
		}
	}
	dir, err := filepath.Abs(jsClientDir)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci in %s: %v\n%s", dir, err, out)
	}
	return dir
}

// jsIDs is what trace.mjs prints: the runs it traced and the feedback it gave.
type jsIDs struct {
	Root, Trace, LLM, Tool uuid.UUID
	Feedback               struct{ Batched, Direct uuid.UUID }
}

// The official LangSmith JS SDK traces a nested function (chain, llm child
// with token usage, tool child) and gives feedback against the API; the
// runs and feedback are in ClickHouse as LangSmith would keep them, and a
// rule's webhook fires for the runs.
func TestLangSmithJSClientTracesIntoRunhook(t *testing.T) {
	dir := installJSClient(t)
	h := newHarness(t)
	h.startWorker()

	key := "rhk_" + uuid.NewString()
	logs := &testenv.Buffer{}
	srv := httptest.NewServer(api.New(api.Options{
		Store:     h.store,
		KeyHashes: []string{api.HashKey(key)},
		Logger:    logging.New(logs, config.Log{Level: "info", Format: "json"}),
	}))
	t.Cleanup(srv.Close)

	projectName := "js-e2e-" + uuid.NewString()[:8]
	project := runs.ProjectID(projectName)
	h.mustApply(strings.ReplaceAll(file(rule("js-traces", "")), "${PROJECT}", project.String()))

	before := time.Now().UTC().Add(-time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "node", "trace.mjs")
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"LANGSMITH_TRACING=true", "LANGSMITH_ENDPOINT=" + srv.URL, "LANGSMITH_API_KEY=" + key,
		"LANGSMITH_PROJECT=" + projectName, "RUNHOOK_PROJECT_ID=" + project.String(),
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("node trace.mjs: %v\nstdout:\n%s\nstderr:\n%s\nserver log:\n%s", err, stdout.String(), stderr.String(), logs.String())
	}
	after := time.Now().UTC().Add(time.Second)
	// The SDK reports failed uploads on stderr and carries on.
	if strings.Contains(stderr.String(), "Failed") || strings.Contains(stderr.String(), "rror") {
		t.Errorf("the SDK reported errors:\n%s\nserver log:\n%s", stderr.String(), logs.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var got jsIDs
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("trace.mjs printed %q: %v", stdout.String(), err)
	}

	stored, err := h.store.LatestRuns(context.Background(), []uuid.UUID{got.Root, got.LLM, got.Tool})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 3 {
		t.Fatalf("%d of the 3 traced runs stored\nserver log:\n%s", len(stored), logs.String())
	}
	byID := map[uuid.UUID]runs.Run{}
	for _, r := range stored {
		byID[r.ID] = r
	}
	root, llm, tool := byID[got.Root], byID[got.LLM], byID[got.Tool]

	if got.Trace != got.Root || !root.IsRoot || root.ParentRunID != nil || root.TraceID != got.Root ||
		root.DottedOrder != runs.DottedOrderPart(root.StartTime, root.ID) {
		t.Errorf("root links: %+v", root)
	}
	for _, child := range []runs.Run{llm, tool} {
		if child.IsRoot || child.ParentRunID == nil || *child.ParentRunID != got.Root || child.TraceID != got.Root ||
			child.DottedOrder != root.DottedOrder+"."+runs.DottedOrderPart(child.StartTime, child.ID) ||
			len(child.ParentRunIDs) != 1 || child.ParentRunIDs[0] != got.Root {
			t.Errorf("child %s links: parent %v trace %s dotted %s parents %v", child.Name, child.ParentRunID, child.TraceID,
				child.DottedOrder, child.ParentRunIDs)
		}
	}
	for name, r := range map[string]runs.Run{"pipeline": root, "fake-llm": llm, "lookup": tool} {
		if r.Name != name || r.SessionID != project || r.Status != "success" || r.EndTime == nil {
			t.Errorf("run %s: name %q project %s status %s end %v", r.ID, r.Name, r.SessionID, r.Status, r.EndTime)
			continue
		}
		if r.StartTime.Before(before) || r.EndTime.After(after) || r.EndTime.Before(r.StartTime) {
			t.Errorf("%s: start %s end %s outside the node process's [%s, %s]", name, r.StartTime, *r.EndTime, before, after)
		}
		if r.Inputs == nil || r.Outputs == nil {
			t.Errorf("%s: inputs %s outputs %s", name, r.Inputs, r.Outputs)
		}
	}
	if root.RunType != "chain" || llm.RunType != "llm" || tool.RunType != "tool" {
		t.Errorf("run types %s/%s/%s", root.RunType, llm.RunType, tool.RunType)
	}
	if llm.PromptTokens != 27 || llm.CompletionTokens != 15 || llm.TotalTokens != 42 {
		t.Errorf("llm tokens %d/%d/%d, want 27/15/42", llm.PromptTokens, llm.CompletionTokens, llm.TotalTokens)
	}
	// End times are whole milliseconds and start times carry the run's order
	// in its trace as microseconds, so a parent's end is compared to the
	// millisecond of its child's.
	if !llm.StartTime.After(root.StartTime) || !tool.StartTime.After(llm.StartTime) ||
		root.EndTime.Before(tool.EndTime.Truncate(time.Millisecond)) {
		t.Errorf("times out of order: root %s-%s llm %s tool %s-%s", root.StartTime, root.EndTime, llm.StartTime, tool.StartTime, tool.EndTime)
	}
	if len(root.Tags) != 1 || root.Tags[0] != "runhook-e2e" {
		t.Errorf("root tags %v", root.Tags)
	}

	fbs, err := h.store.FeedbackForRuns(context.Background(), []uuid.UUID{got.Root, got.LLM})
	if err != nil {
		t.Fatal(err)
	}
	if len(fbs) != 2 {
		t.Fatalf("%d feedback rows, want 2: %+v", len(fbs), fbs)
	}
	for _, f := range fbs {
		switch f.ID {
		case got.Feedback.Batched:
			if f.RunID != got.Root || f.Key != "answer_usefulness" || f.Score == nil || *f.Score != 0.8 ||
				f.Comment == nil || *f.Comment != "useful" || f.TraceID == nil || *f.TraceID != got.Root {
				t.Errorf("batched feedback %+v", f)
			}
		case got.Feedback.Direct:
			if f.RunID != got.LLM || f.Key != "correctness" || f.Score == nil || *f.Score != 1 || string(f.Value) != `"correct"` {
				t.Errorf("direct feedback %+v", f)
			}
		default:
			t.Errorf("unexpected feedback %+v", f)
		}
		if f.SessionID == nil || *f.SessionID != project {
			t.Errorf("feedback %s project %v, want %s", f.ID, f.SessionID, project)
		}
	}

	// The SDK sent gzip multipart bodies (Node 20 has no zstd) and the
	// direct feedback to /feedback; the key is nowhere in the log.
	log := logs.String()
	for _, want := range []string{`"path":"/runs/multipart","status":202`, `"encoding":"gzip"`, `"path":"/feedback","status":200`} {
		if !strings.Contains(log, want) {
			t.Errorf("server log lacks %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, key) {
		t.Errorf("the API key is in the server log")
	}

	// GET /runs/{id} answers the stored run in LangSmith's shape.
	req, _ := http.NewRequest("GET", srv.URL+"/runs/"+got.LLM.String(), nil)
	req.Header.Set("x-api-key", key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var read map[string]any
	if err := json.Unmarshal(body, &read); err != nil || res.StatusCode != 200 || read["total_tokens"] != 42.0 ||
		read["parent_run_id"] != got.Root.String() {
		t.Errorf("GET /runs/%s: %d %s", got.LLM, res.StatusCode, body)
	}

	h.waitDelivered([]uuid.UUID{got.Root, got.LLM, got.Tool}, 3*time.Second)
}
