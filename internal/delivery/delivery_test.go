package delivery_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/netguard"
	"github.com/runhook/runhook/internal/signing"
)

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestClassify(t *testing.T) {
	dial := func(err error) error {
		return &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "dial", Net: "tcp", Err: err}}
	}
	for _, tc := range []struct {
		name   string
		status int
		err    error
		want   delivery.Class
	}{
		{"200", 200, nil, delivery.Delivered},
		{"204", 204, nil, delivery.Delivered},
		{"301", 301, nil, delivery.Redirect},
		{"304", 304, nil, delivery.Redirect},
		{"400", 400, nil, delivery.ClientError},
		{"404", 404, nil, delivery.ClientError},
		{"429", 429, nil, delivery.ClientError},
		{"500", 500, nil, delivery.ServerError},
		{"503", 503, nil, delivery.ServerError},
		{"101", 101, nil, delivery.Invalid},
		{"connection refused", 0, dial(&os.SyscallError{Syscall: "connect", Err: syscall.ECONNREFUSED}), delivery.ConnectError},
		{"dns failure", 0, dial(&net.DNSError{Err: "no such host", Name: "x", IsNotFound: true}), delivery.ConnectError},
		{"connect timeout", 0, dial(timeoutErr{}), delivery.ConnectError},
		{"header timeout", 0, &url.Error{Op: "Post", URL: "http://x", Err: timeoutErr{}}, delivery.Timeout},
		{"deadline", 0, &url.Error{Op: "Post", URL: "http://x", Err: context.DeadlineExceeded}, delivery.Timeout},
		{"reset", 0, &url.Error{Op: "Post", URL: "http://x", Err: &net.OpError{Op: "read", Err: syscall.ECONNRESET}}, delivery.ConnectError},
		{"eof before response", 0, &url.Error{Op: "Post", URL: "http://x", Err: io.EOF}, delivery.ConnectError},
		{"ssrf refusal", 0, dial(&netguard.RefusedError{Reason: "private"}), delivery.Refused},
	} {
		if got := delivery.Classify(tc.status, tc.err); got != tc.want {
			t.Errorf("%s: Classify = %s, want %s", tc.name, got, tc.want)
		}
	}
	for _, c := range delivery.Classes {
		nonRetryable := false
		for _, n := range delivery.NonRetryable {
			nonRetryable = nonRetryable || n == string(c)
		}
		if c != delivery.Delivered && c.Retryable() == nonRetryable {
			t.Errorf("class %s: Retryable()=%v but listed non-retryable=%v", c, c.Retryable(), nonRetryable)
		}
	}
}

func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://h.test/hook?secret=38ee77617c3a489a":       "https://h.test/hook?secret=***",
		"https://h.test/hook?token=abc&secret=def":          "https://h.test/hook?secret=***&token=***",
		"https://user:pw@h.test/p#frag":                     "https://h.test/p",
		"http://h.test/p":                                   "http://h.test/p",
		"https://h.test/p?just-a-token":                     "https://h.test/p?just-a-token=***",
		"https://api.example.com/langsmith_webhook?secret=": "https://api.example.com/langsmith_webhook?secret=***",
	} {
		if got := delivery.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestURLPolicy(t *testing.T) {
	strict := delivery.URLPolicy{RequireHTTPS: true, AllowedDomains: []string{"example.com"}, AllowedPorts: []int{443}, MaxURLLength: 60}
	for _, tc := range []struct {
		url, want string // want "" = accepted
	}{
		{"https://hooks.example.com/in?secret=abcd", ""},
		{"https://example.com/in", ""},
		{"http://hooks.example.com/in?secret=abcd", "require_https"},
		{"ftp://hooks.example.com/in", "scheme must be http or https"},
		{"https://evil.com/in", "allowed_domains"},
		{"https://example.com.evil.com/in", "allowed_domains"},
		{"https://93.184.216.34/in", "allowed_domains"},
		{"https://hooks.example.com:8443/in", "allowed_ports"},
		{"https://hooks.example.com/" + strings.Repeat("a", 60), "max_url_length"},
		{"https:///nohost", "no host"},
		{"https://u:p@example.com/", "user info"},
	} {
		err := strict.Check(tc.url)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s refused: %v", tc.url, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%s: err = %v, want %q", tc.url, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "abcd") {
			t.Errorf("error shows the secret: %v", err)
		}
	}
	if err := (delivery.URLPolicy{}).Check("http://127.0.0.1:9/x"); err != nil {
		t.Errorf("open policy refused: %v", err)
	}
}

