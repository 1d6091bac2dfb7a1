// Package presign makes and checks the presigned URLs that webhook payloads
// carry in place of large inputs and outputs (LangSmith's inputs_s3_urls /
// outputs_s3_urls, ROOT.presigned_url). A URL names one field of one run,
// expires, and is signed with HMAC-SHA256 under a key derived from
// secrets.key, so the API can serve it without an API key.
package presign

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

// The fields a URL may name.
const (
	Inputs  = "inputs"
	Outputs = "outputs"
)

// Prefix is where the API mounts Handler.
const Prefix = "/presigned/"

// info separates this key from every other use of secrets.key: a presigned
// signature reveals nothing about the key that seals webhook secrets.
const info = "runhook presign v1"

// DeriveKey is the signing key for a secrets.key (32 bytes).
func DeriveKey(secretsKey []byte) ([]byte, error) {
	if len(secretsKey) == 0 {
		return nil, errors.New("presign: no key")
	}
	return hkdf.Key(sha256.New, secretsKey, nil, info, sha256.Size)
}

// Signer makes and verifies presigned URLs.
type Signer struct {
	// Key signs new URLs; Retired keys still verify (secrets.retired_keys,
	// so URLs handed out just before a rotation keep working until they expire).
	Key     []byte
	Retired [][]byte
	// BaseURL is api.public_url: where receivers reach the API.
	BaseURL string
	TTL     time.Duration
	// Now replaces the clock (tests); nil is time.Now.
	Now func() time.Time
}

// New derives the keys from secrets.key (and retired keys) and checks the
// base URL and TTL.
func New(secretsKey []byte, retired [][]byte, baseURL string, ttl time.Duration) (*Signer, error) {
	u, err := url.Parse(baseURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("api.public_url %q is not an http(s) URL with a host and no query", baseURL)
	}
	if ttl <= 0 {
		return nil, fmt.Errorf("payload.presign_ttl must be positive, got %s", ttl)
	}
	s := &Signer{BaseURL: strings.TrimSuffix(baseURL, "/"), TTL: ttl}
	if s.Key, err = DeriveKey(secretsKey); err != nil {
		return nil, err
	}
	for _, k := range retired {
		d, err := DeriveKey(k)
		if err != nil {
			return nil, err
		}
		s.Retired = append(s.Retired, d)
	}
	return s, nil
}

func (s *Signer) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Path is the API path of a run's field, the part of the URL that is signed
// (with the method and expiry); BaseURL is not, so a proxy may strip its prefix.
func Path(runID uuid.UUID, field string) string {
	return Prefix + "runs/" + runID.String() + "/" + field
}

func mac(key []byte, method, path string, expires int64) []byte {
	h := hmac.New(sha256.New, key)
	fmt.Fprintf(h, "%s\n%s\n%d", method, path, expires)
	return h.Sum(nil)
}

// URL is a GET URL for field (Inputs or Outputs) of the run, valid for TTL.
func (s *Signer) URL(runID uuid.UUID, field string) string {
	path := Path(runID, field)
	expires := s.now().Add(s.TTL).Unix()
	sig := base64.RawURLEncoding.EncodeToString(mac(s.Key, "GET", path, expires))
	return s.BaseURL + path + "?expires=" + strconv.FormatInt(expires, 10) + "&signature=" + sig
}

// Reasons Verify refuses a request; all of them are a 403.
var (
	ErrMalformed = errors.New("presigned URL is malformed")
	ErrSignature = errors.New("presigned URL signature does not match")
	ErrExpired   = errors.New("presigned URL has expired")
)

// Verify checks a request for a presigned URL: the path must name a run and
// a field, the query must hold exactly expires and signature, the signature
// must match under a known key, and the URL must not have expired. HEAD is
// checked as the GET it stands for. It returns the run and field named.
func (s *Signer) Verify(method, path string, query url.Values) (uuid.UUID, string, error) {
	if method == "HEAD" {
		method = "GET"
	}
	rest, ok := strings.CutPrefix(path, Prefix+"runs/")
	if !ok {
		return uuid.Nil, "", ErrMalformed
	}
	idText, field, ok := strings.Cut(rest, "/")
	id, err := uuid.Parse(idText)
	if !ok || err != nil || id.String() != idText || (field != Inputs && field != Outputs) {
		return uuid.Nil, "", ErrMalformed
	}
	if len(query) != 2 || len(query["expires"]) != 1 || len(query["signature"]) != 1 {
		return uuid.Nil, "", ErrMalformed
	}
	expiresText := query.Get("expires")
	expires, err := strconv.ParseInt(expiresText, 10, 64)
	if err != nil || strconv.FormatInt(expires, 10) != expiresText {
		return uuid.Nil, "", ErrMalformed
	}
	sig, err := base64.RawURLEncoding.DecodeString(query.Get("signature"))
	if err != nil {
		return uuid.Nil, "", ErrSignature
	}
	matched := false
	for _, key := range append([][]byte{s.Key}, s.Retired...) {
		// Every key is tried, so the time taken does not say which matched.
		// An empty key (a zero Signer) would let anyone sign.
		if len(key) > 0 && hmac.Equal(sig, mac(key, method, path, expires)) {
			matched = true
		}
	}
	if !matched {
		return uuid.Nil, "", ErrSignature
	}
	// Checked after the signature, so an expiry can be trusted as the signer's.
	if !s.now().Before(time.Unix(expires, 0)) {
		return uuid.Nil, "", ErrExpired
	}
	return id, field, nil
}
