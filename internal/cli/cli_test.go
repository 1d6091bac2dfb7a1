package cli_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/spf13/cobra"
	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/activities"

	"github.com/runhook/runhook/internal/cli"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/testenv"
	"github.com/runhook/runhook/workflows"
)

// run executes starter with args against the test's own database and returns
// stdout, stderr and the error.
func run(t *testing.T, environ []string, stdin string, args ...string) (string, string, error) {
	t.Helper()
	cmd := cli.New(strings.NewReader(stdin), environ)
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

func dbEnv(store *clickhouse.Store) []string {
	env := []string{"RUNHOOK_CLICKHOUSE_DATABASE=" + store.Database()}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "RUNHOOK_CLICKHOUSE_ADDR=") {
			env = append(env, kv)
		}
	}
	return env
}

func TestEveryCommandHasHelp(t *testing.T) {
	var walk func(c *cobra.Command)
	var paths [][]string
	walk = func(c *cobra.Command) {
		if c.Name() != "help" && c.Name() != "completion" {
			paths = append(paths, strings.Fields(c.CommandPath())[1:])
		}
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(cli.New(nil, []string{}))
	if len(paths) < 6 {
		t.Fatalf("only %d commands found", len(paths))
	}
	for _, p := range paths {
		out, _, err := run(t, []string{}, "", append(p, "--help")...)
		if err != nil || !strings.Contains(out, "Usage:") {
			t.Errorf("starter %s --help: err=%v, output %q", strings.Join(p, " "), err, out)
		}
	}
}

func TestConfigRedactsSecrets(t *testing.T) {
	key := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	out, _, err := run(t, []string{"RUNHOOK_SECRETS_KEY=" + key, "RUNHOOK_CLICKHOUSE_PASSWORD=pw-secret"}, "", "config")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, key) || strings.Contains(out, "pw-secret") {
		t.Fatalf("secret printed:\n%s", out)
	}
	if !strings.Contains(out, "key: '***'") && !strings.Contains(out, `key: "***"`) {
		t.Errorf("secrets.key not shown as redacted:\n%s", out)
	}
}

func TestConfigFileFlagAndBadKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.yaml")
	_ = os.WriteFile(path, []byte("temporal:\n  task_queue: from-flag\n"), 0o600)
	out, _, err := run(t, []string{}, "", "--config", path, "config")
	if err != nil || !strings.Contains(out, "task_queue: from-flag") {
		t.Fatalf("--config not read: %v\n%s", err, out)
	}
	_ = os.WriteFile(path, []byte("temporal:\n  taskqueue: x\n"), 0o600)
	_, _, err = run(t, []string{}, "", "--config", path, "config")
	if err == nil || !strings.Contains(err.Error(), `"temporal.taskqueue"`) {
		t.Fatalf("err = %v, want the unknown key named", err)
	}
}

func TestMigrateTwice(t *testing.T) {
	store := testenv.ClickHouse(t) // already migrated once
	out, _, err := run(t, dbEnv(store), "", "migrate")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, ": applied") || !strings.Contains(out, "0001_runs: already applied") {
		t.Errorf("second migrate output:\n%s", out)
	}
}

func runLine(id uuid.UUID, session uuid.UUID) string {
	return `{"id":"` + id.String() + `","session_id":"` + session.String() + `","name":"n","run_type":"llm",` +
		`"start_time":"2024-04-05T01:28:54.085646","end_time":"2024-04-05T01:28:54.085649"}`
}

