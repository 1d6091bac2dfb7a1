package console

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/rulelog"
)

var (
	ruleID    = uuid.MustParse("0190a3b4-0000-7000-8000-000000000001")
	runOK     = uuid.MustParse("0190a3b4-0000-7000-8000-0000000000a1")
	runBad    = uuid.MustParse("0190a3b4-0000-7000-8000-0000000000b2")
	runHooked = uuid.MustParse("0190a3b4-0000-7000-8000-0000000000c3")
	at        = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
)

const spec = `{"id":"0190a3b4-0000-7000-8000-000000000001","name":"errors","project":"0190a3b4-0000-7000-8000-0000000000ff",` +
	`"sampling_rate":1,"interval":"1m","enabled":true,"feedback":{"require":["correctness"],"wait":"10m","on_timeout":"skip"},` +
	`"max_runs_per_delivery":100,"webhooks":["https://hooks.example.com/in?token=REDACTED"]}`

func fixture() (*fakeStore, *fakeSchedules, *fakeStarter, Options) {
	st := &fakeStore{
		rules: []clickhouse.StoredRule{{ID: ruleID, Name: "errors", Spec: spec, CreatedAt: at, UpdatedAt: at}},
		log: map[uuid.UUID][]clickhouse.LogEntry{
			ruleID: {
				{At: at.Add(3 * time.Second), RunID: runBad, Event: "failed", Reason: "HTTP 500", Where: "rule-x/d/b0/w0", Webhook: 0},
				{At: at.Add(2 * time.Second), RunID: runOK, Event: "delivered", Where: "rule-x/d/b1/w0", Webhook: 0},
				{At: at.Add(time.Second), RunID: runOK, Event: "matched", Where: "rule-x/tick", Webhook: -1},
			},
			rulelog.RunWebhookRuleID(): {
				{At: at, RunID: runHooked, Event: "delivered", Where: "run-webhook/" + runHooked.String() + "/delivery", Webhook: 0},
			},
		},
		attempts: map[string][]clickhouse.Attempt{
			"rule-x/d/b0/w0": {{DeliveryID: "rule-x/d/b0/w0", Attempt: 1, Class: "server_error", StatusCode: 500,
				Duration: 12 * time.Millisecond, URLRedacted: "https://hooks.example.com/in?token=REDACTED", Error: "HTTP 500"}},
			"rule-x/d/b1/w0": {{DeliveryID: "rule-x/d/b1/w0", Attempt: 1, Class: "delivered", StatusCode: 200, Duration: 3 * time.Millisecond}},
		},
		outcomes: []clickhouse.Outcome{
			{RuleID: ruleID, RunID: runOK, DeliveryID: "rule-x/d/b1/w0", Outcome: "delivered", At: at.Add(2 * time.Second)},
			{RuleID: ruleID, RunID: runBad, DeliveryID: "rule-x/d/b0/w0", Outcome: "failed", Reason: "HTTP 500", At: at.Add(3 * time.Second)},
			{RuleID: rulelog.RunWebhookRuleID(), RunID: runHooked, DeliveryID: "run-webhook/x/delivery", Outcome: "delivered", At: at},
		},
		hooks:  map[uuid.UUID]clickhouse.RunWebhook{runHooked: {RunID: runHooked, URLRedacted: "https://lg.example.com/done?k=REDACTED", WorkflowID: "run-webhooks/abc"}},
		failed: map[uint16][]uuid.UUID{0: {runBad}},
	}
	sc := &fakeSchedules{paused: map[uuid.UUID]bool{}}
	starter := &fakeStarter{}
	return st, sc, starter, Options{Store: st, Schedules: sc, Redeliveries: starter,
		TemporalUI: "http://127.0.0.1:8233", Namespace: "default"}
}

func newConsole(t *testing.T, opts Options) http.Handler {
	t.Helper()
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return c.Handler()
}

// get fetches path from loopback and returns the status and body.
func get(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	req.RemoteAddr = "127.0.0.1:50000"
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Code, string(b)
}

func mustContain(t *testing.T, page, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("%s: no %q in the page", page, w)
		}
	}
}

func TestRulesPage(t *testing.T) {
	_, _, _, opts := fixture()
	code, body := get(t, newConsole(t, opts), "/console/")
	if code != http.StatusOK {
		t.Fatalf("GET /console/: %d %s", code, body)
	}
	mustContain(t, "rules", body, "errors", "active", "1m", "correctness", "https://hooks.example.com/in?token=REDACTED",
		"failed", "HTTP 500", `<td>1</td>`)
}

