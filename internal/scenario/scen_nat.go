package scenario

import (
	"net/netip"
	"time"

	"github.com/pion/stun/v3"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// natTimeout: a NAT or firewall forgets an idle flow (heuristics.md
// section 5).
func natTimeout() []Scenario {
	return []Scenario{{
		Name: "nat_timeout-idle-drop", Cause: "nat_timeout", Format: pcap, Link: eth,
		Description: "The RDP relay connection carries data for 5 s, then is idle for 380 s (longer than a 350 s firewall timer); the client's next " +
			"data is retransmitted five times without an ACK and the client resets; a new connection to the same relay works at once.",
		build: buildNATIdleDrop,
	}, {
		Name: "nat_timeout-idle-rst", Cause: "nat_timeout", Format: pcapng, Link: eth,
		Description: "The Trouter WebSocket to go.trouter.skype.com idles for 360 s; the client's next frame is answered after about one RTT by a RST " +
			"with TTL 114 (the server's packets had 114), from the load balancer that dropped the flow.",
		build: buildNATIdleRST,
	}, {
		Name: "nat_timeout-stun-rebinding", Cause: "nat_timeout", Format: pcap, Link: eth,
		Description: "Home network: a TURN allocation (mapped address 203.0.113.77:40123) carries media, then UDP is idle for 150 s; the Refresh gets " +
			"437 Allocation Mismatch and a new Binding reports mapped port 61233: the NAT rebound the flow.",
		build: buildNATRebinding,
	}}
}

// relayData captures screen updates from the relay and input from the
// client for d, starting dt after the clock.
func (k *conn) relayData(dt, d time.Duration) {
	end := k.t + dt + d
	k.t += dt
	for k.t < end {
		k.appData(k.c.jitter(200*time.Millisecond), s2c, 500+k.c.r.IntN(2600))
		k.ack(k.c.jitter(ackDelay), c2s)
		if k.c.r.IntN(2) == 0 {
			k.appData(k.c.jitter(60*time.Millisecond), c2s, 60+k.c.r.IntN(120))
		}
	}
}

// relay captures a working connection to the RDP relay: Schannel
// ClientHello, TLS 1.2 with Microsoft's chain, and d of data.
func (c *capture) relay(at time.Duration, v6 bool, d time.Duration) (*conn, handshake) {
	k := c.dial(at, &qaRelay, v6, 443)
	k.open()
	hs := k.tls12(c.schannel(qaRelay.name), msChain(&qaRelay))
	k.relayData(c.jitter(5*time.Millisecond), d)
	return k, hs
}

// deadAfterIdle captures the client's data after an idle gap and its
// retransmissions (RTO doubling from the 300 ms floor), none acknowledged,
// then the client's reset. It returns the first data frame and the rest.
func (k *conn) deadAfterIdle(idle time.Duration) []handle {
	payload := decodetest.ApplicationData(90 + k.c.r.IntN(60))
	seq := k.s.Client.Next
	hs := []handle{k.seg(idle, c2s, fACK|fPSH, payload)}
	rto := windowsRTO
	for range 5 {
		hs = append(hs, k.retransmit(k.c.jitter(rto), c2s, seq, fACK|fPSH, payload))
		rto *= 2
	}
	return append(hs, k.custom(k.c.jitter(rto), c2s, fRST|fACK, nil, false, nil))
}

func buildNATIdleDrop(c *capture) {
	at := c.qaUntilRelay(100*time.Millisecond, false)
	end, _ := c.resolve(at, &qaRelay)
	k, _ := c.relay(end+c.jitter(time.Millisecond), false, 5*time.Second)
	last := k.appData(c.jitter(50*time.Millisecond), s2c, 800)
	lastAck := k.ack(c.jitter(ackDelay), c2s)
	c.key(last[len(last)-1], lastAck)
	c.key(k.deadAfterIdle(380 * time.Second)...)
	k2, hs := c.relay(k.t+c.jitter(200*time.Millisecond), false, 3*time.Second)
	k2.closeFrom(c.jitter(time.Second), c2s)
	c.key(hs.server[0])
}

func buildNATIdleRST(c *capture) {
	end, _ := c.resolve(100*time.Millisecond, &qaTrouter)
	k := c.https(end+time.Millisecond, &qaTrouter, false, 2)
	var last handle
	for range 3 { // WebSocket traffic before the idle period
		last = k.exchange(c.jitter(4*time.Second), 90, 140, c.jitter(time.Millisecond))
	}
	c.key(last)
	trigger := k.appData(360*time.Second, c2s, 96)
	rst := k.custom(k.reply(), s2c, fRST, nil, true, func(t *decodetest.TCP) {
		t.TTL, t.IPID, t.Ack, t.Window = qaTrouter.ttl, uint16(c.r.Uint32()), 0, 0
	})
	c.key(trigger[0], rst)
	end, _ = c.resolve(k.t+30*time.Millisecond, &qaTrouter)
	k2 := c.https(end+time.Millisecond, &qaTrouter, false, 2)
	k2.closeFrom(c.jitter(5*time.Second), c2s)
}

func buildNATRebinding(c *capture) {
	c.host = &home
	end, _ := c.resolve(100*time.Millisecond, &qaTURN)
	mapped := netip.AddrPortFrom(natPublic, 40123)
	s, at, hs := c.allocate(end+c.jitter(time.Millisecond), &qaTURN, mapped)
	c.key(hs[1])
	at = s.media(at, 15*time.Second)
	// 150 s without a datagram: longer than the 120 s UDP timer of many
	// NATs (RFC 4787 REQ-5 minimum, Cisco ASA default).
	at += 150 * time.Second
	f := s.f
	id := c.txID()
	_, mismatch, at := f.transact(at, decodetest.RefreshRequest(id, 600*time.Second, &turnAuth),
		decodetest.STUNError(stun.MethodRefresh, id, decodetest.STUNAllocationMismatch, "", ""))
	id = c.txID()
	at += c.jitter(2 * time.Millisecond)
	req, rebound, _ := f.transact(at, decodetest.BindingRequest(id), decodetest.BindingSuccess(id, netip.AddrPortFrom(natPublic, 61233)))
	c.key(mismatch, req, rebound)
}
