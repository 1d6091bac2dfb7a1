package console

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/runhook/runhook/internal/api"
)

func TestLoopbackOnlyWithoutKeys(t *testing.T) {
	_, _, _, opts := fixture()
	h := newConsole(t, opts)
	for _, addr := range []string{"127.0.0.1:1", "[::1]:1"} {
		req := httptest.NewRequest(http.MethodGet, "/console/", nil)
		req.RemoteAddr = addr
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("from %s: %d", addr, rec.Code)
		}
	}
	req := httptest.NewRequest(http.MethodGet, "/console/", nil)
	req.RemoteAddr = "192.0.2.7:1"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("from beyond loopback without api keys: %d, want 403", rec.Code)
	}
}

func TestLoginSetsASessionCookie(t *testing.T) {
	_, _, _, opts := fixture()
	opts.KeyHashes = []string{api.HashKey("rh_secret")}
	h := newConsole(t, opts)
	remote := func(req *http.Request, cookies ...*http.Cookie) *httptest.ResponseRecorder {
		req.RemoteAddr = "192.0.2.7:1"
		for _, c := range cookies {
			req.AddCookie(c)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	if rec := remote(httptest.NewRequest(http.MethodGet, "/console/", nil)); rec.Code != http.StatusSeeOther ||
		rec.Header().Get("Location") != "/console/login" {
		t.Fatalf("no session: %d to %q, want the login form", rec.Code, rec.Header().Get("Location"))
	}
	login := func(key string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodPost, "/console/login", strings.NewReader(url.Values{"key": {key}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return remote(req)
	}
	if rec := login("wrong"); rec.Code != http.StatusUnauthorized || len(rec.Result().Cookies()) != 0 {
		t.Fatalf("wrong key: %d, cookies %v", rec.Code, rec.Result().Cookies())
	}
	rec := login("rh_secret")
	cookies := rec.Result().Cookies()
	if rec.Code != http.StatusSeeOther || len(cookies) != 1 {
		t.Fatalf("right key: %d, cookies %v", rec.Code, cookies)
	}
	ck := cookies[0]
	if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/console" || strings.Contains(ck.Value, "rh_secret") {
		t.Errorf("session cookie %+v: want HttpOnly, SameSite=Strict, path /console, no key in it", ck)
	}
	if rec := remote(httptest.NewRequest(http.MethodGet, "/console/", nil), ck); rec.Code != http.StatusOK {
		t.Errorf("with the session: %d", rec.Code)
	}
	forged := *ck
	forged.Value = ck.Value[:len(ck.Value)-2] + "xx"
	if rec := remote(httptest.NewRequest(http.MethodGet, "/console/", nil), &forged); rec.Code == http.StatusOK {
		t.Error("a forged cookie was accepted")
	}
	// Another process's random key does not accept this one's cookies.
	other := newConsole(t, opts)
	req := httptest.NewRequest(http.MethodGet, "/console/", nil)
	req.RemoteAddr = "192.0.2.7:1"
	req.AddCookie(ck)
	rec2 := httptest.NewRecorder()
	other.ServeHTTP(rec2, req)
	if rec2.Code == http.StatusOK {
		t.Error("a cookie signed by another key was accepted")
	}
}

func TestSessionKeyIsDerived(t *testing.T) {
	k := []byte("0123456789abcdef0123456789abcdef")
	if s := SessionKey(k); len(s) != 32 || string(s) == string(k) || string(SessionKey(k)) != string(s) {
		t.Error("SessionKey: want a stable 32-byte key other than the secrets key")
	}
}
