package e2e_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/api"
	"github.com/runhook/runhook/internal/app"
)

// apiCall sends one authenticated JSON request and decodes the JSON answer.
func apiCall(t *testing.T, method, url, key string, body any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("x-api-key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// A run created through the API with a webhook (LangGraph's parameter) and
// ended by a later PATCH is POSTed to that webhook exactly once, as the run,
// with its ?token= as given; the API, the hooks, the workflow and the worker
// are the real ones.
func TestAPIRunCompletionWebhookEndToEnd(t *testing.T) {
	h := newHarness(t)
	h.startWorker()
	recv := newBodyReceiver(t)

	hooks, err := app.RunHooks(h.cfg, h.store, h.client, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	key := "rhk_" + uuid.NewString()
	srv := httptest.NewServer(api.New(api.Options{Store: h.store, KeyHashes: []string{api.HashKey(key)}, Webhooks: hooks}))
	t.Cleanup(srv.Close)

	id := uuid.New()
	start := time.Now().UTC().Add(-2 * time.Second)
	webhook := recv.srv.URL + "/done?token=tok-" + uuid.NewString()[:8]
	status, resp := apiCall(t, http.MethodPost, srv.URL+"/runs", key, map[string]any{
		"id": id, "name": "graph", "run_type": "chain", "session_name": "api-webhooks",
		"start_time": start.Format(time.RFC3339Nano), "inputs": map[string]any{"question": "why?"},
		"webhook": webhook,
	})
	if status >= 300 {
		t.Fatalf("create: %d %v", status, resp)
	}
	if !strings.Contains(toJSON(resp), `"registered":true`) {
		t.Fatalf("create response does not say the webhook was registered: %s", toJSON(resp))
	}
	if strings.Contains(toJSON(resp), "tok-") {
		t.Errorf("the create response shows the URL's token: %s", toJSON(resp))
	}

	// Nothing is sent while the run is pending.
	time.Sleep(2 * time.Second)
	if n := len(recv.requests()); n != 0 {
		t.Fatalf("%d POSTs before the run ended", n)
	}

	end := time.Now().UTC()
	status, resp = apiCall(t, http.MethodPatch, srv.URL+"/runs/"+id.String(), key, map[string]any{
		"end_time": end.Format(time.RFC3339Nano), "outputs": map[string]any{"answer": "because"},
	})
	if status >= 300 {
		t.Fatalf("patch: %d %v", status, resp)
	}

	waitFor(t, 60*time.Second, "the run-completion webhook", func() bool { return len(recv.requests()) > 0 })
	time.Sleep(3 * time.Second) // a second POST would come within this
	got := recv.requests()
	if len(got) != 1 {
		t.Fatalf("%d POSTs, want exactly 1", len(got))
	}
	if want := strings.SplitN(webhook, "?", 2)[1]; got[0].Query != want {
		t.Errorf("query %q, want %q as given", got[0].Query, want)
	}
	var run struct {
		ID      uuid.UUID       `json:"id"`
		Status  string          `json:"status"`
		EndTime *string         `json:"end_time"`
		Outputs json.RawMessage `json:"outputs"`
	}
	if err := json.Unmarshal(got[0].Body, &run); err != nil {
		t.Fatalf("body %s: %v", got[0].Body, err)
	}
	if run.ID != id || run.Status != "success" || run.EndTime == nil || !strings.Contains(string(run.Outputs), "because") {
		t.Errorf("posted run %s", got[0].Body)
	}
	if got[0].WebhookID == "" {
		t.Error("no webhook-id header")
	}

	// The SDK retrying its update changes nothing.
	if status, resp := apiCall(t, http.MethodPatch, srv.URL+"/runs/"+id.String(), key, map[string]any{
		"end_time": end.Format(time.RFC3339Nano), "outputs": map[string]any{"answer": "because"},
	}); status >= 300 {
		t.Fatalf("repeated patch: %d %v", status, resp)
	}
	time.Sleep(3 * time.Second)
	if n := len(recv.requests()); n != 1 {
		t.Errorf("%d POSTs after a repeated update, want still 1", n)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// The run's POST is an activity of the workflow its webhook row names,
	// shared by the runs of its create request.
	rows, err := h.store.RunWebhooks(ctx, []uuid.UUID{id})
	if err != nil || rows[id].WorkflowID == "" {
		t.Fatalf("run webhook %+v (%v), want its workflow named", rows[id], err)
	}
	hist := h.client.GetWorkflowHistory(ctx, rows[id].WorkflowID, "", false, 0)
	for hist.HasNext() {
		ev, err := hist.Next()
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(ev.String(), "tok-") {
			t.Fatalf("the URL's token is in the workflow history: event %d", ev.GetEventId())
		}
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
