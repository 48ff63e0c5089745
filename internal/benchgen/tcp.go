package benchgen

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

const (
	c2s = decodetest.ClientToServer
	s2c = decodetest.ServerToClient
)

// Probabilities of the TCP anomalies in the data phase: a duplicated data
// segment (a spurious retransmission, about 0.3 % of all packets) and a
// swapped pair of segments in a server burst.
const (
	pRetransmit = 0.005
	pReorder    = 0.002
)

// conn is the coroutine state of one TCP connection.
type conn struct {
	script
	g      *gen
	p      plan
	s      decodetest.Session
	buf    []byte // frame under construction
	pay    []byte // payload under construction
	flight []byte // handshake bytes being sent
	// unacked counts the server's segments the client has not acknowledged.
	unacked int
	gap     int64 // idle time before the next client action
}

// startTCP starts connection p at time at.
func (g *gen) startTCP(p plan, r *rand.Rand, at int64) {
	c := &conn{g: g, p: p}
	c.f = &flow{v6: p.v6}
	c.r, c.t = r, at
	c.s = *c.session()
	g.start(c.f, func(yield func(int64) bool) {
		c.yield = yield
		c.run()
	})
}

// session sets up the endpoints: a Windows client with the host's
// addresses and the site's server as the capture on the client sees it.
func (c *conn) session() *decodetest.Session {
	h, st := &c.g.hosts[c.p.host], &sites[c.p.site]
	client, server := netip.AddrPortFrom(h.v4, h.port()), netip.AddrPortFrom(st.v4, 443)
	if c.p.v6 {
		client, server = netip.AddrPortFrom(h.v6, client.Port()), netip.AddrPortFrom(st.v6, 443)
	}
	s := decodetest.NewSession(client, server)
	s.Client.Link = decodetest.Link{SrcMAC: h.mac, DstMAC: gatewayMAC}
	s.Server.Link = decodetest.Link{SrcMAC: gatewayMAC, DstMAC: h.mac, Pad: true}
	s.Client.IP.IPID, s.Server.IP.IPID = uint16(c.r.Uint32()), uint16(c.r.Uint32())
	s.Server.IP.TTL = st.ttl
	s.Client.Next, s.Server.Next = c.r.Uint32(), c.r.Uint32()
	return s
}

// seg emits one segment dt after the current frame and advances the session.
func (c *conn) seg(dt int64, d decodetest.Dir, flags uint8, payload []byte) bool {
	c.t += dt
	c.buf = c.s.Segment(c.buf[:0], d, flags, payload)
	if d == c2s {
		c.unacked = 0
	}
	return c.emit(c.buf)
}

// segAt emits a segment with a chosen sequence number without moving the
// sender's next sequence number; its IP ID still advances.
func (c *conn) segAt(d decodetest.Dir, seq uint32, flags uint8, payload []byte) bool {
	t := c.s.TCP(d, flags, payload)
	t.Seq = seq
	c.buf = t.AppendFrame(c.buf[:0])
	c.endpoint(d).IP.IPID++
	return c.emit(c.buf)
}

func (c *conn) endpoint(d decodetest.Dir) *decodetest.Endpoint {
	if d == s2c {
		return &c.s.Server
	}
	return &c.s.Client
}

// run plays the connection's outcome.
func (c *conn) run() {
	switch c.p.out {
	case outNoAnswer:
		c.unanswered()
		return
	case outRefused:
		_ = c.seg(0, c2s, decodetest.FlagSYN, nil) && c.refuse()
		return
	}
	if !c.handshake() {
		return
	}
	hello, sid := clientHello(c.flight[:0], &c.p, c.r)
	c.flight = hello
	if !c.send(uniformDur(c.r, 100*time.Microsecond, 600*time.Microsecond), c2s, c.flight, 0, sendHello) {
		return
	}
	switch c.p.out {
	case outForgedRST:
		c.forgedReset()
	case outAlert:
		c.alert()
	default:
		_ = c.tlsHandshake(sid) && c.messages() && c.finish()
	}
}

