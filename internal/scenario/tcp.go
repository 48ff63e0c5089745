package scenario

import (
	"net/netip"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

const (
	c2s = decodetest.ClientToServer
	s2c = decodetest.ServerToClient

	fSYN = decodetest.FlagSYN
	fACK = decodetest.FlagACK
	fPSH = decodetest.FlagPSH
	fFIN = decodetest.FlagFIN
	fRST = decodetest.FlagRST
)

// Pacing of segments as the client's capture sees them: a server burst
// arrives at about 100 Mbit/s, the client sends at wire speed and
// acknowledges at once.
const (
	arrivalGap = 120 * time.Microsecond
	sendGap    = 15 * time.Microsecond
	ackDelay   = 40 * time.Microsecond
)

// conn is one TCP connection seen from the client. t is the time of the
// last frame the connection's script waits on.
type conn struct {
	c   *capture
	s   *decodetest.Session
	t   time.Duration
	rtt time.Duration
	// upstream is added to the server's answers when the TCP peer is a
	// proxy that relays them from farther away.
	upstream time.Duration
}

// reply is the delay of the server's answer to the client's last segment:
// a round trip, plus the upstream leg behind a proxy.
func (k *conn) reply() time.Duration { return k.c.jitter(k.rtt) + k.upstream }

// dial prepares a connection from the client to srv at time at; nothing is
// captured before open or syn.
func (c *capture) dial(at time.Duration, srv *server, v6 bool, port uint16) *conn {
	dst := srv.at(v6, port)
	return c.dialAddr(at, dst, srv.ttl, srv.rtt)
}

// dialAddr is dial for an address that is no server of the catalog.
func (c *capture) dialAddr(at time.Duration, dst netip.AddrPort, ttl uint8, rtt time.Duration) *conn {
	src := netip.AddrPortFrom(c.clientAddr(dst.Addr()), c.ephemeral())
	s := decodetest.NewSession(src, dst)
	s.Client.Link, s.Server.Link = c.linkFrom(true), c.linkFrom(false)
	s.Client.IP.IPID, s.Server.IP.IPID = uint16(c.r.Uint32()), uint16(c.r.Uint32())
	s.Client.Next, s.Server.Next = c.r.Uint32(), c.r.Uint32()
	s.Server.IP.TTL = ttl
	if ttl <= 64 { // a Linux server: window scale 7, MSS by family
		s.Server.WScale, s.Server.SYNWindow, s.Server.Window = 7, 64240, 502
	}
	if !dst.Addr().Is4() {
		s.Server.MSS = 1440
	}
	// The app never acts on an exact millisecond: add scheduling noise.
	return &conn{c: c, s: s, t: at + c.between(0, 800*time.Microsecond), rtt: rtt + c.slow}
}

// seg captures one segment dt after the connection's clock and advances
// the clock and the sender's state.
func (k *conn) seg(dt time.Duration, d decodetest.Dir, flags uint8, payload []byte) handle {
	k.t += dt
	return k.c.add(k.t, k.s.Segment(nil, d, flags, payload))
}

// custom captures a segment built by k.s.TCP and altered by edit, dt after
// the clock; the sender's IP ID advances unless forged is set, its
// sequence number never does.
func (k *conn) custom(dt time.Duration, d decodetest.Dir, flags uint8, payload []byte, forged bool, edit func(t *decodetest.TCP)) handle {
	k.t += dt
	t := k.s.TCP(d, flags, payload)
	if edit != nil {
		edit(&t)
	}
	if !forged {
		k.end(d).IP.IPID++
	}
	return k.c.add(k.t, t.Frame())
}

// end returns the endpoint that sends in direction d.
func (k *conn) end(d decodetest.Dir) *decodetest.Endpoint {
	if d == s2c {
		return &k.s.Server
	}
	return &k.s.Client
}

// open captures the three-way handshake: SYN, SYN-ACK one RTT later, ACK.
func (k *conn) open() (syn, synack, ack handle) {
	syn = k.seg(0, c2s, fSYN, nil)
	synack = k.seg(k.c.jitter(k.rtt), s2c, fSYN|fACK, nil)
	ack = k.seg(k.c.jitter(60*time.Microsecond), c2s, fACK, nil)
	return syn, synack, ack
}

// send captures payload from d, dt after the clock, cut at the receiver's
// MSS; the receiver acknowledges every second segment (RFC 9293 3.8.6.3).
// The last segment is left for the receiver's next segment to acknowledge.
// The clock ends at the last data segment, or at the receiver's last ACK
// when that comes later and the receiver is the client.
func (k *conn) send(dt time.Duration, d decodetest.Dir, payload []byte) []handle {
	k.t += dt
	size := k.s.SegmentSize(d)
	var hs []handle
	n := 0
	last := k.t
	for len(payload) > 0 {
		if n > 0 {
			k.t += k.gap(d)
		}
		m := min(size, len(payload))
		flags := fACK
		if m == len(payload) {
			flags |= fPSH
		}
		hs = append(hs, k.c.add(k.t, k.s.Segment(nil, d, flags, payload[:m])))
		payload = payload[m:]
		n++
		if n%2 == 0 && len(payload) > 0 {
			last = max(last, k.ackFor(d))
		}
	}
	if d == s2c {
		k.t = max(k.t, last)
	}
	return hs
}

// gap is the time between two segments of one burst from d.
func (k *conn) gap(d decodetest.Dir) time.Duration {
	if d == s2c {
		return k.c.jitter(arrivalGap)
	}
	return k.c.jitter(sendGap)
}

// ackFor captures the receiver's ACK of what d has sent so far and returns
// its time: at once from the client, one RTT later from the server.
func (k *conn) ackFor(d decodetest.Dir) time.Duration {
	at := k.t + k.c.jitter(ackDelay)
	from := c2s
	if d == c2s {
		at, from = k.t+k.c.jitter(k.rtt), s2c
	}
	k.c.add(at, k.s.Segment(nil, from, fACK, nil))
	return at
}

// ack captures a bare ACK from d, dt after the clock.
func (k *conn) ack(dt time.Duration, d decodetest.Dir) handle {
	return k.seg(dt, d, fACK, nil)
}

// exchange captures a request of req bytes of application data records
// from the client and a response of resp bytes from the server, after the
// server's think time, and the client's ACK of the response, whose
// handle it returns.
func (k *conn) exchange(dt time.Duration, req, resp int, think time.Duration) handle {
	k.send(dt, c2s, decodetest.ApplicationData(req))
	k.send(k.reply()+think, s2c, decodetest.ApplicationData(resp))
	return k.ack(k.c.jitter(ackDelay), c2s)
}

// closeFrom captures an orderly close that d starts: FIN, the peer's
// FIN-ACK and the last ACK.
func (k *conn) closeFrom(dt time.Duration, d decodetest.Dir) (fin, peerFin handle) {
	fin = k.seg(dt, d, fFIN|fACK, nil)
	if d == c2s {
		peerFin = k.seg(k.c.jitter(k.rtt), s2c, fFIN|fACK, nil)
		k.ack(k.c.jitter(ackDelay), c2s)
		return fin, peerFin
	}
	k.ack(k.c.jitter(ackDelay), c2s)
	peerFin = k.seg(k.c.jitter(200*time.Microsecond), c2s, fFIN|fACK, nil)
	k.ack(k.c.jitter(k.rtt), s2c)
	return fin, peerFin
}

// synRetries captures a SYN and its retransmissions at the delays Windows
// uses (InitialRto 1 s, doubled: RFC 6298 5.5), none answered.
func (k *conn) synRetries(n int) []handle {
	isn := k.s.Client.Next
	hs := []handle{k.seg(0, c2s, fSYN, nil)}
	rto := time.Second
	for range n {
		hs = append(hs, k.custom(k.c.jitter(rto), c2s, fSYN, nil, false, func(t *decodetest.TCP) { t.Seq = isn }))
		rto *= 2
	}
	return hs
}

// retransmit captures the segment of d that started at seq again, dt
// after the clock (a retransmission: RFC 9293 3.8.1).
func (k *conn) retransmit(dt time.Duration, d decodetest.Dir, seq uint32, flags uint8, payload []byte) handle {
	return k.custom(dt, d, flags, payload, false, func(t *decodetest.TCP) { t.Seq = seq })
}

// lose advances d's state as if a segment of payload were sent, without
// capturing it: a segment lost before the capture point.
func (k *conn) lose(d decodetest.Dir, flags uint8, payload []byte) uint32 {
	seq := k.end(d).Next
	k.s.Segment(nil, d, flags, payload)
	return seq
}
