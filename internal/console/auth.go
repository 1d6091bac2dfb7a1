package console

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// CookieName is the session cookie's.
const CookieName = "runhook_console"

// sessionTTL bounds a stolen cookie's use; a person logs in again daily.
const sessionTTL = 12 * time.Hour

// SessionKey derives the cookie-signing key from the secrets key, so that
// sessions outlive a restart and every replica accepts the others' cookies,
// without using the sealing key itself for a second purpose.
func SessionKey(secretsKey []byte) []byte {
	m := hmac.New(sha256.New, secretsKey)
	m.Write([]byte("runhook console session v1"))
	return m.Sum(nil)
}

func parseKeyHashes(entries []string) ([][]byte, error) {
	var out [][]byte
	for i, s := range entries {
		hexPart, ok := strings.CutPrefix(s, "sha256:")
		b, err := hex.DecodeString(hexPart)
		if !ok || err != nil || len(b) != sha256.Size {
			return nil, fmt.Errorf("console: api.key_hashes[%d] is not sha256:<64 hex digits>", i)
		}
		out = append(out, b)
	}
	return out, nil
}

// keyOK compares the key's hash with every accepted one in constant time.
func (c *Console) keyOK(key string) bool {
	sum := sha256.Sum256([]byte(key))
	ok := 0
	for _, h := range c.hashes {
		ok |= subtle.ConstantTimeCompare(sum[:], h)
	}
	return ok == 1 && key != ""
}

// loopback: the request came over a loopback connection. A reverse proxy on
// the same host makes every request loopback, so such a deployment must
// keep /console off the proxy or set api.key_hashes and log in.
func loopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.Unmap().IsLoopback()
}

func (c *Console) sign(expiry int64) string {
	m := hmac.New(sha256.New, c.opts.SessionKey)
	m.Write([]byte("session:" + strconv.FormatInt(expiry, 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (c *Console) session(r *http.Request) bool {
	ck, err := r.Cookie(CookieName)
	if err != nil {
		return false
	}
	exp, mac, ok := strings.Cut(ck.Value, ".")
	if !ok {
		return false
	}
	expiry, err := strconv.ParseInt(exp, 10, 64)
	if err != nil || c.opts.Now().Unix() >= expiry {
		return false
	}
	return hmac.Equal([]byte(mac), []byte(c.sign(expiry)))
}

// authed lets loopback and logged-in requests through; others are sent to
// the login form, or refused when no key can log in.
func (c *Console) authed(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if loopback(r) || c.session(r) {
			h(w, r)
			return
		}
		if len(c.hashes) == 0 {
			http.Error(w, "the console answers loopback only (set api.key_hashes to log in from elsewhere)", http.StatusForbidden)
			return
		}
		if r.Method != http.MethodGet {
			http.Error(w, "log in first", http.StatusUnauthorized)
			return
		}
		http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
	})
}

func (c *Console) loginPage(w http.ResponseWriter, r *http.Request) {
	c.render(w, r, "login", map[string]any{"Keys": len(c.hashes) > 0})
}

func (c *Console) login(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4096)
	if len(c.hashes) == 0 || !c.keyOK(r.PostFormValue("key")) {
		w.WriteHeader(http.StatusUnauthorized)
		c.render(w, r, "login", map[string]any{"Keys": len(c.hashes) > 0, "Failed": true})
		return
	}
	expiry := c.opts.Now().Add(sessionTTL).Unix()
	http.SetCookie(w, &http.Cookie{
		Name: CookieName, Value: strconv.FormatInt(expiry, 10) + "." + c.sign(expiry),
		Path: Prefix, MaxAge: int(sessionTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode,
		Secure: r.TLS != nil,
	})
	http.Redirect(w, r, Prefix+"/", http.StatusSeeOther)
}

func (c *Console) logout(w http.ResponseWriter, r *http.Request) {
	http.SetCookie(w, &http.Cookie{Name: CookieName, Path: Prefix, MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, Prefix+"/login", http.StatusSeeOther)
}