// unanswered sends a SYN and three retransmissions after 1, 2 and 4 s:
// RFC 6298 2.1 and 5.5 (initial RTO 1 s, doubled on each timeout).
func (c *conn) unanswered() {
	isn := c.s.Client.Next
	for i, dt := range []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second} {
		c.t += int64(dt)
		if i == 0 {
			if !c.seg(0, c2s, decodetest.FlagSYN, nil) {
				return
			}
			continue
		}
		t := c.s.TCP(c2s, decodetest.FlagSYN, nil)
		t.Seq = isn
		c.buf = t.AppendFrame(c.buf[:0])
		c.s.Client.IP.IPID++
		if !c.emit(c.buf) {
			return
		}
	}
}

// refuse answers the SYN with a RST-ACK from the server (RFC 9293 3.10.7.1:
// sequence number 0, acknowledging the SYN).
func (c *conn) refuse() bool {
	c.t += c.p.rtt
	return c.segAt(s2c, 0, decodetest.FlagRST|decodetest.FlagACK, nil)
}

func (c *conn) handshake() bool {
	return c.seg(0, c2s, decodetest.FlagSYN, nil) &&
		c.seg(c.p.rtt, s2c, decodetest.FlagSYN|decodetest.FlagACK, nil) &&
		c.seg(uniformDur(c.r, 20*time.Microsecond, 80*time.Microsecond), c2s, decodetest.FlagACK, nil)
}

// forgedReset injects a RST-ACK "from the server" sooner than the server
// could answer, with TTL 64 where the server's packets arrive with its own
// (shared/research/heuristics.md, RST injection rows 7 and 8).
func (c *conn) forgedReset() bool {
	c.t += c.p.rtt/5 + uniformDur(c.r, 100*time.Microsecond, time.Millisecond)
	t := c.s.TCP(s2c, decodetest.FlagRST|decodetest.FlagACK, nil)
	t.TTL, t.IPID, t.DF, t.Window = 64, 0, false, 0
	c.buf = t.AppendFrame(c.buf[:0])
	return c.emit(c.buf)
}

// alert answers the ClientHello with a fatal handshake_failure alert and
// a FIN; the client acknowledges and closes.
func (c *conn) alert() bool {
	al := decodetest.Alert(decodetest.AlertFatal, decodetest.AlertHandshakeFailure)
	return c.seg(c.p.rtt+uniformDur(c.r, 500*time.Microsecond, 3*time.Millisecond), s2c, decodetest.FlagPSH|decodetest.FlagACK, al) &&
		c.seg(20*int64(time.Microsecond), s2c, decodetest.FlagFIN|decodetest.FlagACK, nil) &&
		c.seg(uniformDur(c.r, 30*time.Microsecond, 300*time.Microsecond), c2s, decodetest.FlagACK, nil) &&
		c.seg(uniformDur(c.r, 200*time.Microsecond, 2*time.Millisecond), c2s, decodetest.FlagFIN|decodetest.FlagACK, nil) &&
		c.seg(c.p.rtt, s2c, decodetest.FlagACK, nil)
}

// tlsHandshake plays the server's flight, the client's second flight and,
// for TLS 1.3, the server's NewSessionTickets (RFC 8446 4.6.1).
func (c *conn) tlsHandshake(sid []byte) bool {
	head, enc := c.g.tls.serverFlight(c.flight[:0], &c.p, sid, c.r)
	c.flight = head
	if !c.send(c.p.rtt+uniformDur(c.r, 500*time.Microsecond, 4*time.Millisecond), s2c, head, enc, 0) {
		return false
	}
	crypto := uniformDur(c.r, 300*time.Microsecond, 2*time.Millisecond)
	if !c.p.tls13 {
		return c.send(crypto, c2s, c.g.tls.client12, 0, 0) &&
			c.send(c.p.rtt+uniformDur(c.r, 200*time.Microsecond, time.Millisecond), s2c, c.g.tls.server12, 0, 0)
	}
	// ChangeCipherSpec (middlebox compatibility mode, RFC 8446 D.4) and Finished.
	return c.send(crypto, c2s, c.g.tls.ccs, 32+4+overhead13, 0)
}
