package runhooks_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.temporal.io/sdk/client"
	"go.temporal.io/sdk/worker"

	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/clickhousetest"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/logging"
	"github.com/runhook/runhook/internal/presign"
	"github.com/runhook/runhook/internal/rulelog"
	"github.com/runhook/runhook/internal/runhooks"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
	"github.com/runhook/runhook/workflows"
)

// post is one request the receiver got.
type post struct {
	at     time.Time
	query  string
	header http.Header
	body   []byte
}

// receiver is a loopback webhook endpoint that keeps every request by path
// and answers each path's status (200 unless set).
type receiver struct {
	srv    *httptest.Server
	mu     sync.Mutex
	posts  map[string][]post
	status map[string]int
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{posts: map[string][]post{}, status: map[string]int{}}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.posts[req.URL.Path] = append(r.posts[req.URL.Path], post{time.Now(), req.URL.RawQuery, req.Header.Clone(), body})
		status := r.status[req.URL.Path]
		r.mu.Unlock()
		if status == 0 {
			status = http.StatusOK
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) got(path string) []post {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]post(nil), r.posts[path]...)
}

// harness is one isolated runhook: its own database, task queue, secrets
// key, worker, presigned-URL server and receiver, on the real services.
type harness struct {
	t       *testing.T
	store   *clickhouse.Store
	c       client.Client
	cfg     config.Config
	hooks   *runhooks.Hooks
	recv    *receiver
	api     *httptest.Server // serves /presigned/ as the API mounts it
	logs    *testenv.Buffer
	started []string // workflow IDs
}

func newHarness(t *testing.T, tune ...func(*config.Config)) *harness {
	t.Helper()
	h := &harness{t: t, store: testenv.ClickHouse(t), recv: newReceiver(t), logs: &testenv.Buffer{}}
	c, queue := testenv.Temporal(t)
	h.c = c
	h.api = httptest.NewServer(nil)
	t.Cleanup(h.api.Close)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	cfg := testenv.Config(t)
	cfg.Temporal.TaskQueue = queue
	cfg.Secrets.Key = base64.StdEncoding.EncodeToString(key)
	cfg.Delivery.AllowCIDRs = []string{"127.0.0.0/8", "::1/128"} // the receiver is on loopback, and only loopback opens
	cfg.Delivery.InitialInterval = 200 * time.Millisecond
	cfg.API.PublicURL = h.api.URL
	for _, f := range tune {
		f(&cfg)
	}
	h.cfg = cfg
	logger := logging.New(h.logs, config.Log{Level: "debug", Format: "json"})

	presigned, err := app.Presigned(cfg, h.store)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(presign.Prefix, presigned)
	h.api.Config.Handler = mux

	acts, err := app.Activities(cfg, h.store, logger)
	if err != nil {
		t.Fatal(err)
	}
	w := worker.New(c, queue, worker.Options{})
	workflows.Register(w)
	w.RegisterActivity(acts)
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	if h.hooks, err = app.RunHooks(cfg, h.store, c, logger); err != nil {
		t.Fatal(err)
	}
	// Workflows of runs a test left pending would wait on the shared server for a day.
	t.Cleanup(func() {
		for _, id := range h.started {
			_ = c.TerminateWorkflow(context.Background(), id, "", "test over")
		}
	})
	return h
}

// run is a root run; ended=false leaves it pending.
func run(ended bool, opts ...func(*runs.Run)) runs.Run {
	id := uuid.New()
	start := time.Now().UTC().Add(-10 * time.Second).Truncate(time.Microsecond)
	r := runs.Run{ID: id, TraceID: id, SessionID: uuid.New(), Name: "agent", RunType: "chain", Status: "pending",
		IsRoot: true, DottedOrder: runs.DottedOrderPart(start, id), StartTime: start, ModifiedAt: start, Tags: []string{},
		Inputs: json.RawMessage(`{"question":"what is runhook?"}`)}
	if ended {
		end(&r)
	}
	for _, o := range opts {
		o(&r)
	}
	return r
}

// end makes r a newer, ended version of itself.
func end(r *runs.Run) {
	e := time.Now().UTC().Truncate(time.Microsecond)
	r.EndTime, r.ModifiedAt, r.Status = &e, e, "success"
	r.Outputs = json.RawMessage(`{"answer":"webhooks"}`)
}

