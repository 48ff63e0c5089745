package catalog

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// testCatalog holds nested wildcards, first-label wildcards and nested
// prefixes, one of them listed twice with different ports.
const testCatalog = `{"version": 1, "entries": [
{"host": "a.example.com", "ports": ["tcp/443"], "role": "service", "source": "s1"},
{"host": "*.example.com", "ports": ["tcp/443"], "role": "telemetry", "source": "s2"},
{"host": "*.deep.example.com", "ports": ["tcp/443"], "role": "media", "source": "s3"},
{"host": "relay*.example.com", "ports": ["tcp/443"], "role": "relay", "source": "s4"},
{"host": "relayv3*.example.com", "ports": ["tcp/443"], "role": "signaling", "source": "s5"},
{"host": "microsoftonline.com", "ports": ["tcp/443"], "role": "sign_in", "source": "s6"},
{"host": "*.microsoft.com", "ports": ["tcp/443"], "role": "runtime", "source": "s7"},
{"host": "*.skype.com", "ports": ["tcp/443"], "role": "signaling", "source": "s8"},
{"prefix": "10.0.0.0/8", "ports": ["tcp/443"], "role": "service", "source": "r1"},
{"prefix": "10.1.0.0/16", "ports": ["udp/3478-3481"], "role": "media", "source": "r2"},
{"prefix": "10.1.0.0/16", "ports": ["tcp/443"], "role": "signaling", "source": "r3"},
{"prefix": "10.1.2.0/24", "ports": ["tcp/443"], "role": "relay", "source": "r4"},
{"prefix": "10.2.0.0/16", "ports": ["tcp/80"], "role": "pki", "source": "r5"},
{"prefix": "2001:db8::/32", "ports": ["tcp/443"], "role": "signaling", "source": "r6"},
{"prefix": "2001:db8:1::/48", "ports": ["udp/3478"], "role": "media", "source": "r7"}
]}`

// result is the part of a Match the tables compare.
type result struct {
	OK      bool
	Role    Role
	By      string
	Pattern string
}

func summarize(m Match, ok bool) result {
	return result{OK: ok, Role: m.Role, By: m.By, Pattern: m.Pattern}
}

func TestMatchHost(t *testing.T) {
	c := mustLoad(t, testCatalog)
	no := result{}
	tests := []struct {
		name, host string
		want       result
	}{
		{"exact", "a.example.com", result{true, RoleService, ByHost, "a.example.com"}},
		{"exact upper case and trailing dot", "A.Example.COM.", result{true, RoleService, ByHost, "a.example.com"}},
		{"two trailing dots", "a.example.com..", no},
		{"wildcard one label", "b.example.com", result{true, RoleTelemetry, ByWildcard, "*.example.com"}},
		{"wildcard two labels", "x.y.example.com", result{true, RoleTelemetry, ByWildcard, "*.example.com"}},
		{"wildcard not the bare suffix", "example.com", no},
		{"longest wildcard wins", "x.deep.example.com", result{true, RoleMedia, ByWildcard, "*.deep.example.com"}},
		{"longest wildcard deeper", "a.b.deep.example.com", result{true, RoleMedia, ByWildcard, "*.deep.example.com"}},
		{"suffix itself under shorter wildcard", "deep.example.com", result{true, RoleTelemetry, ByWildcard, "*.example.com"}},
		{"label wildcard", "relay9.example.com", result{true, RoleRelay, ByWildcard, "relay*.example.com"}},
		{"label wildcard empty star", "relay.example.com", result{true, RoleRelay, ByWildcard, "relay*.example.com"}},
		{"longest label wildcard wins", "relayv3eastusprod-0.example.com", result{true, RoleSignaling, ByWildcard, "relayv3*.example.com"}},
		{"label wildcard one label only", "x.relay1.example.com", result{true, RoleTelemetry, ByWildcard, "*.example.com"}},
		{"label wildcard anchored at start", "myrelay.example.com", result{true, RoleTelemetry, ByWildcard, "*.example.com"}},
		{"exact suffix host", "microsoftonline.com", result{true, RoleSignIn, ByHost, "microsoftonline.com"}},
		{"exact is not a wildcard", "login.microsoftonline.com", no},
		{"not a label boundary", "notmicrosoftonline.com", no},
		{"wildcard", "www.microsoft.com", result{true, RoleRuntime, ByWildcard, "*.microsoft.com"}},
		{"suffix in the middle", "microsoft.com.evil.example", no},
		{"wildcard not a label boundary", "evilmicrosoft.com", no},
		{"kelvin sign is not k", "edge.s\u212Aype.com", no},
		{"empty", "", no},
		{"dot", ".", no},
		{"single label", "com", no},
		{"leading dot", ".example.com", no},
		{"empty label", "x..example.com", no},
		{"too long", strings.Repeat("a.", 130) + "example.com", no},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, summarize(c.MatchHost(tt.host))); diff != "" {
				t.Errorf("MatchHost(%q) (-want +got):\n%s", tt.host, diff)
			}
		})
	}
}

