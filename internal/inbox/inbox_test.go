package inbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/inbox"
	"github.com/runhook/runhook/internal/signing"
	"github.com/runhook/runhook/internal/testenv"
)

const (
	ruleA  = "6f1c0a2b-1111-4aaa-8bbb-000000000001"
	ruleB  = "9e2d7c44-2222-4aaa-8bbb-000000000002"
	secret = "s3cr3t-demo-value"
)

// fixedNow is the inbox's clock in the tests: UTC, so that window bounds and
// the received time read the same, and without a monotonic reading, so that
// deliveries compare equal after a JSON round trip.
var fixedNow = time.Date(2024, 4, 5, 12, 1, 2, 0, time.UTC)

func clockAt(t time.Time) func() time.Time { return func() time.Time { return t } }

// payload is a LangSmith-shaped body: the rule, a window ending at end, and
// runs whose feedback keys are given per run.
func payload(rule string, end time.Time, runFeedback ...[]string) []byte {
	type run struct {
		ID            string         `json:"id"`
		Name          string         `json:"name"`
		FeedbackStats map[string]any `json:"feedback_stats"`
	}
	p := struct {
		RuleID        string         `json:"rule_id"`
		StartTime     string         `json:"start_time"`
		EndTime       string         `json:"end_time"`
		Runs          []run          `json:"runs"`
		FeedbackStats map[string]any `json:"feedback_stats"`
	}{
		RuleID:    rule,
		StartTime: end.Add(-5 * time.Second).Format("2006-01-02T15:04:05.000000-07:00"),
		EndTime:   end.Format("2006-01-02T15:04:05.000000-07:00"),
		Runs:      []run{},
	}
	for i, keys := range runFeedback {
		r := run{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i+1), Name: "ChatOpenAI"}
		if keys != nil {
			r.FeedbackStats = map[string]any{}
			for _, k := range keys {
				r.FeedbackStats[k] = map[string]any{"n": 1, "avg": 1.0}
			}
		}
		p.Runs = append(p.Runs, r)
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err)
	}
	return b
}

func post(t *testing.T, url string, body []byte, header map[string]string) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func newInbox(t *testing.T, opt inbox.Options) (*inbox.Handler, *httptest.Server) {
	t.Helper()
	h := inbox.New(opt)
	srv := httptest.NewServer(h) // binds 127.0.0.1:0
	t.Cleanup(srv.Close)
	return h, srv
}

func TestSecret(t *testing.T) {
	out := &testenv.Buffer{}
	h, srv := newInbox(t, inbox.Options{Secret: secret, Out: out, Now: clockAt(fixedNow)})
	body := payload(ruleA, fixedNow, nil)
	for i, tc := range []struct {
		query   string
		status  int
		verdict string
	}{
		{"?secret=" + secret, http.StatusNoContent, "ok"},
		{"?secret=not-it", http.StatusUnauthorized, "wrong"},
		{"", http.StatusUnauthorized, "missing"},
		{"?secret=", http.StatusUnauthorized, "missing"},
	} {
		id := map[string]string{"webhook-id": fmt.Sprintf("d-%d", i)}
		if got := post(t, srv.URL+"/hook"+tc.query, body, id); got != tc.status {
			t.Errorf("%q: status %d, want %d", tc.query, got, tc.status)
		}
		d := h.Deliveries()[0]
		if d.Secret != tc.verdict || d.Status != tc.status || d.Signature != "" {
			t.Errorf("%q: recorded secret %q status %d signature %q, want %q %d and no signature verdict",
				tc.query, d.Secret, d.Status, d.Signature, tc.verdict, tc.status)
		}
		if d.Path != "/hook" {
			t.Errorf("path %q", d.Path)
		}
	}
	if strings.Contains(out.String(), secret) {
		t.Fatalf("secret printed:\n%s", out)
	}
}

func TestNoSecretConfiguredAcceptsAny(t *testing.T) {
	h, srv := newInbox(t, inbox.Options{})
	if got := post(t, srv.URL+"/anything/else?secret=whatever", payload(ruleA, fixedNow), nil); got != http.StatusNoContent {
		t.Fatalf("status %d", got)
	}
	if d := h.Deliveries()[0]; d.Secret != "" || d.Path != "/anything/else" {
		t.Errorf("delivery %+v", d)
	}
}

