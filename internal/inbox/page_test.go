package inbox_test

import (
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/inbox"
)

func get(t *testing.T, url string) (string, http.Header) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	return string(b), resp.Header
}

// twoDeliveries posts a plain delivery for ruleA, then one for ruleB whose
// payload carries markup, as untrusted run inputs can.
func twoDeliveries(t *testing.T) (*inbox.Handler, string) {
	t.Helper()
	h, srv := newInbox(t, inbox.Options{Secret: secret, Now: clockAt(fixedNow)})
	post(t, srv.URL+"/hook?secret="+secret, payload(ruleA, fixedNow, []string{"answer_usefulness"}), map[string]string{"webhook-id": "d-a"})
	evil := `{"rule_id":"` + ruleB + `","runs":[{"id":"r1","inputs":{"q":"<script>alert(1)</script>"}}]}`
	post(t, srv.URL+"/hook?secret="+secret, []byte(evil), map[string]string{"webhook-id": "d-b"})
	return h, srv.URL
}

func TestPage(t *testing.T) {
	_, url := twoDeliveries(t)
	page, header := get(t, url+"/")
	if ct := header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("content type %q", ct)
	}
	a, b := strings.Index(page, ruleA), strings.Index(page, ruleB)
	if a < 0 || b < 0 {
		t.Fatalf("page lacks a rule id:\n%s", page)
	}
	if b > a {
		t.Error("deliveries not listed newest first")
	}
	if strings.Contains(page, "<script>") || strings.Contains(page, "alert(1)</script>") {
		t.Fatalf("payload markup rendered raw:\n%s", page)
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Errorf("escaped payload not shown:\n%s", page)
	}
	for _, want := range []string{"<details>", `http-equiv="refresh"`, "answer_usefulness", "d-a", "d-b", "secret ok"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	// The payload is pretty-printed.
	if !strings.Contains(page, "\n  &#34;rule_id&#34;: &#34;"+ruleA) {
		t.Errorf("payload not pretty-printed:\n%s", page)
	}
	// Nothing loads from elsewhere.
	for _, ext := range []string{"src=", "<link", "http://", "https://"} {
		if strings.Contains(page, ext) {
			t.Errorf("page references %q", ext)
		}
	}
	if strings.Contains(page, secret) {
		t.Fatal("page shows the secret")
	}

	paused, _ := get(t, url+"/?refresh=off")
	if strings.Contains(paused, `http-equiv="refresh"`) {
		t.Error("paused page still refreshes")
	}
}

func TestEmptyPage(t *testing.T) {
	_, srv := newInbox(t, inbox.Options{})
	page, _ := get(t, srv.URL+"/")
	if !strings.Contains(page, "No deliveries yet") {
		t.Errorf("page:\n%s", page)
	}
	list, _ := get(t, srv.URL+"/deliveries.json")
	if strings.TrimSpace(list) != "[]" {
		t.Errorf("deliveries.json %q, want []", list)
	}
}

func TestDeliveriesJSON(t *testing.T) {
	h, url := twoDeliveries(t)
	body, header := get(t, url+"/deliveries.json")
	if ct := header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("content type %q", ct)
	}
	var got []inbox.Delivery
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	want := h.Deliveries()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip\n got %+v\nwant %+v", got, want)
	}
	if len(got) != 2 || got[0].RuleID != ruleB || got[1].RuleID != ruleA {
		t.Fatalf("deliveries %+v", got)
	}
	if !strings.Contains(got[0].Body, "<script>") {
		t.Error("raw body not kept as received")
	}
	if strings.Contains(body, secret) {
		t.Fatal("deliveries.json shows the secret")
	}
}

func TestMode(t *testing.T) {
	for _, tc := range []struct {
		opt  inbox.Options
		want string
	}{
		{inbox.Options{}, "secret not checked, signature not checked, answers 204"},
		{inbox.Options{Secret: "x", SigningKey: make([]byte, 32), Fail: 500, Delay: 6 * time.Second},
			"secret required, signature verified (tolerance 5m0s), answers 500, after 6s"},
		{inbox.Options{FailFirst: 2}, "secret not checked, signature not checked, answers 500 to the first 2 attempt(s) of each webhook-id, then 204"},
	} {
		if got := inbox.New(tc.opt).Mode(); got != tc.want {
			t.Errorf("got  %q\nwant %q", got, tc.want)
		}
	}
}