func TestMatchAddr(t *testing.T) {
	c := mustLoad(t, testCatalog)
	no := result{}
	tests := []struct {
		name, addr string
		want       result
	}{
		{"outer", "10.200.0.1", result{true, RoleService, ByRange, "10.0.0.0/8"}},
		{"first start", "10.0.0.0", result{true, RoleService, ByRange, "10.0.0.0/8"}},
		{"first of shared prefix", "10.1.200.1", result{true, RoleMedia, ByRange, "10.1.0.0/16"}},
		{"longest", "10.1.2.200", result{true, RoleRelay, ByRange, "10.1.2.0/24"}},
		{"after inner, back to parent", "10.1.3.1", result{true, RoleMedia, ByRange, "10.1.0.0/16"}},
		{"after sibling, back to root", "10.3.0.1", result{true, RoleService, ByRange, "10.0.0.0/8"}},
		{"last address", "10.255.255.255", result{true, RoleService, ByRange, "10.0.0.0/8"}},
		{"above", "11.0.0.0", no},
		{"below", "9.255.255.255", no},
		{"ipv4-mapped", "::ffff:10.1.2.3", result{true, RoleRelay, ByRange, "10.1.2.0/24"}},
		{"ipv6 inner", "2001:db8:1::5", result{true, RoleMedia, ByRange, "2001:db8:1::/48"}},
		{"ipv6 zone ignored", "2001:db8:1::5%eth0", result{true, RoleMedia, ByRange, "2001:db8:1::/48"}},
		{"ipv6 outer", "2001:db8:2::1", result{true, RoleSignaling, ByRange, "2001:db8::/32"}},
		{"ipv6 miss", "2001:db9::1", no},
		{"ipv6 same bits as ipv4", "::a01:203", no},
		{"invalid", "", no},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a netip.Addr
			if tt.addr != "" {
				a = netip.MustParseAddr(tt.addr)
			}
			if diff := cmp.Diff(tt.want, summarize(c.MatchAddr(a))); diff != "" {
				t.Errorf("MatchAddr(%s) (-want +got):\n%s", tt.addr, diff)
			}
		})
	}
}

