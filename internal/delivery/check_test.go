package delivery_test

import (
	"strings"
	"testing"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/signing"
)

func TestTargetCheck(t *testing.T) {
	secret, err := signing.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	policy := delivery.URLPolicy{RequireHTTPS: true}
	keys, refused := delivery.Target{URL: "https://h.example/x", SigningSecrets: []string{secret, secret}}.Check(policy)
	if refused != nil || len(keys) != 2 {
		t.Fatalf("a good target: keys %d, refused %+v", len(keys), refused)
	}
	if keys, refused := (delivery.Target{URL: "https://h.example/x"}).Check(policy); refused != nil || keys != nil {
		t.Fatalf("unsigned: keys %v, refused %+v", keys, refused)
	}
	_, refused = delivery.Target{URL: "http://h.example/x?secret=hush-hush"}.Check(policy)
	if refused == nil || refused.Class != delivery.Refused || strings.Contains(refused.Err, "hush-hush") {
		t.Fatalf("plain http: %+v", refused)
	}
	_, refused = delivery.Target{URL: "https://h.example/x", SigningSecrets: []string{"whsec_!!"}}.Check(policy)
	if refused == nil || refused.Class != delivery.Invalid {
		t.Fatalf("a bad secret: %+v", refused)
	}
}
