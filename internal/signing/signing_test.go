package signing_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/runhook/runhook/internal/signing"
)

// The vector from the Standard Webhooks specification's reference libraries.
const (
	vectorSecret    = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	vectorMsgID     = "msg_p5jXN8AQM9LWM0D4loKWxJek"
	vectorTimestamp = 1614265330
	vectorPayload   = `{"test": 2432232314}`
	vectorSignature = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
)

func TestStandardVector(t *testing.T) {
	key, err := signing.ParseSecret(vectorSecret)
	if err != nil {
		t.Fatal(err)
	}
	got := signing.Signature(key, vectorMsgID, time.Unix(vectorTimestamp, 0), []byte(vectorPayload))
	if got != vectorSignature {
		t.Fatalf("signature %s, want %s", got, vectorSignature)
	}
}

func TestVerifiedByStandardLibrary(t *testing.T) {
	secret, err := signing.NewSecret()
	if err != nil {
		t.Fatal(err)
	}
	key, err := signing.ParseSecret(secret)
	if err != nil {
		t.Fatal(err)
	}
	fixed := time.Now().Add(-time.Minute).Truncate(time.Second)
	s := signing.Signer{Now: func() time.Time { return fixed }}
	body := []byte(`{"rule_id":"d75d7417-0c57-4655-88fe-1db3cda3a47a","runs":[]}`)
	headers := http.Header{}
	for k, v := range s.Headers([][]byte{key}, "delivery-1", body) {
		headers.Set(k, v)
	}
	if headers.Get("webhook-timestamp") != strconv.FormatInt(fixed.Unix(), 10) {
		t.Errorf("timestamp %s, want the injected clock's %d", headers.Get("webhook-timestamp"), fixed.Unix())
	}
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, headers); err != nil {
		t.Fatalf("standard library rejects our signature: %v", err)
	}
	if err := wh.Verify(append(body, ' '), headers); err == nil {
		t.Fatal("standard library accepts a changed body")
	}
	other, _ := signing.NewSecret()
	wrong, _ := standardwebhooks.NewWebhook(other)
	if err := wrong.Verify(body, headers); err == nil {
		t.Fatal("verified with another secret")
	}
}

func TestHeadersWithoutKey(t *testing.T) {
	h := signing.Signer{}.Headers(nil, "id-1", []byte("{}"))
	if h["webhook-id"] != "id-1" || h["webhook-timestamp"] == "" {
		t.Errorf("headers = %v", h)
	}
	if _, ok := h["webhook-signature"]; ok {
		t.Error("signature set without a key")
	}
}

func TestParseSecretErrors(t *testing.T) {
	for _, tc := range []struct{ secret, want string }{
		{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "must start with whsec_"},
		{"whsec_!!notbase64", "not whsec_ followed by base64"},
		{"whsec_c2hvcnQ=", "decodes to 5 bytes"},
	} {
		_, err := signing.ParseSecret(tc.secret)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseSecret(%q) = %v, want %q", tc.secret, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), strings.TrimPrefix(tc.secret, "whsec_")) {
			t.Errorf("error echoes the secret: %v", err)
		}
	}
}

// A receiver rotating its secret verifies with the old one or the new one:
// each finds its signature among the two.
func TestTwoSecretsVerifiedByEither(t *testing.T) {
	var secrets []string
	var keys [][]byte
	for range 2 {
		secret, _ := signing.NewSecret()
		key, err := signing.ParseSecret(secret)
		if err != nil {
			t.Fatal(err)
		}
		secrets, keys = append(secrets, secret), append(keys, key)
	}
	body := []byte(`{"runs":[]}`)
	headers := http.Header{}
	for k, v := range (signing.Signer{}).Headers(keys, "delivery-2", body) {
		headers.Set(k, v)
	}
	sigs := strings.Fields(headers.Get("webhook-signature"))
	if len(sigs) != 2 || sigs[0] == sigs[1] {
		t.Fatalf("webhook-signature = %q, want two space-separated signatures", headers.Get("webhook-signature"))
	}
	for i, secret := range secrets {
		wh, err := standardwebhooks.NewWebhook(secret)
		if err != nil {
			t.Fatal(err)
		}
		if err := wh.Verify(body, headers); err != nil {
			t.Errorf("secret %d: standard library rejects: %v", i, err)
		}
		if err := wh.Verify(append(body, ' '), headers); err == nil {
			t.Errorf("secret %d: a changed body verifies", i)
		}
	}
	other, _ := signing.NewSecret()
	if wh, _ := standardwebhooks.NewWebhook(other); wh.Verify(body, headers) == nil {
		t.Error("verified with a third secret")
	}
}
