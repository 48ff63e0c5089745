package scenario

import (
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// sameFrontEnd is another name served by the front end that serves
// remoteassistance.support.services.microsoft.com: the control of the
// differential test (heuristics.md section 3, "Differential").
var sameFrontEnd = server{
	name:   "azure.microsoft.com",
	cnames: []string{"azure-microsoft-com.trafficmanager.net", "rasvc-prod-eastus.eastus.cloudapp.azure.com"},
	v4:     qaService.v4, v6: qaService.v6, ttl: qaService.ttl, rtt: qaService.rtt,
	issuer: msRSA03, org: msOrg,
}

// sniBlocking: connections cut because of the name in the ClientHello
// (heuristics.md section 3).
func sniBlocking() []Scenario {
	return []Scenario{{
		Name: "sni_blocking-drop", Cause: "sni_blocking", Format: pcap, Link: eth,
		Description: "The ClientHello for remoteassistance.support.services.microsoft.com is never acknowledged: retransmitted five times, then the client resets; " +
			"meanwhile a ClientHello for azure.microsoft.com to the same address 20.42.65.90 gets a ServerHello and works.",
		build: buildSNIDrop,
	}, {
		Name: "sni_blocking-reset", Cause: "sni_blocking", Format: pcapng, Link: eth,
		Description: "Home network: two ClientHellos with the Quick Assist SNI are each answered by a RST-ACK after about one RTT with the server's own TTL; " +
			"between them a connection to the same address with SNI azure.microsoft.com completes.",
		build: buildSNIReset,
	}}
}

// windowsRTO is the retransmission timeout of a Windows connection on a
// short path: the 300 ms floor (MinRto), doubled on each timeout.
const windowsRTO = 300 * time.Millisecond

func buildSNIDrop(c *capture) {
	end, _ := c.resolve(100*time.Millisecond, &qaService)
	k := c.dial(end+c.jitter(time.Millisecond), &qaService, false, 443)
	k.open()
	h := c.chromium(qaService.name)
	seq := k.s.Client.Next
	ch := k.clientHello(h)
	c.key(ch...)
	first := k.t
	// Only the first unacknowledged segment is resent (RFC 6298 5.4).
	payload := h.record[:min(k.s.SegmentSize(c2s), len(h.record))]
	rto := windowsRTO
	for range 5 {
		c.key(k.retransmit(c.jitter(rto), c2s, seq, fACK, payload))
		rto *= 2
	}
	c.key(k.custom(c.jitter(rto), c2s, fRST|fACK, nil, false, nil))

	end, _ = c.resolve(first+1200*time.Millisecond, &sameFrontEnd)
	ok := c.dial(end+c.jitter(time.Millisecond), &sameFrontEnd, false, 443)
	_, synack, _ := ok.open()
	hs := ok.tls13(c.chromium(sameFrontEnd.name))
	ok.exchange(c.jitter(2*time.Millisecond), 420, 9000, c.jitter(6*time.Millisecond))
	ok.closeFrom(c.jitter(3*time.Second), c2s)
	c.key(synack, hs.server[0])
	c.key(hs.hello...)
}

func buildSNIReset(c *capture) {
	c.host = &home
	end, _ := c.resolve(100*time.Millisecond, &qaService)
	at := end + c.jitter(time.Millisecond)
	for try := range 2 {
		k := c.dial(at, &qaService, false, 443)
		_, synack, _ := k.open()
		ch := k.clientHello(c.chromium(qaService.name))
		// A middlebox near the server resets with the server's TTL: the
		// reset itself fits the path; only the name gives it away.
		srvIPID := k.s.Server.IP.IPID
		rst := k.custom(c.jitter(qaService.rtt), s2c, fRST|fACK, nil, true, func(t *decodetest.TCP) {
			t.IPID, t.Window = srvIPID+7, 0
		})
		c.key(synack, rst)
		c.key(ch...)
		if try == 0 {
			end, _ := c.resolve(k.t+800*time.Millisecond, &sameFrontEnd)
			ok := c.dial(end+c.jitter(time.Millisecond), &sameFrontEnd, false, 443)
			ok.open()
			hs := ok.tls13(c.chromium(sameFrontEnd.name))
			ok.exchange(c.jitter(2*time.Millisecond), 380, 12000, c.jitter(5*time.Millisecond))
			c.key(hs.server[0])
			c.key(hs.hello...)
			at = ok.t + 1500*time.Millisecond
		}
	}
}
