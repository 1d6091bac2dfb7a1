package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	iapp "github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/testenv"
)

// The rules commands print one line each and leave the rule as they say:
// pause and resume change the pause record and the schedule; redeliver
// starts one workflow per webhook with failed runs.
func TestRulesPauseResumeRedeliver(t *testing.T) {
	ctx := context.Background()
	store := testenv.ClickHouse(t)
	c, queue := testenv.Temporal(t)
	m := schedules.Manager{Client: c, TaskQueue: queue}
	t.Cleanup(func() { _ = m.DeleteRetention(context.Background()) })
	env := append(dbEnv(store), "RUNHOOK_TEMPORAL_TASK_QUEUE="+queue, "RUNHOOK_SECRETS_KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=")
	name := "ops-" + uuid.NewString()[:8]
	path := filepath.Join(t.TempDir(), "rules.yaml")
	file := fmt.Sprintf("rules:\n  - name: %s\n    project: %s\n    interval: 1h\n    webhooks:\n      - url: https://hooks.example/x\n", name, uuid.New())
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, _, err := run(t, env, "", "rules", "apply", "-f", path); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	id := rules.DeriveID(name)
	t.Cleanup(func() { _ = m.Delete(context.Background(), id) })

	for _, step := range []struct {
		cmd, state string
		paused     bool
	}{{"pause", "paused", true}, {"resume", "resumed", false}} {
		out, _, err := run(t, env, "", "rules", step.cmd, name)
		if want := fmt.Sprintf("rule %q (%s): %s\n", name, id, step.state); err != nil || out != want {
			t.Fatalf("rules %s: %v\n%q, want %q", step.cmd, err, out, want)
		}
		p, found, err := store.LatestPause(ctx, id)
		why := step.state + " with starter rules " + step.cmd
		if err != nil || !found || p.Paused != step.paused || p.Reason != why {
			t.Fatalf("after rules %s: pause record %+v found %v, %v", step.cmd, p, found, err)
		}
		if st, err := m.Get(ctx, id); err != nil || st.Paused != step.paused || st.Note != why {
			t.Fatalf("after rules %s: schedule %+v, %v", step.cmd, st, err)
		}
	}

	out, _, err := run(t, env, "", "rules", "redeliver", name, "--failed")
	if want := fmt.Sprintf("rule %q (%s): no failed deliveries\n", name, id); err != nil || out != want {
		t.Fatalf("redeliver with nothing failed: %v\n%q, want %q", err, out, want)
	}
	run1 := uuid.New()
	if err := store.RecordOutcomes(ctx, []clickhouse.Outcome{{RuleID: id, RunID: run1, DeliveryID: "d1",
		Outcome: rulelog.Failed, Reason: "server_error: 503", At: time.Now()}}); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, env, "", "rules", "redeliver", name, "--failed")
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(fmt.Sprintf(`^rule %q \(%s\): 1 run\(s\) to webhook 0: workflow (rule-%s/redeliver-\d{8}T\d{6}\.\d{3}Z/w0)\n$`,
		name, id, id)).FindStringSubmatch(out)
	if line == nil {
		t.Fatalf("redeliver printed %q", out)
	}
	// No worker runs the test's queue: the workflow is ended here.
	if err := c.TerminateWorkflow(ctx, line[1], "", "test over"); err != nil {
		t.Errorf("the redelivery workflow %s: %v", line[1], err)
	}
}

// A backfill's window is read and checked before anything is dialled.
func TestRulesBackfillWindow(t *testing.T) {
	for _, c := range []struct {
		from, to, want string
	}{
		{"yesterday", "-1h", `--from: "yesterday" is neither an RFC 3339 time nor a duration like -2h`},
		{"-1h", "soon", `--to: "soon" is neither an RFC 3339 time nor a duration like -2h`},
		{"2026-11-20T10:00:00Z", "2026-11-20", "--to (2026-11-20T00:00:00Z) must be after --from (2026-11-20T10:00:00Z)"},
	} {
		_, _, err := run(t, []string{}, "", "rules", "backfill", "some-rule", "--from", c.from, "--to", c.to)
		if err == nil || err.Error() != c.want {
			t.Errorf("--from %s --to %s: %v, want %q", c.from, c.to, err, c.want)
		}
	}
}