func (h *harness) register(reqs ...runhooks.Request) []runhooks.Registration {
	h.t.Helper()
	regs, err := h.hooks.Register(context.Background(), reqs)
	if err != nil {
		h.t.Fatalf("Register: %v", err)
	}
	ids := make([]uuid.UUID, len(reqs))
	for i, r := range reqs {
		ids[i] = r.RunID
	}
	h.started = append(h.started, workflows.RunWebhooksID(ids))
	return regs
}

// write stores runs and, for those that ended, tells the hooks: what the API does.
func (h *harness) write(rs ...runs.Run) {
	h.t.Helper()
	ctx := context.Background()
	if err := h.store.InsertRuns(ctx, rs); err != nil {
		h.t.Fatal(err)
	}
	var ended []uuid.UUID
	for _, r := range rs {
		if r.EndTime != nil {
			ended = append(ended, r.ID)
		}
	}
	if err := h.hooks.Completed(ctx, ended); err != nil {
		h.t.Fatalf("Completed: %v", err)
	}
}

// result waits for the webhook workflow of the run, which its row names, to end.
func (h *harness) result(id uuid.UUID) workflows.RunWebhooksResult {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	hooks, err := h.store.RunWebhooks(ctx, []uuid.UUID{id})
	if err != nil || hooks[id].WorkflowID == "" {
		h.t.Fatalf("run %s: webhook %+v (%v), want its workflow named", id, hooks[id], err)
	}
	var res workflows.RunWebhooksResult
	if err := h.c.GetWorkflow(ctx, hooks[id].WorkflowID, "").Get(ctx, &res); err != nil {
		h.t.Fatalf("workflow of run %s: %v", id, err)
	}
	return res
}

func decodeRun(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%.300s", err, body)
	}
	return m
}

// A run created ended gets exactly one POST of itself, with ?token= as given.
func TestRunCreatedEnded(t *testing.T) {
	h := newHarness(t)
	r := run(true)
	const token = "tok-3c1f9e0b77"
	regs := h.register(runhooks.Request{RunID: r.ID, URL: h.recv.srv.URL + "/hook?token=" + token + "&team=evals"})
	if len(regs) != 1 || !regs[0].Registered || regs[0].RunID != r.ID {
		t.Fatalf("registrations %+v", regs)
	}
	h.write(r)
	res := h.result(r.ID)
	if res.Delivered != 1 || res.Failed != 0 {
		t.Fatalf("result %+v", res)
	}
	time.Sleep(time.Second)
	posts := h.recv.got("/hook")
	if len(posts) != 1 {
		t.Fatalf("%d POSTs, want 1", len(posts))
	}
	p := posts[0]
	if p.query != "token="+token+"&team=evals" {
		t.Errorf("query %q, want the token kept as given", p.query)
	}
	if got, want := p.header.Get("webhook-id"), "run-webhook/"+r.ID.String()+"/delivery"; got != want {
		t.Errorf("webhook-id %q, want %q", got, want)
	}
	if p.header.Get("Content-Type") != "application/json" || p.header.Get("webhook-signature") != "" {
		t.Errorf("headers %v", p.header)
	}
	body := decodeRun(t, p.body)
	if body["id"] != r.ID.String() || body["status"] != "success" || body["end_time"] != runs.FormatRunTime(*r.EndTime) {
		t.Errorf("body id %v status %v end_time %v", body["id"], body["status"], body["end_time"])
	}
	if !bytes.Contains(p.body, []byte(`"inputs":{"question":"what is runhook?"}`)) || !bytes.Contains(p.body, []byte(`"outputs":{"answer":"webhooks"}`)) {
		t.Errorf("inputs/outputs not inline as stored:\n%s", p.body)
	}
	// The same keys as a rule payload's runs: LangSmith's run shape.
	for _, k := range []string{"trace_id", "dotted_order", "session_id", "parent_run_ids", "inputs_s3_urls", "outputs_s3_urls", "feedback_stats", "app_path"} {
		if _, ok := body[k]; !ok {
			t.Errorf("body lacks %q", k)
		}
	}

	outcomes, err := h.store.Outcomes(context.Background(), uuid.Nil, []uuid.UUID{r.ID})
	if err != nil {
		t.Fatal(err)
	}
	if len(outcomes) != 1 || outcomes[0].Outcome != rulelog.Delivered {
		t.Errorf("outcomes %+v", outcomes)
	}
}

