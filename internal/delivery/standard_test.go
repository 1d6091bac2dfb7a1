package delivery_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/netguard"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Duration
	}{
		{"", 0},
		{"120", 2 * time.Minute},
		{" 7 ", 7 * time.Second},
		{"0", 0},
		{"-5", 0},
		{"soon", 0},
		{"1.5", 0},
		{"999999999999", delivery.MaxRetryAfter},
		{"Sat, 05 Dec 2026 12:00:30 GMT", 30 * time.Second},
		{"Sat, 05 Dec 2026 11:00:00 GMT", 0},
		{"Sat, 12 Dec 2026 12:00:00 GMT", delivery.MaxRetryAfter},
	} {
		if got := delivery.ParseRetryAfter(tc.in, now); got != tc.want {
			t.Errorf("ParseRetryAfter(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestStandardRetryable(t *testing.T) {
	for _, tc := range []struct {
		res  delivery.Result
		want bool
	}{
		{delivery.Result{Class: delivery.ConnectError}, true},
		{delivery.Result{Class: delivery.ServerError, StatusCode: 503}, true},
		{delivery.Result{Class: delivery.Timeout}, true},
		{delivery.Result{Class: delivery.ClientError, StatusCode: 429}, true},
		{delivery.Result{Class: delivery.ClientError, StatusCode: 400}, false},
		{delivery.Result{Class: delivery.ClientError, StatusCode: 410}, false},
		{delivery.Result{Class: delivery.Redirect, StatusCode: 302}, false},
		{delivery.Result{Class: delivery.Refused}, false},
		{delivery.Result{Class: delivery.Invalid}, false},
	} {
		if got := delivery.StandardRetryable(tc.res); got != tc.want {
			t.Errorf("StandardRetryable(%+v) = %v, want %v", tc.res, got, tc.want)
		}
	}
}

// The sender surfaces Retry-After on 429 and 503 only.
func TestSendRetryAfter(t *testing.T) {
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(status)
	}))
	defer srv.Close()
	sender := delivery.NewSender(delivery.SenderOptions{Timeout: 2 * time.Second,
		Guard: netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}})
	for _, tc := range []struct {
		status int
		want   time.Duration
	}{{503, 3 * time.Second}, {429, 3 * time.Second}, {500, 0}, {410, 0}} {
		status = tc.status
		res := sender.Send(context.Background(), delivery.Request{URL: srv.URL, Body: []byte("{}"), MessageID: "m"})
		if res.StatusCode != tc.status || res.RetryAfter != tc.want {
			t.Errorf("%d: got status %d, retry after %s; want %s", tc.status, res.StatusCode, res.RetryAfter, tc.want)
		}
	}
}