// rules preview reads a stored rule, or a rule of a file not yet applied,
// and prints a count per stage and the first runs it picks.
func TestRulesPreview(t *testing.T) {
	ctx := context.Background()
	store := testenv.ClickHouse(t)
	env := dbEnv(store)
	project := uuid.New()
	var picked []runs.Run
	for _, name := range []string{"call", "call", "other"} {
		id := uuid.New()
		start := time.Now().UTC().Add(-time.Minute).Truncate(time.Second)
		end := start.Add(time.Second)
		r := runs.Run{ID: id, TraceID: id, SessionID: project, Name: name, RunType: "llm", Status: "success",
			IsRoot: true, StartTime: start, EndTime: &end, ModifiedAt: end}
		if err := store.InsertRuns(ctx, []runs.Run{r}); err != nil {
			t.Fatal(err)
		}
		if name == "call" {
			picked = append(picked, r)
		}
	}
	slices.SortFunc(picked, func(a, b runs.Run) int { return strings.Compare(a.ID.String(), b.ID.String()) })
	time.Sleep(2 * time.Second) // past rules.settle_lag, in whole seconds
	name := "preview-" + uuid.NewString()[:8]
	path := filepath.Join(t.TempDir(), "rules.yaml")
	file := fmt.Sprintf("rules:\n  - name: %s\n    project: %s\n    filter: eq(name, \"call\")\n    webhooks:\n      - url: https://hooks.example/x?secret=${HOOK_SECRET}\n", name, project)
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	id := rules.DeriveID(name)
	want := regexp.MustCompile(fmt.Sprintf(`^rule %q \(%s\), project %s
window \(\S+Z, \S+Z\] of server insertion time: --since 1h, up to rules.settle_lag \(1s\) before the clock
filter             2  eq\(name, "call"\)
trace filter       2  \(none\)
sampling           2  rate 1
not yet handed on  2  what a tick over this window would hand on now
first 1 of 2 picked, in the order ticks hand them on:
RUN +NAME +STARTED +STORED +STATE
%s  call  %s  \S+Z +new
preview only: nothing was claimed, recorded or sent
$`, name, id, project, picked[0].ID, picked[0].StartTime.Format(time.RFC3339)))

	out, _, err := run(t, append(env, "HOOK_SECRET=s3cret"), "", "rules", "preview", "-f", path, "--rule", name, "--limit", "1")
	if err != nil || !want.MatchString(out) {
		t.Fatalf("preview of the file's rule: %v\n%s", err, out)
	}

	// Stored, the same rule previews the same by name.
	rs, err := rules.Load(path, func(string) (string, bool) { return "s3cret", true }, delivery.URLPolicy{})
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(rs[0].Spec())
	now := time.Now()
	if err := store.PutRule(ctx, clickhouse.StoredRule{ID: id, Name: name, Spec: string(spec), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	out, _, err = run(t, env, "", "rules", "preview", name, "--limit", "1")
	if err != nil || !want.MatchString(out) {
		t.Fatalf("preview of the stored rule: %v\n%s", err, out)
	}

	for _, args := range [][]string{{}, {name, "-f", path, "--rule", name}, {"-f", path}, {name, "--rule", name}} {
		_, _, err := run(t, env, "", append([]string{"rules", "preview"}, args...)...)
		if err == nil || !strings.Contains(err.Error(), "name a stored RULE, or give -f FILE --rule NAME") {
			t.Errorf("rules preview %v: %v", args, err)
		}
	}
	if _, _, err := run(t, append(env, "HOOK_SECRET=s3cret"), "", "rules", "preview", "-f", path, "--rule", "nope"); err == nil || !strings.Contains(err.Error(), `has no rule named "nope"`) {
		t.Errorf("preview of a missing rule: %v", err)
	}
}

// rules test posts to every webhook of the rule through the guard (opened
// for loopback by delivery.allow_cidrs), prints each answer with the URL
// redacted, and leaves "test" events in rules logs.
func TestRulesTest(t *testing.T) {
	ctx := context.Background()
	store := testenv.ClickHouse(t)
	key := "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	env := append(dbEnv(store), "RUNHOOK_SECRETS_KEY="+key, "RUNHOOK_DELIVERY_ALLOW_CIDRS=127.0.0.0/8")
	var tests atomic.Int32
	status := atomic.Int32{}
	status.Store(http.StatusNoContent)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-test") == "true" && r.URL.Query().Get("secret") == "hush-hush" {
			tests.Add(1)
		}
		w.WriteHeader(int(status.Load()))
	}))
	t.Cleanup(rcv.Close)

	name := "tested-" + uuid.NewString()[:8]
	id := rules.DeriveID(name)
	cfg := testenv.Config(t)
	cfg.Secrets.Key = key
	box, err := iapp.Secrets(cfg.Secrets)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	w, err := delivery.Seal(box, delivery.URLPolicy{}, id, 0, delivery.Target{URL: rcv.URL + "/hook?secret=hush-hush"}, now)
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := json.Marshal(rules.Spec{ID: id, Name: name, Project: uuid.New(), SamplingRate: 1, Interval: "1m", Webhooks: []string{w.URLRedacted}})
	if err := store.PutRule(ctx, clickhouse.StoredRule{ID: id, Name: name, Spec: string(spec), CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := store.PutWebhooks(ctx, []clickhouse.Webhook{w}); err != nil {
		t.Fatal(err)
	}

	out, _, err := run(t, env, "", "rules", "test", name)
	want := regexp.MustCompile(fmt.Sprintf(`^rule %q \(%s\): test delivery of example run ([0-9a-f-]{36}), with webhook-test: true
WEBHOOK +URL +STATUS +TIME +RESULT
0 +%s  204 +\S+s +delivered
recorded as "test" events in `+"`starter rules logs`"+`; the rule's claims, failure streak and pause are unchanged
$`, name, id, regexp.QuoteMeta(w.URLRedacted)))
	m := want.FindStringSubmatch(out)
	if err != nil || m == nil || tests.Load() != 1 || strings.Contains(out, "hush-hush") {
		t.Fatalf("rules test: %v, %d test POSTs\n%s", err, tests.Load(), out)
	}

	status.Store(http.StatusServiceUnavailable)
	out, _, err = run(t, env, "", "rules", "test", name)
	if err == nil || err.Error() != "1 of 1 webhook(s) did not accept the test delivery" ||
		!regexp.MustCompile(`(?m)^0 +\S+ +503 +\S+s +server_error: receiver answered 503 Service Unavailable$`).MatchString(out) {
		t.Fatalf("rules test to a failing receiver: %v\n%s", err, out)
	}

	out, _, err = run(t, env, "", "rules", "logs", name)
	if err != nil || strings.Count(out, " test ") != 2 || !strings.Contains(out, m[1]) || strings.Contains(out, "hush-hush") {
		t.Fatalf("rules logs: %v\n%s", err, out)
	}
}
