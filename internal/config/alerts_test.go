package config_test

import (
	"strings"
	"testing"

	"github.com/runhook/runhook/internal/config"
)

const alertSecret = "whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

func TestAlertsFromEnv(t *testing.T) {
	c, err := config.Load(config.Options{Environ: []string{
		"RUNHOOK_ALERTS_URL=https://ops.example/hook?token=s3cret",
		"RUNHOOK_ALERTS_SIGNING_SECRET=" + alertSecret,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if c.Alerts.URL != "https://ops.example/hook?token=s3cret" || c.Alerts.SigningSecret != alertSecret {
		t.Errorf("alerts = %+v", c.Alerts)
	}
	out, err := c.Redact().YAML()
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if strings.Contains(s, "s3cret") || strings.Contains(s, alertSecret) {
		t.Errorf("redacted config shows an alert secret:\n%s", s)
	}
	if !strings.Contains(s, "https://ops.example/hook?token=***") {
		t.Errorf("redacted config hides the alert URL's host and path:\n%s", s)
	}
}

func TestAlertsOffByDefault(t *testing.T) {
	if a := config.Default().Alerts; a != (config.Alerts{}) {
		t.Errorf("default alerts = %+v, want none", a)
	}
}

func TestAlertsValidate(t *testing.T) {
	for _, tc := range []struct {
		name   string
		alerts config.Alerts
		want   string // "" valid
	}{
		{"unset", config.Alerts{}, ""},
		{"url", config.Alerts{URL: "http://127.0.0.1:9/alerts"}, ""},
		{"signed", config.Alerts{URL: "https://ops.example/a", SigningSecret: alertSecret}, ""},
		{"not http", config.Alerts{URL: "ftp://ops.example/a?k=hidden"}, "alerts.url"},
		{"bad secret", config.Alerts{URL: "https://ops.example/a", SigningSecret: "whsec_short"}, "alerts.signing_secret"},
		{"secret without url", config.Alerts{SigningSecret: alertSecret}, "alerts.signing_secret"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := config.Default()
			c.Alerts = tc.alerts
			err := c.Validate()
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("Validate = %v, want an error naming %s", err, tc.want)
			case err != nil && strings.Contains(err.Error(), "hidden"):
				t.Errorf("error shows the URL's query: %v", err)
			}
		})
	}
}