func TestRulePageShowsScheduleLogAndAttempts(t *testing.T) {
	_, _, _, opts := fixture()
	code, body := get(t, newConsole(t, opts), "/console/rules/"+ruleID.String())
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	mustContain(t, "rule", body, `id="state"`, "active", "2026-01-01 00:01:00.000Z", // next tick
		runOK.String(), runBad.String(), "matched", "delivered", "server_error", "500", "12 ms",
		"webhook-id <code>rule-x/d/b0/w0</code>",
		// the Delivery in the Temporal UI: the DeliverRuns workflow the batch belongs to
		"http://127.0.0.1:8233/namespaces/default/workflows?query=WorkflowId%3D%22rule-x%2Fd%22",
		"http://127.0.0.1:8233/namespaces/default/schedules/rule-"+ruleID.String(), `max_runs_per_delivery&#34;: 100`)

	// A search by run id keeps that run's entries only.
	_, body = get(t, newConsole(t, opts), "/console/rules/"+ruleID.String()+"?run="+runOK.String()[30:])
	if strings.Contains(body, runBad.String()) || !strings.Contains(body, runOK.String()) {
		t.Errorf("search by %s: page still lists %s, or no longer %s", runOK.String()[30:], runBad, runOK)
	}
}

func TestRunWebhooksAndRunPages(t *testing.T) {
	_, _, _, opts := fixture()
	h := newConsole(t, opts)
	code, body := get(t, h, "/console/run-webhooks")
	if code != http.StatusOK {
		t.Fatalf("%d %s", code, body)
	}
	mustContain(t, "run webhooks", body, runHooked.String(), "delivered", "WorkflowId%3D%22run-webhooks%2Fabc%22")

	_, body = get(t, h, "/console/runs/"+runBad.String())
	mustContain(t, "run", body, "errors", "failed", "HTTP 500", "rule-x/d/b0/w0", "Created without a completion webhook")
	_, body = get(t, h, "/console/runs/"+runHooked.String())
	mustContain(t, "run", body, "https://lg.example.com/done?k=REDACTED", "run-webhooks/abc", "delivered")

	if code, _ := get(t, h, "/console/runs/not-a-uuid"); code != http.StatusBadRequest {
		t.Errorf("bad run id: %d", code)
	}
	if code, _ := get(t, h, "/console/rules/"+uuid.NewString()); code != http.StatusNotFound {
		t.Errorf("unknown rule: %d", code)
	}
}

func TestPagesEscapeStoredText(t *testing.T) {
	st, _, _, opts := fixture()
	st.rules[0].Name = `<script>alert(1)</script>`
	_, body := get(t, newConsole(t, opts), "/console/")
	if strings.Contains(body, "<script>alert") {
		t.Fatal("a rule's name reached the page unescaped")
	}
}

// A run older than the newest log entries a page reads is still found by
// its whole id, on the rule's page and on its own.
func TestOldRunIsFoundByItsID(t *testing.T) {
	st, _, _, opts := fixture()
	old := uuid.MustParse("0190a3b4-0000-7000-8000-0000000000d4")
	var newer []clickhouse.LogEntry
	for i := range logLimit {
		newer = append(newer, clickhouse.LogEntry{At: at.Add(time.Hour - time.Duration(i)*time.Millisecond), RunID: uuid.New(), Event: "matched", Where: "rule-x/later", Webhook: -1})
	}
	st.log[ruleID] = append(append(newer, st.log[ruleID]...),
		clickhouse.LogEntry{At: at.Add(-time.Hour), RunID: old, Event: "matched", Where: "rule-x/long-ago", Webhook: -1})
	h := newConsole(t, opts)
	_, body := get(t, h, "/console/rules/"+ruleID.String()+"?run="+strings.ToUpper(old.String()))
	mustContain(t, "rule searched by a whole run id", body, old.String(), "rule-x/long-ago")
	if strings.Contains(body, "rule-x/later") {
		t.Error("the search by a whole run id lists other runs")
	}
	_, body = get(t, h, "/console/runs/"+old.String())
	mustContain(t, "an old run's page", body, "errors", "matched", "rule-x/long-ago")
}
