package api_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/clickhouse"
	"github.com/runhook/runhook/internal/config"
	"github.com/runhook/runhook/internal/runhooks"
)

// The API takes the real hooks.
var _ api.Webhooks = (*runhooks.Hooks)(nil)

// fakeHooks records what the API asks of run-completion webhooks and what
// was stored when it asked.
type fakeHooks struct {
	mu    sync.Mutex
	store *clickhouse.Store
	// registered and completed are the calls, in order.
	registered [][]runhooks.Request
	completed  [][]uuid.UUID
	// storedAtRegister: runs rows when Register was called.
	storedAtRegister []uint64
	// endedAtCompleted: whether each run told ended was stored ended by then.
	endedAtCompleted map[uuid.UUID]bool
	registerErr      error
	completedErr     error
}

func (f *fakeHooks) Check(rawURL string) error {
	if strings.Contains(rawURL, "blocked") {
		// A misbehaving message that repeats the URL: the API must hide its query.
		return &runhooks.PolicyError{Msg: "host is blocked: " + rawURL}
	}
	return nil
}

func (f *fakeHooks) Register(ctx context.Context, reqs []runhooks.Request) ([]runhooks.Registration, error) {
	var n uint64
	if err := f.store.QueryRow(ctx, "SELECT count() FROM runs").Scan(&n); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.registered = append(f.registered, reqs)
	f.storedAtRegister = append(f.storedAtRegister, n)
	if f.registerErr != nil {
		return nil, f.registerErr
	}
	var out []runhooks.Registration
	for _, r := range reqs {
		switch {
		case strings.Contains(r.URL, "disabled"):
			out = append(out, runhooks.Registration{RunID: r.RunID, Reason: runhooks.DisabledReason})
		case strings.Contains(r.URL, "delayed"):
			// As runhooks does for a run written ended whose workflow it started now.
			out = append(out, runhooks.Registration{RunID: r.RunID, Registered: true, Delayed: r.Ended})
		default:
			out = append(out, runhooks.Registration{RunID: r.RunID, Registered: true})
		}
	}
	return out, nil
}

func (f *fakeHooks) Completed(ctx context.Context, ids []uuid.UUID) error {
	got, err := f.store.LatestRuns(ctx, ids)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.completed = append(f.completed, ids)
	if f.endedAtCompleted == nil {
		f.endedAtCompleted = map[uuid.UUID]bool{}
	}
	for _, r := range got {
		f.endedAtCompleted[r.ID] = r.EndTime != nil
	}
	return f.completedErr
}

func hooked(t *testing.T) (*server, *fakeHooks) {
	hooks := &fakeHooks{}
	s := newServer(t, func(o *api.Options) { o.Webhooks = hooks })
	hooks.store = s.store
	return s, hooks
}

func webhookOf(t *testing.T, body map[string]any) map[string]any {
	t.Helper()
	w, ok := body["webhook"].(map[string]any)
	if !ok {
		t.Fatalf("no webhook in %v", body)
	}
	return w
}

func TestRunCompletionWebhooks(t *testing.T) {
	s, hooks := hooked(t)
	id := uuid.New()
	url := "http://127.0.0.1:9/hook?token=s3cret-token"
	r := s.want(s.do("POST", "/runs", mustJSON(create(id, map[string]any{"webhook": url}))), http.StatusAccepted)
	if w := webhookOf(t, r.body); w["registered"] != true {
		t.Errorf("create answered %s", r.raw)
	}
	if len(hooks.registered) != 1 || hooks.registered[0][0].RunID != id || hooks.registered[0][0].URL != url || hooks.storedAtRegister[0] != 0 {
		t.Fatalf("register calls %+v with %v runs stored, want one for %s before any run is written", hooks.registered, hooks.storedAtRegister, id)
	}
	if len(hooks.completed) != 0 {
		t.Errorf("a pending run was told completed: %v", hooks.completed)
	}
	s.want(s.do("PATCH", "/runs/"+id.String(), mustJSON(ended(id, nil))), http.StatusAccepted)
	if len(hooks.completed) != 1 || hooks.completed[0][0] != id || !hooks.endedAtCompleted[id] {
		t.Errorf("completed calls %v (ended when told: %v), want one for %s after its end was stored", hooks.completed, hooks.endedAtCompleted, id)
	}

	// In a batch: per run that asked, what became of it; a run created ended
	// is told completed in the same request.
	a, b, c := uuid.New(), uuid.New(), uuid.New()
	r = s.want(s.do("POST", "/runs/batch", mustJSON(map[string]any{"post": []any{
		create(a, map[string]any{"webhook": "https://example.com/a", "end_time": ts(time.Second)}),
		create(b, map[string]any{"webhook": "https://example.com/disabled"}),
		create(c, nil),
	}})), http.StatusAccepted)
	perRun, _ := r.body["runs"].(map[string]any)
	if len(perRun) != 2 {
		t.Fatalf("batch answered %s, want the two runs that asked", r.raw)
	}
	if w := webhookOf(t, perRun[a.String()].(map[string]any)); w["registered"] != true {
		t.Errorf("a: %v", w)
	}
	if w := webhookOf(t, perRun[b.String()].(map[string]any)); w["registered"] != false || w["reason"] != runhooks.DisabledReason {
		t.Errorf("b: %v", w)
	}
	if last := hooks.completed[len(hooks.completed)-1]; len(last) != 1 || last[0] != a || !hooks.endedAtCompleted[a] {
		t.Errorf("completed %v, want [%s] after it was stored", last, a)
	}
	if reg := hooks.registered[len(hooks.registered)-1]; len(reg) != 2 || !reg[0].Ended || reg[1].Ended {
		t.Errorf("register %+v, want a written ended and b not", reg)
	}

	// A run written ended whose workflow was started now (Delayed) is not
	// told completed: its workflow looks when it starts.
	d := uuid.New()
	calls := len(hooks.completed)
	s.want(s.do("POST", "/runs/batch", mustJSON(map[string]any{"post": []any{
		create(d, map[string]any{"webhook": "https://example.com/delayed", "end_time": ts(time.Second)}),
	}})), http.StatusAccepted)
	if len(hooks.completed) != calls {
		t.Errorf("completed %v after a delayed registration, want no call", hooks.completed[calls:])
	}
}