func TestSignature(t *testing.T) {
	whsec, err := signing.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	key, err := signing.ParseSecret(whsec)
	if err != nil {
		t.Fatal(err)
	}
	otherSecret, _ := signing.NewSecret()
	otherKey, _ := signing.ParseSecret(otherSecret)

	out := &testenv.Buffer{}
	h, srv := newInbox(t, inbox.Options{SigningKey: key, Out: out, Now: clockAt(fixedNow)})
	body := payload(ruleA, fixedNow, nil)
	signed := func(k []byte, at time.Time, id string) map[string]string {
		var keys [][]byte
		if k != nil {
			keys = [][]byte{k}
		}
		return signing.Signer{Now: clockAt(at)}.Headers(keys, id, body)
	}
	tampered := signed(key, fixedNow, "d-tampered")
	tampered["webhook-id"] = "d-other"
	rotated := signed(key, fixedNow, "d-rotated")
	rotated["webhook-signature"] = signed(otherKey, fixedNow, "d-rotated")["webhook-signature"] + " " + rotated["webhook-signature"]

	for _, tc := range []struct {
		name    string
		header  map[string]string
		status  int
		verdict string
	}{
		{"ok", signed(key, fixedNow.Add(-time.Minute), "d-ok"), http.StatusNoContent, "ok"},
		{"ok, timestamp a little ahead", signed(key, fixedNow.Add(time.Minute), "d-ahead"), http.StatusNoContent, "ok"},
		{"one of several signatures", rotated, http.StatusNoContent, "ok"},
		{"other key", signed(otherKey, fixedNow, "d-other-key"), http.StatusUnauthorized, "bad"},
		{"id changed after signing", tampered, http.StatusUnauthorized, "bad"},
		{"ten minutes old", signed(key, fixedNow.Add(-10*time.Minute), "d-old"), http.StatusUnauthorized, "expired"},
		{"ten minutes ahead", signed(key, fixedNow.Add(10*time.Minute), "d-future"), http.StatusUnauthorized, "expired"},
		{"unsigned", signed(nil, fixedNow, "d-unsigned"), http.StatusUnauthorized, "absent"},
		{"timestamp not a number", map[string]string{"webhook-id": "d-x", "webhook-timestamp": "soon", "webhook-signature": "v1,AAAA"}, http.StatusUnauthorized, "bad"},
	} {
		if got := post(t, srv.URL+"/hook", body, tc.header); got != tc.status {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.status)
		}
		if d := h.Deliveries()[0]; d.Signature != tc.verdict {
			t.Errorf("%s: verdict %q, want %q", tc.name, d.Signature, tc.verdict)
		}
	}
	if got := post(t, srv.URL+"/hook", append(body, ' '), signed(key, fixedNow, "d-body")); got != http.StatusUnauthorized {
		t.Errorf("changed body: status %d, want 401", got)
	}
	if strings.Contains(out.String(), whsec) || strings.Contains(out.String(), strings.TrimPrefix(whsec, "whsec_")) {
		t.Fatalf("signing secret printed:\n%s", out)
	}
}

// attempts posts n times with the same webhook-id and returns the statuses.
func attempts(t *testing.T, url, id string, n int) []int {
	var got []int
	for range n {
		got = append(got, post(t, url, payload(ruleA, fixedNow), map[string]string{"webhook-id": id}))
	}
	return got
}

