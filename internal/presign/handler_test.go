package presign_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/presign"
	"github.com/runhook/runhook/internal/runs"
	"github.com/runhook/runhook/internal/testenv"
)

// countingSource counts storage reads, to prove a bad signature reads nothing.
type countingSource struct {
	presign.Source
	reads atomic.Int64
}

func (c *countingSource) RunDocument(ctx context.Context, id uuid.UUID, field string) (json.RawMessage, bool, error) {
	c.reads.Add(1)
	return c.Source.RunDocument(ctx, id, field)
}

func get(t *testing.T, method, url string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, body
}

// The handler on the real ClickHouse: stored inputs and outputs come back
// byte for byte (whitespace, key order, escapes and all).
func TestHandlerServesStoredBytes(t *testing.T) {
	store := testenv.ClickHouse(t)
	ctx := context.Background()
	src := &countingSource{Source: store}
	c := &clock{time.Now()}
	srv := httptest.NewServer(nil)
	defer srv.Close()
	s, err := presign.New(key(7), nil, srv.URL, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = c.now
	mux := http.NewServeMux()
	mux.Handle(presign.Prefix, presign.Handler(s, src))
	srv.Config.Handler = mux

	big := `{"z": 1,   "a": "` + strings.Repeat("ü<&>\\\"x", 200_000) + `", "n": [1.50, -0, 1e3]}`
	id := uuid.New()
	now := time.Now().UTC().Truncate(time.Microsecond)
	r := runs.Run{ID: id, TraceID: id, SessionID: uuid.New(), Name: "big", RunType: "chain", Status: "success", IsRoot: true,
		StartTime: now, EndTime: &now, ModifiedAt: now, Tags: []string{},
		Inputs: json.RawMessage(big), Outputs: json.RawMessage(`{"answer":"ok"}`)}
	if err := store.InsertRuns(ctx, []runs.Run{r}); err != nil {
		t.Fatal(err)
	}

	for field, want := range map[string]string{presign.Inputs: big, presign.Outputs: `{"answer":"ok"}`} {
		status, header, body := get(t, "GET", s.URL(id, field))
		if status != 200 || !bytes.Equal(body, []byte(want)) {
			t.Errorf("%s: status %d, %d bytes; want 200 and the %d stored bytes", field, status, len(body), len(want))
		}
		if header.Get("Content-Type") != "application/json" {
			t.Errorf("%s: Content-Type %q", field, header.Get("Content-Type"))
		}
	}
	if status, header, body := get(t, "HEAD", s.URL(id, presign.Inputs)); status != 200 || len(body) != 0 || header.Get("Content-Length") != strconv.Itoa(len(big)) {
		t.Errorf("HEAD: status %d, %d body bytes, Content-Length %s", status, len(body), header.Get("Content-Length"))
	}

	reads := src.reads.Load()
	good := s.URL(id, presign.Inputs)
	for name, u := range map[string]string{
		"tampered signature": good[:len(good)-2] + "AA",
		"tampered run":       strings.Replace(good, id.String(), uuid.NewString(), 1),
		"tampered field":     strings.Replace(good, "/inputs", "/outputs", 1),
		"tampered expiry":    strings.Replace(good, "expires=", "expires=9", 1),
		"no query":           strings.Split(good, "?")[0],
	} {
		if status, _, _ := get(t, "GET", u); status != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", name, status)
		}
	}
	if status, _, _ := get(t, "POST", good); status != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", status)
	}
	c.t = c.t.Add(time.Hour)
	if status, _, body := get(t, "GET", good); status != http.StatusForbidden || !strings.Contains(string(body), "expired") {
		t.Errorf("expired: status %d %q, want 403", status, body)
	}
	if n := src.reads.Load(); n != reads {
		t.Errorf("refused requests read storage %d times", n-reads)
	}

	c.t = time.Now()
	if status, _, _ := get(t, "GET", s.URL(uuid.New(), presign.Inputs)); status != http.StatusNotFound {
		t.Errorf("unknown run: status %d, want 404", status)
	}
}
