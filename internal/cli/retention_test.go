package cli_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/retention"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/testenv"
)

func partitionsOf(t *testing.T, store *clickhouse.Store) []string {
	t.Helper()
	parts, err := store.Partitions(context.Background(), retention.Tables())
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range parts {
		out = append(out, p.String())
	}
	return out
}

func TestRetentionCommand(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	// Long enough ago for every default retention, and today.
	old, today := time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC), time.Now().UTC()
	for _, at := range []time.Time{old, today} {
		id := uuid.NewString()
		if err := store.Exec(ctx, `INSERT INTO runs (id, trace_id, session_id, name, run_type, status, is_root, start_time, end_time, modified_at, inserted_at)
			SELECT toUUID(?), toUUID(?), toUUID(?), 'r', 'llm', 'success', 1, toUInt64(?), toUInt64(?), toUInt64(?), toDateTime(?)`,
			id, id, uuid.NewString(), at.UnixMicro(), at.UnixMicro(), at.UnixMicro(), at.Unix()); err != nil {
			t.Fatal(err)
		}
		if err := store.Exec(ctx, `INSERT INTO rule_events (rule_id, run_id, event, reason, at, workflow_id)
			SELECT toUUID(?), toUUID(?), 'matched', '', toUInt64(?), 'w'`, uuid.NewString(), id, at.UnixMicro()); err != nil {
			t.Fatal(err)
		}
	}
	before := partitionsOf(t, store)
	todayDay := today.Format("20060102")
	if len(before) != 8 {
		t.Fatalf("written: %v, want old and today's partitions of runs, run_arrivals, run_keys and rule_events", before)
	}

	out, _, err := run(t, dbEnv(store), "", "retention", "--dry-run")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{
		"runs               forever", "run_arrivals       7 days", "rule_events        30 days", "rule_claims        forever",
		"would drop rule_events partition 20200101", "would drop run_arrivals partition 20200101",
		"retention: 2 partition(s) of 2 table(s) to drop (dry run, nothing dropped)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, todayDay) || strings.Contains(out, "drop runs") {
		t.Errorf("dry run would drop today's or kept partitions:\n%s", out)
	}
	if after := partitionsOf(t, store); !slices.Equal(after, before) {
		t.Fatalf("the dry run dropped something: %v, before %v", after, before)
	}

	out, _, err = run(t, dbEnv(store), "", "retention")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if !strings.Contains(out, "dropped run_arrivals partition 20200101") || !strings.Contains(out, "retention: 2 partition(s) of 2 table(s) dropped") {
		t.Errorf("output:\n%s", out)
	}
	after := partitionsOf(t, store)
	want := slices.DeleteFunc(slices.Clone(before), func(p string) bool {
		return p == "rule_events 20200101" || p == "run_arrivals 20200101"
	})
	if !slices.Equal(after, want) {
		t.Errorf("after: %v, want %v", after, want)
	}

	// A retention that is not whole days is refused before anything runs.
	_, _, err = run(t, append(dbEnv(store), "RUNHOOK_RETENTION_RUNS=36h"), "", "retention")
	if err == nil || !strings.Contains(err.Error(), "retention.runs") {
		t.Errorf("err = %v, want retention.runs named", err)
	}
}

func TestRulesApplyKeepsTheRetentionSchedule(t *testing.T) {
	store := testenv.ClickHouse(t)
	c, queue := testenv.Temporal(t)
	m := schedules.Manager{Client: c, TaskQueue: queue}
	t.Cleanup(func() { _ = m.DeleteRetention(context.Background()) })
	env := append(dbEnv(store), "RUNHOOK_TEMPORAL_TASK_QUEUE="+queue, "RUNHOOK_SECRETS_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte("rules: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"created", "unchanged"} {
		out, _, err := run(t, env, "", "rules", "apply", "-f", path)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		if line := "retention schedule " + queue + "-retention: " + want + " (hourly)"; !strings.Contains(out, line) {
			t.Errorf("output lacks %q:\n%s", line, out)
		}
	}
	if _, err := c.ScheduleClient().GetHandle(context.Background(), schedules.RetentionID(queue)).Describe(context.Background()); err != nil {
		t.Errorf("the retention schedule: %v", err)
	}
	out, _, err := run(t, env, "", "rules", "apply", "-f", path, "--dry-run")
	if err != nil || strings.Contains(out, "retention schedule") {
		t.Errorf("a dry run touched the retention schedule (%v):\n%s", err, out)
	}
}

// A backfill reads run and feedback arrivals, which retention drops: one
// reaching further back is refused, naming the setting, before anything is
// dialled.
func TestBackfillOlderThanArrivalsIsRefused(t *testing.T) {
	_, _, err := run(t, []string{"RUNHOOK_RETENTION_ARRIVALS=168h"}, "", "rules", "backfill", "some-rule", "--from", "-200h", "--to", "-1h")
	if err == nil || !strings.Contains(err.Error(), "retention.arrivals (168h0m0s)") || !strings.Contains(err.Error(), "--from") {
		t.Fatalf("backfill from 200 hours ago with arrivals kept 7 days: %v", err)
	}
}
