package api_test

// The rules API against the real ClickHouse and Temporal, beside the CLI it
// shares its implementation with.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"

	"github.com/runhook/runhook/internal/api"
	iapp "github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/cli"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/rules"
	"github.com/runhook/runhook/internal/schedules"
	"github.com/runhook/runhook/internal/testenv"
)

const rulesTestKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

// rulesServer is the API with the rules API on the test's database and,
// unless c is nil, on the test's Temporal task queue.
func rulesServer(t *testing.T, c client.Client, queue string) *server {
	t.Helper()
	return newServer(t, func(o *api.Options) {
		cfg := testenv.Config(t)
		cfg.Secrets.Key = rulesTestKey
		cfg.Temporal.TaskQueue = queue
		cfg.Delivery.AllowCIDRs = []string{"127.0.0.0/8"}
		svc, err := iapp.RuleService(cfg, o.Store.(*clickhouse.Store), c)
		if err != nil {
			t.Fatal(err)
		}
		o.Rules = svc
	})
}

// starter runs the CLI on the server's database and task queue.
func starter(t *testing.T, s *server, queue string, args ...string) (string, error) {
	t.Helper()
	env := []string{"RUNHOOK_CLICKHOUSE_DATABASE=" + s.store.Database(), "RUNHOOK_TEMPORAL_TASK_QUEUE=" + queue,
		"RUNHOOK_SECRETS_KEY=" + rulesTestKey, "RUNHOOK_DELIVERY_ALLOW_CIDRS=127.0.0.0/8"}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "RUNHOOK_CLICKHOUSE_ADDR=") {
			env = append(env, kv)
		}
	}
	cmd := cli.New(strings.NewReader(""), env)
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// cliPlan reads the plan lines `starter rules apply --dry-run` prints as
// "action name id why".
func cliPlan(out string) []string {
	var plan []string
	line := regexp.MustCompile(`^(create|update|unchanged|delete)\s+(\S+)\s+([0-9a-f-]{36})\s*(?:\((.*)\))?$`)
	for _, l := range strings.Split(out, "\n") {
		if m := line.FindStringSubmatch(strings.TrimSpace(l)); m != nil {
			plan = append(plan, strings.Join(m[1:], " "))
		}
	}
	return plan
}

func apiPlan(t *testing.T, res response) []string {
	t.Helper()
	var body struct {
		Plan []struct {
			Action string `json:"action"`
			Name   string `json:"name"`
			RuleID string `json:"rule_id"`
			Why    string `json:"why"`
		}
	}
	if err := json.Unmarshal(res.raw, &body); err != nil {
		t.Fatalf("plan %s: %v", res.raw, err)
	}
	var plan []string
	for _, c := range body.Plan {
		plan = append(plan, strings.Join([]string{c.Action, c.Name, c.RuleID, c.Why}, " "))
	}
	return plan
}