func TestMatchAddrPort(t *testing.T) {
	c := mustLoad(t, testCatalog)
	tests := []struct {
		name, proto, addrPort string
		want                  result
		hasPort               bool
	}{
		{"udp picks media", "udp", "10.1.0.1:3479", result{true, RoleMedia, ByRange, "10.1.0.0/16"}, true},
		{"tcp picks signaling", "tcp", "10.1.0.1:443", result{true, RoleSignaling, ByRange, "10.1.0.0/16"}, true},
		{"unlisted port falls back", "tcp", "10.1.0.1:8080", result{true, RoleMedia, ByRange, "10.1.0.0/16"}, false},
		{"longest prefix beats port", "udp", "10.1.2.1:3478", result{true, RoleRelay, ByRange, "10.1.2.0/24"}, false},
		{"mapped", "udp", "[::ffff:10.1.0.1]:3478", result{true, RoleMedia, ByRange, "10.1.0.0/16"}, true},
		{"miss", "tcp", "192.0.2.1:443", result{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ap := netip.MustParseAddrPort(tt.addrPort)
			m, ok := c.MatchAddrPort(tt.proto, ap)
			if diff := cmp.Diff(tt.want, summarize(m, ok)); diff != "" {
				t.Errorf("MatchAddrPort(%s, %s) (-want +got):\n%s", tt.proto, ap, diff)
			}
			if got := m.HasPort(tt.proto, ap.Port()); got != tt.hasPort {
				t.Errorf("HasPort = %v, want %v", got, tt.hasPort)
			}
		})
	}
}

func TestMatchNil(t *testing.T) {
	var c *Catalog
	if _, ok := c.MatchHost("a.example.com"); ok {
		t.Error("nil catalog matched a host")
	}
	if _, ok := c.MatchAddr(netip.MustParseAddr("10.0.0.1")); ok {
		t.Error("nil catalog matched an address")
	}
	if c.IsMicrosoftIssuer("DigiCert Global Root G2", "") {
		t.Error("nil catalog knows an issuer")
	}
	if c.Entries() != nil || c.Issuers() != nil {
		t.Error("nil catalog has entries or issuers")
	}
}

func TestMatchNoAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	c := Default()
	addr := netip.MustParseAddr("2603:1063::1")
	ap := netip.MustParseAddrPort("52.112.0.1:3478")
	checks := map[string]func(){
		"MatchHost exact":    func() { sinkMatch, sinkOK = c.MatchHost("remoteassistance.support.services.microsoft.com") },
		"MatchHost label":    func() { sinkMatch, sinkOK = c.MatchHost("rdprelayv3westeuropeprod-2.support.services.microsoft.com.") },
		"MatchHost suffix":   func() { sinkMatch, sinkOK = c.MatchHost("a.b.c.trouter.teams.microsoft.com") },
		"MatchHost miss":     func() { sinkMatch, sinkOK = c.MatchHost("www.example.org") },
		"MatchAddr":          func() { sinkMatch, sinkOK = c.MatchAddr(addr) },
		"MatchAddrPort":      func() { sinkMatch, sinkOK = c.MatchAddrPort("udp", ap) },
		"IsMicrosoftIssuer":  func() { sinkOK = c.IsMicrosoftIssuer("Microsoft Azure RSA TLS Issuing CA 07", "Microsoft Corporation") },
		"IsMicrosoftIssuer2": func() { sinkOK = c.IsMicrosoftIssuer("Zscaler Intermediate Root CA", "Zscaler Inc.") },
	}
	for name, f := range checks {
		if n := testing.AllocsPerRun(100, f); n != 0 {
			t.Errorf("%s: %v allocations per run, want 0", name, n)
		}
	}
}

var (
	sinkMatch Match
	sinkOK    bool
)

func BenchmarkMatchHost(b *testing.B) {
	c := Default()
	for _, bc := range []struct{ name, host string }{
		{"exact", "remoteassistance.support.services.microsoft.com"},
		{"label", "rdprelayv3westeuropeprod-2.support.services.microsoft.com"},
		{"suffix", "go-eu.trouter.communications.svc.cloud.microsoft"},
		{"miss", "www.example.org"},
		{"upper", "RemoteAssistance.Support.Services.Microsoft.com"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkMatch, sinkOK = c.MatchHost(bc.host)
			}
		})
	}
}

func BenchmarkMatchAddr(b *testing.B) {
	c := Default()
	for _, bc := range []struct{ name, addr string }{
		{"v4", "52.123.4.5"},
		{"v6", "2603:1063::1"},
		{"miss", "192.0.2.1"},
	} {
		a := netip.MustParseAddr(bc.addr)
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				sinkMatch, sinkOK = c.MatchAddr(a)
			}
		})
	}
}
