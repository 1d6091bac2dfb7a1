package clickhouse_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/filter"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
	"github.com/runhook/runhook/schema"
)

// Migration 0009 rebuilds the tables of a database that holds runs, feedback
// and claims, also when a crash cut it short at any of its statements:
// afterwards rules match as before, and a run already claimed is not handed
// on again.
func TestMigrateWindowsFromReleaseEight(t *testing.T) {
	var stmts []string
	ms, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Version == 9 {
			stmts = m.Statements
		}
	}
	at := func(prefix string) int {
		for i, s := range stmts {
			if strings.HasPrefix(s, prefix) {
				return i
			}
		}
		t.Fatalf("0009 has no statement %q", prefix)
		return 0
	}
	crashes := map[string]int{
		"none":                             -1,
		"filling runs":                     at("INSERT INTO runs_next"),
		"after renaming runs away":         at("RENAME TABLE runs TO runs_0008"),
		"after renaming the new runs in":   at("RENAME TABLE runs_next TO runs"),
		"filling run_arrivals":             at("INSERT INTO run_arrivals_next"),
		"after renaming the new claims in": at("RENAME TABLE rule_claims_next TO rule_claims"),
		"filling run_keys":                 at("INSERT INTO run_keys"),
	}
	for name, step := range crashes {
		t.Run(name, func(t *testing.T) {
			store := testenv.ClickHouseAtVersion(t, 8)
			ctx := context.Background()
			project, rule := uuid.New(), uuid.New()
			claimed, plain, scored, running := matchRun(project, "a", true), matchRun(project, "b", true),
				matchRun(project, "c", true), matchRun(project, "d", false)
			if err := store.InsertRuns(ctx, []runs.Run{claimed, plain, scored, running}); err != nil {
				t.Fatal(err)
			}
			score := 1.0
			if err := store.InsertFeedback(ctx, []runs.Feedback{{ID: uuid.New(), RunID: scored.ID, SessionID: &project,
				Key: "correctness", Score: &score, CreatedAt: time.Now(), ModifiedAt: time.Now()}}); err != nil {
				t.Fatal(err)
			}
			if err := store.Claim(ctx, rule, []uuid.UUID{claimed.ID}, "tick-1/p0", time.Now()); err != nil {
				t.Fatal(err)
			}

			if step >= 0 {
				if err := store.ApplyMigrationSteps(ctx, 9, step); err != nil {
					t.Fatalf("crash at statement %d: %v", step+1, err)
				}
			}
			if _, err := store.Migrate(ctx); err != nil {
				t.Fatalf("migrate after a crash %s: %v", name, err)
			}
			if _, err := store.Migrate(ctx); err != nil {
				t.Fatalf("migrate again: %v", err)
			}

			for table, want := range map[string]uint64{"runs": 4, "feedback": 1, "rule_claims": 1, "run_arrivals": 4, "feedback_arrivals": 1} {
				var n uint64
				if err := store.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&n); err != nil || n != want {
					t.Errorf("%s holds %d rows (%v), want %d: rows lost or copied twice", table, n, err, want)
				}
			}
			for _, gone := range []string{"runs_0008", "runs_next", "rule_claims_0008", "run_arrivals_next"} {
				var n uint64
				if err := store.QueryRow(ctx, clickhouse.TableExistsSQL, gone).Scan(&n); err != nil || n != 0 {
					t.Errorf("table %s is left behind (%v)", gone, err)
				}
			}
			stored, err := store.StoredRunIDs(ctx, []uuid.UUID{claimed.ID, plain.ID, scored.ID, running.ID})
			if err != nil || len(stored) != 4 {
				t.Errorf("stored ids after migrating: %v, %v; want all four", stored, err)
			}

			m := clickhouse.Match{RuleID: rule, Project: project, Window: wideWindow(t, store), SamplingRate: 1,
				Owner: "tick-2/p0", Limit: 100, Recent: 15 * time.Minute}
			got, err := store.MatchRuns(ctx, m)
			if want := idStrings([]uuid.UUID{plain.ID, scored.ID}); err != nil || !equal(idStrings(got), want) {
				t.Errorf("match after migrating = %v, %v; want the completed runs not claimed before %v", idStrings(got), err, want)
			}
			if m.Filter, err = filter.Parse(`and(eq(feedback_key, "correctness"), gt(feedback_score, 0.5))`); err != nil {
				t.Fatal(err)
			}
			if got, err := store.MatchRuns(ctx, m); err != nil || len(got) != 1 || got[0] != scored.ID {
				t.Errorf("feedback filter after migrating = %v, %v; want the scored run", got, err)
			}
			if ready, err := store.Ready(ctx, []uuid.UUID{scored.ID, plain.ID}, []string{"correctness"}); err != nil || len(ready) != 1 {
				t.Errorf("ready after migrating = %v, %v; want the scored run", ready, err)
			}

			// Writes after the migration reach the rebuilt tables' views.
			fresh := matchRun(project, "e", true)
			if err := store.InsertRuns(ctx, []runs.Run{fresh}); err != nil {
				t.Fatal(err)
			}
			m.Filter, m.Owner = nil, "tick-3/p0"
			if got, err := store.MatchRuns(ctx, m); err != nil || len(got) != 3 {
				t.Errorf("match after a new write = %v, %v; want the three unclaimed completed runs", idStrings(got), err)
			}
		})
	}
}

