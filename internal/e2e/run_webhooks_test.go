package e2e_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/presign"
	"github.com/runhook/runhook/internal/runs"
)

// bodyReceiver keeps every request it is posted: its query, webhook-id and body.
type bodyReceiver struct {
	srv  *httptest.Server
	mu   sync.Mutex
	reqs []receivedRequest
}

type receivedRequest struct {
	Query     string
	WebhookID string
	Body      []byte
}

func newBodyReceiver(t *testing.T) *bodyReceiver {
	r := &bodyReceiver{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		b, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.reqs = append(r.reqs, receivedRequest{Query: req.URL.RawQuery, WebhookID: req.Header.Get("webhook-id"), Body: b})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *bodyReceiver) requests() []receivedRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]receivedRequest(nil), r.reqs...)
}

// got is the bodies received, in order.
func (r *bodyReceiver) got() [][]byte {
	var out [][]byte
	for _, req := range r.requests() {
		out = append(out, req.Body)
	}
	return out
}

// A rule's run whose inputs alone exceed delivery.max_body_bytes is no
// longer skipped: it is delivered with inputs null and a presigned URL
// (served as the API mounts it) that gives back the stored bytes.
func TestRuleLargeInputsByPresignedURL(t *testing.T) {
	h := newHarness(t)
	api := httptest.NewServer(nil)
	defer api.Close()
	h.cfg.API.PublicURL = api.URL
	presigned, err := app.Presigned(h.cfg, h.store)
	if err != nil || presigned == nil {
		t.Fatalf("presigned handler: %v", err)
	}
	mux := http.NewServeMux()
	mux.Handle(presign.Prefix, presigned)
	api.Config.Handler = mux
	h.startWorker()

	recv := newBodyReceiver(t)
	h.environ = append(h.environ, "BIG_URL="+recv.srv.URL)
	h.mustApply(file(strings.Replace(rule("big-inputs", ""), "${RECEIVER_URL}", "${BIG_URL}", 1)))

	big := json.RawMessage(`{"document": "` + strings.Repeat("0123456789 <&> abcdef\\n", 256<<10) + `"}`) // 6 MiB
	if len(big) <= h.cfg.Delivery.MaxBodyBytes {
		t.Fatalf("inputs of %d bytes are not over the %d-byte body limit", len(big), h.cfg.Delivery.MaxBodyBytes)
	}
	large := h.run(func(r *runs.Run) { r.Inputs = big })
	small := h.run(func(r *runs.Run) { r.Inputs = json.RawMessage(`{"q":"small"}`) })
	h.insert(large, small)

	waitFor(t, 60*time.Second, "the delivery", func() bool { return len(recv.got()) > 0 })
	time.Sleep(2 * time.Second)
	bodies := recv.got()
	if len(bodies) != 1 {
		t.Fatalf("%d POSTs, want 1 with both runs", len(bodies))
	}
	var p struct {
		Runs []struct {
			ID           string          `json:"id"`
			Inputs       json.RawMessage `json:"inputs"`
			InputsS3URLs json.RawMessage `json:"inputs_s3_urls"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(bodies[0], &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Runs) != 2 || len(bodies[0]) > 64<<10 {
		t.Fatalf("%d runs in a %d-byte body", len(p.Runs), len(bodies[0]))
	}
	for _, r := range p.Runs {
		switch r.ID {
		case small.ID.String():
			if string(r.Inputs) != `{"q":"small"}` || string(r.InputsS3URLs) != "null" {
				t.Errorf("small run: inputs %s inputs_s3_urls %s, want inline", r.Inputs, r.InputsS3URLs)
			}
		case large.ID.String():
			var urls map[string]map[string]string
			if err := json.Unmarshal(r.InputsS3URLs, &urls); err != nil || string(r.Inputs) != "null" {
				t.Fatalf("large run: inputs %.40s inputs_s3_urls %s (%v)", r.Inputs, r.InputsS3URLs, err)
			}
			u := urls["ROOT"]["presigned_url"]
			status, got := get(t, u)
			if status != http.StatusOK || !bytes.Equal(got, big) {
				t.Errorf("presigned URL answered %d with %d bytes, want the %d stored bytes", status, len(got), len(big))
			}
			if status, _ := get(t, strings.Replace(u, "signature=", "signature=A", 1)); status != http.StatusForbidden {
				t.Errorf("tampered URL answered %d, want 403", status)
			}
		default:
			t.Errorf("unexpected run %s", r.ID)
		}
	}
}

func get(t *testing.T, u string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}
