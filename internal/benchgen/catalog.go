package benchgen

import (
	"math/rand/v2"
	"net/netip"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// site is a server name the clients connect to, with the addresses its
// DNS answers give and what its server looks like on the wire.
type site struct {
	name   string
	cname  string     // CNAME target in DNS answers, "" for none
	v4, v6 netip.Addr // v6 invalid when the site has no AAAA
	ttl    uint8      // IP TTL of its packets at the client: initial TTL minus hops
	issuer string     // issuing CA CN of its certificate
	org    string     // issuing CA organization
	weight int        // share of random connections; 0: only scripted ones
}

// Issuers named in shared/research/quickassist.md section 5, and an
// inspection proxy's.
const (
	msOrg       = "Microsoft Corporation"
	msRSA03     = "Microsoft Azure RSA TLS Issuing CA 03"
	msRSA07     = "Microsoft Azure RSA TLS Issuing CA 07"
	msECC04     = "Microsoft Azure ECC TLS Issuing CA 04"
	msG2        = "Microsoft TLS G2 RSA CA OCSP 04"
	digicertOrg = "DigiCert Inc"
	digicertCA  = "DigiCert Global G2 TLS RSA SHA256 2020 CA1"
	googleOrg   = "Google Trust Services"
	googleCA    = "WR2"
	proxyOrg    = "Zscaler Inc."
	proxyCA     = "Zscaler Intermediate Root CA (zscaler.net) (t)"
)

// Quick Assist host names (shared/research/quickassist.md section 1a).
const (
	qaService   = "remoteassistance.support.services.microsoft.com"
	qaACS       = "remoteassistanceprodacs.communication.azure.com"
	qaTrouter   = "go.trouter.skype.com"
	qaLogin     = "login.microsoftonline.com"
	qaMSAuth    = "aadcdn.msauth.net"
	qaMonitor   = "js.monitor.azure.com"
	qaEvents    = "browser.events.data.microsoft.com"
	qaRelay     = "rdprelayv3eastusprod-4.support.services.microsoft.com"
	qaEdgeSkype = "edge.skype.com"
)

func a(s string) netip.Addr { return netip.MustParseAddr(s) }

// sites lists the catalog; weights make Microsoft 365 traffic dominate,
// as on a Windows office network.
var sites = []site{
	{qaService, "remoteassistance.trafficmanager.net", a("20.42.65.90"), netip.Addr{}, 114, msRSA03, msOrg, 1},
	{qaACS, "", a("20.202.2.10"), netip.Addr{}, 113, msRSA07, msOrg, 1},
	{qaTrouter, "go.trouter.skype.com.akadns.net", a("52.113.194.132"), a("2603:1063:2::9"), 114, msRSA03, msOrg, 2},
	{qaLogin, "login.mso.msidentity.com", a("20.190.160.20"), a("2603:1037:1:c8::8"), 113, msRSA03, msOrg, 6},
	{qaMSAuth, "aadcdn.msauth.net.akamaized.net", a("152.199.21.175"), a("2606:2800:233:fa02::1"), 56, digicertCA, digicertOrg, 2},
	{qaMonitor, "", a("13.107.246.64"), a("2620:1ec:bdf::64"), 114, msG2, msOrg, 3},
	{qaEvents, "onedscolprdeus02.eastus.cloudapp.azure.com", a("20.42.73.29"), netip.Addr{}, 113, msRSA07, msOrg, 6},
	{qaRelay, "", a("20.185.82.115"), netip.Addr{}, 114, msRSA03, msOrg, 0},
	{qaEdgeSkype, "", a("13.107.42.16"), a("2620:1ec:42::16"), 114, msECC04, msOrg, 2},
	{"outlook.office365.com", "outlook.ha.office365.com", a("52.97.211.146"), a("2603:1026:c0b:11::2"), 114, msG2, msOrg, 14},
	{"teams.microsoft.com", "teams.office.com", a("52.113.194.132"), a("2603:1063:2::10"), 114, msRSA03, msOrg, 10},
	{"graph.microsoft.com", "graph.ms-acdc.office.com", a("20.190.151.68"), a("2603:1037:1:b8::2"), 113, msRSA07, msOrg, 6},
	{"substrate.office.com", "", a("52.96.88.178"), a("2603:1026:3000:110::2"), 114, msG2, msOrg, 5},
	{"config.edge.skype.com", "", a("13.107.42.16"), a("2620:1ec:42::17"), 114, msECC04, msOrg, 3},
	{"www.bing.com", "www-bing-com.dual-a-0001.a-msedge.net", a("13.107.21.200"), a("2620:1ec:c11::200"), 114, msRSA07, msOrg, 4},
	{"settings-win.data.microsoft.com", "", a("20.42.65.92"), netip.Addr{}, 113, msRSA07, msOrg, 3},
	{"v10.events.data.microsoft.com", "", a("20.42.73.26"), netip.Addr{}, 113, msRSA07, msOrg, 4},
	{"login.live.com", "", a("20.190.177.20"), netip.Addr{}, 113, msRSA03, msOrg, 2},
	{"officeclient.microsoft.com", "", a("52.109.8.89"), netip.Addr{}, 114, msRSA03, msOrg, 3},
	{"sharepoint.contoso.com", "", a("52.104.2.5"), a("2603:1036:2400::5"), 114, msRSA07, msOrg, 4},
	{"contoso-my.sharepoint.com", "", a("52.104.2.6"), a("2603:1036:2400::6"), 114, msRSA07, msOrg, 4},
	{"www.google.com", "", a("142.250.185.100"), a("2a00:1450:4001:82b::2004"), 117, googleCA, googleOrg, 3},
	{"fonts.gstatic.com", "", a("142.250.185.99"), a("2a00:1450:4001:82b::2003"), 117, googleCA, googleOrg, 2},
	{"github.com", "", a("140.82.121.4"), netip.Addr{}, 51, digicertCA, digicertOrg, 2},
	{"www.linkedin.com", "", a("13.107.42.14"), a("2620:1ec:21::14"), 114, digicertCA, digicertOrg, 1},
	{"update.googleapis.com", "", a("142.250.185.67"), a("2a00:1450:4001:82b::2067"), 117, googleCA, googleOrg, 1},
}

// siteIndex returns the index of a catalog name.
func siteIndex(name string) int {
	for i := range sites {
		if sites[i].name == name {
			return i
		}
	}
	panic("benchgen: no site " + name)
}

// picker draws sites by weight.
type picker struct {
	all, v6 []int // site indexes repeated by weight
}

func newPicker() *picker {
	p := &picker{}
	for i, s := range sites {
		for range s.weight {
			p.all = append(p.all, i)
			if s.v6.IsValid() {
				p.v6 = append(p.v6, i)
			}
		}
	}
	return p
}

func (p *picker) pick(r *rand.Rand, v6 bool) int {
	if v6 {
		return p.v6[r.IntN(len(p.v6))]
	}
	return p.all[r.IntN(len(p.all))]
}

// numHosts is the number of client hosts (shared/research/performance.md).
const numHosts = 40

// host is one client machine.
type host struct {
	v4, v6   netip.Addr
	mac      decodetest.MAC
	nextPort uint16
}

// Network addresses of the capture: clients in 10.20.30.0/24 and
// 2001:db8:20:30::/64 behind a gateway that is also their resolver.
var (
	resolver4  = netip.AddrPortFrom(a("10.20.30.1"), 53)
	resolver6  = netip.AddrPortFrom(a("2001:db8:20:30::1"), 53)
	gatewayMAC = decodetest.DefaultGatewayMAC
	natPublic  = a("203.0.113.17") // the office's public address, as TURN reports it
)

func newHosts(r *rand.Rand) []host {
	hs := make([]host, numHosts)
	for i := range hs {
		hs[i] = host{
			v4:       netip.AddrFrom4([4]byte{10, 20, 30, byte(11 + i)}),
			v6:       netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 0, 0x20, 0, 0x30, 15: byte(0x11 + i)}),
			mac:      decodetest.MAC{0x00, 0x15, 0x5d, 0x1e, byte(i >> 8), byte(i)},
			nextPort: uint16(49152 + r.IntN(4096)),
		}
	}
	return hs
}

// port returns the next ephemeral port of h (Windows hands them out in
// sequence from 49152, RFC 6335 6).
func (h *host) port() uint16 {
	p := h.nextPort
	h.nextPort++
	if h.nextPort == 0 {
		h.nextPort = 49152
	}
	return p
}
