package secrets_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/runhook/runhook/internal/secrets"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestSealOpen(t *testing.T) {
	box, err := secrets.New(key(1))
	if err != nil {
		t.Fatal(err)
	}
	plain := "https://hooks.example.test/in?secret=38ee77617c3a489ab6e871fbeb2ec87d"
	sealed, err := box.Seal([]byte(plain), "rule/1/webhook/0/url")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "38ee7761") || strings.Contains(sealed, "hooks.example") {
		t.Fatalf("sealed value leaks plaintext: %s", sealed)
	}
	if id, ok := secrets.KeyIDOf(sealed); !ok || id != box.CurrentKeyID() {
		t.Errorf("KeyIDOf = %q, %v", id, ok)
	}
	got, err := box.Open(sealed, "rule/1/webhook/0/url")
	if err != nil || string(got) != plain {
		t.Fatalf("Open = %q, %v", got, err)
	}
	again, _ := box.Seal([]byte(plain), "rule/1/webhook/0/url")
	if again == sealed {
		t.Error("two seals of one value are equal: nonce reused")
	}
}

func TestOpenRefuses(t *testing.T) {
	box, _ := secrets.New(key(1))
	sealed, _ := box.Seal([]byte("s3cret-value"), "ctx")
	other, _ := secrets.New(key(2))
	// One character of the ciphertext changed, well before its end: a
	// change in the last character may fall in bits base64 leaves unused.
	i := len(sealed) - 10
	swap := byte('A')
	if sealed[i] == 'A' {
		swap = 'B'
	}
	tampered := sealed[:i] + string(swap) + sealed[i+1:]
	for _, tc := range []struct {
		name, sealed, ctx string
		box               *secrets.Box
	}{
		{"other context", sealed, "ctx2", box},
		{"tampered", tampered, "ctx", box},
		{"unknown key", sealed, "ctx", other},
		{"not sealed", "plain text", "ctx", box},
		{"truncated", "rh1:" + box.CurrentKeyID() + ":AAAA", "ctx", box},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.box.Open(tc.sealed, tc.ctx)
			if err == nil {
				t.Fatal("opened")
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("error leaks plaintext: %v", err)
			}
		})
	}
	if _, err := box.Open(sealed, "ctx2"); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("wrong context: err = %v, want ErrOpen", err)
	}
}

func TestRotation(t *testing.T) {
	old, _ := secrets.New(key(1))
	sealed, _ := old.Seal([]byte("v"), "c")
	rotated, err := secrets.New(key(2), key(1))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := rotated.Open(sealed, "c"); err != nil || string(got) != "v" {
		t.Fatalf("retired key does not open old value: %q, %v", got, err)
	}
	resealed, _ := rotated.Seal([]byte("v"), "c")
	if id, _ := secrets.KeyIDOf(resealed); id != secrets.KeyID(key(2)) {
		t.Errorf("new seal uses key %s, want the current one", id)
	}
}

func TestKeyLength(t *testing.T) {
	if _, err := secrets.New(make([]byte, 16)); err == nil {
		t.Fatal("16-byte key accepted")
	}
	if _, err := secrets.New(key(1), make([]byte, 31)); err == nil {
		t.Fatal("31-byte retired key accepted")
	}
}

func TestReseal(t *testing.T) {
	old, _ := secrets.New(key(1))
	sealed, err := old.Seal([]byte("whsec_x"), "webhook/r/0/signing_secret")
	if err != nil {
		t.Fatal(err)
	}
	box, _ := secrets.New(key(2), key(1))
	resealed, changed, err := box.Reseal(sealed, "webhook/r/0/signing_secret")
	if err != nil || !changed {
		t.Fatalf("Reseal = %v, %v", changed, err)
	}
	if id, _ := secrets.KeyIDOf(resealed); id != box.CurrentKeyID() {
		t.Errorf("re-sealed under %s, want the current key %s", id, box.CurrentKeyID())
	}
	alone, _ := secrets.New(key(2))
	if got, err := alone.Open(resealed, "webhook/r/0/signing_secret"); err != nil || string(got) != "whsec_x" {
		t.Errorf("the current key alone opens %q, %v", got, err)
	}
	if _, err := alone.Open(resealed, "webhook/r/1/signing_secret"); err == nil {
		t.Error("the re-sealed value opens under another context")
	}
	again, changed, err := box.Reseal(resealed, "webhook/r/0/signing_secret")
	if err != nil || changed || again != resealed {
		t.Errorf("a value under the current key: Reseal = changed %v, %v; want it left alone", changed, err)
	}
	if _, _, err := box.Reseal(sealed, "webhook/r/1/signing_secret"); !errors.Is(err, secrets.ErrOpen) {
		t.Errorf("Reseal under a wrong context = %v, want ErrOpen", err)
	}
}
