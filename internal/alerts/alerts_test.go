package alerts

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/netguard"
)

const secret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

var (
	rule = uuid.MustParse("11111111-1111-4111-8111-111111111111")
	run  = uuid.MustParse("22222222-2222-4222-8222-222222222222")
	at   = time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
)

func TestIDsAreStableAndDistinct(t *testing.T) {
	a := RulePausedEvent(rule, "d1", 3, "x", at)
	if b := RulePausedEvent(rule, "d1", 4, "y", at.Add(time.Hour)); a.ID != b.ID {
		t.Errorf("the same pause raised twice has IDs %s and %s", a.ID, b.ID)
	}
	ids := map[string]bool{}
	for _, ev := range []Event{
		a,
		RulePausedEvent(rule, "d2", 3, "x", at),
		DeliveryFailedEvent(rule, 0, "d1", 1, "x", at),
		RunWebhookExpiredEvent(run, "w", "x", at),
		RunWebhookExpiredEvent(rule, "w", "x", at),
	} {
		if ids[ev.ID] {
			t.Errorf("duplicate ID %s", ev.ID)
		}
		ids[ev.ID] = true
		if !strings.HasPrefix(ev.ID, string(ev.Type)+"_") {
			t.Errorf("ID %s does not start with its type", ev.ID)
		}
	}
}

func TestEventJSON(t *testing.T) {
	body, err := json.Marshal(DeliveryFailedEvent(rule, 0, "d1", 2, "receiver answered 500", at))
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"type": "delivery.failed", "id": ID(DeliveryFailed, rule.String(), "d1"), "at": "2026-12-05T12:00:00Z",
		"rule_id": rule.String(), "webhook_index": 0.0, "delivery_id": "d1", "runs": 2.0, "reason": "receiver answered 500"}
	if len(got) != len(want) {
		t.Errorf("event = %s", body)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v (%s)", k, got[k], v, body)
		}
	}
	body, _ = json.Marshal(RunWebhookExpiredEvent(run, "w", "x", at))
	if strings.Contains(string(body), "rule_id") || strings.Contains(string(body), "webhook_index") || !strings.Contains(string(body), run.String()) {
		t.Errorf("run_webhook.expired = %s", body)
	}
}

type starter struct {
	seen map[string]bool
	err  error
}

func (s *starter) StartAlert(_ context.Context, ev Event) (bool, error) {
	if s.err != nil {
		return false, s.err
	}
	if s.seen[ev.ID] {
		return false, nil
	}
	s.seen[ev.ID] = true
	return true, nil
}

type counter struct{ raised, failed map[string]int }

func (c *counter) Alert(typ string)       { c.raised[typ]++ }
func (c *counter) AlertFailed(typ string) { c.failed[typ]++ }

func TestRaiseCountsEachEventOnce(t *testing.T) {
	s := &starter{seen: map[string]bool{}}
	c := &counter{raised: map[string]int{}, failed: map[string]int{}}
	r := &Raiser{Starter: s, Metrics: c}
	ev := RulePausedEvent(rule, "d1", 3, "x", at)
	r.Raise(context.Background(), ev)
	r.Raise(context.Background(), ev) // a retried trigger
	if c.raised["rule.paused"] != 1 || len(c.failed) != 0 {
		t.Errorf("raised %v, failed %v", c.raised, c.failed)
	}
	s.err = errors.New("temporal unreachable")
	r.Raise(context.Background(), DeliveryFailedEvent(rule, 0, "d2", 1, "x", at))
	if c.failed["delivery.failed"] != 1 || c.raised["delivery.failed"] != 0 {
		t.Errorf("a start that failed: raised %v, failed %v", c.raised, c.failed)
	}
	var off *Raiser
	off.Raise(context.Background(), ev) // alerts.url unset
}

func TestNewTarget(t *testing.T) {
	if tg, err := NewTarget("", secret, nil); tg != nil || err != nil {
		t.Errorf("no URL: %v, %v", tg, err)
	}
	if _, err := NewTarget("https://ops.example/a", "whsec_short", nil); err == nil || strings.Contains(err.Error(), "short") {
		t.Errorf("bad secret: %v", err)
	}
	tg, err := NewTarget("https://ops.example/a?token=s3cret", "", nil)
	if err != nil || tg.URL() != "https://ops.example/a?token=***" {
		t.Errorf("URL() = %q, %v", tg.URL(), err)
	}
}

func TestPostIsSignedWithTheEventID(t *testing.T) {
	var got *http.Request
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r
		body, _ = io.ReadAll(r.Body)
	}))
	defer srv.Close()
	sender := delivery.NewSender(delivery.SenderOptions{
		Timeout: 5 * time.Second,
		Guard:   netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		Headers: map[string]string{"X-Team": "ops"},
	})
	tg, err := NewTarget(srv.URL+"/alerts", secret, sender)
	if err != nil {
		t.Fatal(err)
	}
	ev := RunWebhookExpiredEvent(run, "w", "run not stored ended", at)
	if res := tg.Post(context.Background(), ev); res.Class != delivery.Delivered {
		t.Fatalf("post: %+v", res)
	}
	if got.Header.Get("webhook-id") != ev.ID || got.Header.Get("X-Team") != "ops" {
		t.Errorf("headers = %v", got.Header)
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, got.Header); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	var back Event
	if err := json.Unmarshal(body, &back); err != nil || back.ID != ev.ID || back.RunID != run {
		t.Errorf("body = %s (%v)", body, err)
	}
}