func equal(a, b []string) bool { return strings.Join(a, ",") == strings.Join(b, ",") }

// Migration 0006 builds delivery_ends from the outcomes written before it,
// and applied again after an interruption it counts nothing twice.
func TestMigrateDeliveryEndsFromOutcomes(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	forget := func() {
		t.Helper()
		for _, table := range []string{"schema_migrations", "schema_migration_steps"} {
			if err := store.Exec(ctx, `ALTER TABLE `+table+` DELETE WHERE version = 6`); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(500 * time.Millisecond) // mutations are asynchronous
	}
	for _, stmt := range []string{`DROP TABLE delivery_ends_mv`, `DROP TABLE delivery_ends`} {
		if err := store.Exec(ctx, stmt); err != nil {
			t.Fatal(err)
		}
	}
	forget()
	rule := uuid.New()
	outs := []clickhouse.Outcome{
		outcome(rule, uuid.New(), 0, "a", rulelog.Failed, at(0)),
		outcome(rule, uuid.New(), 0, "b", rulelog.Delivered, at(10)),
		outcome(rule, uuid.New(), 0, "c", rulelog.Failed, at(20)),
		outcome(rule, uuid.New(), 1, "c", rulelog.Failed, at(21)),
		outcome(rule, uuid.New(), 0, "d", rulelog.Failed, at(30)),
	}
	if err := store.RecordOutcomes(ctx, outs); err != nil {
		t.Fatal(err)
	}
	for _, when := range []string{"migrated", "migrated again"} {
		if _, err := store.Migrate(ctx); err != nil {
			t.Fatalf("%s: %v", when, err)
		}
		if got, err := store.ConsecutiveFailedDeliveries(ctx, rule, time.Time{}, 100); err != nil || got != 2 {
			t.Errorf("%s: streak = %d, %v; want 2", when, got, err)
		}
		forget()
	}
	// Outcomes written after the migration reach delivery_ends by the view.
	if err := store.RecordOutcomes(ctx, []clickhouse.Outcome{outcome(rule, uuid.New(), 0, "e", rulelog.Failed, at(40))}); err != nil {
		t.Fatal(err)
	}
	if got, err := store.ConsecutiveFailedDeliveries(ctx, rule, time.Time{}, 100); err != nil || got != 3 {
		t.Errorf("after a new failure: streak = %d, %v; want 3", got, err)
	}
}

func TestMigrateTwice(t *testing.T) {
	store := testenv.ClickHouse(t) // migrated once already
	ctx := context.Background()
	results, err := store.Migrate(ctx)
	if err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if len(results) == 0 {
		t.Fatal("no migrations reported")
	}
	for _, r := range results {
		if r.Applied {
			t.Errorf("migration %04d_%s applied again", r.Version, r.Name)
		}
	}
}

// A migration interrupted after some ADD COLUMNs ran must apply cleanly again.
func TestMigrateSkipsAddedColumns(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	if err := store.Exec(ctx, `ALTER TABLE runs DROP COLUMN output_values`); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{"schema_migrations", "schema_migration_steps"} {
		if err := store.Exec(ctx, `ALTER TABLE `+table+` DELETE WHERE version = 4`); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(500 * time.Millisecond) // mutations are asynchronous
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatalf("re-applying a half-applied migration: %v", err)
	}
	var n uint64
	if err := store.QueryRow(ctx, clickhouse.ColumnExistsSQL, "runs", "output_values").Scan(&n); err != nil || n != 1 {
		t.Fatalf("output_values not re-added: n=%d err=%v", n, err)
	}
}
