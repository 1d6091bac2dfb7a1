// Package e2e_test drives runhook end to end on the real ClickHouse and
// Temporal servers: rules applied with the starter CLI, runs and feedback
// stored, a worker ticking the rules' schedules, and a loopback receiver.
package e2e_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// rule is one rule of a rules file. Each gets a random id unless extra sets
// one: ids derived from names would be shared by every test (and every run of
// the tests) on the one Temporal server.
func rule(name, extra string) string {
	if !strings.Contains(extra, "    id: ") {
		extra = "    id: " + uuid.NewString() + "\n" + extra
	}
	return fmt.Sprintf(`
  - name: %s
    project: ${PROJECT}
    interval: 1s
    webhooks:
      - url: ${RECEIVER_URL}/hook?secret=s3cr3t-query
%s`, name, extra)
}

func file(rules ...string) string { return "rules:" + strings.Join(rules, "") }

func TestFilterMixingFieldsDeliversExactlyTheMatches(t *testing.T) {
	h := newHarness(t)
	h.startWorker()
	h.mustApply(file(rule("slow-prod-llm", `    filter: 'and(eq(run_type, "llm"), gt(latency, "2s"), has(tags, "prod"), or(gte(total_tokens, 100), eq(name, "special")))'
`)))

	match := func(r *runs.Run) { r.RunType, r.Tags, r.TotalTokens = "llm", []string{"prod", "x"}, 150 }
	hit1 := h.run(match)
	hit2 := h.run(match, func(r *runs.Run) { r.TotalTokens, r.Name = 5, "special" })
	fast := h.run(match, func(r *runs.Run) { e := r.StartTime.Add(time.Second); r.EndTime = &e })
	chain := h.run(match, func(r *runs.Run) { r.RunType = "chain" })
	noTag := h.run(match, func(r *runs.Run) { r.Tags = []string{"dev"} })
	few := h.run(match, func(r *runs.Run) { r.TotalTokens = 5 })
	running := h.run(match, func(r *runs.Run) { r.EndTime, r.Status = nil, "running" })
	elsewhere := h.run(match, func(r *runs.Run) { r.SessionID = uuid.New() })
	h.insert(hit1, hit2, fast, chain, noTag, few, running, elsewhere)

	h.waitDelivered(ids(hit1, hit2), 3*time.Second)

	// The running run matches once it is stored completed.
	done := running
	end := done.StartTime.Add(5 * time.Second)
	done.EndTime, done.Status, done.ModifiedAt = &end, "success", end
	h.insert(done)
	h.waitDelivered(ids(hit1, hit2, done), 3*time.Second)

	out, err := h.starter("rules", "logs", "slow-prod-llm")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"matched", "delivered", hit1.ID.String()} {
		if !strings.Contains(out, want) {
			t.Errorf("rules logs lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "s3cr3t-query") {
		t.Errorf("rules logs shows the URL's secret:\n%s", out)
	}
}

func TestFeedbackGate(t *testing.T) {
	h := newHarness(t)
	h.startWorker()
	h.mustApply(file(
		rule("gated-skip", `    feedback: {require: [usefulness, accuracy], wait: 10s, on_timeout: skip}
`),
		rule("gated-deliver", `    filter: 'eq(name, "late")'
    feedback: {require: [usefulness], wait: 4s, on_timeout: deliver}
`)))
	scored, unscored := h.run(), h.run()
	late := h.run(func(r *runs.Run) { r.Name = "late" })
	h.insert(scored, unscored, late)

	// Both gated rules wait: nothing may arrive before the feedback does.
	waitFor(t, 30*time.Second, "the runs to be waiting", func() bool {
		n, _ := countEvents(h, "waiting")
		return n >= 4
	})
	time.Sleep(2 * time.Second)
	if got := h.recv.got(); len(got) != 0 {
		t.Fatalf("delivered before any feedback: %v", got)
	}
	h.feedback(scored.ID, "usefulness", 1)
	time.Sleep(2 * time.Second)
	if got := h.recv.got(); got[scored.ID] != 0 {
		t.Fatalf("delivered with one of two required keys: %v", got)
	}
	h.feedback(scored.ID, "accuracy", 0.5)

	// scored: delivered by gated-skip once both keys exist; unscored: skipped
	// at the deadline; late: delivered by gated-deliver at its deadline.
	h.waitDelivered(ids(scored, late), 8*time.Second)

	skips, err := h.store.RuleLog(context.Background(), ruleID(t, h, "gated-skip"), 100)
	if err != nil {
		t.Fatal(err)
	}
	var timedOut, skipped bool
	for _, e := range skips {
		if e.RunID == unscored.ID && e.Event == rulelog.TimedOut {
			timedOut = true
		}
		if e.RunID == unscored.ID && e.Event == rulelog.Skipped && strings.Contains(e.Reason, "accuracy") {
			skipped = true
		}
	}
	if !timedOut || !skipped {
		t.Errorf("unscored run: timed_out logged %v, skipped with reason logged %v; log: %+v", timedOut, skipped, skips)
	}
}

func countEvents(h *harness, event string) (int, error) {
	var n uint64
	err := h.store.QueryRow(context.Background(), `SELECT count() FROM rule_events WHERE event = ?`, event).Scan(&n)
	return int(n), err
}

func ruleID(t *testing.T, h *harness, name string) uuid.UUID {
	t.Helper()
	all, err := h.store.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range all {
		if r.Name == name {
			return r.ID
		}
	}
	t.Fatalf("no rule %q stored", name)
	return uuid.Nil
}

func TestPauseStopsAndResumeRestarts(t *testing.T) {
	h := newHarness(t)
	h.startWorker()
	h.mustApply(file(rule("pausable", "")))
	first := h.run()
	h.insert(first)
	h.waitDelivered(ids(first), time.Second)

	if out, err := h.starter("rules", "pause", "pausable"); err != nil {
		t.Fatalf("pause: %v\n%s", err, out)
	}
	second := h.run()
	h.insert(second)
	time.Sleep(5 * time.Second)
	h.assertExactly(ids(first))
	if out, _ := h.starter("rules", "list"); !strings.Contains(out, "paused") {
		t.Errorf("rules list does not show the pause:\n%s", out)
	}

	if out, err := h.starter("rules", "resume", "pausable"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	h.waitDelivered(ids(first, second), 2*time.Second)
}

func TestBackfillCoversAnOldWindowWithoutDuplicates(t *testing.T) {
	h := newHarness(t)
	h.startWorker()
	old := []runs.Run{h.run(), h.run(), h.run()}
	h.insert(old...)
	time.Sleep(2100 * time.Millisecond) // the rule is created after these were stored
	h.mustApply(file(rule("backfilled", "")))
	fresh := h.run()
	h.insert(fresh)
	h.waitDelivered(ids(fresh), 2*time.Second) // old runs predate the rule

	for i := 0; i < 2; i++ { // twice over the same window: the second finds everything claimed
		if out, err := h.starter("rules", "backfill", "backfilled", "--from", "-10m", "--to", "-1s"); err != nil {
			t.Fatalf("backfill: %v\n%s", err, out)
		}
		h.waitDelivered(append(ids(old...), fresh.ID), 3*time.Second)
	}
	claims, err := h.store.ClaimCounts(context.Background(), ruleID(t, h, "backfilled"))
	if err != nil {
		t.Fatal(err)
	}
	for id, n := range claims {
		if n != 1 {
			t.Errorf("run %s claimed %d times", id, n)
		}
	}
}

func TestOverlappingTriggersDeliverOnce(t *testing.T) {
	h := newHarness(t)
	h.startWorker()
	h.mustApply(file(rule("hammered", "")))
	var batch []runs.Run
	for i := 0; i < 50; i++ {
		batch = append(batch, h.run())
	}
	h.insert(batch...)
	done := make(chan error, 8)
	for i := 0; i < 8; i++ {
		go func() {
			_, err := h.starter("rules", "trigger", "hammered")
			done <- err
		}()
	}
	for i := 0; i < 8; i++ {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	h.waitDelivered(ids(batch...), 4*time.Second)
}

func TestSamplingIsNearTheRateAndStable(t *testing.T) {
	id := uuid.New()
	var first map[uuid.UUID]int
	var runIDs []uuid.UUID
	for round := 0; round < 2; round++ {
		h := newHarness(t)
		h.startWorker()
		var batch []runs.Run
		for i := 0; i < 400; i++ {
			r := h.run()
			if round == 1 { // the same runs, in a fresh database
				r.ID, r.TraceID = runIDs[i], runIDs[i]
			} else {
				runIDs = append(runIDs, r.ID)
			}
			batch = append(batch, r)
		}
		h.mustApply(file(rule("sampled", fmt.Sprintf("    id: %s\n    sampling_rate: 0.5\n", id))))
		h.insert(batch...)
		waitFor(t, 60*time.Second, "sampled deliveries to settle", func() bool {
			n := len(h.recv.got())
			time.Sleep(3 * time.Second)
			return n > 0 && n == len(h.recv.got())
		})
		got := h.recv.got()
		// 400 draws at p = 0.5: ±5 standard deviations is ±50.
		if n := len(got); n < 150 || n > 250 {
			t.Fatalf("round %d: sampled %d of 400 at rate 0.5", round, n)
		}
		if round == 0 {
			first = got
			if err := h.schedule.Delete(context.Background(), id); err != nil { // the next round reuses the id
				t.Fatal(err)
			}
			continue
		}
		for run := range got {
			if first[run] == 0 {
				t.Fatalf("round 2 sampled run %s, which round 1 did not", run)
			}
		}
		if len(got) != len(first) {
			t.Fatalf("round 1 sampled %d runs, round 2 %d", len(first), len(got))
		}
	}
}

func TestInvalidRuleFileChangesNothing(t *testing.T) {
	h := newHarness(t)
	good := file(rule("kept", `    filter: 'eq(run_type, "llm")'
`))
	out := h.mustApply(good)
	if !strings.Contains(out, "1 to create") {
		t.Fatalf("first apply plan:\n%s", out)
	}
	out = h.mustApply(good)
	if !strings.Contains(out, "0 to create, 0 to update, 1 unchanged, 0 to delete") {
		t.Fatalf("second apply of the same file changed something:\n%s", out)
	}
	before, err := h.store.Rules(context.Background())
	if err != nil {
		t.Fatal(err)
	}

	bad := file(
		rule("kept", `    filter: 'eq(run_type, "tool")'
`),
		rule("broken", `    filter: 'and(eq(run_type, "llm")'
    sampling_rate: 3
`),
		rule("new-one", ""),
	)
	out, err = h.apply(bad)
	if err == nil {
		t.Fatalf("a file with a bad rule was applied:\n%s", out)
	}
	for _, want := range []string{`rule "broken"`, "filter", "sampling_rate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	after, _ := h.store.Rules(context.Background())
	if len(after) != len(before) || after[0].Fingerprint != before[0].Fingerprint || !after[0].UpdatedAt.Equal(before[0].UpdatedAt) {
		t.Fatalf("refused file changed the stored rules: before %+v after %+v", before, after)
	}

	// A dry run prints the plan and changes nothing; --prune deletes.
	out = h.mustApply(file(rule("other", "")), "--prune", "--dry-run")
	if !strings.Contains(out, "1 to create, 0 to update, 0 unchanged, 1 to delete") {
		t.Fatalf("dry-run plan:\n%s", out)
	}
	if again, _ := h.store.Rules(context.Background()); len(again) != 1 || again[0].Name != "kept" {
		t.Fatalf("dry run changed rules: %+v", again)
	}
	h.mustApply(file(rule("other", "")), "--prune")
	st, err := h.schedule.Get(context.Background(), before[0].ID)
	if err != nil || st.Exists {
		t.Fatalf("pruned rule's schedule still exists (%v)", err)
	}
}

func TestFailingReceiverPausesTheRuleAndItsSchedule(t *testing.T) {
	h := newHarness(t)
	h.cfg.Delivery.PauseAfterFailures = 2
	h.startWorker()
	h.recv.answer(400) // final: not retried
	h.mustApply(file(rule("fragile", "")))
	id := ruleID(t, h, "fragile")
	h.insert(h.run())
	// The second run once the first one's delivery has been answered, so
	// that it goes in a second delivery however late the ticks run.
	waitFor(t, 60*time.Second, "the first delivery", func() bool { return h.recv.postCount() >= 1 })
	h.insert(h.run())
	waitFor(t, 120*time.Second, "the rule's schedule to pause", func() bool {
		st, err := h.schedule.Get(context.Background(), id)
		return err == nil && st.Paused && strings.Contains(st.Note, "failed in a row")
	})
	out, err := h.starter("rules", "get", "fragile")
	if err != nil || !strings.Contains(out, "2 deliveries failed in a row") {
		t.Fatalf("rules get does not say why the rule paused (%v):\n%s", err, out)
	}

	// Resumed against a healthy receiver, it delivers what comes next.
	h.recv.answer(0)
	if out, err := h.starter("rules", "resume", "fragile"); err != nil {
		t.Fatalf("resume: %v\n%s", err, out)
	}
	next := h.run()
	h.insert(next)
	waitFor(t, 60*time.Second, "a delivery after the resume", func() bool { return h.recv.got()[next.ID] == 1 })
}

// An insert whose server time falls in a window already read (a slow insert
// becomes visible late) is found by the next window's lookback, once.
func TestLateVisibleInsertIsFoundByTheLookback(t *testing.T) {
	h := newHarness(t)
	h.startWorker()
	h.mustApply(file(rule("lookback", "")))
	first := h.run()
	h.insert(first)
	h.waitDelivered(ids(first), 2*time.Second)
	time.Sleep(5 * time.Second) // the watermark is now seconds past now() - 4, and the rule older than that

	late := h.run()
	end := late.EndTime.UnixMicro()
	err := h.store.Exec(context.Background(), `INSERT INTO runs (id, trace_id, session_id, name, run_type, status, is_root,
		start_time, end_time, modified_at, inserted_at)
		SELECT toUUID(?), toUUID(?), toUUID(?), 'agent', 'chain', 'success', 1, toUInt64(?), toUInt64(?), toUInt64(?), now() - 4`,
		late.ID.String(), late.ID.String(), h.project.String(), late.StartTime.UnixMicro(), end, end)
	if err != nil {
		t.Fatal(err)
	}
	h.waitDelivered(ids(first, late), 3*time.Second)
}

// LangSmith's recommended pattern: a filter on a feedback key picks a run up
// on the polling cycle after the evaluator scores it, long after it ended.
func TestFeedbackFilterCatchesRunsScoredAfterTheyEnded(t *testing.T) {
	h := newHarness(t)
	h.startWorker()
	h.mustApply(file(rule("scored", `    filter: 'and(eq(feedback_key, "answer_usefulness"), gte(feedback_score, 0.5))'
`)))
	good, poor, never := h.run(), h.run(), h.run()
	h.insert(good, poor, never)
	time.Sleep(4 * time.Second) // several ticks read the runs' window: nothing matches yet
	if got := h.recv.got(); len(got) != 0 {
		t.Fatalf("delivered before any score: %v", got)
	}
	h.feedback(good.ID, "answer_usefulness", 0.9)
	h.feedback(poor.ID, "answer_usefulness", 0.1)
	h.waitDelivered(ids(good), 3*time.Second)
}

// A receiver down for longer than the retries: the runs are recorded failed,
// `rules logs` shows it, and `rules redeliver --failed` sends them again once.
func TestRedeliverFailedRuns(t *testing.T) {
	h := newHarness(t)
	h.startWorker()
	h.recv.answer(503) // retried, then failed
	h.mustApply(file(rule("outage", "")))
	batch := []runs.Run{h.run(), h.run(), h.run()}
	h.insert(batch...)
	id := ruleID(t, h, "outage")
	waitFor(t, 120*time.Second, "the runs to be recorded failed", func() bool {
		failed, err := h.store.Failed(context.Background(), id, 100)
		return err == nil && len(failed[0]) == len(batch)
	})
	out, err := h.starter("rules", "logs", "outage")
	if err != nil || strings.Count(out, " failed ") < len(batch) {
		t.Fatalf("rules logs does not show the failures (%v):\n%s", err, out)
	}

	h.recv.answer(0)
	if out, err := h.starter("rules", "redeliver", "outage", "--failed"); err != nil || !strings.Contains(out, "3 run(s) to webhook 0") {
		t.Fatalf("redeliver: %v\n%s", err, out)
	}
	h.waitDelivered(ids(batch...), 2*time.Second)
	if out, err := h.starter("rules", "redeliver", "outage", "--failed"); err != nil || !strings.Contains(out, "no failed deliveries") {
		t.Fatalf("second redeliver: %v\n%s", err, out)
	}
}

func TestStatusShowsServicesAndRules(t *testing.T) {
	h := newHarness(t)
	h.startWorker()
	h.mustApply(file(rule("watched", ""), rule("gated", `    feedback: {require: [usefulness], wait: 1m}
`)))
	r := h.run()
	h.insert(r)
	h.waitDelivered(ids(r), time.Second)
	// gated waits for feedback on r; watched delivered it.
	fields := func(out, rule string) []string {
		for _, line := range strings.Split(out, "\n") {
			if f := strings.Fields(line); len(f) > 0 && f[0] == rule {
				return f
			}
		}
		return nil
	}
	var out string
	waitFor(t, 30*time.Second, "status to show the delivery and the wait", func() bool {
		out, _ = h.starter("status")
		g, w := fields(out, "gated"), fields(out, "watched")
		return len(g) >= 5 && g[4] == "1" && len(w) >= 6 && w[5] == "delivered" && w[3] != "-"
	})
	for _, want := range []string{"clickhouse  ok", "temporal    ok", "workers     ok    1 polling task queue " + h.queue} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s", want, out)
		}
	}
}

// Every log line about a delivery names its rule, workflow and delivery, in
// JSON with log.format=json.
func TestDeliveryLogLinesCarryTheirIDs(t *testing.T) {
	h := newHarness(t)
	h.logs = &testenv.Buffer{}
	h.startWorker()
	h.recv.answer(503) // the first attempt fails and is retried
	h.mustApply(file(rule("logged", "")))
	r := h.run()
	h.insert(r)
	waitFor(t, 60*time.Second, "a failed attempt", func() bool { return strings.Contains(h.logs.String(), "webhook attempt failed") })
	h.recv.answer(0)
	h.waitDelivered(ids(r), time.Second)

	seen := map[string]int{}
	for _, line := range strings.Split(strings.TrimSpace(h.logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		msg, _ := rec["msg"].(string)
		if !strings.HasPrefix(msg, "webhook ") {
			continue
		}
		seen[msg]++
		for _, key := range []string{"rule_id", "workflow_id", "delivery_id"} {
			if v, _ := rec[key].(string); v == "" {
				t.Errorf("%q line lacks %s: %s", msg, key, line)
			}
		}
		if strings.Contains(line, "s3cr3t-query") {
			t.Errorf("log line shows the URL's secret: %s", line)
		}
	}
	if seen["webhook attempt failed"] == 0 || seen["webhook delivered"] == 0 {
		t.Fatalf("delivery log lines seen: %v", seen)
	}
}
