// Package netguard keeps webhook deliveries away from addresses they must not
// reach (loopback, private networks, cloud metadata, ...). The check runs on
// the resolved IP at dial time, so a name that resolves differently later (DNS
// rebinding) is caught too.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"time"
)

// blocked lists the ranges refused unless allowed: where a webhook URL could
// reach the host itself, its network, or its cloud's metadata service.
var blocked = []struct {
	prefix netip.Prefix
	why    string
}{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified / this network"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (cloud metadata)"},
	{netip.MustParsePrefix("172.16.0.0/12"), "private"},
	{netip.MustParsePrefix("192.0.0.0/24"), "IETF protocol assignments"},
	{netip.MustParsePrefix("192.168.0.0/16"), "private"},
	{netip.MustParsePrefix("198.18.0.0/15"), "benchmarking"},
	{netip.MustParsePrefix("224.0.0.0/4"), "multicast"},
	{netip.MustParsePrefix("240.0.0.0/4"), "reserved"},
	{netip.MustParsePrefix("::/128"), "unspecified"},
	{netip.MustParsePrefix("::1/128"), "loopback"},
	{netip.MustParsePrefix("64:ff9b::/96"), "NAT64 (embeds an IPv4 address)"},
	{netip.MustParsePrefix("fc00::/7"), "unique local (private)"},
	{netip.MustParsePrefix("fd00:ec2::254/128"), "cloud metadata"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// RefusedError says why a destination was refused. Deliveries treat it as final.
type RefusedError struct {
	Addr   netip.Addr
	Reason string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("destination %s refused: %s address (set delivery.allow_private or delivery.allow_cidrs to allow it)", e.Addr, e.Reason)
}

// Policy decides which resolved addresses deliveries may connect to.
type Policy struct {
	// AllowPrivate turns the check off (local development and tests).
	AllowPrivate bool
	// AllowCIDRs opens these ranges even though they are blocked.
	AllowCIDRs []netip.Prefix
}

// Check returns a *RefusedError when ip may not be reached.
func (p Policy) Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return &RefusedError{Addr: ip, Reason: "invalid"}
	}
	if p.AllowPrivate {
		return nil
	}
	// An IPv4-mapped IPv6 address (::ffff:10.0.0.1) reaches the IPv4 host.
	ip = ip.Unmap()
	for _, allowed := range p.AllowCIDRs {
		if allowed.Contains(ip) {
			return nil
		}
	}
	for _, b := range blocked {
		if b.prefix.Contains(ip) {
			return &RefusedError{Addr: ip, Reason: b.why}
		}
	}
	return nil
}

// Control is a net.Dialer ControlContext: it runs on the address the socket is
// about to connect to, after name resolution.
func (p Policy) Control(_ context.Context, network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("netguard: %s address %q: %w", network, address, err)
	}
	return p.Check(ap.Addr())
}

// Resolver looks up a host's addresses; net.DefaultResolver is one. Tests
// inject their own so that no real lookup or dial is needed.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
}

// Dialer connects only to allowed addresses.
type Dialer struct {
	Policy   Policy
	Resolver Resolver // nil: net.DefaultResolver
	Timeout  time.Duration
}

// DialContext resolves the host, refuses it if every address is blocked, and
// connects to the allowed addresses in turn. The socket's Control checks the
// address again right before connecting.
func (d *Dialer) DialContext(ctx context.Context, network, address string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(address)
	if err != nil {
		return nil, err
	}
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else {
		r := d.Resolver
		if r == nil {
			r = net.DefaultResolver
		}
		ips, err = r.LookupNetIP(ctx, "ip", host)
		if err != nil {
			return nil, err
		}
	}
	dialer := &net.Dialer{Timeout: d.Timeout, ControlContext: d.Policy.Control}
	var firstErr error
	for _, ip := range ips {
		if err := d.Policy.Check(ip); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			continue
		}
		conn, err := dialer.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
		if err == nil {
			return conn, nil
		}
		firstErr = err
	}
	if firstErr == nil {
		firstErr = fmt.Errorf("netguard: %s has no addresses", host)
	}
	return nil, firstErr
}

// IsRefused reports whether err is (or wraps) a refusal by this package.
func IsRefused(err error) bool {
	var r *RefusedError
	return errors.As(err, &r)
}
