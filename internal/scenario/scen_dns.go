package scenario

import (
	"net/netip"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// dnsFailure: names that do not resolve or resolve to a sinkhole
// (heuristics.md section 6).
func dnsFailure() []Scenario {
	return []Scenario{{
		Name: "dns_failure-nxdomain", Cause: "dns_failure", Format: pcap, Link: eth,
		Description: "The resolver answers NXDOMAIN for remoteassistance.support.services.microsoft.com (three tries) and js.monitor.azure.com, " +
			"while login.microsoftonline.com resolves and works; an NXDOMAIN for wpad.corp.contoso.com is ordinary noise.",
		build: buildDNSNXDomain,
	}, {
		Name: "dns_failure-servfail", Cause: "dns_failure", Format: pcapng, Link: eth,
		Description: "The service resolves and works; remoteassistanceprodacs.communication.azure.com gets SERVFAIL for A, twice, so the " +
			"signaling stage never starts.",
		build: buildDNSServfail,
	}, {
		Name: "dns_failure-timeout", Cause: "dns_failure", Format: pcap, Link: eth,
		Description: "Home router: queries for remoteassistance.support.services.microsoft.com are sent 5 times (0, 1, 2, 4, 8 s) with the same ID and " +
			"no answer, while www.bing.com and www.wikipedia.org resolve from the same resolver.",
		build: buildDNSTimeout,
	}, {
		Name: "dns_failure-sinkhole", Cause: "dns_failure", Format: pcap, Link: eth,
		Description: "IPv6 resolver of a DNS filter: remoteassistance.support.services.microsoft.com and js.monitor.azure.com resolve to 0.0.0.0 (A) " +
			"and :: (AAAA) with TTL 10; no connection to them follows, other names resolve normally.",
		build: buildDNSSinkhole,
	}}
}

// fail captures a query for name and the resolver's answer with rcode and
// no records.
func (c *capture) fail(at time.Duration, name string, qtype uint16, rcode uint8) []handle {
	q, r := c.lookup(at, name, qtype, rcode, nil)
	return []handle{q, r}
}

func buildDNSNXDomain(c *capture) {
	c.fail(30*time.Millisecond, "wpad.corp.contoso.com", decodetest.DNSTypeA, decodetest.DNSRcodeNXDomain)
	end, _ := c.resolve(200*time.Millisecond, &qaLogin)
	c.https(end+time.Millisecond, &qaLogin, false, 2)
	at := 1500 * time.Millisecond
	for range 3 {
		c.key(c.fail(at, qaService.name, decodetest.DNSTypeA, decodetest.DNSRcodeNXDomain)...)
		at += c.jitter(2 * time.Second)
	}
	c.key(c.fail(at, qaMonitor.name, decodetest.DNSTypeA, decodetest.DNSRcodeNXDomain)...)
	end, _ = c.resolve(at+3*time.Second, &bing)
	c.https(end+time.Millisecond, &bing, false, 1)
}

func buildDNSServfail(c *capture) {
	end, _ := c.resolve(100*time.Millisecond, &qaService)
	svc := c.https(end+time.Millisecond, &qaService, false, 3)
	at := svc.t + 500*time.Millisecond
	for range 2 {
		c.key(c.fail(at, qaACS.name, decodetest.DNSTypeA, decodetest.DNSRcodeServFail)...)
		at += c.jitter(1500 * time.Millisecond)
	}
	svc.exchange(at+5*time.Second-svc.t, 240, 700, c.jitter(3*time.Millisecond))
}

// dnsRetries is when the Windows DNS client sends a query again without
// an answer (DNSQueryTimeouts 1, 1, 2, 4, 4 s).
var dnsRetries = []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second}

func buildDNSTimeout(c *capture) {
	c.host = &home
	q := c.newQuery(qaService.name, decodetest.DNSTypeA, false)
	for _, d := range dnsRetries {
		c.key(c.ask(200*time.Millisecond+d+c.between(0, 3*time.Millisecond), q))
	}
	end, _ := c.resolve(1700*time.Millisecond, &bing)
	c.https(end+time.Millisecond, &bing, false, 1)
	end, _ = c.resolve(5*time.Second, &wikipedia)
	c.https(end+time.Millisecond, &wikipedia, false, 2)
}

func buildDNSSinkhole(c *capture) {
	c.host = &dual
	end, _ := c.resolve(100*time.Millisecond, &bing)
	c.https(end+time.Millisecond, &bing, true, 1)
	at := 900 * time.Millisecond
	for _, name := range []string{qaService.name, qaMonitor.name, qaService.name} {
		for i, t := range []uint16{decodetest.DNSTypeA, decodetest.DNSTypeAAAA} {
			zero := netip.IPv4Unspecified()
			if t == decodetest.DNSTypeAAAA {
				zero = netip.IPv6Unspecified()
			}
			qq := c.newQuery(name, t, true)
			qt := at + time.Duration(i)*c.jitter(100*time.Microsecond)
			c.key(c.ask(qt, qq), c.answer(qt+c.jitter(2*time.Millisecond), qq, decodetest.DNSRcodeNoError,
				[]decodetest.DNSAnswer{{TTL: 10, Addr: zero}}))
		}
		at += c.jitter(1200 * time.Millisecond)
	}
	end, _ = c.resolve(at+time.Second, &wikipedia)
	c.https(end+time.Millisecond, &wikipedia, true, 1)
}
