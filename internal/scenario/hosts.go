package scenario

import (
	"net/netip"
	"time"
)

// client is the Windows PC the capture was taken on, and its resolvers.
type client struct {
	v4, v6     netip.Addr // v6 invalid on an IPv4-only network
	dns4, dns6 netip.Addr // resolvers; dns6 invalid when DNS runs over IPv4
}

// Clients: an office PC (IPv4 only), a home PC behind a consumer router,
// and dual-stack PCs with a global (documentation prefix) and a ULA address.
var (
	office = client{v4: a("10.20.30.40"), dns4: a("10.20.30.1")}
	home   = client{v4: a("192.168.1.50"), dns4: a("192.168.1.1")}
	dual   = client{v4: a("10.20.30.40"), v6: a("2001:db8:10:20::40"),
		dns4: a("10.20.30.1"), dns6: a("2001:db8:10:20::1")}
	ula = client{v4: a("192.168.1.50"), v6: a("fd00:1:2:3::50"),
		dns4: a("192.168.1.1"), dns6: a("fd00:1:2:3::1")}
)

// resolverTTL is the TTL of the resolver's packets: a Linux router on the
// client's own segment.
const resolverTTL = 64

// server is a host the client talks to, as the capture on the client sees
// it: the DNS chain that leads to it, its addresses, the TTL its packets
// arrive with (initial TTL minus hops) and the round-trip time to it.
type server struct {
	name   string
	cnames []string   // CNAME chain of its DNS answers, in order
	v4, v6 netip.Addr // v6 invalid when it has no AAAA
	ttl    uint8
	rtt    time.Duration
	issuer string // issuing CA of its certificate (TLS 1.2 chains)
	org    string
}

// Certificate issuers: Microsoft's (shared/research/quickassist.md section
// 5) and others for background sites.
const (
	msOrg      = "Microsoft Corporation"
	msRSA03    = "Microsoft Azure RSA TLS Issuing CA 03"
	msRSA07    = "Microsoft Azure RSA TLS Issuing CA 07"
	msECC04    = "Microsoft Azure ECC TLS Issuing CA 04"
	digicert   = "DigiCert Inc"
	digicertCA = "DigiCert Global G2 TLS RSA SHA256 2020 CA1"
	googleOrg  = "Google Trust Services"
	googleCA   = "WR2"
	letsOrg    = "Let's Encrypt"
	letsCA     = "R11"
)

// Quick Assist's servers (shared/research/quickassist.md section 1a). The
// addresses are Azure-looking, not real: 20.42/16 and 20.185/16 (Azure East
// US), 40.126.0.0/18 (Entra ID sign-in), 52.112.0.0/14 (Teams), 13.107/16
// (Azure Front Door), 20.202.0.0/16 (ACS media relays).
var (
	qaService = server{
		name:   "remoteassistance.support.services.microsoft.com",
		cnames: []string{"remoteassistance.trafficmanager.net", "rasvc-prod-eastus.eastus.cloudapp.azure.com"},
		v4:     a("20.42.65.90"), v6: a("2603:1030:20e:3::23a"),
		ttl: 113, rtt: 31 * time.Millisecond, issuer: msRSA03, org: msOrg,
	}
	qaLogin = server{
		name:   "login.microsoftonline.com",
		cnames: []string{"login.mso.msidentity.com", "ak.privatelink.msidentity.com", "www.tm.ak.prd.aadg.trafficmanager.net"},
		v4:     a("40.126.32.134"), v6: a("2603:1037:1:c8::8"),
		ttl: 113, rtt: 24 * time.Millisecond, issuer: msRSA03, org: msOrg,
	}
	qaACS = server{
		name:   "remoteassistanceprodacs.communication.azure.com",
		cnames: []string{"acs-prod-eastus.trafficmanager.net"},
		v4:     a("20.42.72.130"), v6: a("2603:1030:20e:6::41"),
		ttl: 113, rtt: 33 * time.Millisecond, issuer: msRSA07, org: msOrg,
	}
	qaTrouter = server{
		name:   "go.trouter.skype.com",
		cnames: []string{"go.trouter.skype.com.akadns.net", "trouter-azsc-usea-0-a.trouter.skype.com"},
		v4:     a("52.113.194.132"), v6: a("2603:1063:2::9"),
		ttl: 114, rtt: 27 * time.Millisecond, issuer: msRSA07, org: msOrg,
	}
	qaRelay = server{
		name: "rdprelayv3eastusprod-4.support.services.microsoft.com",
		v4:   a("20.185.82.115"), v6: a("2603:1030:210:4::1c"),
		ttl: 113, rtt: 34 * time.Millisecond, issuer: msRSA03, org: msOrg,
	}
	qaMonitor = server{
		name:   "js.monitor.azure.com",
		cnames: []string{"js.monitor.azure.com.edgekey.net", "star-azurefd-prod.trafficmanager.net"},
		v4:     a("13.107.246.64"), v6: a("2620:1ec:bdf::64"),
		ttl: 114, rtt: 9 * time.Millisecond, issuer: msECC04, org: msOrg,
	}
	qaTURN = server{
		name:   "relay.communication.microsoft.com",
		cnames: []string{"relay.communication.microsoft.com.trafficmanager.net"},
		v4:     a("20.202.144.73"),
		ttl:    113, rtt: 36 * time.Millisecond, issuer: msRSA07, org: msOrg,
	}
	qaTURN2 = server{
		name: "turn.azure.com",
		v4:   a("20.202.145.12"),
		ttl:  113, rtt: 38 * time.Millisecond, issuer: msRSA07, org: msOrg,
	}
)

// Background sites: what else an office PC talks to.
var (
	bing = server{
		name: "www.bing.com", cnames: []string{"www-bing-com.dual-a-0001.a-msedge.net"},
		v4: a("13.107.21.200"), v6: a("2620:1ec:c11::200"),
		ttl: 114, rtt: 8 * time.Millisecond, issuer: msRSA07, org: msOrg,
	}
	google = server{
		name: "www.google.com", v4: a("142.250.185.100"), v6: a("2a00:1450:4001:82b::2004"),
		ttl: 117, rtt: 12 * time.Millisecond, issuer: googleCA, org: googleOrg,
	}
	github = server{
		name: "github.com", v4: a("140.82.121.4"),
		ttl: 51, rtt: 21 * time.Millisecond, issuer: digicertCA, org: digicert,
	}
	wikipedia = server{
		name: "www.wikipedia.org", cnames: []string{"dyna.wikimedia.org"},
		v4: a("185.15.59.224"), v6: a("2a02:ec80:300:ed1a::1"),
		ttl: 54, rtt: 19 * time.Millisecond, issuer: digicertCA, org: digicert,
	}
	discord = server{
		name: "discord.com", v4: a("162.159.128.233"), v6: a("2606:4700::6810:80e9"),
		ttl: 57, rtt: 11 * time.Millisecond, issuer: googleCA, org: googleOrg,
	}
	nextcloud = server{
		name: "cloud.example-partner.de", v4: a("88.99.208.15"),
		ttl: 50, rtt: 29 * time.Millisecond, issuer: letsCA, org: letsOrg,
	}
)

func a(s string) netip.Addr { return netip.MustParseAddr(s) }

// addr returns the server's address of the family v6 asks for.
func (s *server) addr(v6 bool) netip.Addr {
	if v6 {
		return s.v6
	}
	return s.v4
}

// at returns the server's HTTPS endpoint of the family v6 asks for.
func (s *server) at(v6 bool, port uint16) netip.AddrPort {
	return netip.AddrPortFrom(s.addr(v6), port)
}
