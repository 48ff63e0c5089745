package redact_test

import (
	"math/bits"
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"

	"github.com/qadiag/qadiag/report/redact"
)

func mustAddr(s string) netip.Addr { return netip.MustParseAddr(s) }

// commonBits is the length of the common prefix of two addresses of one
// family.
func commonBits(a, b netip.Addr) int {
	x, y := a.As16(), b.As16()
	n := 0
	if a.Is4() {
		n = -96
	}
	for i := range x {
		if d := x[i] ^ y[i]; d != 0 {
			return n + bits.LeadingZeros8(d)
		}
		n += 8
	}
	return n
}

func TestAddrClasses(t *testing.T) {
	rd := redact.New(nil, testKey)
	for _, tc := range []struct {
		in    string
		class string // the prefix the pseudonym must stay in; "" for public
	}{
		{"10.20.30.40", "10.0.0.0/8"},
		{"172.16.5.4", "172.16.0.0/12"},
		{"192.168.1.50", "192.168.0.0/16"},
		{"100.64.1.1", "100.64.0.0/10"},
		{"169.254.10.20", "169.254.0.0/16"},
		{"203.0.113.77", ""},
		{"198.51.100.7", ""},
		{"2001:db8:10:20::40", "2000::/3"},
		{"fd12:3456::1", "fc00::/7"},
		{"fe80::1c2d:3e4f:5a6b:7c8d", "fe80::/64"},
		{"64:ff9b::c000:221", "64:ff9b::/96"},
	} {
		a := mustAddr(tc.in)
		m := rd.Addr(a)
		if m == a || m.Is4() != a.Is4() {
			t.Errorf("%s -> %s", a, m)
		}
		if tc.class != "" && !netip.MustParsePrefix(tc.class).Contains(m) {
			t.Errorf("%s -> %s, outside %s", a, m, tc.class)
		}
		if tc.class == "" && (!m.IsGlobalUnicast() || m.IsPrivate() || netip.MustParsePrefix("100.64.0.0/10").Contains(m)) {
			t.Errorf("public %s -> %s, not public", a, m)
		}
	}
	for _, s := range []string{"0.0.0.0", "127.0.0.1", "224.0.0.251", "255.255.255.255", "::", "::1", "ff02::fb",
		"20.202.15.47" /* a Quick Assist relay range */} {
		if a := mustAddr(s); rd.Addr(a) != a {
			t.Errorf("%s -> %s, want it kept", a, rd.Addr(a))
		}
	}
	mapped := mustAddr("::ffff:10.1.2.3")
	if m := rd.Addr(mapped); !m.Is4In6() || m.Unmap() != rd.Addr(mustAddr("10.1.2.3")) {
		t.Errorf("%s -> %s, want the IPv4 pseudonym, mapped", mapped, m)
	}
	sn := mustAddr("ff02::1:ff12:3456")
	if m := rd.Addr(sn); m == sn || !netip.MustParsePrefix("ff02::1:ff00:0/104").Contains(m) {
		t.Errorf("solicited-node %s -> %s", sn, m)
	}
}

// TestAddrPrefixPreserving checks Crypto-PAn's property: two addresses
// share exactly as many leading bits after mapping as before.
func TestAddrPrefixPreserving(t *testing.T) {
	rd := redact.New(nil, testKey)
	pairs := [][2]string{
		{"10.20.30.40", "10.20.30.41"}, {"10.20.30.40", "10.20.99.1"}, {"10.1.0.0", "10.128.0.0"},
		{"192.168.1.50", "192.168.2.50"}, {"2001:db8:10:20::40", "2001:db8:10:20::1"},
		{"2001:db8:10:20::40", "2001:db8:ffff::1"}, {"fe80::1", "fe80::2"},
	}
	for _, p := range pairs {
		a, b := mustAddr(p[0]), mustAddr(p[1])
		if got, want := commonBits(rd.Addr(a), rd.Addr(b)), commonBits(a, b); got != want {
			t.Errorf("%s, %s share %d bits, their pseudonyms %d", a, b, want, got)
		}
	}
}

