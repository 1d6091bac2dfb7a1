package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/runhook/runhook/internal/config"
)

const headersFile = `webhooks:
  headers:
    Authorization: "Bearer ${{ env.LG_WEBHOOK_TOKEN }}"
    X-Pair: "${{env.LG_WEBHOOK_A}}:${{ env.LG_WEBHOOK_B }}"
    X-Environment: production
`

func TestWebhookHeaders(t *testing.T) {
	c, err := config.Load(config.Options{File: writeFile(t, headersFile),
		Environ: []string{"LG_WEBHOOK_TOKEN=tok-9f8e7d", "LG_WEBHOOK_A=left", "LG_WEBHOOK_B=right"}})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"Authorization": "Bearer tok-9f8e7d", "X-Pair": "left:right", "X-Environment": "production"}
	if len(c.Webhooks.Headers) != len(want) {
		t.Fatalf("headers %v", c.Webhooks.Headers)
	}
	for k, v := range want {
		if c.Webhooks.Headers[k] != v {
			t.Errorf("header %s = %q, want %q", k, c.Webhooks.Headers[k], v)
		}
	}

	// The values are secrets: `starter config` shows the names only.
	y, err := c.Redact().YAML()
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{"tok-9f8e7d", "left", "right", "production"} {
		if strings.Contains(string(y), secret) {
			t.Errorf("redacted config shows %q:\n%s", secret, y)
		}
	}
	if !strings.Contains(string(y), "Authorization: '***'") || !strings.Contains(string(y), "env_prefix: LG_WEBHOOK_") {
		t.Errorf("redacted config:\n%s", y)
	}
	if c.Webhooks.Headers["Authorization"] != "Bearer tok-9f8e7d" {
		t.Error("Redact changed the config it was called on")
	}
}

func TestWebhookHeaderErrors(t *testing.T) {
	for _, tc := range []struct {
		name, file string
		env        []string
		want       []string
	}{
		{"missing variable", headersFile, []string{"LG_WEBHOOK_A=left", "LG_WEBHOOK_B=right"},
			[]string{"webhooks.headers.Authorization", "LG_WEBHOOK_TOKEN is not set"}},
		{"outside the prefix", "webhooks:\n  headers:\n    X-Home: ${{ env.HOME }}\n", []string{"HOME=/root"},
			[]string{"webhooks.headers.X-Home", "env.HOME", `outside webhooks.env_prefix "LG_WEBHOOK_"`}},
		{"outside a custom prefix", "webhooks:\n  env_prefix: MY_APP_\n  headers:\n    X-T: ${{ env.LG_WEBHOOK_T }}\n", []string{"LG_WEBHOOK_T=v"},
			[]string{"env.LG_WEBHOOK_T", `"MY_APP_"`}},
		{"not a template", "webhooks:\n  headers:\n    X-T: ${{ env.LG_WEBHOOK_T\n", []string{"LG_WEBHOOK_T=v"},
			[]string{"webhooks.headers.X-T", "not a ${{ env.VAR }} template"}},
		{"dotted name", "webhooks:\n  headers:\n    X.Dot: v\n", nil, []string{"webhooks.headers", `"X.Dot"`}},
		{"no prefix", "webhooks:\n  env_prefix: ''\n  headers:\n    X-T: v\n", nil, []string{"webhooks.env_prefix", "must not be empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(config.Options{File: writeFile(t, tc.file), Environ: append([]string{}, tc.env...)})
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			for _, secret := range []string{"left", "right", "/root", "=v"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q shows a value", err)
				}
			}
		})
	}

	// A variable's value may hold "${{": it is not read as a template.
	c, err := config.Load(config.Options{File: writeFile(t, "webhooks:\n  headers:\n    X-T: ${{ env.LG_WEBHOOK_T }}\n"),
		Environ: []string{"LG_WEBHOOK_T=${{ env.HOME }}"}})
	if err != nil || c.Webhooks.Headers["X-T"] != "${{ env.HOME }}" {
		t.Errorf("headers %v, %v", c.Webhooks.Headers, err)
	}
}

func TestWebhookURLAliases(t *testing.T) {
	file := `webhooks:
  url:
    allowed_domains: ["*.example.com", api.trusted.test]
    require_https: true
    allowed_ports: [443, 8443]
    disable_loopback: true
    max_url_length: 4096
`
	c, err := config.Load(config.Options{File: writeFile(t, file), Environ: []string{}})
	if err != nil {
		t.Fatal(err)
	}
	d := c.Delivery
	if !slices.Equal(d.AllowedDomains, []string{"*.example.com", "api.trusted.test"}) || !d.RequireHTTPS ||
		!slices.Equal(d.AllowedPorts, []int{443, 8443}) || !d.DisableLoopback || d.MaxURLLength != 4096 {
		t.Errorf("delivery %+v: want every webhooks.url key carried over", d)
	}

	// From the environment too, and beside the same value under delivery.*.
	c, err = config.Load(config.Options{Environ: []string{"RUNHOOK_WEBHOOKS_URL_REQUIRE_HTTPS=true",
		"RUNHOOK_WEBHOOKS_URL_ALLOWED_PORTS=443", "RUNHOOK_DELIVERY_ALLOWED_PORTS=443"}})
	if err != nil || !c.Delivery.RequireHTTPS || !slices.Equal(c.Delivery.AllowedPorts, []int{443}) {
		t.Errorf("delivery %+v, %v", c.Delivery, err)
	}

	for _, tc := range []struct {
		name, file string
		env        []string
		want       string
	}{
		{"two lists", "webhooks:\n  url:\n    allowed_domains: [a.test]\n", []string{"RUNHOOK_DELIVERY_ALLOWED_DOMAINS=b.test"}, "webhooks.url.allowed_domains: delivery.allowed_domains is set to another value"},
		{"two limits", "delivery:\n  max_url_length: 100\nwebhooks:\n  url:\n    max_url_length: 200\n", nil, "webhooks.url.max_url_length"},
		{"bad wildcard", "webhooks:\n  url:\n    allowed_domains: ['a*.example.com']\n", nil, `delivery.allowed_domains: "a*.example.com" is not a domain`},
		{"unknown url key", "webhooks:\n  url:\n    allowed_schemes: [https]\n", nil, `unknown key "webhooks.url.allowed_schemes"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Load(config.Options{File: writeFile(t, tc.file), Environ: append([]string{}, tc.env...)})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want %q", err, tc.want)
			}
		})
	}
}
