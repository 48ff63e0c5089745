package scenario

import (
	"net/netip"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// healthy: complete sessions; the failure, if any, was on the endpoints.
func healthy() []Scenario {
	return []Scenario{{
		Name: "healthy-ipv4", Cause: Healthy, Format: pcap, Link: eth,
		Description: "A complete session: DNS, telemetry, service, sign-in, ACS signaling, Trouter WebSocket, then the RDP relay (TLS 1.2, Microsoft chain) " +
			"carrying screen data for 10 s, and an orderly close of every connection; web noise to other sites.",
		build: func(c *capture) { buildHealthy(c, false, 10*time.Second) },
	}, {
		Name: "healthy-ipv6", Cause: Healthy, Format: pcapng, Link: eth,
		Description: "The same complete session over IPv6 from 2001:db8:10:20::40, DNS over the IPv6 resolver (A and AAAA).",
		build:       func(c *capture) { c.host = &dual; buildHealthy(c, true, 10*time.Second) },
	}, {
		Name: "healthy-sll2", Cause: Healthy, Format: pcapng, Link: sll2,
		Description: "The same complete session from a home network (192.168.1.50), as a Linux cooked (SLL2) capture.",
		build:       func(c *capture) { c.host = &home; buildHealthy(c, false, 8*time.Second) },
	}}
}

func buildHealthy(c *capture, v6 bool, relayFor time.Duration) {
	end, _ := c.resolve(20*time.Millisecond, &google)
	c.https(end+time.Millisecond, &google, v6, 2).closeNotify(c.jitter(2*time.Second), false)
	s := c.quickAssist(400*time.Millisecond, v6, relayFor)
	fin := s.close(c.jitter(500 * time.Millisecond))
	c.key(s.serviceHS.server[0], s.relayHS.server[0], fin)
	end, _ = c.resolve(s.relay.t+2*time.Second, &wikipedia)
	c.https(end+time.Millisecond, &wikipedia, v6, 1)
}

// noQuickAssist: nothing in the capture talks to Quick Assist.
func noQuickAssist() []Scenario {
	return []Scenario{{
		Name: "no_quick_assist_traffic-background", Cause: NoQuickAssist, Format: pcap, Link: eth,
		Description: "Only background traffic: DNS and HTTPS to www.bing.com, www.google.com, github.com and www.wikipedia.org, and NTP to " +
			"time.windows.com; no Quick Assist name, address or SNI.",
		build: buildBackground,
	}}
}

func buildBackground(c *capture) {
	at := 50 * time.Millisecond
	for _, srv := range []*server{&bing, &google, &github, &wikipedia} {
		end, _ := c.resolve(at, srv)
		k := c.https(end+c.jitter(time.Millisecond), srv, false, 2+c.r.IntN(3))
		k.closeNotify(c.jitter(3*time.Second), false)
		at = end + c.jitter(1500*time.Millisecond)
	}
	ntp := server{name: "time.windows.com", cnames: []string{"twc.trafficmanager.net"}, v4: a("168.61.215.74"), ttl: 111, rtt: 41 * time.Millisecond}
	end, _ := c.resolve(at, &ntp)
	f := c.stunTo(&ntp, 123)
	req := make([]byte, 48)
	req[0] = 0xdb // LI 3, version 3, client (RFC 5905 7.3)
	f.out(end+time.Millisecond, req)
	resp := make([]byte, 48)
	c.fill(resp)
	resp[0], resp[1] = 0x1c, 2 // version 3, server, stratum 2
	f.in(end+time.Millisecond+c.jitter(ntp.rtt), resp)
}

// lookAlikes: healthy sessions with one detail that resembles a fault.
func lookAlikes() []Scenario {
	return []Scenario{{
		Name: "healthy-lookalike-rst-after-close", Cause: Healthy, LookAlike: true, Format: pcap, Link: eth,
		Description: "Complete session; the service connection ends with the client's close_notify and FIN answered by the server's own RST " +
			"(TTL 113 as its SYN-ACK, next IP ID, after one RTT): an abortive close, not an injection.",
		build: buildLookRSTAfterClose,
	}, {
		Name: "healthy-lookalike-turn-401", Cause: Healthy, LookAlike: true, Format: pcap, Link: eth,
		Description: "Complete session plus ACS TURN on UDP 3478: the first Allocate gets the normal 401 challenge, the authenticated Allocate succeeds, " +
			"then CreatePermission, ChannelBind and media flow.",
		build: buildLookTURN401,
	}, {
		Name: "healthy-lookalike-ntlm-407", Cause: Healthy, LookAlike: true, Format: pcapng, Link: eth,
		Description: "Explicit proxy with NTLM: each CONNECT gets 407 (NTLM, Negotiate), the client answers on the same connection with NTLM negotiate " +
			"and authenticate tokens, and gets 200 Connection established; TLS to the service and the relay works through the tunnels.",
		build: buildLookNTLM,
	}, {
		Name: "healthy-lookalike-long-idle", Cause: Healthy, LookAlike: true, Format: pcap, Link: eth,
		Description: "The relay connection is idle for 400 s, longer than common NAT timers, then the client's input is acknowledged and answered " +
			"at once: the state survived.",
		build: buildLookIdle,
	}, {
		Name: "healthy-lookalike-other-site-blocked", Cause: Healthy, LookAlike: true, Format: pcap, Link: eth,
		Description: "Complete session; meanwhile a connection to discord.com is reset 1 ms after its ClientHello by a RST with TTL 64 (the site's " +
			"SYN-ACK had 57): a forged reset, but not on a Quick Assist flow.",
		build: buildLookOtherBlocked,
	}, {
		Name: "healthy-lookalike-retransmissions", Cause: Healthy, LookAlike: true, Format: pcapng, Link: eth,
		Description: "Complete session with packet loss that recovers: a lost relay segment brings an ACK and three duplicate ACKs with SACK blocks and a fast " +
			"retransmission, a lost client segment is retransmitted after 300 ms, and both are acknowledged.",
		build: buildLookRetrans,
	}, {
		Name: "healthy-lookalike-slow-link", Cause: Healthy, LookAlike: true, Format: pcap, Link: eth,
		Description: "Complete session over a satellite link: every round trip, SYN to SYN-ACK included, takes about 600 ms, DNS too, and everything works.",
		build:       buildLookSlow,
	}}
}

func buildLookRSTAfterClose(c *capture) {
	s := c.quickAssist(100*time.Millisecond, false, 3*time.Second)
	k := s.service
	k.send(c.jitter(2*time.Second), c2s, decodetest.ApplicationData(19))
	fin := k.seg(c.jitter(50*time.Microsecond), c2s, fFIN|fACK, nil)
	rst := k.seg(k.reply(), s2c, fRST|fACK, nil)
	s.closed[k] = true
	s.close(c.jitter(300 * time.Millisecond))
	c.key(s.serviceSynAck, fin, rst)
}

func buildLookTURN401(c *capture) {
	c.host = &home
	s := c.quickAssist(100*time.Millisecond, false, 3*time.Second)
	end, _ := c.resolve(s.relay.t-2*time.Second, &qaTURN)
	ts, at, hs := c.allocate(end+c.jitter(time.Millisecond), &qaTURN, netip.AddrPortFrom(natPublic, 40123))
	ts.media(at, 4*time.Second)
	c.key(hs...)
	s.close(c.jitter(5 * time.Second))
}

func buildLookIdle(c *capture) {
	at := c.qaUntilRelay(100*time.Millisecond, false)
	end, _ := c.resolve(at, &qaRelay)
	k, _ := c.relay(end+c.jitter(time.Millisecond), false, 3*time.Second)
	last := k.ack(c.jitter(20*time.Millisecond), c2s)
	resume := k.appData(400*time.Second, c2s, 120)
	answer := k.appData(k.reply()+c.jitter(3*time.Millisecond), s2c, 3000)
	c.key(last, resume[0], answer[0])
	k.relayData(c.jitter(10*time.Millisecond), 2*time.Second)
	k.closeNotify(c.jitter(time.Second), true)
}

func buildLookOtherBlocked(c *capture) {
	s := c.quickAssist(100*time.Millisecond, false, 3*time.Second)
	end, _ := c.resolve(s.service.t+300*time.Millisecond, &discord)
	k := c.dial(end+c.jitter(time.Millisecond), &discord, false, 443)
	_, synack, _ := k.open()
	ch := k.clientHello(c.chromium(discord.name))
	rst := k.custom(c.jitter(time.Millisecond), s2c, fRST|fACK, nil, true, forgedRST(64, 0, k.s.Server.Next, 0))
	c.key(synack, rst)
	c.key(ch...)
	s.close(c.jitter(time.Second))
}

func buildLookRetrans(c *capture) {
	s := c.quickAssist(100*time.Millisecond, false, 2*time.Second)
	k := s.relay
	c.key(k.lossyBurst(c.jitter(150 * time.Millisecond))...)
	k.relayData(c.jitter(100*time.Millisecond), time.Second)
	c.key(k.lostClientSegment(c.jitter(80 * time.Millisecond))...)
	k.relayData(c.jitter(100*time.Millisecond), time.Second)
	s.close(c.jitter(time.Second))
}

func buildLookSlow(c *capture) {
	c.slow = 560 * time.Millisecond
	s := c.quickAssist(100*time.Millisecond, false, 4*time.Second)
	fin := s.close(c.jitter(time.Second))
	c.key(s.serviceSyn, s.serviceSynAck, s.relayHS.server[0], fin)
}