func TestCheckHeaders(t *testing.T) {
	if err := delivery.CheckHeaders(map[string]string{"Authorization": "Bearer x", "X-Team": "a"}); err != nil {
		t.Fatal(err)
	}
	for _, h := range []map[string]string{
		{"Content-Type": "text/plain"}, {"host": "x"}, {"User-Agent": "me"}, {"Webhook-Signature": "v1,x"},
		{"webhook-id": "1"}, {"Content-Length": "3"}, {"Bad Name": "x"}, {"X-Split": "a\r\nInjected: b"},
	} {
		err := delivery.CheckHeaders(h)
		if err == nil {
			t.Errorf("headers %v accepted", h)
			continue
		}
		for _, v := range h {
			if strings.Contains(err.Error(), v) && len(v) > 2 {
				t.Errorf("error shows the header value: %v", err)
			}
		}
	}
}

// loopbackSender may reach 127.0.0.0/8 only.
func loopbackSender(timeout time.Duration) *delivery.Sender {
	return delivery.NewSender(delivery.SenderOptions{
		Timeout: timeout,
		Guard:   netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
	})
}

func TestSendHeadersAndSignature(t *testing.T) {
	secret, _ := signing.NewSecret()
	key, _ := signing.ParseSecret(secret)
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, body = r, mustRead(r.Body)
		w.WriteHeader(202)
	}))
	defer srv.Close()
	payload := []byte(`{"rule_id":"r","runs":[]}`)
	res := loopbackSender(5*time.Second).Send(context.Background(), delivery.Request{
		URL: srv.URL + "/hook?secret=s3cr3t-value", Headers: map[string]string{"X-Api-Key": "k-123"},
		Body: payload, MessageID: "dlv-1", SigningKeys: [][]byte{key},
	})
	if res.Class != delivery.Delivered || res.StatusCode != 202 {
		t.Fatalf("result = %+v", res)
	}
	if got.URL.Query().Get("secret") != "s3cr3t-value" || got.Header.Get("X-Api-Key") != "k-123" {
		t.Errorf("secret or header not as configured: %s %v", got.URL, got.Header)
	}
	if got.Header.Get("Content-Type") != "application/json" || !strings.HasPrefix(got.Header.Get("User-Agent"), "runhook/") {
		t.Errorf("headers = %v", got.Header)
	}
	if got.Header.Get("webhook-id") != "dlv-1" || string(body) != string(payload) {
		t.Errorf("webhook-id %q, body %q", got.Header.Get("webhook-id"), body)
	}
	wh, _ := standardwebhooks.NewWebhook(secret)
	if err := wh.Verify(body, got.Header); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
}

func mustRead(r io.Reader) []byte { b, _ := io.ReadAll(r); return b }