// TestAddrPermutation checks that distinct addresses never share a
// pseudonym and that public IPv4 maps to public IPv4.
func TestAddrPermutation(t *testing.T) {
	rd := redact.New(nil, testKey)
	seen := map[netip.Addr]netip.Addr{}
	check := func(a netip.Addr) netip.Addr {
		m := rd.Addr(a)
		if o, dup := seen[m]; dup && o != a {
			t.Fatalf("%s and %s both map to %s", o, a, m)
		}
		seen[m] = a
		return m
	}
	for i := range 1 << 12 {
		check(netip.AddrFrom4([4]byte{192, 168, byte(i >> 8), byte(i)}))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 4000 {
		a := netip.AddrFrom4([4]byte{byte(rng.IntN(223) + 1), byte(rng.Uint32()), byte(rng.Uint32()), byte(rng.Uint32())})
		if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || netip.MustParsePrefix("100.64.0.0/10").Contains(a) ||
			netip.MustParsePrefix("169.254.0.0/16").Contains(a) || rd.Addr(a) == a {
			continue // kept (Microsoft) or another class
		}
		if m := check(a); !m.IsGlobalUnicast() || m.IsPrivate() || m.IsMulticast() || m.As4()[0] == 0 || m.As4()[0] >= 224 {
			t.Errorf("public %s -> %s", a, m)
		}
	}
}

func TestMappingKeys(t *testing.T) {
	a, n := mustAddr("192.168.1.50"), "intranet.contoso.com"
	r1, r2, r3 := redact.New(nil, testKey), redact.New(nil, testKey), redact.New(nil, []byte("another key"))
	if r1.Addr(a) != r1.Addr(a) || r1.Name(n) != r1.Name(n) {
		t.Error("one Redactor maps the same input differently")
	}
	if r1.Addr(a) != r2.Addr(a) || r1.Name(n) != r2.Name(n) || r1.FileName("x.pcap") != r2.FileName("x.pcap") {
		t.Error("two Redactors with one key disagree")
	}
	if r1.Addr(a) == r3.Addr(a) || r1.Name(n) == r3.Name(n) || r1.FileName("x.pcap") == r3.FileName("x.pcap") {
		t.Error("two keys give the same pseudonyms")
	}
	x, y := redact.New(nil, nil), redact.New(nil, nil)
	if x.Addr(a) == y.Addr(a) && x.Name(n) == y.Name(n) {
		t.Error("random keys give the same pseudonyms")
	}
}

func TestNames(t *testing.T) {
	rd := redact.New(nil, testKey)
	for _, n := range []string{"remoteassistance.support.services.microsoft.com", "Login.MicrosoftOnline.com",
		"rdprelayv3eastusprod-4.support.services.microsoft.com", "microsoft.com", "wpad", "localhost"} {
		if m := rd.Name(n); m != n {
			t.Errorf("%s -> %s, want it kept", n, m)
		}
	}
	n := "intranet.Contoso.com"
	m := rd.Name(n)
	if len(m) != len(n) || m == strings.ToLower(n) || !strings.HasSuffix(m, ".com") || strings.Count(m, ".") != 2 {
		t.Errorf("%s -> %s: want a same-length pseudonym under .com", n, m)
	}
	parent := rd.Name("contoso.com")
	if !strings.HasSuffix(m, "."+parent) || rd.Name("www.contoso.com") != "www."+parent {
		t.Errorf("names under contoso.com (%s) do not share its pseudonym: %s, %s", parent, m, rd.Name("www.contoso.com"))
	}
	if got := rd.Name("contoso.com."); got != parent+"." {
		t.Errorf("trailing dot: %s", got)
	}
	if got := rd.Name("192.168.1.50"); got != rd.Addr(mustAddr("192.168.1.50")).String() {
		t.Errorf("IP literal name -> %s", got)
	}
	if got := rd.Name("foo.microsoft.com.trafficmanager.net"); strings.Contains(got, "microsoft") {
		t.Errorf("a catalog-looking prefix of a non-catalog name stays: %s", got)
	}
}

func TestText(t *testing.T) {
	rd := redact.New(nil, testKey)
	client, name := mustAddr("10.1.2.3"), rd.Name("contoso.com")
	c := rd.Addr(client).String()
	for _, tc := range []struct{ in, want string }{
		{"ip.addr==10.1.2.3 && tcp.port==443", "ip.addr==" + c + " && tcp.port==443"},
		{"the resolver 10.1.2.3:53 answered", "the resolver " + c + ":53 answered"},
		{"with 10.1.2.3.", "with " + c + "."},
		{"10.1.2.30", rd.Addr(mustAddr("10.1.2.30")).String()},
		{"ask 1.1.1.1 or 8.8.8.8", "ask 1.1.1.1 or 8.8.8.8"},
		{"Chrome/131.0.0.0", "Chrome/131.0.0.0"},
		{"notcontoso.com, contoso.com. www.contoso.com", "notcontoso.com, " + name + ". " + rd.Name("www.contoso.com")},
		{`dns.qry.name == "CONTOSO.COM"`, `dns.qry.name == "` + name + `"`},
		{"remoteassistance.support.services.microsoft.com:443", "remoteassistance.support.services.microsoft.com:443"},
		{"[fd00::1]:53", "[" + rd.Addr(mustAddr("fd00::1")).String() + "]:53"},
	} {
		if got := rd.Text(tc.in); got != tc.want {
			t.Errorf("Text(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	path := "/home/alice/case 42/contoso-vpn.pcapng.gz"
	f := rd.FileName(path)
	if !strings.HasPrefix(f, "capture-") || !strings.HasSuffix(f, ".pcapng.gz") || strings.Contains(f, "contoso") {
		t.Errorf("FileName = %q", f)
	}
	if got := rd.Text("read " + path + " (contoso-vpn.pcapng.gz)"); got != "read "+f+" ("+f+")" {
		t.Errorf("Text with the path = %q", got)
	}
}
