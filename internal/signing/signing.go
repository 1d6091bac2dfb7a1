// Package signing signs webhook requests the Standard Webhooks way
// (webhook-id, webhook-timestamp, webhook-signature: "v1,<base64 HMAC-SHA256>"),
// so receivers can verify them with any Standard Webhooks library. A request
// signed with several secrets carries one signature per secret in the one
// header, space-separated, so a receiver rotating its secret accepts it with
// either.
package signing

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every signing secret, as the standard writes them.
const SecretPrefix = "whsec_"

// Header names, lower-case as the standard gives them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// ParseSecret decodes "whsec_<base64>" into the HMAC key. The standard asks
// for 24 to 64 bytes. Errors never include the secret.
func ParseSecret(secret string) ([]byte, error) {
	rest, ok := strings.CutPrefix(secret, SecretPrefix)
	if !ok {
		return nil, errors.New("signing secret must start with " + SecretPrefix)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil {
		return nil, errors.New("signing secret is not " + SecretPrefix + " followed by base64")
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("signing secret decodes to %d bytes, want 24 to 64", len(key))
	}
	return key, nil
}

// NewSecret makes a random 32-byte signing secret in the standard's form.
func NewSecret() (string, error) {
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return "", err
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(key), nil
}

// Signature computes the webhook-signature value for one message.
func Signature(key []byte, msgID string, timestamp time.Time, body []byte) string {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(msgID))
	mac.Write([]byte("."))
	mac.Write([]byte(strconv.FormatInt(timestamp.Unix(), 10)))
	mac.Write([]byte("."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Signer stamps requests; Now is injectable so signatures are reproducible in tests.
type Signer struct {
	Now func() time.Time
}

// MaxSecrets is how many signing secrets one webhook may have: the one in
// use and the one a receiver is rotating to.
const MaxSecrets = 2

// Headers returns the Standard Webhooks headers for body, with a signature
// for each of keys. With no keys only webhook-id and webhook-timestamp are
// set: every request carries those, so receivers can deduplicate on
// webhook-id whether or not the URL signs.
func (s Signer) Headers(keys [][]byte, msgID string, body []byte) map[string]string {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	ts := now()
	h := map[string]string{
		HeaderID:        msgID,
		HeaderTimestamp: strconv.FormatInt(ts.Unix(), 10),
	}
	if len(keys) > 0 {
		sigs := make([]string, len(keys))
		for i, key := range keys {
			sigs[i] = Signature(key, msgID, ts, body)
		}
		h[HeaderSignature] = strings.Join(sigs, " ")
	}
	return h
}