// Every operation over HTTP, beside the CLI: the same plan for the same
// file, and no secret of the file in any answer.
func TestRulesAPI(t *testing.T) {
	c, queue := testenv.Temporal(t)
	s := rulesServer(t, c, queue)
	m := schedules.Manager{Client: c, TaskQueue: queue}
	t.Cleanup(func() { _ = m.DeleteRetention(context.Background()) })
	ctx := context.Background()

	var tests atomic.Int32
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("webhook-test") == "true" && r.URL.Query().Get("secret") == "hush-url-secret" &&
			r.Header.Get("Authorization") == "Bearer hush-header-secret" && r.Header.Get("webhook-signature") != "" {
			tests.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(rcv.Close)
	signing := "whsec_" + base64.StdEncoding.EncodeToString([]byte("hush-signing-secret-of-the-tests"))
	secrets := []string{"hush-url-secret", "hush-header-secret", signing, strings.TrimPrefix(signing, "whsec_")}

	name, other := "api-"+uuid.NewString()[:8], "api-other-"+uuid.NewString()[:8]
	id := rules.DeriveID(name)
	file := fmt.Sprintf(`rules:
  - name: %s
    project: %s
    interval: 1h
    webhooks:
      - url: %s/hook?secret=hush-url-secret
        headers:
          Authorization: Bearer hush-header-secret
        signing_secret: %s
  - name: %s
    project: %s
    interval: 30m
    enabled: false
    webhooks:
      - url: https://hooks.example/other
`, name, uuid.New(), rcv.URL, signing, other, uuid.New())
	path := filepath.Join(t.TempDir(), "rules.yaml")
	if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = m.Delete(context.Background(), id)
		_ = m.Delete(context.Background(), rules.DeriveID(other))
	})

	var answers [][]byte
	do := func(method, path string, body []byte, want int) response {
		t.Helper()
		res := s.do(method, path, body)
		answers = append(answers, res.raw)
		if res.status != want {
			t.Fatalf("%s %s: %d, want %d\n%s", method, path, res.status, want, res.raw)
		}
		return res
	}

	// The same plan from the CLI and the API, before and after applying.
	out, err := starter(t, s, queue, "rules", "apply", "--dry-run", "-f", path)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	res := do("PUT", "/rules?dry_run=true", []byte(file), http.StatusOK)
	if got, want := apiPlan(t, res), cliPlan(out); len(want) != 2 || strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("API plan\n%s\nCLI plan\n%s\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"), out)
	}
	if res.body["applied"] != false || res.body["dry_run"] != true {
		t.Fatalf("dry run: %s", res.raw)
	}
	if all, err := s.store.Rules(ctx); err != nil || len(all) != 0 {
		t.Fatalf("a dry run stored %d rules, %v", len(all), err)
	}
	res = do("PUT", "/rules", []byte(file), http.StatusOK)
	if res.body["applied"] != true || fmt.Sprint(res.body["counts"]) != "map[create:2 delete:0 unchanged:0 update:0]" || res.body["retention"] != "created" {
		t.Fatalf("apply: %s", res.raw)
	}
	out, err = starter(t, s, queue, "rules", "apply", "--dry-run", "-f", path)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	res = do("PUT", "/rules?dry_run=true", []byte(file), http.StatusOK)
	if got, want := apiPlan(t, res), cliPlan(out); len(want) != 2 || !strings.HasPrefix(want[0], "unchanged ") ||
		strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("after applying, API plan\n%s\nCLI plan\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// JSON of the same shape is a rules file too.
	var asJSON bytes.Buffer
	fmt.Fprintf(&asJSON, `{"rules": [{"name": %q, "project": %q, "interval": "1h", "webhooks": [{"url": "https://hooks.example/json"}]}]}`,
		"api-json-"+uuid.NewString()[:8], uuid.New())
	res = do("PUT", "/rules?dry_run=true", asJSON.Bytes(), http.StatusOK)
	if plan := apiPlan(t, res); len(plan) != 1 || !strings.HasPrefix(plan[0], "create ") {
		t.Fatalf("JSON rules file: %s", res.raw)
	}

	res = do("GET", "/rules", nil, http.StatusOK)
	var list struct {
		Rules []struct {
			ID       uuid.UUID
			Name     string
			State    string
			Webhooks []string
		}
	}
	if err := json.Unmarshal(res.raw, &list); err != nil || len(list.Rules) != 2 || list.Rules[0].Name != name ||
		list.Rules[0].State != "active" || list.Rules[1].State != "paused" || !strings.Contains(list.Rules[0].Webhooks[0], "secret=***") {
		t.Fatalf("list: %v\n%s", err, res.raw)
	}
	res = do("GET", "/rules/"+name, nil, http.StatusOK)
	if res.body["schedule"].(map[string]any)["id"] != schedules.ID(id) || res.body["rule"].(map[string]any)["id"] != id.String() {
		t.Fatalf("get by name: %s", res.raw)
	}
	// The CLI shows the same rule the same way.
	out, err = starter(t, s, queue, "rules", "get", id.String())
	var cliGet, apiGet map[string]any
	if err != nil || json.Unmarshal([]byte(out), &cliGet) != nil || json.Unmarshal(do("GET", "/rules/"+id.String(), nil, http.StatusOK).raw, &apiGet) != nil ||
		fmt.Sprint(cliGet["rule"]) != fmt.Sprint(apiGet["rule"]) {
		t.Fatalf("rules get: %v\nCLI %s\nAPI %v", err, out, apiGet)
	}

	res = do("POST", "/rules/"+name+"/pause", []byte(`{"reason": "receiver maintenance"}`), http.StatusOK)
	if p, ok, err := s.store.LatestPause(ctx, id); err != nil || !ok || !p.Paused || p.Reason != "paused with the rules API: receiver maintenance" {
		t.Fatalf("pause: %+v %v %v\n%s", p, ok, err, res.raw)
	}
	if st, err := m.Get(ctx, id); err != nil || !st.Paused {
		t.Fatalf("paused schedule: %+v, %v", st, err)
	}
	do("POST", "/rules/"+name+"/resume", nil, http.StatusOK)
	if st, err := m.Get(ctx, id); err != nil || st.Paused {
		t.Fatalf("resumed schedule: %+v, %v", st, err)
	}
	do("POST", "/rules/"+id.String()+"/trigger", nil, http.StatusAccepted)
	res = do("POST", "/rules/"+name+"/backfill", []byte(`{"from": "-2h", "to": "-1h"}`), http.StatusAccepted)
	if bs, err := s.store.Backfills(ctx, id); err != nil || len(bs) != 1 || bs[0].ID != res.body["backfill"] {
		t.Fatalf("backfill: %+v, %v\n%s", bs, err, res.raw)
	}
	do("POST", "/rules/"+name+"/backfill", []byte(`{"from": "-1h", "to": "-2h"}`), http.StatusUnprocessableEntity)

	res = do("POST", "/rules/"+name+"/test", nil, http.StatusOK)
	if tests.Load() != 1 || !strings.Contains(string(res.raw), `"delivered":true`) {
		t.Fatalf("test delivery: %d received\n%s", tests.Load(), res.raw)
	}
	run := res.body["example_run"].(string)
	res = do("GET", "/rules/"+name+"/logs?limit=50&run="+run, nil, http.StatusOK)
	if entries := res.body["entries"].([]any); len(entries) == 0 || entries[0].(map[string]any)["event"] != "test" {
		t.Fatalf("logs: %s", res.raw)
	}
	// Redelivery of what failed, as `rules redeliver --failed`.
	do("POST", "/rules/"+name+"/redeliver", nil, http.StatusUnprocessableEntity)
	res = do("POST", "/rules/"+name+"/redeliver", []byte(`{"failed": true}`), http.StatusOK)
	if got := res.body["redeliveries"].([]any); len(got) != 0 {
		t.Fatalf("redeliver with nothing failed: %s", res.raw)
	}
	failed := uuid.New()
	if err := s.store.RecordOutcomes(ctx, []clickhouse.Outcome{{RuleID: id, RunID: failed, DeliveryID: "d-failed",
		Outcome: rulelog.Failed, Reason: "HTTP 500", At: time.Now().UTC()}}); err != nil {
		t.Fatal(err)
	}
	res = do("POST", "/rules/"+name+"/redeliver", []byte(`{"failed": true, "limit": 10}`), http.StatusAccepted)
	got := res.body["redeliveries"].([]any)
	if len(got) != 1 || got[0].(map[string]any)["runs"] != float64(1) || got[0].(map[string]any)["webhook"] != float64(0) {
		t.Fatalf("redeliver: %s", res.raw)
	}
	wid := got[0].(map[string]any)["workflow_id"].(string)
	if !strings.HasPrefix(wid, schedules.ID(id)+"/redeliver-") {
		t.Fatalf("redelivery workflow %q", wid)
	}
	if d, err := c.DescribeWorkflowExecution(ctx, wid, ""); err != nil || d.WorkflowExecutionInfo.Type.Name != "DeliverRuns" {
		t.Fatalf("redelivery workflow %s: %v, %v", wid, d, err)
	}
	_ = c.TerminateWorkflow(ctx, wid, "", "test done: no worker polls this queue")

	res = do("GET", "/rules/"+name+"/preview?since=10m&limit=5", nil, http.StatusOK)
	if res.body["counts"].(map[string]any)["filtered"] != float64(0) {
		t.Fatalf("preview: %s", res.raw)
	}
	do("POST", "/rules/preview?rule="+other, []byte(file), http.StatusOK)

	do("DELETE", "/rules/"+other, nil, http.StatusOK)
	do("GET", "/rules/"+other, nil, http.StatusNotFound)
	do("GET", "/rules/"+uuid.NewString(), nil, http.StatusNotFound)
	if all, err := s.store.Rules(ctx); err != nil || len(all) != 1 {
		t.Fatalf("after delete: %d rules, %v", len(all), err)
	}

	for _, raw := range answers {
		for _, secret := range secrets {
			if bytes.Contains(raw, []byte(secret)) {
				t.Fatalf("an answer carries a secret: %s", raw)
			}
		}
	}
}

