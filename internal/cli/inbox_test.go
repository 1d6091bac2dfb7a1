package cli_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/cli"
	"github.com/runhook/runhook/internal/signing"
	"github.com/runhook/runhook/internal/testenv"
)

// startInbox runs `starter inbox args...` on a free loopback port until the
// test ends and returns its base URL, its output and a stop function that
// returns the command's error.
func startInbox(t *testing.T, environ []string, args ...string) (string, *testenv.Buffer, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := cli.New(strings.NewReader(""), environ)
	out := &testenv.Buffer{}
	cmd.SetOut(out)
	cmd.SetErr(out)
	cmd.SetArgs(append([]string{"inbox", "--addr", "127.0.0.1:0"}, args...))
	done := make(chan error, 1)
	go func() { done <- cmd.ExecuteContext(ctx) }()
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(15 * time.Second):
			t.Fatal("inbox did not stop")
			return nil
		}
	}
	t.Cleanup(func() { cancel() })

	page := regexp.MustCompile(`page: +(http://127\.0\.0\.1:\d+)/`)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		if m := page.FindStringSubmatch(out.String()); m != nil {
			return m[1], out, stop
		}
		select {
		case err := <-done:
			t.Fatalf("inbox ended: %v\n%s", err, out)
		case <-time.After(10 * time.Millisecond):
		}
	}
	t.Fatalf("inbox never printed its page URL:\n%s", out)
	return "", nil, nil
}

func TestInboxCommand(t *testing.T) {
	const secret = "demo-secret-value"
	whsec, err := signing.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	key, _ := signing.ParseSecret(whsec)
	base, out, stop := startInbox(t, []string{"RUNHOOK_DEMO_SECRET=" + secret}, "--signing-secret", whsec, "--fail-first", "1")

	if !strings.Contains(out.String(), "webhook:  "+base+"/hook?secret=***\n") {
		t.Errorf("webhook URL not printed redacted:\n%s", out)
	}
	body := []byte(`{"rule_id":"d75d7417-0c57-4655-88fe-1db3cda3a47a","start_time":"2024-04-05T01:28:54.734491+00:00","end_time":"2024-04-05T01:28:56.492563+00:00","runs":[{"id":"r1"}]}`)
	send := func(url, id string) int {
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
		for k, v := range (signing.Signer{}).Headers([][]byte{key}, id, body) {
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
	// The secret comes from $RUNHOOK_DEMO_SECRET; the first attempt fails, the retry succeeds.
	for _, tc := range []struct {
		url, id string
		want    int
	}{
		{base + "/hook", "d-0", http.StatusUnauthorized},
		{base + "/hook?secret=" + secret, "d-1", http.StatusInternalServerError},
		{base + "/hook?secret=" + secret, "d-1", http.StatusNoContent},
	} {
		if got := send(tc.url, tc.id); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.id, got, tc.want)
		}
	}

	if err := stop(); err != nil {
		t.Fatalf("inbox: %v", err)
	}
	text := out.String()
	for _, want := range []string{
		"rule d75d7417… window", "1 run", "secret missing  signature ok  → 401",
		"1 run  secret ok  signature ok  → 500", "attempt 2  secret ok  signature ok  → 204",
		"inbox stopped after 3 deliveries",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("output lacks %q:\n%s", want, text)
		}
	}
	for _, s := range []string{secret, whsec, strings.TrimPrefix(whsec, "whsec_")} {
		if strings.Contains(text, s) {
			t.Fatalf("a secret was printed:\n%s", text)
		}
	}
}

func TestInboxCommandFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--fail", "99"}, "--fail 99"},
		{[]string{"--fail-first", "-1"}, "--fail-first"},
		{[]string{"--keep", "0"}, "--keep"},
		{[]string{"--delay", "-1s"}, "--delay"},
		{[]string{"--signing-secret", "whsec_!!"}, "--signing-secret"},
		{[]string{"--signing-secret", "not-a-secret-at-all"}, "must start with whsec_"},
	} {
		_, _, err := run(t, []string{}, "", append([]string{"inbox", "--addr", "127.0.0.1:0"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err %v, want %q", tc.args, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "not-a-secret-at-all") {
			t.Errorf("error echoes the signing secret: %v", err)
		}
	}
}

func TestInboxCommandNoSecret(t *testing.T) {
	base, out, stop := startInbox(t, []string{}, "--fail", "503")
	if !strings.Contains(out.String(), "webhook:  "+base+"/hook\n") || !strings.Contains(out.String(), "secret not checked") {
		t.Errorf("banner:\n%s", out)
	}
	resp, err := http.Post(base+"/hook?secret=anything", "application/json", strings.NewReader(`{"rule_id":"r","runs":[]}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("status %d, want 503", resp.StatusCode)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}
