package cli_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/testenv"
)

func TestDemoWritesRunsForAProject(t *testing.T) {
	store := testenv.ClickHouse(t)
	project := uuid.New()
	out, _, err := run(t, dbEnv(store), "", "demo", "--project", project.String(), "--every", "100ms", "--traces", "3", "--duration", "500ms", "--seed", "7")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 4 || !strings.Contains(lines[0], project.String()) || !strings.Contains(lines[0], "seed 7") ||
		!strings.Contains(lines[1], "batch 1: +3 traces") || !strings.HasPrefix(lines[len(lines)-1], "demo stopped after ") {
		t.Fatalf("output:\n%s", out)
	}
	var n, started, finished uint64
	if err := store.QueryRow(context.Background(),
		// run_arrivals keeps every write; runs may already have merged a run's versions into one.
		"SELECT uniqExact(id), countIf(completed = 0), countIf(completed = 1) FROM run_arrivals WHERE session_id = ?",
		project).Scan(&n, &started, &finished); err != nil {
		t.Fatal(err)
	}
	// Each run is written twice, pending at its start and done at its end:
	// stopping finishes the runs still open, so none is left pending.
	if n < 3*2 || started != n || finished != n {
		t.Fatalf("%d runs stored for the project, %d started and %d finished versions", n, started, finished)
	}
}

func TestDemoRefusesBadFlags(t *testing.T) {
	for _, args := range [][]string{
		{"demo", "--project", "not-a-uuid"},
		{"demo", "--every", "0s"},
		{"demo", "--traces", "0"},
		{"demo", "--duration", "-1s"},
	} {
		if _, _, err := run(t, []string{"RUNHOOK_CLICKHOUSE_ADDR=127.0.0.1:1"}, "", args...); err == nil || strings.Contains(err.Error(), "127.0.0.1:1") {
			t.Errorf("%v: err %v, want the flag refused before connecting", args, err)
		}
	}
}
