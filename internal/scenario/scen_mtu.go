package scenario

import (
	"fmt"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// mtuBlackhole: large packets vanish on the path and no ICMP says why
// (heuristics.md section 9).
func mtuBlackhole() []Scenario {
	return []Scenario{{
		Name: "mtu_blackhole-server-segments", Cause: "mtu_blackhole", Format: pcap, Link: eth,
		Description: "The relay handshake works (SYN MSS 1460) and the 300-byte Schannel ClientHello is acknowledged, but of the server's TLS 1.2 flight only " +
			"the short last segment arrives: the client SACKs it above a hole of full-size (1500-byte) segments, the server's tail probe arrives, " +
			"nothing else; no ICMP fragmentation needed; the server finally resets.",
		build: buildMTUServer,
	}, {
		Name: "mtu_blackhole-ipv6", Cause: "mtu_blackhole", Format: pcapng, Link: eth,
		Description: "IPv6: after a working handshake and a small ClientHello, the relay's full-size (1440-byte payload) segments never arrive and no ICMPv6 " +
			"Packet Too Big is seen; the client sends duplicate ACKs with SACK blocks for the small segments that do arrive, twice, then gives up.",
		build: buildMTUv6,
	}, {
		Name: "mtu_blackhole-large-clienthello", Cause: "mtu_blackhole", Format: pcap, Link: eth,
		Description: "A VPN path with MTU 1400: WebView2's post-quantum ClientHello needs a 1440-byte segment that never arrives; the server SACKs the second, " +
			"small segment and the client retransmits the large one five times; a Schannel connection with small packets works.",
		build: buildMTUClientHello,
	}}
}

// blackholed captures a server flight whose full-size segments are lost
// before the capture point; only the short last segment arrives. It
// returns that segment's frame, the sequence number of the first lost
// byte and the last segment's sequence number and payload.
func (k *conn) blackholed(dt time.Duration, flight []byte) (tail handle, hole, tailSeq uint32, tailData []byte) {
	size := k.s.SegmentSize(s2c)
	if len(flight)%size == 0 || len(flight) < size {
		panic(fmt.Sprintf("scenario: flight of %d bytes has no full-size segment and a short tail", len(flight)))
	}
	hole = k.s.Server.Next
	k.t += dt
	for len(flight) > size {
		k.lose(s2c, fACK, flight[:size])
		flight = flight[size:]
		k.t += k.c.jitter(arrivalGap)
	}
	tailSeq = k.s.Server.Next
	return k.seg(0, s2c, fACK|fPSH, flight), hole, tailSeq, flight
}

// sackAbove captures a duplicate ACK from the client that still asks for
// hole and selectively acknowledges [left, right) (RFC 2018 4).
func (k *conn) sackAbove(dt time.Duration, hole, left, right uint32) handle {
	return k.custom(dt, c2s, fACK, nil, false, func(t *decodetest.TCP) {
		t.Ack, t.SACK = hole, []decodetest.SACKBlock{{Left: left, Right: right}}
	})
}

// stalled captures a connection to the relay whose server flight is
// black-holed: the tail arrives and is SACKed, a tail loss probe arrives
// and is SACKed again, then the client gives up after wait with a FIN and,
// when reset is set, the server's own RST follows when its retries end.
func (c *capture) stalled(at time.Duration, v6 bool, wait time.Duration, reset bool) {
	k := c.dial(at, &qaRelay, v6, 443)
	syn, synack, _ := k.open()
	h := c.schannel(qaRelay.name)
	ch := k.clientHello(h)
	ackHello := k.ack(k.reply(), s2c)
	var flight []byte
	if v6 {
		o := decodetest.ServerHelloOpts{Version: decodetest.VersionTLS13, CipherSuite: decodetest.SuiteAES256GCMSHA384, SessionID: h.opts.SessionID, Rand: c.r}
		c.fill(o.Random[:])
		flight = decodetest.AppendServerHello(nil, &o)
		flight = append(flight, decodetest.ChangeCipherSpec()...)
		flight = decodetest.AppendApplicationData(flight, 4500)
	} else {
		flight = c.serverFlight12(h, msChain(&qaRelay))
	}
	tail, hole, tailSeq, tailData := k.blackholed(c.jitter(serverThink), flight)
	tailEnd := tailSeq + uint32(len(tailData))
	sack1 := k.sackAbove(c.jitter(ackDelay), hole, tailSeq, tailEnd)
	// Tail loss probe (RFC 8985 7): the last segment again after ~2 RTT.
	probe := k.retransmit(2*k.reply(), s2c, tailSeq, fACK|fPSH, tailData)
	sack2 := k.sackAbove(c.jitter(ackDelay), hole, tailSeq, tailEnd)
	c.key(syn, synack, ackHello, tail, sack1, probe, sack2)
	c.key(ch...)
	fin := k.custom(wait, c2s, fFIN|fACK, nil, false, func(t *decodetest.TCP) {
		t.Ack, t.SACK = hole, []decodetest.SACKBlock{{Left: tailSeq, Right: tailEnd}}
	})
	k.s.Client.Next++
	finAck := k.custom(k.reply(), s2c, fACK, nil, false, nil)
	c.key(fin, finAck)
	if reset {
		c.key(k.custom(c.jitter(12*time.Second), s2c, fRST|fACK, nil, false, nil))
	}
}

func buildMTUServer(c *capture) {
	c.host = &home
	at := c.qaUntilRelay(100*time.Millisecond, false)
	end, _ := c.resolve(at, &qaRelay)
	c.stalled(end+c.jitter(time.Millisecond), false, 20*time.Second, true)
}

func buildMTUv6(c *capture) {
	c.host = &dual
	at := c.qaUntilRelay(100*time.Millisecond, true)
	end, _ := c.resolve(at, &qaRelay)
	c.stalled(end+c.jitter(time.Millisecond), true, 15*time.Second, false)
	c.stalled(end+18*time.Second, true, 15*time.Second, false)
}

func buildMTUClientHello(c *capture) {
	// A Windows component with a small hello and small answers: fits.
	small := server{name: "settings-win.data.microsoft.com", v4: a("20.42.65.92"), ttl: 113, rtt: 32 * time.Millisecond, issuer: msRSA07, org: msOrg}
	end, _ := c.resolve(100*time.Millisecond, &small)
	k := c.dial(end+time.Millisecond, &small, false, 443)
	_, synack, _ := k.open()
	hs := k.tls13n(c.schannel(small.name), 900)
	k.exchange(c.jitter(2*time.Millisecond), 300, 800, c.jitter(4*time.Millisecond))
	c.key(synack, hs.server[0])

	end, _ = c.resolve(time.Second, &qaService)
	q := c.dial(end+time.Millisecond, &qaService, false, 443)
	q.open()
	h := c.chromium(qaService.name)
	seq := q.s.Client.Next
	size := q.s.SegmentSize(c2s)
	first := q.seg(c.jitter(300*time.Microsecond), c2s, fACK, h.record[:size])
	second := q.seg(c.jitter(sendGap), c2s, fACK|fPSH, h.record[size:])
	// Only the small second segment reaches the server; it SACKs it.
	sack := q.custom(q.reply(), s2c, fACK, nil, false, func(t *decodetest.TCP) {
		t.Ack, t.SACK = seq, []decodetest.SACKBlock{{Left: seq + uint32(size), Right: seq + uint32(len(h.record))}}
	})
	c.key(first, second, sack)
	rto := windowsRTO
	for range 5 {
		c.key(q.retransmit(c.jitter(rto), c2s, seq, fACK, h.record[:size]))
		rto *= 2
	}
	c.key(q.custom(c.jitter(rto), c2s, fRST|fACK, nil, false, nil))
}