// A run created pending is posted once, after it is written ended.
func TestRunPendingThenEnded(t *testing.T) {
	h := newHarness(t)
	r := run(false)
	h.register(runhooks.Request{RunID: r.ID, URL: h.recv.srv.URL + "/hook"})
	h.write(r)
	time.Sleep(8 * time.Second) // checks at 0, 1, 3 and 7 s; the next at 15 s
	if n := len(h.recv.got("/hook")); n != 0 {
		t.Fatalf("%d POSTs before the run ended", n)
	}
	end(&r)
	endedAt := time.Now()
	h.write(r)
	if res := h.result(r.ID); res.Delivered != 1 {
		t.Fatalf("result %+v", res)
	}
	posts := h.recv.got("/hook")
	if len(posts) != 1 {
		t.Fatalf("%d POSTs, want 1", len(posts))
	}
	// The signal brings it at once, not at the next backed-off check.
	if lag := posts[0].at.Sub(endedAt); lag > 4*time.Second {
		t.Errorf("posted %s after the run ended", lag)
	}
	if body := decodeRun(t, posts[0].body); body["status"] != "success" || body["end_time"] == nil {
		t.Errorf("posted the pending version: status %v end_time %v", body["status"], body["end_time"])
	}
}

// A client retrying its create registers and completes the run again: still one POST,
// before and after the first POST.
func TestDuplicateRegisterAndCompleted(t *testing.T) {
	h := newHarness(t)
	r := run(true)
	req := runhooks.Request{RunID: r.ID, URL: h.recv.srv.URL + "/hook?token=dup"}
	h.register(req, req)
	h.register(req)
	h.write(r)
	h.write(r)
	if res := h.result(r.ID); res.Delivered != 1 {
		t.Fatalf("result %+v", res)
	}
	regs := h.register(req) // after the workflow closed
	if !regs[0].Registered {
		t.Errorf("registration after delivery %+v", regs[0])
	}
	h.write(r)
	time.Sleep(2 * time.Second)
	if n := len(h.recv.got("/hook")); n != 1 {
		t.Errorf("%d POSTs, want 1", n)
	}
	// Completed for runs without a webhook, or never registered, is a no-op.
	if err := h.hooks.Completed(context.Background(), []uuid.UUID{uuid.New()}); err != nil {
		t.Error(err)
	}
}

// http.disable_webhooks: nothing stored, not registered with the reason, logged, nothing sent.
func TestDisabled(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.HTTP.DisableWebhooks = true })
	r := run(true)
	// Policy is not applied to a URL that will not be used.
	regs := h.register(runhooks.Request{RunID: r.ID, URL: h.recv.srv.URL + "/hook?token=off"})
	if len(regs) != 1 || regs[0].Registered || regs[0].Reason != "webhook not registered: http.disable_webhooks" {
		t.Fatalf("registrations %+v", regs)
	}
	h.write(r)
	time.Sleep(2 * time.Second)
	if n := len(h.recv.got("/hook")); n != 0 {
		t.Errorf("%d POSTs, want none", n)
	}
	if got, err := h.store.RunWebhooks(context.Background(), []uuid.UUID{r.ID}); err != nil || len(got) != 0 {
		t.Errorf("stored webhooks %v, %v", got, err)
	}
	if stored, err := h.store.LatestRuns(context.Background(), []uuid.UUID{r.ID}); err != nil || len(stored) != 1 {
		t.Errorf("the run itself was not stored: %v", err)
	}
	if _, err := h.c.DescribeWorkflowExecution(context.Background(), workflows.RunWebhooksID([]uuid.UUID{r.ID}), ""); err == nil {
		t.Error("a webhook workflow was started")
	}
	var line map[string]any
	for _, l := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(l, "http.disable_webhooks") {
			_ = json.Unmarshal([]byte(l), &line)
		}
	}
	if line["msg"] != "webhook not registered: http.disable_webhooks" || line["run_id"] != r.ID.String() {
		t.Errorf("log line %v", line)
	}
}

