package delivery_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"

	"github.com/runhook/runhook/internal/delivery"
	"github.com/runhook/runhook/internal/netguard"
)

// A host written as an address the SSRF guard refuses is refused with the
// URL, under the dialer's policy; names are left to the dialer.
func TestURLPolicyAddresses(t *testing.T) {
	private := delivery.URLPolicy{Addresses: netguard.Policy{AllowPrivate: true}}
	strict := delivery.URLPolicy{Addresses: netguard.Policy{}}
	explicit := delivery.URLPolicy{Addresses: netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("169.254.169.254/32")}}}
	for _, tc := range []struct {
		name    string
		p       delivery.URLPolicy
		url     string
		refused bool
	}{
		{"metadata under allow_private", private, "http://169.254.169.254/latest/meta-data?token=tok-secret", true},
		{"aws v6 metadata under allow_private", private, "http://[fd00:ec2::254]/latest?token=tok-secret", true},
		{"alibaba under allow_private", private, "http://100.100.100.200/latest?token=tok-secret", true},
		{"mapped metadata under allow_private", private, "http://[::ffff:169.254.169.254]/x?token=tok-secret", true},
		{"link-local v6 with zone", private, "http://[fe80::1%25eth0]/x?token=tok-secret", true},
		{"loopback under allow_private", private, "http://127.0.0.1:8080/x?token=tok-secret", false},
		{"private without allowance", strict, "https://10.0.0.1/x?token=tok-secret", true},
		{"loopback without allowance", strict, "http://[::1]/x?token=tok-secret", true},
		{"public address", strict, "https://93.184.216.34/x?token=tok-secret", false},
		{"name: the dialer's business", strict, "https://metadata.google.internal/x?token=tok-secret", false},
		{"metadata opened explicitly", explicit, "http://169.254.169.254/latest?token=tok-secret", false},
		{"no checker", delivery.URLPolicy{}, "http://169.254.169.254/latest?token=tok-secret", false},
	} {
		err := tc.p.Check(tc.url)
		if tc.refused != (err != nil) {
			t.Errorf("%s: err = %v, want refused=%v", tc.name, err, tc.refused)
			continue
		}
		if err == nil {
			continue
		}
		var ue *delivery.URLError
		if !errors.As(err, &ue) {
			t.Fatalf("%s: error %T is not a *URLError", tc.name, err)
		}
		if strings.Contains(err.Error(), "tok-secret") || strings.Contains(ue.Problem, "tok-secret") {
			t.Errorf("%s: error shows the query: %v", tc.name, err)
		}
		if !strings.Contains(ue.Problem, "refused") {
			t.Errorf("%s: problem %q does not say why", tc.name, ue.Problem)
		}
	}
}

func TestURLPolicyDisableLoopback(t *testing.T) {
	p := delivery.URLPolicy{DisableLoopback: true}
	for _, tc := range []struct {
		url     string
		refused bool
	}{
		{"http://localhost:8080/hook?token=tok-abcd", true},
		{"http://LOCALHOST./hook", true},
		{"http://api.localhost/hook", true},
		{"http://127.0.0.1:9/x", true},
		{"http://127.200.3.4/x", true},
		{"http://[::1]:8080/x", true},
		{"http://[::ffff:127.0.0.1]/x", true},
		{"https://hooks.example.com/in?token=tok-abcd", false},
		{"https://localhost.example.com/in", false},
		{"http://10.0.0.1/x", false}, // private, not loopback: the SSRF guard's business
		{"http://[::2]/x", false},
	} {
		err := p.Check(tc.url)
		if tc.refused != (err != nil) {
			t.Errorf("%s: err = %v, want refused=%v", tc.url, err, tc.refused)
			continue
		}
		if err == nil {
			continue
		}
		var ue *delivery.URLError
		if !errors.As(err, &ue) {
			t.Fatalf("%s: error %T is not a *URLError", tc.url, err)
		}
		if !strings.Contains(ue.Problem, "is a loopback address (delivery.disable_loopback)") {
			t.Errorf("%s: problem %q", tc.url, ue.Problem)
		}
		if strings.Contains(err.Error(), "tok-abcd") || strings.Contains(ue.Problem, "tok-abcd") {
			t.Errorf("%s: error shows the token: %v", tc.url, err)
		}
	}
	if err := (delivery.URLPolicy{}).Check("http://localhost:8080/x"); err != nil {
		t.Errorf("loopback refused without disable_loopback: %v", err)
	}
}

// Problem is the message without the URL, for "webhook: <problem>".
func TestURLErrorProblem(t *testing.T) {
	strict := delivery.URLPolicy{RequireHTTPS: true, AllowedDomains: []string{"example.com"}, AllowedPorts: []int{443}, MaxURLLength: 60}
	for url, want := range map[string]string{
		"http://hooks.example.com/in?secret=abcd":              "http is not allowed (delivery.require_https)",
		"https://evil.test/in":                                 "host evil.test is not in delivery.allowed_domains",
		"https://hooks.example.com:8443/in":                    "port 8443 is not in delivery.allowed_ports",
		"https://hooks.example.com/" + strings.Repeat("a", 60): "URL is 86 characters long, more than delivery.max_url_length 60",
		"ftp://hooks.example.com/in":                           "scheme must be http or https",
		"https:///nohost":                                      "URL has no host",
		"https://example.com/in%zz":                            "URL does not parse",
	} {
		err := strict.Check(url)
		var ue *delivery.URLError
		if !errors.As(err, &ue) {
			t.Errorf("%s: err = %v (%T)", url, err, err)
			continue
		}
		if ue.Problem != want {
			t.Errorf("%s: problem %q, want %q", url, ue.Problem, want)
		}
	}
}

// LangGraph's "*.example.com" admits subdomains only; a plain name, as
// delivery.allowed_domains always has, the domain and its subdomains.
func TestURLPolicyWildcardDomains(t *testing.T) {
	p := delivery.URLPolicy{AllowedDomains: []string{"*.example.com", "trusted.test"}}
	for url, ok := range map[string]bool{
		"https://hooks.example.com/x":  true,
		"https://a.b.example.com/x":    true,
		"https://example.com/x":        false,
		"https://badexample.com/x":     false,
		"https://example.com.evil/x":   false,
		"https://trusted.test/x":       true,
		"https://api.trusted.test/x":   true,
		"https://HOOKS.Example.COM./x": true,
		"https://notrusted.test/x":     false,
		"https://93.184.216.34/x":      false,
	} {
		if err := p.Check(url); (err == nil) != ok {
			t.Errorf("%s: %v, want accepted %v", url, err, ok)
		}
	}
}
