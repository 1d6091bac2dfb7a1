package app_test

import (
	"testing"

	"github.com/runhook/runhook/activities"
	"github.com/runhook/runhook/internal/app"
	"github.com/runhook/runhook/internal/config"
)

// With alerts.url unset the activities raise nothing and post nowhere.
func TestAlertsOffChangeNothing(t *testing.T) {
	cfg := config.Default()
	acts := &activities.Activities{}
	if err := app.Alerts(cfg, nil, acts); err != nil || acts.Alerts != nil || acts.AlertTarget != nil {
		t.Errorf("Alerts without a URL: %v, raiser %v, target %v", err, acts.Alerts, acts.AlertTarget)
	}
	cfg.Alerts = config.Alerts{URL: "https://ops.example/a", SigningSecret: "whsec_short"}
	if err := app.Alerts(cfg, nil, acts); err == nil {
		t.Error("a bad signing secret is accepted")
	}
}