// A file with any bad rule is refused whole with 422, each problem naming
// the rule and field; ${VAR} is never read from the server's environment.
func TestRulesAPIRefusesABadFileWhole(t *testing.T) {
	c, queue := testenv.Temporal(t)
	s := rulesServer(t, c, queue)
	good := "api-good-" + uuid.NewString()[:8]
	t.Cleanup(func() {
		_ = schedules.Manager{Client: c, TaskQueue: queue}.Delete(context.Background(), rules.DeriveID(good))
	})
	for _, bad := range []struct{ name, rule, field string }{
		{"a bad URL", "    webhooks:\n      - url: ftp://hooks.example/x?secret=hush-bad-secret\n", "rules[1].webhooks[0].url"},
		{"an unknown field", "    webhooks:\n      - url: https://hooks.example/x\n    colour: red\n", "rules[1]"},
		{"a variable", "    webhooks:\n      - url: https://hooks.example/x?secret=${HOME}\n", ""},
	} {
		file := fmt.Sprintf("rules:\n  - name: %s\n    project: %s\n    webhooks:\n      - url: https://hooks.example/ok\n  - name: bad-one\n    project: %s\n%s",
			good, uuid.New(), uuid.New(), bad.rule)
		res := s.do("PUT", "/rules", []byte(file))
		if res.status != http.StatusUnprocessableEntity || !strings.HasPrefix(res.body["error"].(string), "rules file refused, nothing changed:") ||
			bad.field != "" && res.body["field"] != bad.field ||
			res.body["errors"] == nil || bytes.Contains(res.raw, []byte("hush-bad-secret")) || bytes.Contains(res.raw, []byte(os.Getenv("HOME")+"\"")) {
			t.Errorf("%s: %d\n%s", bad.name, res.status, res.raw)
		}
		if all, err := s.store.Rules(context.Background()); err != nil || len(all) != 0 {
			t.Fatalf("%s: %d rules stored, %v", bad.name, len(all), err)
		}
	}
	if res := s.do("PUT", "/rules?dry_run=maybe", nil); res.status != http.StatusUnprocessableEntity || res.body["field"] != "dry_run" {
		t.Errorf("dry_run=maybe: %d %s", res.status, res.raw)
	}
}

