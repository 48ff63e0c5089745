package catalog

import (
	"bytes"
	"net/netip"
	"net/url"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDefault(t *testing.T) {
	// Default panics on a broken embedded file; Load reports why.
	if _, err := Load(bytes.NewReader(embedded)); err != nil {
		t.Fatalf("embedded endpoints.json: %v", err)
	}
	c := Default()
	if c != Default() {
		t.Error("Default is parsed more than once")
	}
	if len(c.Entries()) < 50 || len(c.Issuers()) < 10 {
		t.Errorf("Default has %d entries and %d issuers; the embedded file looks truncated", len(c.Entries()), len(c.Issuers()))
	}
	roles := map[Role]bool{}
	for _, e := range c.Entries() {
		roles[e.Role] = true
	}
	for _, r := range Roles() {
		if !roles[r] {
			t.Errorf("no embedded entry has role %v", r)
		}
	}
}

// TestDefaultSources checks that every embedded fact cites an https URL.
func TestDefaultSources(t *testing.T) {
	c := Default()
	check := func(what, src string) {
		t.Helper()
		u, err := url.Parse(src)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			t.Errorf("%s: source %q is not an https URL", what, src)
		}
	}
	for _, e := range c.Entries() {
		check(e.Key(), e.Source)
		if e.Note == "" {
			t.Errorf("%s: no note", e.Key())
		}
	}
	for _, i := range c.Issuers() {
		check(i.Name, i.Source)
	}
}

func TestDefaultMatch(t *testing.T) {
	c := Default()
	hosts := []struct {
		host string
		want result
	}{
		{"remoteassistance.support.services.microsoft.com", result{true, RoleService, ByHost, "remoteassistance.support.services.microsoft.com"}},
		{"rdprelayv3westeuropeprod-2.support.services.microsoft.com", result{true, RoleRelay, ByWildcard, "rdprelay*.support.services.microsoft.com"}},
		{"rdprelayv3eastusprod-0.support.services.microsoft.com", result{true, RoleRelay, ByHost, "rdprelayv3eastusprod-0.support.services.microsoft.com"}},
		{"landing.support.services.microsoft.com", result{true, RoleService, ByWildcard, "*.support.services.microsoft.com"}},
		{"remoteassistanceprodacs.communication.azure.com", result{true, RoleSignaling, ByHost, "remoteassistanceprodacs.communication.azure.com"}},
		{"trouter-azsc-usea-0-a.trouter.skype.com", result{true, RoleSignaling, ByWildcard, "*.trouter.skype.com"}},
		{"go-eu.trouter.communications.svc.cloud.microsoft", result{true, RoleSignaling, ByWildcard, "*.trouter.communications.svc.cloud.microsoft"}},
		{"Login.MicrosoftOnline.com.", result{true, RoleSignIn, ByHost, "login.microsoftonline.com"}},
		{"login.live.com", result{true, RoleSignIn, ByWildcard, "*.live.com"}},
		{"js.monitor.azure.com", result{true, RoleTelemetry, ByWildcard, "*.monitor.azure.com"}},
		{"v10c.events.data.microsoft.com", result{true, RoleTelemetry, ByWildcard, "*.events.data.microsoft.com"}},
		{"s.go-mpulse.net", result{true, RoleTelemetry, ByHost, "s.go-mpulse.net"}},
		{"turn.azure.com", result{true, RoleMedia, ByHost, "turn.azure.com"}},
		{"www.microsoft.com", result{true, RolePKI, ByHost, "www.microsoft.com"}},
		{"config.edge.skype.com", result{true, RoleRuntime, ByHost, "config.edge.skype.com"}},
		{"anything.microsoft.com", result{true, RoleSignaling, ByWildcard, "*.microsoft.com"}},
		{"microsoft.com.evil.example", result{}},
		{"notmicrosoftonline.com", result{}},
		{"microsoftonline.com", result{}},
		{"support.services.microsoft.com.attacker.net", result{}},
		{"example.org", result{}},
	}
	for _, tt := range hosts {
		if diff := cmp.Diff(tt.want, summarize(c.MatchHost(tt.host))); diff != "" {
			t.Errorf("MatchHost(%q) (-want +got):\n%s", tt.host, diff)
		}
	}
	addrs := []struct {
		proto, addrPort string
		want            result
	}{
		{"udp", "20.202.1.1:3478", result{true, RoleMedia, ByRange, "20.202.0.0/16"}},
		{"udp", "[::ffff:20.202.1.1]:3481", result{true, RoleMedia, ByRange, "20.202.0.0/16"}},
		{"udp", "52.123.0.1:3478", result{true, RoleMedia, ByRange, "52.122.0.0/15"}},
		{"tcp", "52.123.0.1:443", result{true, RoleSignaling, ByRange, "52.122.0.0/15"}},
		{"udp", "52.121.0.1:3478", result{true, RoleMedia, ByRange, "52.120.0.0/14"}},
		{"udp", "[2603:1063::1]:3478", result{true, RoleMedia, ByRange, "2603:1063::/38"}},
		{"tcp", "[2620:1ec:40::1]:443", result{true, RoleSignaling, ByRange, "2620:1ec:40::/42"}},
		{"tcp", "20.190.160.1:443", result{true, RoleSignIn, ByRange, "20.190.128.0/18"}},
		{"tcp", "8.8.8.8:443", result{}},
	}
	for _, tt := range addrs {
		ap := netip.MustParseAddrPort(tt.addrPort)
		if diff := cmp.Diff(tt.want, summarize(c.MatchAddrPort(tt.proto, ap))); diff != "" {
			t.Errorf("MatchAddrPort(%s, %s) (-want +got):\n%s", tt.proto, ap, diff)
		}
	}
}

