package scenario

import (
	"encoding/binary"
	"slices"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// portBlocked: SYNs to Quick Assist dropped silently (heuristics.md
// section 7).
func portBlocked() []Scenario {
	return []Scenario{{
		Name: "port_blocked-syn-drop", Cause: "port_blocked", Format: pcap, Link: eth,
		Description: "Two connections to remoteassistance.support.services.microsoft.com (20.42.65.90:443), the second 250 ms after the first, " +
			"send SYNs at 0, 1, 3, 7 and 15 s without any answer; SYNs to login.microsoftonline.com and www.bing.com get SYN-ACKs.",
		build: buildPortSYNDrop,
	}, {
		Name: "port_blocked-dual-stack", Cause: "port_blocked", Format: pcapng, Link: sll2,
		Description: "Linux cooked capture, dual stack: SYNs to the service over IPv6 and, 250 ms later, over IPv4 are retransmitted without an answer; " +
			"www.bing.com answers over IPv6 at once.",
		build: buildPortDualStack,
	}}
}

func buildPortSYNDrop(c *capture) {
	end, _ := c.resolve(100*time.Millisecond, &qaLogin)
	login := c.dial(end+time.Millisecond, &qaLogin, false, 443)
	_, synack, _ := login.open()
	login.tls13(c.chromium(qaLogin.name))
	login.exchange(c.jitter(2*time.Millisecond), 500, 4000, c.jitter(8*time.Millisecond))
	c.key(synack)
	end, _ = c.resolve(time.Second, &qaService)
	for i := range 2 {
		k := c.dial(end+c.jitter(time.Millisecond)+time.Duration(i)*250*time.Millisecond, &qaService, false, 443)
		c.key(k.synRetries(4)...)
	}
	end, _ = c.resolve(4*time.Second, &bing)
	c.https(end+time.Millisecond, &bing, false, 1)
}

func buildPortDualStack(c *capture) {
	c.host = &dual
	end, _ := c.resolve(100*time.Millisecond, &bing)
	b := c.dial(end+time.Millisecond, &bing, true, 443)
	_, synack, _ := b.open()
	b.tls13(c.chromium(bing.name))
	b.exchange(c.jitter(2*time.Millisecond), 400, 3000, c.jitter(5*time.Millisecond))
	c.key(synack)
	end, _ = c.resolve(time.Second, &qaService)
	// Happy Eyeballs (RFC 8305): IPv6 first, IPv4 250 ms later.
	for i, v6 := range []bool{true, false} {
		k := c.dial(end+c.jitter(time.Millisecond)+time.Duration(i)*250*time.Millisecond, &qaService, v6, 443)
		c.key(k.synRetries(3)...)
	}
}

// The firewall that rejects Quick Assist: its inside interfaces.
var (
	firewall4 = a("10.20.0.254")
	firewall6 = a("2001:db8:10:ff::1")
)

// icmpUnreachable: a router or firewall says no (heuristics.md section 8).
func icmpUnreachable() []Scenario {
	return []Scenario{{
		Name: "icmp_unreachable-admin-prohibited", Cause: "icmp_unreachable", Format: pcap, Link: eth,
		Description: "Each SYN to remoteassistance.support.services.microsoft.com (three, 1 s and 2 s apart) is answered within 1 ms by ICMP destination " +
			"unreachable code 13 (communication administratively prohibited) from the firewall 10.20.0.254, quoting the SYN; sign-in works.",
		build: buildICMPAdmin,
	}, {
		Name: "icmp_unreachable-ipv6", Cause: "icmp_unreachable", Format: pcapng, Link: eth,
		Description: "Dual stack: the SYN to go.trouter.skype.com over IPv6 gets ICMPv6 destination unreachable code 1 (administratively prohibited) " +
			"from 2001:db8:10:ff::1; the IPv4 attempt gets ICMP code 10 (host administratively prohibited) from 10.20.0.254.",
		build: buildICMPv6,
	}}
}

// rejected captures SYNs to srv, each answered by the firewall's ICMP
// message with code, quoting it; retries follow Windows' SYN schedule.
func (c *capture) rejected(at time.Duration, srv *server, v6 bool, code uint8, tries int) {
	k := c.dial(at, srv, v6, 443)
	router, ttl := firewall4, uint8(254)
	if v6 {
		router, ttl = firewall6, 63
	}
	isn := k.s.Client.Next
	rto := time.Second
	for i := range tries {
		var syn handle
		if i == 0 {
			syn = k.seg(0, c2s, fSYN, nil)
		} else {
			syn = k.custom(c.jitter(rto), c2s, fSYN, nil, false, func(t *decodetest.TCP) { t.Seq = isn })
			rto *= 2
		}
		msg := decodetest.ICMPUnreachable{
			Link: c.linkFrom(false), IP: decodetest.IP{TTL: ttl, IPID: uint16(c.r.Uint32())},
			Src: router, Dst: k.s.Client.Addr.Addr(), Code: code, Quote: c.ipPacket(syn),
		}
		k.t += c.jitter(700 * time.Microsecond)
		c.key(syn, c.add(k.t, msg.Frame()))
	}
}

// ipPacket returns the IP packet inside the frame of h as the router one
// hop away received it, its TTL or hop limit one less: what an ICMP error
// quotes (RFC 792, RFC 4443 3.1).
func (c *capture) ipPacket(h handle) []byte {
	n := decodetest.EthernetHeaderLen
	if c.link == decodetest.LinkSLL2 {
		n = decodetest.SLL2HeaderLen
	}
	p := slices.Clone(c.frames[h].data[n:])
	if p[0]>>4 == 4 {
		p[8]--
		p[10], p[11] = 0, 0
		binary.BigEndian.PutUint16(p[10:], decodetest.Checksum(p[:decodetest.IPv4HeaderLen]))
	} else {
		p[7]--
	}
	return p
}

func buildICMPAdmin(c *capture) {
	end, _ := c.resolve(100*time.Millisecond, &qaLogin)
	c.https(end+time.Millisecond, &qaLogin, false, 2)
	end, _ = c.resolve(1500*time.Millisecond, &qaService)
	c.rejected(end+c.jitter(time.Millisecond), &qaService, false, decodetest.ICMPv4AdminProhibited, 3)
}

func buildICMPv6(c *capture) {
	c.host = &dual
	end, _ := c.resolve(100*time.Millisecond, &qaService)
	c.https(end+time.Millisecond, &qaService, true, 2)
	end, _ = c.resolve(2*time.Second, &qaTrouter)
	c.rejected(end+c.jitter(time.Millisecond), &qaTrouter, true, decodetest.ICMPv6AdminProhibited, 2)
	c.rejected(end+250*time.Millisecond, &qaTrouter, false, 10, 2) // RFC 1812 5.2.7.1: host administratively prohibited
}
