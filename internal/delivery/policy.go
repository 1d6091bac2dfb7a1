package delivery

import (
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
)

// AddrChecker refuses addresses deliveries may not reach; a netguard.Policy is one.
type AddrChecker interface {
	Check(ip netip.Addr) error
}

// URLPolicy says which webhook URLs are accepted at all; where names may
// connect is the SSRF guard's business, at dial time.
type URLPolicy struct {
	RequireHTTPS bool
	// AllowedDomains: the host must be one of these or a subdomain of one;
	// "*.example.com" admits the subdomains only (LangGraph's wildcard).
	// Empty = any.
	AllowedDomains []string
	AllowedPorts   []int // empty = any
	MaxURLLength   int   // 0 = no limit
	// DisableLoopback refuses localhost, *.localhost and loopback IP literals
	// up front. Names that only resolve to loopback are still the SSRF
	// guard's to refuse at dial time (unless delivery.allow_private).
	DisableLoopback bool
	// Addresses, when set, refuses a host written as an IP literal that the
	// SSRF guard would refuse at dial time, so that the URL is refused where
	// it is given; give it the dialer's policy. Nil leaves them to the dialer.
	Addresses AddrChecker
}

// URLError is a URL the policy refuses. Error() is the full message with the
// URL redacted; Problem is the same without the URL, for callers that name
// the field themselves (an API's "webhook: ..."). Neither holds query values.
type URLError struct {
	msg     string
	Problem string
}

func (e *URLError) Error() string { return e.msg }

func refuse(red, problem string) *URLError {
	return &URLError{msg: "webhook URL " + red + ": " + problem, Problem: problem}
}

// Check returns an error naming what is wrong with rawURL, a *URLError. The
// error shows the URL redacted, never its query values.
func (p URLPolicy) Check(rawURL string) error {
	if p.MaxURLLength > 0 && len(rawURL) > p.MaxURLLength {
		problem := fmt.Sprintf("is %d characters long, more than delivery.max_url_length %d", len(rawURL), p.MaxURLLength)
		return &URLError{msg: "webhook URL " + problem, Problem: "URL " + problem}
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return &URLError{msg: "webhook URL does not parse", Problem: "URL does not parse"}
	}
	red := RedactURL(rawURL)
	switch u.Scheme {
	case "https":
	case "http":
		if p.RequireHTTPS {
			return refuse(red, "http is not allowed (delivery.require_https)")
		}
	default:
		return refuse(red, "scheme must be http or https")
	}
	host := u.Hostname()
	if host == "" {
		return &URLError{msg: "webhook URL " + red + " has no host", Problem: "URL has no host"}
	}
	if u.User != nil {
		return refuse(red, "user info in the URL is not supported; use a header")
	}
	if p.DisableLoopback && loopback(host) {
		return refuse(red, fmt.Sprintf("host %s is a loopback address (delivery.disable_loopback)", host))
	}
	if p.Addresses != nil {
		if addr, err := netip.ParseAddr(host); err == nil {
			if err := p.Addresses.Check(addr); err != nil {
				return refuse(red, err.Error())
			}
		}
	}
	if len(p.AllowedDomains) > 0 && !domainAllowed(host, p.AllowedDomains) {
		return refuse(red, fmt.Sprintf("host %s is not in delivery.allowed_domains", host))
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return refuse(red, fmt.Sprintf("bad port %q", port))
	}
	if len(p.AllowedPorts) > 0 && !containsInt(p.AllowedPorts, n) {
		return refuse(red, fmt.Sprintf("port %d is not in delivery.allowed_ports", n))
	}
	return nil
}

// loopback is a host written as localhost, a name under .localhost (RFC
// 6761 reserves them for loopback) or a loopback IP literal, IPv4-mapped
// forms included.
func loopback(host string) bool {
	h := strings.ToLower(strings.TrimSuffix(host, "."))
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	addr, err := netip.ParseAddr(h)
	return err == nil && addr.Unmap().IsLoopback()
}

func domainAllowed(host string, domains []string) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if net.ParseIP(host) != nil {
		return false
	}
	for _, d := range domains {
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if sub, ok := strings.CutPrefix(d, "*."); ok {
			if strings.HasSuffix(host, "."+sub) {
				return true
			}
			continue
		}
		d = strings.TrimPrefix(d, ".")
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
