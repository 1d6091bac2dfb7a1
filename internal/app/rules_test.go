package app_test

import (
	"testing"

	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/config"
)

// Without a Temporal client the service has no schedules, and without
// secrets.key no box or fingerprint key: the operations then say so.
func TestRuleServiceFromConfig(t *testing.T) {
	var cfg config.Config
	s, err := app.RuleService(cfg, nil, nil)
	if err != nil || s.Schedules.Client != nil || s.Secrets != nil || s.FingerprintKey != nil || s.Sender == nil {
		t.Fatalf("without Temporal and secrets.key: %+v, %v", s, err)
	}
	cfg.Secrets.Key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	cfg.Rules.SettleLag = 7
	if s, err = app.RuleService(cfg, nil, nil); err != nil || s.Secrets == nil || len(s.FingerprintKey) != 32 || s.SettleLag != 7 {
		t.Fatalf("with secrets.key: %+v, %v", s, err)
	}
}
