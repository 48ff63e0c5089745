package scenario

import (
	"net/netip"
	"time"

	"github.com/pion/stun/v3"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// turnAuth is the long-term credential a TURN client gets from ACS.
var turnAuth = decodetest.STUNAuth{
	Username: "1772442000:8f3c2a71-55de-4c1e-9b7a-0c6d4e2f9a11", Realm: "rtcmedia",
	Nonce: "d8c1b4a7e63f0a92", Password: "bW9jay10dXJuLXBhc3N3b3Jk",
}

// Public addresses of the client's NAT as STUN reports them (RFC 5737
// documentation range).
var natPublic = a("203.0.113.77")

// stunBlocked: UDP to the media relays is dropped and the client falls back
// to TCP 443 (heuristics.md section 4).
func stunBlocked() []Scenario {
	return []Scenario{{
		Name: "stun_blocked-udp-dropped", Cause: "stun_blocked", Format: pcap, Link: eth,
		Description: "A Binding request and an Allocate request to relay.communication.microsoft.com (20.202.144.73:3478) and a Binding to turn.azure.com " +
			"(20.202.145.12:3478) are each sent 7 times at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s with no answer; TLS over TCP 443 to the same relay works.",
		build: buildSTUNDropped,
	}, {
		Name: "stun_blocked-turn-allocate", Cause: "stun_blocked", Format: pcapng, Link: sll2,
		Description: "Linux cooked capture on a home network: TURN Allocate requests to two ACS relays on UDP 3478 go unanswered on the RFC 8489 schedule; " +
			"after 2 s the client opens TLS over TCP 443 to the first relay, which works.",
		build: buildSTUNAllocate,
	}}
}

func buildSTUNDropped(c *capture) {
	end, _ := c.resolve(100*time.Millisecond, &qaService)
	svc := c.https(end+time.Millisecond, &qaService, false, 3)
	at := svc.t + 500*time.Millisecond
	end, _ = c.resolve(at, &qaTURN)
	end2, _ := c.resolve(at+c.jitter(300*time.Microsecond), &qaTURN2)
	start := max(end, end2) + c.jitter(2*time.Millisecond)
	b := c.stunTo(&qaTURN, decodetest.STUNPort)
	c.key(b.unanswered(start, decodetest.BindingRequest(c.txID()))...)
	al := c.stunTo(&qaTURN, decodetest.STUNPort)
	c.key(al.unanswered(start+c.jitter(20*time.Millisecond), decodetest.AllocateRequest(c.txID(), nil))...)
	b2 := c.stunTo(&qaTURN2, decodetest.STUNPort)
	c.key(b2.unanswered(start+c.jitter(40*time.Millisecond), decodetest.BindingRequest(c.txID()))...)
	c.key(c.turnOverTLS(start+3600*time.Millisecond, &qaTURN, 8*time.Second)...)
	svc.exchange(40*time.Second, 300, 900, c.jitter(3*time.Millisecond))
}

// turnOverTLS captures the TCP fallback: TLS 1.3 to the relay's port 443
// carrying media for d. It returns the SYN-ACK and the ServerHello.
func (c *capture) turnOverTLS(at time.Duration, srv *server, d time.Duration) []handle {
	k := c.dial(at, srv, false, 443)
	_, synack, _ := k.open()
	hs := k.tls13(c.chromium(srv.name))
	end := k.t + d
	for k.t < end {
		k.appData(c.jitter(100*time.Millisecond), s2c, 300+c.r.IntN(900))
		k.appData(c.jitter(10*time.Millisecond), c2s, 120+c.r.IntN(200))
	}
	k.ack(c.jitter(k.rtt), s2c)
	return []handle{synack, hs.server[0]}
}

func buildSTUNAllocate(c *capture) {
	c.host = &home
	end, _ := c.resolve(100*time.Millisecond, &qaService)
	c.https(end+time.Millisecond, &qaService, false, 2)
	end, _ = c.resolve(time.Second, &qaTURN)
	end2, _ := c.resolve(time.Second+c.jitter(400*time.Microsecond), &qaTURN2)
	start := max(end, end2) + c.jitter(2*time.Millisecond)
	for i, srv := range []*server{&qaTURN, &qaTURN2} {
		f := c.stunTo(srv, decodetest.STUNPort)
		c.key(f.unanswered(start+time.Duration(i)*c.jitter(30*time.Millisecond), decodetest.AllocateRequest(c.txID(), nil))...)
	}
	c.key(c.turnOverTLS(start+2*time.Second, &qaTURN, 6*time.Second)...)
}

// turnSession is an established TURN allocation on one client socket.
type turnSession struct {
	f       *stunFlow
	channel uint16
	peer    netip.AddrPort
}

// allocate captures a TURN allocation (RFC 8656 7): Allocate, the 401
// challenge, the authenticated Allocate and its success carrying
// mapped, then CreatePermission and ChannelBind for peer. It returns the
// session, the time it is ready and the frames of the 401 and the
// success.
func (c *capture) allocate(at time.Duration, srv *server, mapped netip.AddrPort) (*turnSession, time.Duration, []handle) {
	f := c.stunTo(srv, decodetest.STUNPort)
	id := c.txID()
	_, challenge, at := f.transact(at, decodetest.AllocateRequest(id, nil), decodetest.AllocateUnauthorized(id, turnAuth.Realm, turnAuth.Nonce))
	id = c.txID()
	relayed := netip.AddrPortFrom(srv.v4, 50000+uint16(c.r.IntN(10000)))
	_, ok, at := f.transact(at+c.jitter(400*time.Microsecond), decodetest.AllocateRequest(id, &turnAuth),
		decodetest.AllocateSuccess(id, relayed, mapped, 600*time.Second, &turnAuth))
	s := &turnSession{f: f, channel: 0x4000, peer: netip.AddrPortFrom(a("20.202.150.9"), 51422)}
	id = c.txID()
	_, _, at = f.transact(at+c.jitter(300*time.Microsecond), decodetest.CreatePermissionRequest(id, s.peer.Addr(), &turnAuth),
		decodetest.STUNSuccess(stun.MethodCreatePermission, id, &turnAuth))
	id = c.txID()
	_, _, at = f.transact(at+c.jitter(200*time.Microsecond), decodetest.ChannelBindRequest(id, s.channel, s.peer, &turnAuth),
		decodetest.STUNSuccess(stun.MethodChannelBind, id, &turnAuth))
	return s, at + time.Millisecond, []handle{challenge, ok}
}

// transact captures a request at and the relay's response one RTT later;
// it returns the frames of both and the response's time.
func (f *stunFlow) transact(at time.Duration, req, resp []byte) (q, r handle, _ time.Duration) {
	q = f.out(at, req)
	at += f.c.jitter(f.rtt)
	return q, f.in(at, resp), at
}

// media captures ChannelData both ways from at for d, every 100 ms each
// way, and returns the time of the last datagram.
func (s *turnSession) media(at, d time.Duration) time.Duration {
	c := s.f.c
	end := at + d
	for at < end {
		s.f.out(at, decodetest.ChannelData(s.channel, mediaPayload(c, 120+c.r.IntN(80))))
		s.f.in(at+c.jitter(35*time.Millisecond), decodetest.ChannelData(s.channel, mediaPayload(c, 140+c.r.IntN(120))))
		at += c.jitter(100 * time.Millisecond)
	}
	return at
}

// mediaPayload is an SRTP-looking packet: RTP version 2, then opaque bytes.
func mediaPayload(c *capture, n int) []byte {
	b := make([]byte, n)
	c.fill(b)
	b[0], b[1] = 0x90, 0x6f // V=2, X=1; payload type 111 (Opus)
	return b
}