// Every route of the rules API asks for the API key.
func TestRulesAPIAuth(t *testing.T) {
	s := rulesServer(t, nil, "unused")
	for _, route := range []string{"GET /rules", "PUT /rules", "POST /rules/preview", "GET /rules/x", "DELETE /rules/x",
		"POST /rules/x/pause", "POST /rules/x/resume", "POST /rules/x/trigger", "POST /rules/x/backfill",
		"POST /rules/x/test", "POST /rules/x/redeliver", "GET /rules/x/logs", "GET /rules/x/preview"} {
		method, path, _ := strings.Cut(route, " ")
		for _, key := range []string{"", "not-the-key"} {
			res := s.do(method, path, nil, "x-api-key", key)
			if res.status != http.StatusUnauthorized {
				t.Errorf("%s with key %q: %d %s", route, key, res.status, res.raw)
			}
		}
	}
}

// Without Temporal (http.disable_webhooks) the rules API answers 503 and
// says why; what needs no schedule still works.
func TestRulesAPIWithoutTemporal(t *testing.T) {
	s := rulesServer(t, nil, "unused")
	file := fmt.Sprintf("rules:\n  - name: offline\n    project: %s\n    webhooks:\n      - url: https://hooks.example/x\n", uuid.New())
	for _, req := range []struct{ method, path, body string }{{"GET", "/rules", ""}, {"PUT", "/rules?dry_run=true", file}} {
		res := s.do(req.method, req.path, []byte(req.body))
		if res.status != http.StatusServiceUnavailable || !strings.Contains(res.body["error"].(string), "no Temporal connection") {
			t.Errorf("%s %s: %d %s", req.method, req.path, res.status, res.raw)
		}
	}
	if res := s.do("POST", "/rules/preview?rule=offline&since=5m", []byte(file)); res.status != http.StatusOK {
		t.Errorf("preview without Temporal: %d %s", res.status, res.raw)
	}
	if res := s.do("GET", "/rules/offline", nil); res.status != http.StatusNotFound || res.body["field"] != "rule" {
		t.Errorf("a missing rule: %d %s", res.status, res.raw)
	}
}