func TestRefusedWebhookNamesTheFieldWithoutItsQuery(t *testing.T) {
	s, hooks := hooked(t)
	r := s.want(s.do("POST", "/runs/batch", mustJSON(map[string]any{"post": []any{
		create(uuid.New(), nil),
		create(uuid.New(), map[string]any{"webhook": "http://blocked.example/h?secret=hunter22-secret"}),
	}})), http.StatusUnprocessableEntity)
	if r.body["field"] != "post[1].webhook" || strings.Contains(string(r.raw), "hunter22-secret") {
		t.Errorf("answer %s", r.raw)
	}
	if runRows, _ := s.counts(); runRows != 0 || len(hooks.registered) != 0 {
		t.Errorf("%d runs written, %d registrations, want none", runRows, len(hooks.registered))
	}
}

// A webhook whose host is a metadata address is refused at creation under
// the policy the dialer applies, allow_private included: 422 naming the
// field, and the URL's query in neither the answer nor the log.
func TestMetadataWebhookRefusedAtCreation(t *testing.T) {
	cfg := config.Default()
	cfg.Delivery.AllowPrivate = true
	hooks := runhooks.New(runhooks.Options{Policy: app.URLPolicy(cfg.Delivery)})
	s := newServer(t, func(o *api.Options) { o.Webhooks = hooks })
	for _, url := range []string{
		"http://169.254.169.254/latest/meta-data/iam?secret=hunter22-secret",
		"http://[fd00:ec2::254]/latest?secret=hunter22-secret",
		"http://100.100.100.200/latest/meta-data?secret=hunter22-secret",
		"http://[::ffff:169.254.169.254]/?secret=hunter22-secret",
	} {
		r := s.want(s.do("POST", "/runs", mustJSON(create(uuid.New(), map[string]any{"webhook": url}))), http.StatusUnprocessableEntity)
		if r.body["field"] != "webhook" || !strings.HasPrefix(r.body["error"].(string), "webhook: destination ") {
			t.Errorf("%s: answer %s, want webhook named and refused", url, r.raw)
		}
		r = s.want(s.do("POST", "/runs/batch", mustJSON(map[string]any{"post": []any{
			create(uuid.New(), nil), create(uuid.New(), map[string]any{"webhook": url}),
		}})), http.StatusUnprocessableEntity)
		if r.body["field"] != "post[1].webhook" {
			t.Errorf("%s: batch answer %s", url, r.raw)
		}
		if strings.Contains(string(r.raw)+s.logs.String(), "hunter22-secret") {
			t.Errorf("%s: the URL's secret leaked:\n%s\n%s", url, r.raw, s.logs.String())
		}
	}
	if runRows, _ := s.counts(); runRows != 0 {
		t.Errorf("%d runs written, want none", runRows)
	}
}

func TestWebhookFailures(t *testing.T) {
	s, hooks := hooked(t)
	hooks.registerErr = errors.New("temporal down while registering http://x/h?token=tok-12345")
	r := s.want(s.do("POST", "/runs", mustJSON(create(uuid.New(), map[string]any{"webhook": "http://x/h?token=tok-12345"}))),
		http.StatusInternalServerError)
	if runRows, _ := s.counts(); runRows != 0 {
		t.Errorf("%d runs written though their webhook could not be registered", runRows)
	}
	if strings.Contains(string(r.raw)+s.logs.String(), "tok-12345") {
		t.Errorf("the URL's token leaked:\n%s\n%s", r.raw, s.logs.String())
	}
	if !strings.Contains(s.logs.String(), "temporal down") {
		t.Errorf("the cause is not logged:\n%s", s.logs.String())
	}

	// Telling a stored run's webhook that it ended may fail: the workflow
	// finds the end by itself, so the request succeeds and the failure is logged.
	hooks.registerErr = nil
	hooks.completedErr = errors.New("signal failed")
	id := uuid.New()
	s.want(s.do("POST", "/runs", mustJSON(create(id, map[string]any{"end_time": ts(time.Second)}))), http.StatusAccepted)
	if got := s.latest(id); got.EndTime == nil {
		t.Errorf("run not stored: %+v", got)
	}
	if !strings.Contains(s.logs.String(), "signal failed") {
		t.Errorf("the failure is not logged:\n%s", s.logs.String())
	}
}

func TestWebhooksNotConfigured(t *testing.T) {
	s := newServer(t)
	id := uuid.New()
	r := s.want(s.do("POST", "/runs", mustJSON(create(id, map[string]any{"webhook": "http://127.0.0.1:9/h"}))), http.StatusAccepted)
	if w := webhookOf(t, r.body); w["registered"] != false || w["reason"] != api.NotConfigured {
		t.Errorf("answer %s", r.raw)
	}
	s.latest(id)
}