func TestIngestRunsFileAndStdin(t *testing.T) {
	store := testenv.ClickHouse(t)
	session := uuid.New()
	a, b := uuid.New(), uuid.New()
	path := filepath.Join(t.TempDir(), "runs.jsonl")
	_ = os.WriteFile(path, []byte(runLine(a, session)+"\n\n"+runLine(b, session)+"\n"), 0o600)

	out, _, err := run(t, dbEnv(store), "", "ingest", "runs", path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "2 line(s), 2 runs inserted") {
		t.Errorf("output: %s", out)
	}
	c := uuid.New()
	out, _, err = run(t, dbEnv(store), runLine(c, session)+"\n", "ingest", "runs", "-")
	if err != nil || !strings.Contains(out, "stdin: 1 line(s), 1 runs inserted") {
		t.Fatalf("stdin ingest: %v, %s", err, out)
	}
	got, err := store.LatestRuns(context.Background(), []uuid.UUID{a, b, c})
	if err != nil || len(got) != 3 {
		t.Fatalf("stored %d runs, %v; want 3", len(got), err)
	}
}

func TestIngestBadLines(t *testing.T) {
	store := testenv.ClickHouse(t)
	session := uuid.New()
	good := uuid.New()
	body := runLine(good, session) + "\n" +
		`{"id":"nope","session_id":"` + session.String() + `"}` + "\n" +
		`not json` + "\n"
	path := filepath.Join(t.TempDir(), "runs.jsonl")
	_ = os.WriteFile(path, []byte(body), 0o600)

	_, _, err := run(t, dbEnv(store), "", "ingest", "runs", path)
	if err == nil {
		t.Fatal("bad file accepted")
	}
	for _, want := range []string{"line 2", `"id"`, "line 3", "nothing inserted"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if got, _ := store.LatestRuns(context.Background(), []uuid.UUID{good}); len(got) != 0 {
		t.Fatal("a run from a refused file was inserted")
	}

	out, errOut, err := run(t, dbEnv(store), "", "ingest", "runs", "--skip-invalid", path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "1 runs inserted, 2 invalid skipped") || !strings.Contains(errOut, "skipped line 2") || !strings.Contains(errOut, "skipped line 3") {
		t.Errorf("skip-invalid output:\n%s\n%s", out, errOut)
	}
	if got, _ := store.LatestRuns(context.Background(), []uuid.UUID{good}); len(got) != 1 {
		t.Fatal("valid run not inserted under --skip-invalid")
	}
}

func TestIngestFeedbackAndMissingFile(t *testing.T) {
	store := testenv.ClickHouse(t)
	runID := uuid.New()
	line := `{"id":"` + uuid.NewString() + `","run_id":"` + runID.String() + `","key":"answer_usefulness","score":1}`
	out, _, err := run(t, dbEnv(store), line+"\n", "ingest", "feedback", "-")
	if err != nil || !strings.Contains(out, "1 feedback inserted") {
		t.Fatalf("%v: %s", err, out)
	}
	fb, err := store.FeedbackForRuns(context.Background(), []uuid.UUID{runID})
	if err != nil || len(fb) != 1 || fb[0].Key != "answer_usefulness" {
		t.Fatalf("feedback stored: %+v, %v", fb, err)
	}
	_, _, err = run(t, dbEnv(store), "", "ingest", "feedback", filepath.Join(t.TempDir(), "missing.jsonl"))
	if err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Fatalf("err = %v, want the missing file named", err)
	}
}

func TestPing(t *testing.T) {
	store := testenv.ClickHouse(t)
	c, queue := testenv.Temporal(t)
	env := append(dbEnv(store), "RUNHOOK_TEMPORAL_TASK_QUEUE="+queue)

	// No worker on the queue: a clear error naming it, after the timeout.
	_, _, err := run(t, env, "", "ping", "--timeout", "2s")
	if err == nil || !strings.Contains(err.Error(), queue) || !strings.Contains(err.Error(), "no worker") {
		t.Fatalf("err = %v, want a no-worker error naming %s", err, queue)
	}

	w := worker.New(c, queue, worker.Options{})
	w.RegisterWorkflow(workflows.Ping)
	w.RegisterActivity(&activities.Activities{Store: store})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	out, _, err := run(t, env, "", "ping")
	if err != nil || !strings.Contains(out, "ok: worker") || !strings.Contains(out, store.Database()) {
		t.Fatalf("ping: %v\n%s", err, out)
	}
}
