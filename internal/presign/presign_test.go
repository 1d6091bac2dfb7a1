package presign_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/presign"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// clock is an injectable time that tests move.
type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func newSigner(t *testing.T, c *clock) *presign.Signer {
	t.Helper()
	s, err := presign.New(key(1), nil, "https://runhook.example.com/", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = c.now
	return s
}

// parse splits a presigned URL into what the handler sees.
func parse(t *testing.T, raw string) (string, url.Values) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	return u.Path, u.Query()
}

func TestRoundTrip(t *testing.T) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	s := newSigner(t, c)
	id := uuid.MustParse("6ab80f10-d79c-4fa2-b441-922ed6feb630")
	for _, field := range []string{presign.Inputs, presign.Outputs} {
		raw := s.URL(id, field)
		prefix := "https://runhook.example.com/presigned/runs/6ab80f10-d79c-4fa2-b441-922ed6feb630/" + field + "?expires=1800003600&signature="
		if !strings.HasPrefix(raw, prefix) {
			t.Errorf("URL = %s, want prefix %s", raw, prefix)
		}
		path, q := parse(t, raw)
		for _, method := range []string{"GET", "HEAD"} {
			gotID, gotField, err := s.Verify(method, path, q)
			if err != nil || gotID != id || gotField != field {
				t.Errorf("%s %s: Verify = %s, %s, %v", method, field, gotID, gotField, err)
			}
		}
	}
}

func TestTamperedAndExpired(t *testing.T) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	s := newSigner(t, c)
	id, other := uuid.New(), uuid.New()
	path, q := parse(t, s.URL(id, presign.Inputs))
	with := func(k, v string) url.Values {
		out := url.Values{}
		for kk, vv := range q {
			out[kk] = append([]string(nil), vv...)
		}
		out.Set(k, v)
		return out
	}
	sig := q.Get("signature")
	flipped := []byte(sig)
	flipped[3] ^= 1
	for _, tc := range []struct {
		name, method, path string
		query              url.Values
		want               error
	}{
		{"other run", "GET", strings.Replace(path, id.String(), other.String(), 1), q, presign.ErrSignature},
		{"other field", "GET", strings.Replace(path, "/inputs", "/outputs", 1), q, presign.ErrSignature},
		{"unknown field", "GET", strings.Replace(path, "/inputs", "/extra", 1), q, presign.ErrMalformed},
		{"upper-case id", "GET", strings.Replace(path, id.String(), strings.ToUpper(id.String()), 1), q, presign.ErrMalformed},
		{"later expiry", "GET", path, with("expires", fmt.Sprint(1_800_003_600+86_400)), presign.ErrSignature},
		{"expiry with a leading zero", "GET", path, with("expires", "0"+q.Get("expires")), presign.ErrMalformed},
		{"flipped signature", "GET", path, with("signature", string(flipped)), presign.ErrSignature},
		{"truncated signature", "GET", path, with("signature", sig[:20]), presign.ErrSignature},
		{"signature not base64url", "GET", path, with("signature", "!!!"), presign.ErrSignature},
		{"extra parameter", "GET", path, with("x", "1"), presign.ErrMalformed},
		{"no signature", "GET", path, url.Values{"expires": q["expires"]}, presign.ErrMalformed},
		{"two signatures", "GET", path, url.Values{"expires": q["expires"], "signature": {sig, sig}}, presign.ErrMalformed},
		{"POST", "POST", path, q, presign.ErrSignature},
		{"outside the prefix", "GET", "/runs/" + id.String() + "/inputs", q, presign.ErrMalformed},
	} {
		if _, _, err := s.Verify(tc.method, tc.path, tc.query); !errors.Is(err, tc.want) {
			t.Errorf("%s: err = %v, want %v", tc.name, err, tc.want)
		}
	}

	c.t = c.t.Add(time.Hour - time.Second)
	if _, _, err := s.Verify("GET", path, q); err != nil {
		t.Errorf("a second before expiry: %v", err)
	}
	c.t = c.t.Add(time.Second)
	if _, _, err := s.Verify("GET", path, q); !errors.Is(err, presign.ErrExpired) {
		t.Errorf("at expiry: err = %v, want ErrExpired", err)
	}
}

// The signing key is derived from secrets.key, not secrets.key itself, and a
// different secrets.key signs differently; a retired key still verifies.
func TestKeySeparation(t *testing.T) {
	c := &clock{time.Unix(1_800_000_000, 0)}
	s := newSigner(t, c)
	id := uuid.New()
	path, q := parse(t, s.URL(id, presign.Outputs))

	derived, err := presign.DeriveKey(key(1))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(derived, key(1)) || !bytes.Equal(derived, s.Key) {
		t.Error("the signing key is not the derived key")
	}
	h := hmac.New(sha256.New, key(1))
	fmt.Fprintf(h, "GET\n%s\n%s", path, q.Get("expires"))
	if base64.RawURLEncoding.EncodeToString(h.Sum(nil)) == q.Get("signature") {
		t.Error("URLs are signed with secrets.key itself")
	}

	other, err := presign.New(key(2), nil, "https://runhook.example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	other.Now = c.now
	if _, _, err := other.Verify("GET", path, q); !errors.Is(err, presign.ErrSignature) {
		t.Errorf("another key verified the URL: %v", err)
	}
	rotated, err := presign.New(key(2), [][]byte{key(1)}, "https://runhook.example.com", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	rotated.Now = c.now
	if _, _, err := rotated.Verify("GET", path, q); err != nil {
		t.Errorf("a URL signed before the rotation does not verify with the retired key: %v", err)
	}

	var zero presign.Signer
	h = hmac.New(sha256.New, nil)
	fmt.Fprintf(h, "GET\n%s\n%s", path, q.Get("expires"))
	forged := url.Values{"expires": q["expires"], "signature": {base64.RawURLEncoding.EncodeToString(h.Sum(nil))}}
	if _, _, err := zero.Verify("GET", path, forged); err == nil {
		t.Error("a Signer without a key accepted a signature made with the empty key")
	}
}

func TestNewRefuses(t *testing.T) {
	for _, tc := range []struct {
		base string
		ttl  time.Duration
		want string
	}{
		{"ftp://x", time.Hour, "api.public_url"},
		{"https://", time.Hour, "api.public_url"},
		{"https://x/?a=b", time.Hour, "api.public_url"},
		{"https://x", 0, "payload.presign_ttl"},
	} {
		if _, err := presign.New(key(1), nil, tc.base, tc.ttl); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%q, %s) = %v, want an error naming %s", tc.base, tc.ttl, err, tc.want)
		}
	}
	if _, err := presign.New(nil, nil, "https://x", time.Hour); err == nil {
		t.Error("New without a key succeeded")
	}
	s, err := presign.New(key(1), nil, "https://x/base/", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if u := s.URL(uuid.Nil, presign.Inputs); !strings.HasPrefix(u, "https://x/base/presigned/runs/") {
		t.Errorf("URL under a base path = %s", u)
	}
}
