package app_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"log/slog"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/config"
)

func TestURLPolicyMapsDisableLoopback(t *testing.T) {
	cfg := config.Default().Delivery
	cfg.DisableLoopback = true
	if err := app.URLPolicy(cfg).Check("http://localhost:8080/x"); err == nil || !strings.Contains(err.Error(), "delivery.disable_loopback") {
		t.Errorf("err = %v", err)
	}
}

// The URL policy checks a literal host under the same allowances the dialer
// applies: allow_private never opens metadata, allow_cidrs does.
func TestURLPolicyChecksLiteralAddressesLikeTheGuard(t *testing.T) {
	cfg := config.Default().Delivery
	cfg.AllowPrivate = true
	const meta = "http://169.254.169.254/latest/meta-data?token=tok-secret"
	if err := app.URLPolicy(cfg).Check(meta); err == nil || strings.Contains(err.Error(), "tok-secret") {
		t.Errorf("allow_private: metadata URL err = %v, want a refusal without the query", err)
	}
	if err := app.URLPolicy(cfg).Check("http://10.1.2.3/x"); err != nil {
		t.Errorf("allow_private: private URL err = %v", err)
	}
	cfg = config.Default().Delivery
	cfg.AllowCIDRs = []string{"127.0.0.0/8", "::1/128"}
	if err := app.URLPolicy(cfg).Check("http://127.0.0.1:9999/hook"); err != nil {
		t.Errorf("allow_cidrs loopback: err = %v", err)
	}
	if err := app.URLPolicy(cfg).Check("http://10.1.2.3/x"); err == nil {
		t.Error("allow_cidrs loopback: a private URL passed")
	}
	cfg.AllowCIDRs = append(cfg.AllowCIDRs, "169.254.169.254/32")
	if err := app.URLPolicy(cfg).Check(meta); err != nil {
		t.Errorf("allow_cidrs with the metadata address: err = %v", err)
	}
	guard, err := app.Guard(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := guard.Check(netip.MustParseAddr("169.254.169.254")); err != nil {
		t.Errorf("Guard: %v", err)
	}
}

func TestPresignerAndOffloadFromConfig(t *testing.T) {
	cfg := config.Default()
	if s, err := app.Presigner(cfg); s != nil || err != nil {
		t.Errorf("without secrets.key: %v, %v; want no signer", s, err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	acts, err := app.Activities(cfg, nil, logger)
	if err != nil || acts.Offload.Signer != nil {
		t.Errorf("without secrets.key: offload %+v (%v); want inline", acts.Offload, err)
	}

	cfg.Secrets.Key = base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{9}, 32))
	cfg.API.PublicURL = "https://runhook.example.com/"
	cfg.Payload.InlineMaxBytes, cfg.Payload.PresignTTL = 1000, 2*time.Hour
	cfg.HTTP.DisableWebhooks = true
	s, err := app.Presigner(cfg)
	if err != nil {
		t.Fatal(err)
	}
	s.Now = func() time.Time { return time.Unix(1_800_000_000, 0) }
	if u := s.URL(uuid.Nil, "inputs"); !strings.HasPrefix(u, "https://runhook.example.com/presigned/runs/00000000-0000-0000-0000-000000000000/inputs?expires=1800007200&") {
		t.Errorf("URL %s", u)
	}
	acts, err = app.Activities(cfg, nil, logger)
	if err != nil || acts.Offload.Signer == nil || acts.Offload.MaxBytes != 1000 || !acts.RunWebhooksDisabled {
		t.Errorf("activities offload %+v, run webhooks disabled %v (%v)", acts.Offload, acts.RunWebhooksDisabled, err)
	}

	cfg.API.PublicURL = "not a url"
	if _, err := app.Presigner(cfg); err == nil || !strings.Contains(err.Error(), "api.public_url") {
		t.Errorf("bad api.public_url: %v", err)
	}
}

func TestRetentionFromConfig(t *testing.T) {
	cfg := config.Default()
	day := 24 * time.Hour
	cfg.Retention = config.Retention{Runs: 90 * day, Feedback: 60 * day, Arrivals: 7 * day, Events: 30 * day, Attempts: 14 * day}
	acts, err := app.Activities(cfg, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	p := acts.Retention
	if p.Runs != 90*day || p.Feedback != 60*day || p.Arrivals != 7*day || p.Events != 30*day || p.Attempts != 14*day {
		t.Errorf("activities' retention %+v, want config's %+v", p, cfg.Retention)
	}
}

// A static header the sender sets itself stops the worker at start-up,
// named, its value not shown.
func TestActivitiesRefuseReservedStaticHeaders(t *testing.T) {
	cfg := config.Default()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg.Webhooks.Headers = map[string]string{"Webhook-Signature": "v1,forged-9c8b"}
	_, err := app.Activities(cfg, nil, logger)
	if err == nil || !strings.Contains(err.Error(), "webhooks.headers") || !strings.Contains(err.Error(), "Webhook-Signature") || strings.Contains(err.Error(), "forged-9c8b") {
		t.Errorf("err = %v", err)
	}
	cfg.Webhooks.Headers = map[string]string{"Authorization": "Bearer t"}
	if _, err := app.Activities(cfg, nil, logger); err != nil {
		t.Errorf("Authorization refused: %v", err)
	}
}

// webhooks.url's wildcard reaches the policy every binary checks URLs with.
func TestURLPolicyWildcardDomain(t *testing.T) {
	cfg := config.Default().Delivery
	cfg.AllowedDomains = []string{"*.example.com"}
	if err := app.URLPolicy(cfg).Check("https://hooks.example.com/x"); err != nil {
		t.Errorf("subdomain refused: %v", err)
	}
	if err := app.URLPolicy(cfg).Check("https://example.com/x"); err == nil {
		t.Error("the bare domain passed *.example.com")
	}
}