// Each URL policy option refuses at creation with its message, before
// anything is stored, and never echoes the token.
func TestPolicyRefusedAtCreation(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Delivery.AllowedDomains = []string{"hooks.example.com"}
		c.Delivery.AllowedPorts = []int{443, 8443}
		c.Delivery.MaxURLLength = 100
		c.Delivery.AllowPrivate = true // never opens metadata
	})
	strict := newHarness(t, func(c *config.Config) {
		c.Delivery.RequireHTTPS, c.Delivery.DisableLoopback = true, true
	})
	for _, tc := range []struct {
		hooks *runhooks.Hooks
		url   string
		want  string
	}{
		{strict.hooks, "http://hooks.example.com/in?token=tok-secret", "webhook: http is not allowed (delivery.require_https)"},
		{strict.hooks, "https://localhost:8443/in?token=tok-secret", "webhook: host localhost is a loopback address (delivery.disable_loopback)"},
		{strict.hooks, "https://127.0.0.1/in?token=tok-secret", "webhook: host 127.0.0.1 is a loopback address (delivery.disable_loopback)"},
		{h.hooks, "https://evil.example.net/in?token=tok-secret", "webhook: host evil.example.net is not in delivery.allowed_domains"},
		{h.hooks, "https://hooks.example.com:9443/in?token=tok-secret", "webhook: port 9443 is not in delivery.allowed_ports"},
		{h.hooks, "https://hooks.example.com/" + strings.Repeat("p", 80) + "?token=tok-secret", "webhook: URL is 123 characters long, more than delivery.max_url_length 100"},
		{h.hooks, "ftp://hooks.example.com/in", "webhook: scheme must be http or https"},
		{h.hooks, "http://169.254.169.254/latest?token=tok-secret", "webhook: destination 169.254.169.254 refused: link-local (cloud metadata) address (only delivery.allow_cidrs can allow it, with an entry inside the range; delivery.allow_private never does)"},
		{strict.hooks, "https://10.0.0.1/in?token=tok-secret", "webhook: destination 10.0.0.1 refused: private address (set delivery.allow_private or delivery.allow_cidrs to allow it)"},
	} {
		err := tc.hooks.Check(tc.url)
		var pe *runhooks.PolicyError
		if !errors.As(err, &pe) || pe.Msg != tc.want {
			t.Errorf("Check(%s) = %v, want %q", tc.url, err, tc.want)
		}
		id := uuid.New()
		_, err = tc.hooks.Register(context.Background(), []runhooks.Request{{RunID: id, URL: tc.url}})
		if !errors.As(err, &pe) || pe.Msg != tc.want {
			t.Errorf("Register(%s) = %v, want %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "tok-secret") {
			t.Errorf("error shows the token: %v", err)
		}
	}
	if err := h.hooks.Check("https://api.hooks.example.com:8443/in?token=ok"); err != nil {
		t.Errorf("allowed URL refused: %v", err)
	}
	for _, s := range []*clickhouse.Store{h.store, strict.store} {
		dump, err := clickhousetest.DumpText(context.Background(), s)
		if err != nil {
			t.Fatal(err)
		}
		if dump["run_webhooks"] != "" {
			t.Errorf("refused webhooks were stored:\n%s", dump["run_webhooks"])
		}
	}
}

