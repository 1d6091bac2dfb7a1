package delivery_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/payload"
	"github.com/runhook/runhook/internal/secrets"
	"github.com/runhook/runhook/internal/signing"
)

func TestTwoSigningSecrets(t *testing.T) {
	box, _ := secrets.New(bytes.Repeat([]byte{7}, 32))
	old, _ := signing.NewSecret()
	next, _ := signing.NewSecret()
	rule := uuid.New()
	w, err := delivery.Seal(box, delivery.URLPolicy{}, rule, 0,
		delivery.Target{URL: "https://h.example.test/", SigningSecrets: []string{old, next}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(w.SigningSecretSealed, strings.TrimPrefix(old, "whsec_")) {
		t.Fatal("sealed value shows a secret")
	}
	got, err := delivery.Open(box, w)
	if err != nil || !slices.Equal(got.SigningSecrets, []string{old, next}) {
		t.Fatalf("Open = %v, %v", got.SigningSecrets, err)
	}

	third, _ := signing.NewSecret()
	_, err = delivery.Seal(box, delivery.URLPolicy{}, rule, 0,
		delivery.Target{URL: "https://h.example.test/", SigningSecrets: []string{old, next, third}}, time.Now())
	if err == nil || !strings.Contains(err.Error(), "at most 2") {
		t.Errorf("three secrets: %v", err)
	}

	// Each POST carries a signature for each secret: a receiver holding
	// either verifies it.
	var header http.Header
	var body []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		header, body = r.Header, mustRead(r.Body)
	}))
	defer srv.Close()
	var keys [][]byte
	for _, s := range got.SigningSecrets {
		k, _ := signing.ParseSecret(s)
		keys = append(keys, k)
	}
	res := loopbackSender(5*time.Second).Send(context.Background(), delivery.Request{
		URL: srv.URL, Body: []byte(`{"runs":[]}`), MessageID: "dlv-2", SigningKeys: keys})
	if res.Class != delivery.Delivered {
		t.Fatalf("result = %+v", res)
	}
	if n := len(strings.Fields(header.Get(signing.HeaderSignature))); n != 2 {
		t.Errorf("webhook-signature holds %d signatures, want 2", n)
	}
	for i, s := range []string{old, next} {
		wh, _ := standardwebhooks.NewWebhook(s)
		if err := wh.Verify(body, header); err != nil {
			t.Errorf("secret %d does not verify: %v", i, err)
		}
	}
}

// A webhook sealed with one secret, as before two were allowed, opens as one.
func TestOneSigningSecretAsBefore(t *testing.T) {
	box, _ := secrets.New(bytes.Repeat([]byte{7}, 32))
	secret, _ := signing.NewSecret()
	rule := uuid.New()
	w, err := delivery.Seal(box, delivery.URLPolicy{}, rule, 0, delivery.Target{URL: "https://h.example.test/", SigningSecrets: []string{secret}}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	raw, err := box.Open(w.SigningSecretSealed, "webhook/"+rule.String()+"/0/signing_secret")
	if err != nil || string(raw) != secret {
		t.Fatalf("one secret seals as the secret alone: %v", err)
	}
	got, err := delivery.Open(box, w)
	if err != nil || !slices.Equal(got.SigningSecrets, []string{secret}) {
		t.Errorf("Open = %v, %v", got.SigningSecrets, err)
	}
}

// The format is stored in the clear beside the sealed fields and comes back
// with them; "" (LangSmith's) is what rows written before formats hold.
func TestFormatSealedAndOpened(t *testing.T) {
	box, _ := secrets.New(bytes.Repeat([]byte{7}, 32))
	rule := uuid.New()
	for _, f := range []payload.Format{payload.FormatLangSmith, payload.FormatLangGraph} {
		w, err := delivery.Seal(box, delivery.URLPolicy{}, rule, 0, delivery.Target{URL: "https://example.com/h", Format: f}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if w.Format != string(f) {
			t.Errorf("stored format %q, want %q", w.Format, f)
		}
		got, err := delivery.Open(box, w)
		if err != nil || got.Format != f {
			t.Errorf("opened format %q (%v), want %q", got.Format, err, f)
		}
	}
	if _, err := delivery.Seal(box, delivery.URLPolicy{}, rule, 0, delivery.Target{URL: "https://example.com/h", Format: "xml"}, time.Now()); err == nil {
		t.Error("an unknown format was sealed")
	}
}

func TestRetrySealedAndOpened(t *testing.T) {
	box, _ := secrets.New(bytes.Repeat([]byte{7}, 32))
	w, err := delivery.Seal(box, delivery.URLPolicy{}, uuid.New(), 0,
		delivery.Target{URL: "https://h.example.test/", Retry: delivery.RetryStandard}, time.Now())
	if err != nil || w.Retry != "standard" {
		t.Fatalf("Seal = %q, %v", w.Retry, err)
	}
	if got, err := delivery.Open(box, w); err != nil || got.Retry != delivery.RetryStandard {
		t.Fatalf("Open = %q, %v", got.Retry, err)
	}
	if _, err := delivery.Seal(box, delivery.URLPolicy{}, uuid.New(), 0,
		delivery.Target{URL: "https://h.example.test/", Retry: "forever"}, time.Now()); err == nil {
		t.Error("Seal took retry: forever")
	}
}
