package netguard_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"

	"github.com/runhook/runhook/internal/netguard"
)

func TestCheck(t *testing.T) {
	p := netguard.Policy{}
	for _, tc := range []struct {
		ip      string
		refused bool
	}{
		{"127.0.0.1", true}, {"127.255.0.9", true}, {"::1", true},
		{"10.1.2.3", true}, {"172.16.0.1", true}, {"172.31.255.255", true}, {"192.168.1.1", true},
		{"169.254.169.254", true}, {"fd00:ec2::254", true}, {"fe80::1", true},
		{"100.64.0.1", true}, {"0.0.0.0", true}, {"::", true},
		{"224.0.0.1", true}, {"ff02::1", true}, {"255.255.255.255", true},
		{"::ffff:10.0.0.1", true}, {"::ffff:127.0.0.1", true}, {"fc00::1", true},
		{"64:ff9b::a00:1", true}, {"168.63.129.16", true}, {"100.100.100.200", true},
		{"93.184.216.34", false}, {"172.32.0.1", false}, {"100.128.0.1", false},
		{"2606:4700::6810:84e5", false}, {"::ffff:93.184.216.34", false},
	} {
		err := p.Check(netip.MustParseAddr(tc.ip))
		if (err != nil) != tc.refused {
			t.Errorf("Check(%s) = %v, refused want %v", tc.ip, err, tc.refused)
		}
		if err != nil && !netguard.IsRefused(err) {
			t.Errorf("Check(%s) error is not a RefusedError", tc.ip)
		}
	}
}

func TestAllowances(t *testing.T) {
	ip := netip.MustParseAddr("10.0.0.7")
	if err := (netguard.Policy{AllowPrivate: true}).Check(ip); err != nil {
		t.Errorf("allow_private: %v", err)
	}
	p := netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/24")}}
	if err := p.Check(ip); err != nil {
		t.Errorf("allow_cidrs: %v", err)
	}
	if err := p.Check(netip.MustParseAddr("10.0.1.7")); err == nil {
		t.Error("address outside allow_cidrs allowed")
	}
}

// Metadata and link-local addresses stay refused under allow_private and
// under broad allow_cidrs entries; only an entry inside their range opens them.
func TestMetadataOpensOnlyThroughExplicitCIDR(t *testing.T) {
	cidrs := func(ps ...string) []netip.Prefix {
		var out []netip.Prefix
		for _, p := range ps {
			out = append(out, netip.MustParsePrefix(p))
		}
		return out
	}
	private := netguard.Policy{AllowPrivate: true}
	broad := netguard.Policy{AllowPrivate: true, AllowCIDRs: cidrs("0.0.0.0/0", "::/0", "100.64.0.0/10", "fc00::/7")}
	for _, tc := range []struct {
		ip     string
		opener string // an allow_cidrs entry that opens it
	}{
		{"169.254.169.254", "169.254.169.254/32"},
		{"169.254.170.2", "169.254.0.0/16"},
		{"169.254.169.123", "169.254.169.0/24"},
		{"fd00:ec2::254", "fd00:ec2::254/128"},
		{"fd00:ec2::23", "fd00:ec2::/32"},
		{"100.100.100.200", "100.100.100.200/32"},
		{"168.63.129.16", "168.63.129.16/32"},
		{"192.0.0.192", "192.0.0.192/32"},
		{"fe80::1", "fe80::/10"},
		{"::ffff:169.254.169.254", "169.254.169.254/32"},
	} {
		ip := netip.MustParseAddr(tc.ip)
		for name, p := range map[string]netguard.Policy{"allow_private": private, "broad allow_cidrs": broad} {
			err := p.Check(ip)
			var refused *netguard.RefusedError
			if !errors.As(err, &refused) || !refused.Metadata {
				t.Errorf("%s: Check(%s) = %v, want a metadata refusal", name, tc.ip, err)
			}
		}
		open := netguard.Policy{AllowCIDRs: cidrs(tc.opener)}
		if err := open.Check(ip); err != nil {
			t.Errorf("allow_cidrs %s: Check(%s) = %v, want it open", tc.opener, tc.ip, err)
		}
	}
	// NAT64 reaches the embedded IPv4 address: metadata through it stays shut.
	if err := private.Check(netip.MustParseAddr("64:ff9b::a9fe:a9fe")); !netguard.IsRefused(err) {
		t.Errorf("NAT64 to 169.254.169.254 under allow_private: %v", err)
	}
	// allow_private still opens what is not metadata.
	for _, ip := range []string{"127.0.0.1", "::1", "10.0.0.1", "fd00::1", "100.100.100.201"} {
		if err := private.Check(netip.MustParseAddr(ip)); err != nil {
			t.Errorf("allow_private: Check(%s) = %v", ip, err)
		}
	}
}

