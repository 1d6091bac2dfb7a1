package console_test

import (
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium; the test fails, never skips,
// without it.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("chromium is missing: the console's browser test needs headless Chromium.\n" +
		"install it with `scripts/services.sh chromium` (apt-get install -y chromium; `make test` does it for you)")
	return ""
}

// TestConsoleInABrowser loads the console in headless Chromium against the
// real services: the rule, a delivered run and its failed first attempt are
// shown, and pause changes the rule's state. It leaves a screenshot in
// .data/console.png for a person to look at.
func TestConsoleInABrowser(t *testing.T) {
	chromium := chromiumPath(t)
	l := newLive(t)

	alloc, cancel := chromedp.NewExecAllocator(context.Background(), append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1400, 1000))...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(alloc)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	text := func(css string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(css)))
		if err != nil {
			t.Fatalf("read %s: %v", css, err)
		}
		return s
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(l.url+"/console/")); err != nil {
		t.Fatalf("load the console: %v", err)
	}
	rulesText := text("#rules")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("#rules a")), chromedp.WaitVisible(chromedp.CSS("#state"))); err != nil {
		t.Fatalf("open the rule: %v", err)
	}
	for what, c := range map[string]struct {
		text string
		want []string
	}{
		"rules list": {rulesText, []string{"console-demo", "active", "delivered", "secret=***"}},
		"rule page":  {text("h1"), []string{"console-demo", "active"}},
		"rule log":   {text("#log"), []string{l.run.String(), "delivered", "matched"}},
		"deliveries": {text("main"), []string{"server_error", "500", "delivered", "204", "Delivery in the Temporal UI"}},
	} {
		for _, w := range c.want {
			if !strings.Contains(c.text, w) {
				t.Errorf("%s: no %q in:\n%s", what, w, c.text)
			}
		}
	}

	if err := chromedp.Do(ctx,
		chromedp.Click(chromedp.CSS("#pause")),
		chromedp.WaitVisible(chromedp.CSS("#flash")),
		chromedp.WaitVisible(chromedp.CSS("#resume")),
	); err != nil {
		t.Fatalf("click pause: %v", err)
	}
	if state := text("#state"); state != "paused" {
		t.Errorf("state after pause: %q, want paused", state)
	}
	p, found, err := l.store.LatestPause(context.Background(), l.rule.ID)
	if err != nil || !found || !p.Paused {
		t.Errorf("pause record after the click: %+v %v %v", p, found, err)
	}

	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join("..", "..", ".data")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(dir, "console.png")
	if err := os.WriteFile(shot, png, 0o644); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(shot)
	t.Logf("screenshot: %s", abs)
}

// TestConsoleShowsNoSecret fetches every page of the console for a rule
// whose webhook has a secret in its URL, a custom header and a signing
// secret, and searches the HTML source and the server log for them.
func TestConsoleShowsNoSecret(t *testing.T) {
	l := newLive(t)
	base := l.url + "/console"
	pages := []string{"/", "/rules/" + l.rule.ID.String(), "/rules/" + l.rule.ID.String() + "?run=" + l.run.String(),
		"/rules/" + l.rule.ID.String() + "/preview", "/run-webhooks", "/runs/" + l.run.String(), "/login"}
	for _, p := range pages {
		resp, err := http.Get(base + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d\n%s", p, resp.StatusCode, body)
		}
		l.checkNoSecret(t, "page "+p, body)
	}
	if !strings.Contains(mustGet(t, base+"/"), "secret=***") {
		t.Error("the rules page does not show the redacted URL")
	}
	l.checkNoSecret(t, "the server log", []byte(l.log.String()))
}

func mustGet(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
