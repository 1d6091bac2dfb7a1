package config

import (
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/runhook/runhook/internal/signing"
)

// Alerts is where runhook tells an operator that something gave up: a rule
// paused itself, a delivery ran out of attempts, a run-completion webhook
// expired. No URL: no alerts.
type Alerts struct {
	// URL receives each alert as a JSON POST, through the same SSRF guard as
	// webhooks. Its query may hold a secret, so it is shown redacted.
	URL string `koanf:"url" secret:"url"`
	// SigningSecret (whsec_...) signs alerts the Standard Webhooks way;
	// empty: unsigned.
	SigningSecret string `koanf:"signing_secret" secret:"true"`
}

func (a Alerts) validate(bad func(key, format string, args ...any)) {
	if a.URL != "" {
		if u, err := url.Parse(a.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("alerts.url", "%s is not an http(s) URL", redactURL(a.URL))
		}
	}
	if a.SigningSecret != "" {
		if _, err := signing.ParseSecret(a.SigningSecret); err != nil {
			bad("alerts.signing_secret", "%v", err)
		}
		if a.URL == "" {
			bad("alerts.signing_secret", "is set but alerts.url is not")
		}
	}
}

// redactURL hides what in a URL may be a secret (user info, query values,
// fragment) as webhook URLs are shown: https://h/p?token=abc becomes
// https://h/p?token=***.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return Redacted
	}
	u.User = nil
	u.Fragment, u.RawFragment = "", ""
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		parts := make([]string, 0, len(q))
		for _, k := range slices.Sorted(maps.Keys(q)) {
			parts = append(parts, url.QueryEscape(k)+"="+Redacted)
		}
		if err != nil || len(parts) == 0 {
			parts = []string{Redacted}
		}
		u.RawQuery = strings.Join(parts, "&")
	}
	return u.String()
}