// A receiver answering 500 gets the delivery rules of rule webhooks: 3
// attempts under one webhook-id with growing gaps, then failed; no rule is paused.
func TestReceiver500Retried(t *testing.T) {
	h := newHarness(t, func(c *config.Config) {
		c.Delivery.PauseAfterFailures = 1
		// The dev server fires retry timers with about a second's precision:
		// gaps of 200 ms and 400 ms both come out near a second.
		c.Delivery.InitialInterval = time.Second
	})
	h.recv.status["/down"] = 500
	r := run(true)
	h.register(runhooks.Request{RunID: r.ID, URL: h.recv.srv.URL + "/down?token=t500"})
	h.write(r)
	res := h.result(r.ID)
	if res.Delivered != 0 || res.Failed != 1 {
		t.Fatalf("result %+v", res)
	}
	posts := h.recv.got("/down")
	if len(posts) != 3 {
		t.Fatalf("%d attempts, want 3", len(posts))
	}
	if posts[0].header.Get("webhook-id") != posts[2].header.Get("webhook-id") {
		t.Error("webhook-id changed between retries")
	}
	if g1, g2 := posts[1].at.Sub(posts[0].at), posts[2].at.Sub(posts[1].at); g2 <= g1 {
		t.Errorf("gaps %s then %s: not growing", g1, g2)
	}
	ctx := context.Background()
	attempts, err := h.store.Attempts(ctx, "run-webhook/"+r.ID.String()+"/delivery")
	if err != nil || len(attempts) != 3 {
		t.Fatalf("%d attempts recorded (%v)", len(attempts), err)
	}
	for _, a := range attempts {
		if a.RuleID != uuid.Nil || a.URLRedacted != h.recv.srv.URL+"/down?token=***" || a.Class != "server_error" {
			t.Errorf("attempt %+v", a)
		}
	}
	outcomes, err := h.store.Outcomes(ctx, uuid.Nil, []uuid.UUID{r.ID})
	if err != nil || len(outcomes) != 1 || outcomes[0].Outcome != rulelog.Failed {
		t.Errorf("outcomes %+v (%v)", outcomes, err)
	}
	if _, paused, err := h.store.LatestPause(ctx, uuid.Nil); err != nil || paused {
		t.Errorf("a run webhook failure recorded a pause (%v)", err)
	}
}

// Large inputs go by presigned URL: fetched back byte for byte, 403 when tampered.
func TestLargeInputsByPresignedURL(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.Payload.InlineMaxBytes = 4 << 10 })
	big := json.RawMessage(`{"doc": "` + strings.Repeat("lorem <ipsum> & \\\"dolor\\\" ", 20_000) + `",  "n": 1.50}`)
	r := run(true, func(r *runs.Run) { r.Inputs = big })
	h.register(runhooks.Request{RunID: r.ID, URL: h.recv.srv.URL + "/hook"})
	h.write(r)
	if res := h.result(r.ID); res.Delivered != 1 {
		t.Fatalf("result %+v", res)
	}
	posts := h.recv.got("/hook")
	if len(posts) != 1 {
		t.Fatalf("%d POSTs", len(posts))
	}
	if len(posts[0].body) > 8<<10 {
		t.Errorf("body is %d bytes: inputs not offloaded", len(posts[0].body))
	}
	var body struct {
		Inputs        json.RawMessage `json:"inputs"`
		InputsS3URLs  map[string]map[string]string
		Outputs       json.RawMessage `json:"outputs"`
		OutputsS3URLs json.RawMessage `json:"outputs_s3_urls"`
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(posts[0].body, &raw); err != nil {
		t.Fatal(err)
	}
	body.Inputs, body.Outputs, body.OutputsS3URLs = raw["inputs"], raw["outputs"], raw["outputs_s3_urls"]
	if err := json.Unmarshal(raw["inputs_s3_urls"], &body.InputsS3URLs); err != nil {
		t.Fatalf("inputs_s3_urls %s: %v", raw["inputs_s3_urls"], err)
	}
	if string(body.Inputs) != "null" || string(body.Outputs) != `{"answer":"webhooks"}` || string(body.OutputsS3URLs) != "null" {
		t.Errorf("inputs %s outputs %s outputs_s3_urls %s", body.Inputs, body.Outputs, body.OutputsS3URLs)
	}
	u := body.InputsS3URLs["ROOT"]["presigned_url"]
	if !strings.HasPrefix(u, h.api.URL+"/presigned/runs/"+r.ID.String()+"/inputs?") {
		t.Fatalf("presigned_url %q", u)
	}
	status, got := fetch(t, u)
	if status != 200 || !bytes.Equal(got, big) {
		t.Errorf("fetched %d: %d bytes, want the %d stored bytes", status, len(got), len(big))
	}
	for _, tampered := range []string{
		strings.Replace(u, "/inputs?", "/outputs?", 1),
		strings.Replace(u, "expires=", "expires=1", 1),
		u[:len(u)-3] + "abc",
	} {
		if status, _ := fetch(t, tampered); status != http.StatusForbidden {
			t.Errorf("tampered URL answered %d, want 403", status)
		}
	}
}