func TestFail(t *testing.T) {
	h, srv := newInbox(t, inbox.Options{Fail: 500})
	if got, want := attempts(t, srv.URL+"/hook", "d-1", 3), []int{500, 500, 500}; !reflect.DeepEqual(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if d := h.Deliveries()[0]; d.Status != 500 || d.Attempt != 3 {
		t.Errorf("recorded status %d attempt %d", d.Status, d.Attempt)
	}
}

func TestFailFirst(t *testing.T) {
	for _, tc := range []struct {
		fail, want int
	}{{0, 500}, {503, 503}} {
		h, srv := newInbox(t, inbox.Options{Fail: tc.fail, FailFirst: 2})
		want := []int{tc.want, tc.want, 204, 204}
		if got := attempts(t, srv.URL+"/hook", "d-1", 4); !reflect.DeepEqual(got, want) {
			t.Errorf("--fail %d --fail-first 2: statuses %v, want %v", tc.fail, got, want)
		}
		// Each webhook-id (each delivery) gets its own count.
		if got := attempts(t, srv.URL+"/hook", "d-2", 3); !reflect.DeepEqual(got, want[:3]) {
			t.Errorf("second webhook-id: statuses %v, want %v", got, want[:3])
		}
		var seen []int
		for _, d := range h.Deliveries() {
			seen = append(seen, d.Attempt)
		}
		if !reflect.DeepEqual(seen, []int{3, 2, 1, 4, 3, 2, 1}) {
			t.Errorf("attempts newest first %v", seen)
		}
	}
}

func TestRejectedRequestsAreNotDelayed(t *testing.T) {
	_, srv := newInbox(t, inbox.Options{Secret: secret, Delay: time.Hour})
	if got := post(t, srv.URL+"/hook", payload(ruleA, fixedNow), nil); got != http.StatusUnauthorized {
		t.Fatalf("status %d", got)
	}
}

func TestDelay(t *testing.T) {
	const delay = 150 * time.Millisecond
	h, srv := newInbox(t, inbox.Options{Delay: delay})
	start := time.Now()
	if got := post(t, srv.URL+"/hook", payload(ruleA, fixedNow), nil); got != http.StatusNoContent {
		t.Fatalf("status %d", got)
	}
	if took := time.Since(start); took < delay {
		t.Errorf("answered after %s, want at least %s", took, delay)
	}
	if d := h.Deliveries()[0]; d.Note != "" {
		t.Errorf("note %q", d.Note)
	}
}

// A sender that times out first (runhook's 5 s rule) is recorded as gone.
func TestDelaySenderGone(t *testing.T) {
	out := &testenv.Buffer{}
	h, srv := newInbox(t, inbox.Options{Delay: time.Minute, Out: out})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL+"/hook", bytes.NewReader(payload(ruleA, fixedNow)))
	if _, err := http.DefaultClient.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the client's deadline", err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for len(h.Deliveries()) == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	ds := h.Deliveries()
	if len(ds) != 1 || !strings.Contains(ds[0].Note, "sender gone") {
		t.Fatalf("deliveries %+v", ds)
	}
	if !strings.Contains(out.String(), "sender gone") {
		t.Errorf("summary %q", out)
	}
}

func TestBodyTooLarge(t *testing.T) {
	h, srv := newInbox(t, inbox.Options{})
	big := bytes.Repeat([]byte("x"), inbox.DefaultMaxBody+1)
	if got := post(t, srv.URL+"/hook", big, map[string]string{"webhook-id": "d-big"}); got != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d, want 413", got)
	}
	d := h.Deliveries()[0]
	if d.Status != 413 || d.Body != "" || d.WebhookID != "d-big" {
		t.Errorf("recorded status %d, %d body bytes, id %q", d.Status, len(d.Body), d.WebhookID)
	}
	// Exactly the limit is accepted.
	exact := append([]byte(`"`), bytes.Repeat([]byte("y"), inbox.DefaultMaxBody-2)...)
	exact = append(exact, '"')
	if got := post(t, srv.URL+"/hook", exact, nil); got != http.StatusNoContent {
		t.Fatalf("body of exactly the limit: status %d", got)
	}
}

func TestSummaryLine(t *testing.T) {
	out := &testenv.Buffer{}
	whsec, _ := signing.NewSecret()
	key, _ := signing.ParseSecret(whsec)
	h, srv := newInbox(t, inbox.Options{Secret: secret, SigningKey: key, Out: out, Now: clockAt(fixedNow)})
	end := time.Date(2024, 4, 5, 12, 1, 0, 0, time.UTC)
	body := payload(ruleA, end, []string{"answer_usefulness"}, nil, []string{"answer_usefulness", "correctness"})
	headers := signing.Signer{Now: clockAt(fixedNow)}.Headers([][]byte{key}, "d-1", body)
	if got := post(t, srv.URL+"/hook?secret="+secret, body, headers); got != http.StatusNoContent {
		t.Fatalf("status %d", got)
	}
	want := "12:01:02 rule 6f1c0a2b… window 12:00:55–12:01:00  3 runs  feedback: answer_usefulness, correctness  secret ok  signature ok  → 204\n"
	if out.String() != want {
		t.Errorf("summary\n got %q\nwant %q", out.String(), want)
	}
	d := h.Deliveries()[0]
	if d.RuleID != ruleA || d.RunCount != 3 || len(d.RunIDs) != 3 || d.WebhookID != "d-1" || d.Attempt != 1 {
		t.Errorf("delivery %+v", d)
	}
	if !reflect.DeepEqual(d.FeedbackKeys, []string{"answer_usefulness", "correctness"}) {
		t.Errorf("feedback keys %v", d.FeedbackKeys)
	}

	// A retry shows its attempt; a rejection shows the verdict that failed.
	post(t, srv.URL+"/hook?secret=wrong", body, headers)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if got := lines[len(lines)-1]; !strings.HasSuffix(got, "attempt 2  secret wrong  signature ok  → 401") {
		t.Errorf("rejected retry: %q", got)
	}
	for _, s := range []string{secret, whsec, strings.TrimPrefix(whsec, "whsec_")} {
		if strings.Contains(out.String(), s) {
			t.Fatalf("a secret was printed:\n%s", out)
		}
	}
}