// fakeResolver answers every lookup from a table: no real DNS, no dialing.
type fakeResolver map[string][]netip.Addr

func (f fakeResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	if ips, ok := f[host]; ok {
		return ips, nil
	}
	return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
}

func TestDialRefusesResolvedPrivateAddress(t *testing.T) {
	d := &netguard.Dialer{Resolver: fakeResolver{
		"metadata.test": {netip.MustParseAddr("169.254.169.254")},
		"internal.test": {netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("fd00::5")},
	}}
	for _, host := range []string{"metadata.test:80", "internal.test:443", "10.0.0.1:80", "[::ffff:192.168.0.1]:80"} {
		_, err := d.DialContext(context.Background(), "tcp", host)
		if !netguard.IsRefused(err) {
			t.Errorf("dial %s: err = %v, want a refusal", host, err)
		}
	}
	// Under allow_private a name resolving to metadata is still refused,
	// before any socket is opened.
	d.Policy = netguard.Policy{AllowPrivate: true}
	d.Resolver = fakeResolver{
		"metadata.test":  {netip.MustParseAddr("169.254.169.254")},
		"metadata6.test": {netip.MustParseAddr("fd00:ec2::254")},
		"alibaba.test":   {netip.MustParseAddr("100.100.100.200")},
	}
	for _, host := range []string{"metadata.test:80", "metadata6.test:80", "alibaba.test:80"} {
		_, err := d.DialContext(context.Background(), "tcp", host)
		if !netguard.IsRefused(err) {
			t.Errorf("allow_private: dial %s: err = %v, want a refusal", host, err)
		}
	}
	_, err := d.DialContext(context.Background(), "tcp", "missing.test:80")
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) {
		t.Errorf("unknown host: err = %v, want the DNS error", err)
	}
}

// A name that resolves to loopback, allowed by allow_cidrs, reaches a local
// server; the same name is refused without the allowance. Only loopback is dialed.
func TestDialThroughTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(204) }))
	defer srv.Close()
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	resolver := fakeResolver{"hooks.test": {netip.MustParseAddr("127.0.0.1")}}

	client := func(p netguard.Policy) *http.Client {
		d := &netguard.Dialer{Policy: p, Resolver: resolver}
		return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, Proxy: nil}}
	}
	resp, err := client(netguard.Policy{AllowCIDRs: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}}).Get("http://hooks.test:" + port + "/")
	if err != nil {
		t.Fatalf("allowed dial: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 {
		t.Errorf("status %d", resp.StatusCode)
	}
	_, err = client(netguard.Policy{}).Get("http://hooks.test:" + port + "/")
	if !netguard.IsRefused(err) {
		t.Fatalf("err = %v, want a refusal of the resolved loopback address", err)
	}
}

func TestControlChecksSocketAddress(t *testing.T) {
	p := netguard.Policy{}
	if err := p.Control(context.Background(), "tcp4", "10.0.0.1:80", nil); !netguard.IsRefused(err) {
		t.Errorf("Control(10.0.0.1) = %v", err)
	}
	if err := p.Control(context.Background(), "tcp4", "93.184.216.34:443", nil); err != nil {
		t.Errorf("Control(public) = %v", err)
	}
	private := netguard.Policy{AllowPrivate: true}
	if err := private.Control(context.Background(), "tcp4", "169.254.169.254:80", nil); !netguard.IsRefused(err) {
		t.Errorf("allow_private: Control(169.254.169.254) = %v", err)
	}
}
