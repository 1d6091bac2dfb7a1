package rules

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/payload"
)

var fpKey = []byte("fingerprint-test-key")

func TestFingerprintStable(t *testing.T) {
	r := fullRules(t)[0]
	// Golden: a change here changes every stored fingerprint, so every rule
	// would look modified on the next apply. Bump fingerprintVersion instead.
	canon := `{"id":"6f1c2a43-2d0e-4b8e-9a55-0b6a8e0d7c11","name":"slow-llm-calls","project":"6a3be6a2-9a8c-4fc8-b4c6-a8983b286cc5",` +
		`"filter":"and(eq(run_type, \"llm\"), gt(latency, \"5s\"))","trace_filter":"eq(name, \"agent\")","sampling_rate":0.25,` +
		`"interval_ns":90000000000,"enabled":false,"backfill_from":"2026-11-01T00:00:00Z",` +
		`"feedback_require":["answer_usefulness","correctness"],"feedback_wait_ns":1800000000000,"feedback_on_timeout":"deliver",` +
		`"max_runs_per_delivery":50,"webhooks":[` +
		`{"url":"https://example.com/hook?secret=hook-secret-0f9e8d","headers":[["X-Api-Key","api-key-7c6b5a"],["X-Team","ml"]],"signing_secret":"` + testSigningSecret + `"},` +
		`{"url":"http://127.0.0.1:9999/hook","headers":[],"signing_secret":""}]}`
	mac := hmac.New(sha256.New, fpKey)
	mac.Write([]byte("runhook-rule-v1\n" + canon))
	want := hex.EncodeToString(mac.Sum(nil))
	if want != "35cce57b23018e83180484be90d521dc44faf58224639407a64582bb009801a4" {
		t.Fatalf("the golden canonical form hashes to %s", want)
	}
	if got := r.Fingerprint(fpKey); got != want {
		t.Errorf("Fingerprint = %s, want %s", got, want)
	}
	if a, b := fullRules(t)[0].Fingerprint(fpKey), fullRules(t)[0].Fingerprint(fpKey); a != b {
		t.Errorf("two parses differ: %s %s", a, b)
	}
}

// Header maps built in different orders (and Go's randomised map iteration)
// must not change the fingerprint.
func TestFingerprintHeaderOrder(t *testing.T) {
	names := make([]string, 40)
	for i := range names {
		names[i] = fmt.Sprintf("X-H%02d", i)
	}
	build := func(reverse bool) Rule {
		h := map[string]string{}
		for i := range names {
			n := names[i]
			if reverse {
				n = names[len(names)-1-i]
			}
			h[n] = "v-" + n
		}
		return Rule{ID: DeriveID("r"), Name: "r", Webhooks: []Webhook{{URL: "https://example.com/", Headers: h}}}
	}
	want := build(false).Fingerprint(fpKey)
	for i := 0; i < 20; i++ {
		if got := build(i%2 == 1).Fingerprint(fpKey); got != want {
			t.Fatalf("fingerprint depends on header order: %s vs %s", got, want)
		}
	}
}

func TestFingerprintChanges(t *testing.T) {
	base := fullRules(t)[0]
	other := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	cases := map[string]func(r *Rule){
		"id":               func(r *Rule) { r.ID = uuid.MustParse("11111111-2d0e-4b8e-9a55-0b6a8e0d7c11") },
		"name":             func(r *Rule) { r.Name += "x" },
		"project":          func(r *Rule) { r.Project = uuid.MustParse("11111111-9a8c-4fc8-b4c6-a8983b286cc5") },
		"filter":           func(r *Rule) { r.Filter = `eq(run_type, "llm")` },
		"trace filter":     func(r *Rule) { r.TraceFilter = "" },
		"sampling rate":    func(r *Rule) { r.SamplingRate = 0.26 },
		"interval":         func(r *Rule) { r.Interval = time.Minute },
		"enabled":          func(r *Rule) { r.Enabled = !r.Enabled },
		"backfill":         func(r *Rule) { r.BackfillFrom = &other },
		"no backfill":      func(r *Rule) { r.BackfillFrom = nil },
		"feedback keys":    func(r *Rule) { r.Feedback.Require = []string{"correctness", "answer_usefulness"} },
		"feedback wait":    func(r *Rule) { r.Feedback.Wait = time.Hour },
		"on timeout":       func(r *Rule) { r.Feedback.OnTimeout = OnTimeoutSkip },
		"max runs":         func(r *Rule) { r.MaxRunsPerDelivery = 51 },
		"url query secret": func(r *Rule) { r.Webhooks[0].URL = "https://example.com/hook?secret=other" },
		"header value":     func(r *Rule) { r.Webhooks[0].Headers = map[string]string{"X-Api-Key": "other", "X-Team": "ml"} },
		"header name": func(r *Rule) {
			r.Webhooks[0].Headers = map[string]string{"X-Api-Key2": "api-key-7c6b5a", "X-Team": "ml"}
		},
		"header removed":  func(r *Rule) { r.Webhooks[0].Headers = map[string]string{"X-Api-Key": "api-key-7c6b5a"} },
		"signing secret":  func(r *Rule) { r.Webhooks[0].SigningSecrets = []string{"whsec_" + "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"} },
		"unsigned":        func(r *Rule) { r.Webhooks[0].SigningSecrets = nil },
		"webhook order":   func(r *Rule) { r.Webhooks[0], r.Webhooks[1] = r.Webhooks[1], r.Webhooks[0] },
		"webhook removed": func(r *Rule) { r.Webhooks = r.Webhooks[:1] },
		"format":          func(r *Rule) { r.Webhooks[1].Format = payload.FormatLangGraph },
		"retry":           func(r *Rule) { r.Webhooks[1].Retry = delivery.RetryStandard },
		// Moving text between fields must not collide either.
		"filter to trace": func(r *Rule) { r.Filter, r.TraceFilter = r.Filter+r.TraceFilter, "" },
	}
	want := base.Fingerprint(fpKey)
	seen := map[string]string{want: "base"}
	for name, change := range cases {
		t.Run(name, func(t *testing.T) {
			r := fullRules(t)[0]
			change(&r)
			got := r.Fingerprint(fpKey)
			if got == want {
				t.Errorf("fingerprint unchanged")
			}
			if prev, ok := seen[got]; ok {
				t.Errorf("same fingerprint as %s", prev)
			}
			seen[got] = name
		})
	}
	if base.Fingerprint([]byte("another key")) == want {
		t.Errorf("fingerprint does not depend on the key")
	}
}

// Nil and empty header maps are the same rule.
func TestFingerprintNilEmpty(t *testing.T) {
	a := Rule{Name: "r", Webhooks: []Webhook{{URL: "https://example.com/"}}}
	b := Rule{Name: "r", Webhooks: []Webhook{{URL: "https://example.com/", Headers: map[string]string{}}}, Feedback: Feedback{Require: []string{}}}
	if a.Fingerprint(fpKey) != b.Fingerprint(fpKey) {
		t.Errorf("nil and empty differ")
	}
}