func TestIsMicrosoftIssuer(t *testing.T) {
	c := Default()
	const ms = "Microsoft Corporation"
	tests := []struct {
		cn, org string
		want    bool
	}{
		{"Microsoft Azure RSA TLS Issuing CA 07", ms, true},
		{"Microsoft Azure ECC TLS Issuing CA 01", "microsoft corporation", true},
		{"Microsoft TLS G2 RSA CA OCSP 16", ms, true},
		{"Microsoft RSA TLS CA 02", ms, true},
		{"DigiCert Global Root G2", "DigiCert Inc", true},
		{"GeoTrust TLS DV RSA Mixed SHA256 2020 CA-1", "DigiCert Inc", true},
		{"Microsoft RSA Root Certificate Authority 2017", ms, true},
		{"Microsoft Azure RSA TLS Issuing CA 07", "Zscaler Inc.", false},
		{"Microsoft Azure RSA TLS Issuing CA 07", "", false},
		{"Microsoft Azure RSA TLS Issuing CA 7", ms, false},
		{"Microsoft Azure RSA TLS Issuing CA 007", ms, false},
		{"Microsoft Azure RSA TLS Issuing CA NN", ms, false},
		{"Microsoft Azure RSA TLS Issuing CA", ms, false},
		{"Evil Microsoft Azure RSA TLS Issuing CA 07", ms, false},
		{"microsoft azure rsa tls issuing ca 07", ms, false},
		{"Zscaler Intermediate Root CA", "Zscaler Inc.", false},
		{"", "", false},
	}
	for _, tt := range tests {
		if got := c.IsMicrosoftIssuer(tt.cn, tt.org); got != tt.want {
			t.Errorf("IsMicrosoftIssuer(%q, %q) = %v, want %v", tt.cn, tt.org, got, tt.want)
		}
	}
	iss, ok := c.LookupIssuer("Microsoft Azure RSA TLS Issuing CA 03", ms)
	if !ok || iss.Name != "Microsoft Azure RSA TLS Issuing CA NN" || iss.Kind != KindIssuing {
		t.Errorf("LookupIssuer = %+v, %v; want the family entry", iss, ok)
	}
}

func TestMerge(t *testing.T) {
	base := mustLoad(t, `{"version": 1, "entries": [
{"host": "a.example.com", "ports": ["tcp/443"], "role": "service", "source": "base"},
{"host": "*.example.com", "ports": ["tcp/443"], "role": "telemetry", "source": "base"},
{"prefix": "10.0.0.0/8", "ports": ["udp/3478"], "role": "media", "source": "base"},
{"prefix": "10.0.0.0/8", "ports": ["tcp/443"], "role": "signaling", "source": "base"}
], "issuers": [
{"name": "Base CA NN", "kind": "issuing", "source": "base"},
{"name": "Root", "kind": "root", "source": "base"}]}`)
	other := mustLoad(t, `{"version": 1, "entries": [
{"host": "A.example.com", "ports": ["tcp/8443"], "role": "relay", "source": "other"},
{"host": "c.other.example", "ports": ["tcp/443"], "role": "service", "source": "other"},
{"prefix": "10.0.0.0/8", "ports": ["tcp/443"], "role": "pki", "source": "other"}
], "issuers": [
{"name": "Root", "kind": "root", "org": "Other Org", "source": "other"}]}`)
	m := base.Merge(other)
	type summary struct {
		Key, Role, Source string
	}
	var got []summary
	for _, e := range m.Entries() {
		got = append(got, summary{e.Key(), e.Role.String(), e.Source})
	}
	want := []summary{
		{"c.other.example", "service", "other"},
		{"a.example.com", "relay", "other"},
		{"*.example.com", "telemetry", "base"},
		{"10.0.0.0/8", "pki", "other"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("merged entries (-want +got):\n%s", diff)
	}
	if m.IsMicrosoftIssuer("Root", "") || !m.IsMicrosoftIssuer("Root", "Other Org") || !m.IsMicrosoftIssuer("Base CA 01", "") {
		t.Error("merged issuers: other's Root should replace base's, Base CA NN should stay")
	}
	// The inputs are unchanged.
	if r, _ := base.MatchHost("a.example.com"); r.Role != RoleService {
		t.Errorf("Merge modified its receiver: %+v", r)
	}
	if n := len(base.Merge(nil).Entries()); n != 4 {
		t.Errorf("Merge(nil) has %d entries, want 4", n)
	}
	var empty *Catalog
	if n := len(empty.Merge(other).Entries()); n != 3 {
		t.Errorf("nil.Merge(other) has %d entries, want 3", n)
	}
}

func TestEntriesOrder(t *testing.T) {
	c := Default()
	a, b := c.Entries(), c.Entries()
	if diff := cmp.Diff(a, b, cmp.Comparer(func(x, y netip.Prefix) bool { return x == y })); diff != "" {
		t.Fatalf("Entries differs between calls (-first +second):\n%s", diff)
	}
	if !slices.IsSortedFunc(a, compareEntry) {
		t.Error("Entries is not sorted")
	}
	a[0].Ports[0].First = 1 // a copy: must not reach the catalog
	if c.Entries()[0].Ports[0].First == 1 {
		t.Error("Entries shares port slices with the catalog")
	}
	iss := c.Issuers()
	if iss[0].Kind != KindRoot || iss[len(iss)-1].Kind != KindIssuing {
		t.Errorf("Issuers: roots should come first: %v ... %v", iss[0], iss[len(iss)-1])
	}
}