func TestRunCompletionWebhookSummary(t *testing.T) {
	var out bytes.Buffer
	h, srv := newInbox(t, inbox.Options{Out: &out, Now: clockAt(fixedNow)})
	body := `{"id":"7d0e9a51-7c3b-4d7e-9c55-0f5e2f0c1a11","name":"answer","run_type":"chain","status":"success","inputs":{"q":"hi"}}`
	if got := post(t, srv.URL+"/hook?token=t0k", []byte(body), nil); got != http.StatusNoContent {
		t.Fatalf("status %d", got)
	}
	want := "12:01:02 run 7d0e9a51… ended: chain \"answer\" success  → 204\n"
	if out.String() != want {
		t.Errorf("summary\n got %q\nwant %q", out.String(), want)
	}
	d := h.Deliveries()[0]
	if d.RuleID != "" || d.RunCount != 1 || d.RunIDs[0] != "7d0e9a51-7c3b-4d7e-9c55-0f5e2f0c1a11" || d.CompletedRun == "" {
		t.Errorf("delivery %+v", d)
	}
}

func TestSummaryLineOneRunAndTopLevelFeedback(t *testing.T) {
	d := inbox.Delivery{Received: fixedNow, RuleID: "short", RunCount: 1, Status: 500, FeedbackKeys: []string{"x"}}
	if got, want := inbox.Summary(d), "12:01:02 rule short  1 run  feedback: x  → 500"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}

	h, srv := newInbox(t, inbox.Options{})
	body := []byte(`{"rule_id":"r","runs":[{"id":"a","feedback_stats":null}],"feedback_stats":{"top_only":{"n":1}}}`)
	post(t, srv.URL+"/hook", body, nil)
	if got := h.Deliveries()[0].FeedbackKeys; !reflect.DeepEqual(got, []string{"top_only"}) {
		t.Errorf("feedback keys %v", got)
	}
}

func TestNotALangSmithPayload(t *testing.T) {
	out := &testenv.Buffer{}
	h, srv := newInbox(t, inbox.Options{Out: out, Now: clockAt(fixedNow)})
	if got := post(t, srv.URL+"/hook", []byte("hello"), nil); got != http.StatusNoContent {
		t.Fatalf("status %d", got)
	}
	if d := h.Deliveries()[0]; d.Body != "hello" || !strings.Contains(d.Note, "not a LangSmith payload") {
		t.Errorf("delivery %+v", d)
	}
	if !strings.HasPrefix(out.String(), "12:01:02  → 204  (not a LangSmith payload") {
		t.Errorf("summary %q", out)
	}
}

func TestKeepsTheLastN(t *testing.T) {
	h, srv := newInbox(t, inbox.Options{Keep: 3})
	for i := range 5 {
		post(t, srv.URL+"/hook", payload(fmt.Sprintf("rule-%d", i), fixedNow), nil)
	}
	var got []string
	for _, d := range h.Deliveries() {
		got = append(got, fmt.Sprintf("%d:%s", d.Seq, d.RuleID))
	}
	if want := []string{"5:rule-4", "4:rule-3", "3:rule-2"}; !reflect.DeepEqual(got, want) {
		t.Errorf("kept %v, want %v", got, want)
	}
	if n := h.Received(); n != 5 {
		t.Errorf("received %d, want 5", n)
	}
}

func TestMethods(t *testing.T) {
	_, srv := newInbox(t, inbox.Options{})
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{http.MethodGet, "/hook", http.StatusNotFound},
		{http.MethodPut, "/hook", http.StatusMethodNotAllowed},
		{http.MethodHead, "/", http.StatusOK},
	} {
		req, _ := http.NewRequest(tc.method, srv.URL+tc.path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, resp.StatusCode, tc.status)
		}
	}
}

func TestConcurrentDeliveries(t *testing.T) {
	out := &testenv.Buffer{}
	h, srv := newInbox(t, inbox.Options{Keep: 10, Out: out})
	var wg sync.WaitGroup
	for i := range 40 {
		// post's t.Fatal belongs to the test goroutine: these report with t.Error.
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/hook", bytes.NewReader(payload(ruleA, fixedNow)))
			req.Header.Set("webhook-id", fmt.Sprint(i%4))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
		})
	}
	wg.Wait()
	if n := len(h.Deliveries()); n != 10 {
		t.Errorf("kept %d", n)
	}
	if n := strings.Count(out.String(), "\n"); n != 40 {
		t.Errorf("%d summary lines, want 40", n)
	}
}
