package delivery

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// URLPolicy says which webhook URLs are accepted at all; where they may
// connect is the SSRF guard's business, at dial time.
type URLPolicy struct {
	RequireHTTPS   bool
	AllowedDomains []string // the host must be one of these or a subdomain; empty = any
	AllowedPorts   []int    // empty = any
	MaxURLLength   int      // 0 = no limit
}

// Check returns an error naming what is wrong with rawURL. The error shows
// the URL redacted, never its query values.
func (p URLPolicy) Check(rawURL string) error {
	if p.MaxURLLength > 0 && len(rawURL) > p.MaxURLLength {
		return fmt.Errorf("webhook URL is %d characters long, more than delivery.max_url_length %d", len(rawURL), p.MaxURLLength)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return fmt.Errorf("webhook URL does not parse")
	}
	red := RedactURL(rawURL)
	switch u.Scheme {
	case "https":
	case "http":
		if p.RequireHTTPS {
			return fmt.Errorf("webhook URL %s: http is not allowed (delivery.require_https)", red)
		}
	default:
		return fmt.Errorf("webhook URL %s: scheme must be http or https", red)
	}
	host := u.Hostname()
	if host == "" {
		return fmt.Errorf("webhook URL %s has no host", red)
	}
	if u.User != nil {
		return fmt.Errorf("webhook URL %s: user info in the URL is not supported; use a header", red)
	}
	if len(p.AllowedDomains) > 0 && !domainAllowed(host, p.AllowedDomains) {
		return fmt.Errorf("webhook URL %s: host %s is not in delivery.allowed_domains", red, host)
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("webhook URL %s: bad port %q", red, port)
	}
	if len(p.AllowedPorts) > 0 && !containsInt(p.AllowedPorts, n) {
		return fmt.Errorf("webhook URL %s: port %d is not in delivery.allowed_ports", red, n)
	}
	return nil
}

func domainAllowed(host string, domains []string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(host) != nil {
		return false
	}
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(d, "."), "."))
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

func containsInt(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// reservedHeaders are set by runhook on every request; a rule may not set them.
var reservedHeaders = map[string]bool{
	"content-type": true, "content-length": true, "host": true, "user-agent": true,
	"transfer-encoding": true, "connection": true,
}

// CheckHeaders refuses reserved or malformed custom headers. Errors name the
// header, never its value.
func CheckHeaders(h map[string]string) error {
	for name, value := range h {
		lower := strings.ToLower(name)
		if reservedHeaders[lower] || strings.HasPrefix(lower, "webhook-") {
			return fmt.Errorf("header %q is set by runhook and cannot be configured", name)
		}
		if name == "" || strings.ContainsAny(name, " \t\r\n:()<>@,;\\\"/[]?={}") {
			return fmt.Errorf("header name %q is not a valid HTTP header name", name)
		}
		if strings.ContainsAny(value, "\r\n\x00") {
			return fmt.Errorf("header %q: value contains a line break or NUL", name)
		}
	}
	return nil
}