func fetch(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// The URL's token is nowhere but in the sealed row and the request itself:
// not in the Temporal histories, the logs or any other ClickHouse table.
func TestTokenStaysSecret(t *testing.T) {
	h := newHarness(t)
	h.recv.status["/flaky"] = 503
	const token, secret = "tok-9d2e51c0aa", "sec-41b7f3e2"
	ok, flaky := run(true), run(true)
	h.register(runhooks.Request{RunID: ok.ID, URL: h.recv.srv.URL + "/hook?token=" + token},
		runhooks.Request{RunID: flaky.ID, URL: h.recv.srv.URL + "/flaky?secret=" + secret})
	h.write(ok, flaky)
	h.result(ok.ID)
	h.result(flaky.ID)
	if p := h.recv.got("/hook"); len(p) != 1 || p[0].query != "token="+token {
		t.Fatalf("posts %+v", p)
	}

	check := func(where, text string) {
		for _, s := range []string{token, secret} {
			if strings.Contains(text, s) {
				t.Errorf("plaintext %s found in %s", s, where)
			}
		}
	}
	ctx := context.Background()
	// Both runs' POSTs are activities of their shared workflow.
	wf := workflows.RunWebhooksID([]uuid.UUID{ok.ID, flaky.ID})
	text, err := testenv.HistoryText(ctx, h.c, wf)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []uuid.UUID{ok.ID, flaky.ID} {
		if !strings.Contains(text, id.String()) {
			t.Fatalf("history of %s does not show run %s: the search sees nothing", wf, id)
		}
	}
	check("history of "+wf, text)
	logs := h.logs.String()
	if !strings.Contains(logs, "token=***") || !strings.Contains(logs, "webhook attempt failed") {
		t.Errorf("logs lack the redacted URL or the failed attempts:\n%s", logs)
	}
	check("logs", logs)
	dump, err := clickhousetest.DumpText(ctx, h.store)
	if err != nil {
		t.Fatal(err)
	}
	for table, text := range dump {
		check("ClickHouse table "+table, text)
	}
}

// Runs registered as written already ended share one RunWebhooks workflow,
// started a moment late (Delayed), which finds them ended with no Completed
// signal and posts each once, under its own webhook-id; registering the same
// runs again starts nothing and is not Delayed.
func TestRunsRegisteredEndedShareAWorkflow(t *testing.T) {
	h := newHarness(t)
	a, b := run(true), run(true)
	reqs := []runhooks.Request{
		{RunID: a.ID, URL: h.recv.srv.URL + "/hook?token=a", Ended: true},
		{RunID: b.ID, URL: h.recv.srv.URL + "/hook?token=b", Ended: true},
	}
	regs := h.register(reqs...)
	if len(regs) != 2 || !regs[0].Registered || !regs[0].Delayed || !regs[1].Delayed {
		t.Fatalf("registrations %+v, want registered and delayed", regs)
	}
	if again := h.register(reqs...); !again[0].Registered || again[0].Delayed {
		t.Errorf("second registration %+v, want registered, not delayed", again[0])
	}
	if err := h.store.InsertRuns(context.Background(), []runs.Run{a, b}); err != nil { // no Completed
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var res workflows.RunWebhooksResult
	if err := h.c.GetWorkflow(ctx, workflows.RunWebhooksID([]uuid.UUID{b.ID, a.ID}), "").Get(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Delivered != 2 {
		t.Fatalf("result %+v", res)
	}
	posts := h.recv.got("/hook")
	if len(posts) != 2 {
		t.Fatalf("%d POSTs, want 2", len(posts))
	}
	for _, p := range posts {
		id := decodeRun(t, p.body)["id"]
		if want := "run-webhook/" + fmt.Sprint(id) + "/delivery"; p.header.Get("webhook-id") != want {
			t.Errorf("webhook-id %q, want %q", p.header.Get("webhook-id"), want)
		}
	}
	// A pending run registered so is not delayed: its workflow waits for its
	// end, woken by Completed.
	p := run(false)
	if regs := h.register(runhooks.Request{RunID: p.ID, URL: h.recv.srv.URL + "/hook"}); regs[0].Delayed {
		t.Errorf("pending run's registration %+v, want not delayed", regs[0])
	}
	if _, err := h.c.DescribeWorkflowExecution(context.Background(), workflows.RunWebhooksID([]uuid.UUID{p.ID}), ""); err != nil {
		t.Errorf("pending run's workflow: %v", err)
	}
}

// Under http.webhook_format: langgraph the run is posted in LangGraph's Run
// shape, its ids read from the metadata LangGraph's tracing writes.
func TestLangGraphFormat(t *testing.T) {
	h := newHarness(t, func(c *config.Config) { c.HTTP.WebhookFormat = "langgraph" })
	const thread, graphRun = "9dde5490-2b67-47c8-aa14-4bfec88af217", "1ef0b6d2-8a41-6c3e-9d2b-5a7e1c0f4b11"
	r := run(true, func(r *runs.Run) {
		r.Extra = json.RawMessage(`{"metadata":{"thread_id":"` + thread + `","run_id":"` + graphRun + `","assistant_id":"agent"}}`)
	})
	h.register(runhooks.Request{RunID: r.ID, URL: h.recv.srv.URL + "/lg"})
	h.write(r)
	if res := h.result(r.ID); res.Delivered != 1 {
		t.Fatalf("result %+v", res)
	}
	hooks, err := h.store.RunWebhooks(context.Background(), []uuid.UUID{r.ID})
	if err != nil || hooks[r.ID].Format != "langgraph" {
		t.Fatalf("stored webhook %+v (%v): want its format stored", hooks[r.ID], err)
	}
	time.Sleep(time.Second)
	posts := h.recv.got("/lg")
	if len(posts) != 1 {
		t.Fatalf("%d POSTs, want 1", len(posts))
	}
	body := decodeRun(t, posts[0].body)
	if body["run_id"] != graphRun || body["thread_id"] != thread || body["assistant_id"] != "agent" || body["status"] != "success" {
		t.Errorf("body %s", posts[0].body)
	}
	if kw, _ := body["kwargs"].(map[string]any); kw == nil || kw["input"] == nil || body["values"] == nil {
		t.Errorf("kwargs %v values %v: want the inputs and outputs", body["kwargs"], body["values"])
	}
	if _, ok := body["dotted_order"]; ok {
		t.Errorf("body has LangSmith's run fields: %s", posts[0].body)
	}
}

// Config webhooks.headers reach the receiver on every POST, retries
// included, and their values appear nowhere else: not in the workflow's
// history, the logs, ClickHouse, or the effective config `starter config` prints.
func TestStaticHeadersStaySecret(t *testing.T) {
	const value = "static-tok-7e6d5c4b"
	h := newHarness(t, func(c *config.Config) {
		c.Webhooks.Headers = map[string]string{"Authorization": "Bearer " + value, "X-Environment": "prod"}
	})
	h.recv.status["/flaky"] = 503
	ok, flaky := run(true), run(true)
	h.register(runhooks.Request{RunID: ok.ID, URL: h.recv.srv.URL + "/static"},
		runhooks.Request{RunID: flaky.ID, URL: h.recv.srv.URL + "/flaky"})
	h.write(ok, flaky)
	h.result(ok.ID)
	h.result(flaky.ID)
	posts := append(h.recv.got("/static"), h.recv.got("/flaky")...)
	if len(posts) < 2 {
		t.Fatalf("%d POSTs", len(posts))
	}
	for _, p := range posts {
		if p.header.Get("Authorization") != "Bearer "+value || p.header.Get("X-Environment") != "prod" {
			t.Errorf("POST headers %v: want the static headers", p.header)
		}
	}

	ctx := context.Background()
	wf := workflows.RunWebhooksID([]uuid.UUID{ok.ID, flaky.ID})
	text, err := testenv.HistoryText(ctx, h.c, wf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, ok.ID.String()) {
		t.Fatalf("history of %s does not show run %s: the search sees nothing", wf, ok.ID)
	}
	where := map[string]string{"history of " + wf: text, "logs": h.logs.String()}
	dump, err := clickhousetest.DumpText(ctx, h.store)
	if err != nil {
		t.Fatal(err)
	}
	for table, text := range dump {
		where["ClickHouse table "+table] = text
	}
	y, err := h.cfg.Redact().YAML()
	if err != nil {
		t.Fatal(err)
	}
	where["starter config"] = string(y)
	for w, text := range where {
		if strings.Contains(text, value) {
			t.Errorf("the static header's value is in %s", w)
		}
	}
}
