// Package secrets encrypts webhook URLs, headers and signing secrets at rest
// with AES-256-GCM. Each sealed value names the key that sealed it, so keys
// can rotate: new values use the current key, old ones still open with a
// retired key until they are re-sealed.
package secrets

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

const prefix = "rh1"

// ErrOpen is returned for any value that does not open: wrong key, wrong
// context, or tampering. It never carries the value itself.
var ErrOpen = errors.New("secrets: sealed value does not open with the configured keys (wrong key, wrong context, or tampered)")

// Box seals with the current key and opens with any known key.
type Box struct {
	current string
	aeads   map[string]cipher.AEAD
}

// KeyID names a key without revealing it: the first 8 hex digits of its SHA-256.
func KeyID(key []byte) string {
	sum := sha256.Sum256(key)
	return hex.EncodeToString(sum[:4])
}

// New builds a Box that seals with current and also opens values sealed with
// any of retired. Every key must be 32 bytes.
func New(current []byte, retired ...[]byte) (*Box, error) {
	b := &Box{aeads: map[string]cipher.AEAD{}}
	for i, key := range append([][]byte{current}, retired...) {
		if len(key) != 32 {
			return nil, fmt.Errorf("secrets: key %d is %d bytes, want 32", i, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		id := KeyID(key)
		if i == 0 {
			b.current = id
		}
		b.aeads[id] = aead
	}
	return b, nil
}

// CurrentKeyID names the key new values are sealed with.
func (b *Box) CurrentKeyID() string { return b.current }

// Seal encrypts plaintext, bound to context (e.g. "rule/<id>/webhook/0/url"):
// a sealed value copied to another context does not open there.
// The result is "rh1:<key id>:<base64 nonce+ciphertext>".
func (b *Box) Seal(plaintext []byte, context string) (string, error) {
	aead := b.aeads[b.current]
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("secrets: nonce: %w", err)
	}
	out := aead.Seal(nonce, nonce, plaintext, []byte(context))
	return prefix + ":" + b.current + ":" + base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts a value sealed by Seal under the same context.
func (b *Box) Open(sealed string, context string) ([]byte, error) {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 || parts[0] != prefix {
		return nil, errors.New("secrets: not a sealed value")
	}
	aead, ok := b.aeads[parts[1]]
	if !ok {
		return nil, fmt.Errorf("secrets: sealed with key %s, which is not configured", parts[1])
	}
	raw, err := base64.RawStdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrOpen
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(context))
	if err != nil {
		return nil, ErrOpen
	}
	return plain, nil
}

// KeyIDOf reports which key sealed a value, so a rotation can find what to re-seal.
func KeyIDOf(sealed string) (string, bool) {
	parts := strings.SplitN(sealed, ":", 3)
	if len(parts) != 3 || parts[0] != prefix {
		return "", false
	}
	return parts[1], true
}

// Reseal returns sealed under the current key, bound to the same context.
// A value already under the current key is returned as it is, with changed
// false, so a rotation run twice re-seals nothing the second time.
func (b *Box) Reseal(sealed string, context string) (resealed string, changed bool, err error) {
	if id, ok := KeyIDOf(sealed); ok && id == b.current {
		return sealed, false, nil
	}
	plain, err := b.Open(sealed, context)
	if err != nil {
		return "", false, err
	}
	if resealed, err = b.Seal(plain, context); err != nil {
		return "", false, err
	}
	return resealed, true, nil
}
