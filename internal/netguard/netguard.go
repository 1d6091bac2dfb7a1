// Package netguard keeps webhook deliveries away from addresses they must not
// reach (loopback, private networks, cloud metadata, ...). The check runs on
// the resolved IP at dial time, so a name that resolves differently later (DNS
// rebinding) is caught too; where a URL is given, a literal address is checked
// under the same Policy.
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

// span is a refused range and why it is refused.
type span struct {
	prefix netip.Prefix
	why    string
}

// blocked lists the ranges refused unless allowed (allow_private or
// allow_cidrs): where a webhook URL could reach the host itself or its
// network. Cloud metadata is in metadata, below.
var blocked = []span{
	{netip.MustParsePrefix("0.0.0.0/8"), "unspecified / this network"},
	{netip.MustParsePrefix("10.0.0.0/8"), "private"},
	{netip.MustParsePrefix("100.64.0.0/10"), "carrier-grade NAT"},
	{netip.MustParsePrefix("127.0.0.0/8"), "loopback"},
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
	{netip.MustParsePrefix("ff00::/8"), "multicast"},
}

// metadata lists where clouds serve instance metadata and credentials, and
// the link-local ranges they live in. A webhook there can read the host's
// cloud credentials, so delivery.allow_private never opens them: only an
// allow_cidrs entry inside one of these ranges does.
var metadata = []span{
	// AWS, GCP, Azure, OpenStack, Oracle (169.254.169.254), ECS task
	// metadata (169.254.170.2), AWS time sync (169.254.169.123), ...
	{netip.MustParsePrefix("169.254.0.0/16"), "link-local (cloud metadata)"},
	{netip.MustParsePrefix("100.100.100.200/32"), "cloud metadata (Alibaba Cloud)"},
	{netip.MustParsePrefix("168.63.129.16/32"), "cloud metadata (Azure WireServer)"},
	{netip.MustParsePrefix("192.0.0.192/32"), "cloud metadata (Oracle Cloud)"},
	// AWS instance services over IPv6: metadata fd00:ec2::254, DNS, NTP.
	{netip.MustParsePrefix("fd00:ec2::/32"), "cloud metadata (AWS IPv6)"},
	{netip.MustParsePrefix("fe80::/10"), "link-local"},
}

// nat64 is the well-known NAT64 prefix (RFC 6052): its last 32 bits are the
// IPv4 address a NAT64 gateway connects to.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// RefusedError says why a destination was refused. Deliveries treat it as final.
type RefusedError struct {
	Addr   netip.Addr
	Reason string
	// Metadata is set for cloud-metadata and link-local addresses, which
	// delivery.allow_private does not open.
	Metadata bool
}

func (e *RefusedError) Error() string {
	if e.Metadata {
		return fmt.Sprintf("destination %s refused: %s address (only delivery.allow_cidrs can allow it, with an entry inside the range; delivery.allow_private never does)", e.Addr, e.Reason)
	}
	return fmt.Sprintf("destination %s refused: %s address (set delivery.allow_private or delivery.allow_cidrs to allow it)", e.Addr, e.Reason)
}

// Policy decides which resolved addresses deliveries may connect to.
type Policy struct {
	// AllowPrivate opens the private, loopback and other blocked ranges,
	// but never cloud metadata or link-local addresses.
	AllowPrivate bool
	// AllowCIDRs opens these ranges even though they are blocked. An entry
	// opens a metadata address only when it lies inside that metadata range
	// (169.254.169.254/32 or 169.254.0.0/16 do; 0.0.0.0/0 does not), so that
	// a broad allowance never reaches the cloud's credentials by accident.
	AllowCIDRs []netip.Prefix
}

// Check returns a *RefusedError when ip may not be reached.
func (p Policy) Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return &RefusedError{Addr: ip, Reason: "invalid"}
	}
	// An IPv4-mapped IPv6 address (::ffff:10.0.0.1) reaches the IPv4 host.
	ip = ip.WithZone("").Unmap()
	if meta, ok := metadataRange(ip); ok {
		for _, allowed := range p.AllowCIDRs {
			if allowed.Contains(ip) && allowed.Bits() >= meta.prefix.Bits() && meta.prefix.Contains(allowed.Addr()) {
				return nil
			}
		}
		return &RefusedError{Addr: ip, Reason: meta.why, Metadata: true}
	}
	if p.AllowPrivate {
		return nil
	}
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

// metadataRange finds the metadata range ip is in, looking through NAT64 to
// the IPv4 address it reaches.
func metadataRange(ip netip.Addr) (span, bool) {
	v4 := ip
	if nat64.Contains(ip) {
		b := ip.As16()
		v4 = netip.AddrFrom4([4]byte(b[12:16]))
	}
	for _, m := range metadata {
		if m.prefix.Contains(ip) || m.prefix.Contains(v4) {
			return m, true
		}
	}
	return span{}, false
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