func TestSendOutcomes(t *testing.T) {
	var bigWritten atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("/404", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(404) })
	mux.HandleFunc("/500", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(500) })
	mux.HandleFunc("/301", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/200", http.StatusMovedPermanently) })
	mux.HandleFunc("/200", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(200) })
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(2 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(200)
		chunk := make([]byte, 1<<20)
		for i := 0; i < 100; i++ { // 100 MB unless the client stops reading
			n, err := w.Write(chunk)
			bigWritten.Add(int64(n))
			if err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/reset", func(w http.ResponseWriter, _ *http.Request) {
		conn, _, _ := w.(http.Hijacker).Hijack()
		conn.(*net.TCPConn).SetLinger(0)
		conn.Close()
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	closed := closedPort(t)

	s := loopbackSender(300 * time.Millisecond)
	for _, tc := range []struct {
		path string
		url  string
		want delivery.Class
		code int
	}{
		{path: "/404", want: delivery.ClientError, code: 404},
		{path: "/500", want: delivery.ServerError, code: 500},
		{path: "/301", want: delivery.Redirect, code: 301},
		{path: "/slow", want: delivery.Timeout},
		{path: "/reset", want: delivery.ConnectError},
		{path: "/big", want: delivery.Delivered, code: 200},
		{url: "http://" + closed + "/x?secret=zzzz-secret", want: delivery.ConnectError},
	} {
		u := tc.url
		if u == "" {
			u = srv.URL + tc.path + "?secret=zzzz-secret"
		}
		res := s.Send(context.Background(), delivery.Request{URL: u, Body: []byte("{}"), MessageID: "m"})
		if res.Class != tc.want || res.StatusCode != tc.code {
			t.Errorf("%s: %+v, want class %s code %d", u, res, tc.want, tc.code)
		}
		if strings.Contains(res.Err, "zzzz-secret") {
			t.Errorf("%s: error shows the secret: %s", u, res.Err)
		}
	}
	if n := bigWritten.Load(); n >= 100<<20 {
		t.Errorf("receiver wrote all %d bytes: the body was read", n)
	}
}

func TestSendRefusedWithoutDialing(t *testing.T) {
	s := delivery.NewSender(delivery.SenderOptions{Timeout: time.Second})
	res := s.Send(context.Background(), delivery.Request{URL: "http://127.0.0.1:1/x?secret=hidden-1", Body: []byte("{}")})
	if res.Class != delivery.Refused || strings.Contains(res.Err, "hidden-1") {
		t.Errorf("result = %+v, want refused and redacted", res)
	}
}

// metadataResolver answers every name with a cloud-metadata address: a
// rebinding receiver. Nothing is looked up or dialed.
type metadataResolver struct{}

func (metadataResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	return []netip.Addr{netip.MustParseAddr("169.254.169.254"), netip.MustParseAddr("fd00:ec2::254")}, nil
}

// A name that resolves to metadata is refused at dial time under
// allow_private and under a broad allow_cidrs entry, without a lookup or a dial.
func TestSendRefusesNameResolvingToMetadata(t *testing.T) {
	s := delivery.NewSender(delivery.SenderOptions{
		Timeout: time.Second, Resolver: metadataResolver{},
		Guard: netguard.Policy{AllowPrivate: true, AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("0.0.0.0/0")}},
	})
	res := s.Send(context.Background(), delivery.Request{URL: "http://hooks.example.com/x?secret=hidden-1", Body: []byte("{}")})
	if res.Class != delivery.Refused || !strings.Contains(res.Err, "metadata") || strings.Contains(res.Err, "hidden-1") {
		t.Errorf("result = %+v, want refused (metadata) and redacted", res)
	}
}

// closedPort returns a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// Config webhooks.headers go on every request; a request's own header of the
// same name (a rule webhook's) wins, and runhook's own headers stay its own.
func TestSendStaticHeaders(t *testing.T) {
	var got http.Header
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		w.WriteHeader(200)
	}))
	defer srv.Close()
	s := delivery.NewSender(delivery.SenderOptions{
		Timeout: 5 * time.Second,
		Guard:   netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Headers: map[string]string{"Authorization": "Bearer static-tok", "X-Env": "prod"},
	})
	for _, tc := range []struct {
		own        map[string]string
		auth, xenv string
	}{
		{nil, "Bearer static-tok", "prod"},
		{map[string]string{"authorization": "Bearer own-tok"}, "Bearer own-tok", "prod"},
	} {
		res := s.Send(context.Background(), delivery.Request{URL: srv.URL, Headers: tc.own, Body: []byte(`{}`), MessageID: "m"})
		if res.Class != delivery.Delivered {
			t.Fatalf("result %+v", res)
		}
		if got.Get("Authorization") != tc.auth || got.Get("X-Env") != tc.xenv || got.Get("Content-Type") != "application/json" {
			t.Errorf("own headers %v: received %v", tc.own, got)
		}
	}
}
