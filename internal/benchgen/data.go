package benchgen

import (
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// sendMode says what a send carries.
type sendMode uint8

const (
	sendHandshake sendMode = iota // handshake bytes: no anomalies
	sendHello                     // a ClientHello: its last segment is counted
	sendData                      // application data: retransmissions and reordering allowed
)

// ACK timing: the client acknowledges every second segment at once and a
// lone one when its delayed-ACK timer fires, unless its next request
// carries the ACK first; servers acknowledge a request at once unless the
// response is ready within serverQuickResponse.
const (
	clientDelayedACK    = 40 * time.Millisecond
	serverQuickResponse = 3 * time.Millisecond
)

// send transmits head followed by application_data records with appLen
// bytes of body from direction d, dt after the current frame, cut at the
// receiver's MSS. The client acknowledges every second server segment.
func (c *conn) send(dt int64, d decodetest.Dir, head []byte, appLen int, mode sendMode) bool {
	total := len(head) + decodetest.ApplicationDataLen(appLen)
	if total == 0 {
		return true
	}
	mss := c.s.SegmentSize(d)
	base := c.endpoint(d).Next
	n := (total + mss - 1) / mss
	swap := -1
	if mode == sendData && d == s2c && n >= 2 && chance(c.r, pReorder) {
		swap = c.r.IntN(n - 1)
	}
	c.t += dt
	for i := range n {
		j := i
		switch {
		case i == swap:
			j = i + 1
		case swap >= 0 && i == swap+1:
			j = swap
		}
		off := j * mss
		ln := min(mss, total-off)
		flags := decodetest.FlagACK
		if j == n-1 {
			flags |= decodetest.FlagPSH
		}
		if i > 0 {
			c.t += c.spacing(d)
		}
		payload := c.payload(head, appLen, off, ln)
		c.f.hello = mode == sendHello && i == n-1
		ok := c.segAt(d, base+uint32(off), flags, payload)
		c.f.hello = false
		if !ok {
			return false
		}
		if mode == sendData && chance(c.r, pRetransmit) {
			c.t += uniformDur(c.r, 200*time.Microsecond, 600*time.Microsecond)
			if !c.segAt(d, base+uint32(off), flags, payload) {
				return false
			}
		}
		if d == c2s {
			c.unacked = 0 // the segment carries the client's ACK
			continue
		}
		if c.unacked++; c.unacked >= 2 && i != swap {
			c.t += uniformDur(c.r, 15*time.Microsecond, 40*time.Microsecond)
			if !c.ackAt(c2s, base+uint32(min((i+1)*mss, total))) {
				return false
			}
		}
	}
	c.endpoint(d).Next = base + uint32(total)
	return true
}

// spacing is the time between back-to-back segments: the bottleneck's
// serialization time for the server, the NIC's for the client.
func (c *conn) spacing(d decodetest.Dir) int64 {
	if d == s2c {
		return int64(c.p.linkDelay)
	}
	return uniformDur(c.r, 5*time.Microsecond, 20*time.Microsecond)
}

// payload returns bytes [off, off+n) of head followed by appLen bytes of
// application_data records, in a reused buffer.
func (c *conn) payload(head []byte, appLen, off, n int) []byte {
	p := c.pay[:0]
	if off < len(head) {
		k := min(n, len(head)-off)
		p = append(p, head[off:off+k]...)
		off, n = off+k, n-k
	}
	if n > 0 {
		p = decodetest.AppendApplicationDataRange(p, appLen, off-len(head), n)
	}
	c.pay = p
	return p
}

// ackAt emits a bare ACK from d acknowledging ack.
func (c *conn) ackAt(d decodetest.Dir, ack uint32) bool {
	t := c.s.TCP(d, decodetest.FlagACK, nil)
	t.Ack = ack
	c.buf = t.AppendFrame(c.buf[:0])
	c.endpoint(d).IP.IPID++
	if d == c2s {
		c.unacked = 0
	}
	return c.emit(c.buf)
}

// messages plays the request/response exchanges of the connection.
func (c *conn) messages() bool {
	ov := overhead13
	if !c.p.tls13 {
		ov = overhead12
	}
	gap := uniformDur(c.r, 50*time.Microsecond, 300*time.Microsecond)
	for i := range c.p.msgs {
		if !c.send(gap, c2s, nil, requestSize(c.r)+ov, sendData) {
			return false
		}
		think := dur(c.r, 12*time.Millisecond, 1.0, 200*time.Microsecond, 2*time.Second)
		delay := c.p.rtt + think
		if think > int64(serverQuickResponse) {
			ack := uniformDur(c.r, 50*time.Microsecond, 300*time.Microsecond)
			if !c.seg(c.p.rtt+ack, s2c, decodetest.FlagACK, nil) {
				return false
			}
			delay = think - ack
		}
		if i == 0 && c.p.tls13 { // two NewSessionTickets (RFC 8446 4.6.1)
			if !c.send(delay, s2c, nil, 2*(200+c.r.IntN(100)), sendHandshake) {
				return false
			}
			delay = int64(20 * time.Microsecond)
		}
		if !c.response(delay, responseSize(c.r, c.p.respScale), ov) {
			return false
		}
		gap = messageGap(c.r, c.p.gapMean)
		if c.unacked > 0 && gap > int64(clientDelayedACK) {
			if !c.seg(int64(clientDelayedACK), c2s, decodetest.FlagACK, nil) {
				return false
			}
			gap -= int64(clientDelayedACK)
		}
	}
	c.gap = gap
	return true
}

// response sends a response body of n bytes. Most HTTP/2 servers flush
// the HEADERS frame in a record of its own before the DATA frames, so 60 %
// of responses take two sends.
func (c *conn) response(delay int64, n, ov int) bool {
	if n > 60 && chance(c.r, 0.6) {
		h := 20 + c.r.IntN(25)
		if !c.send(delay, s2c, nil, h+ov, sendData) {
			return false
		}
		delay, n = uniformDur(c.r, 200*time.Microsecond, 3*time.Millisecond), n-h
	}
	return c.send(delay, s2c, nil, n+ov, sendData)
}

// finish closes the connection: a FIN exchange started by either side, a
// client RST, or nothing (left open).
func (c *conn) finish() bool {
	idle := c.gap + uniformDur(c.r, 10*time.Millisecond, 15*time.Second)
	const fin = decodetest.FlagFIN | decodetest.FlagACK
	switch {
	case c.p.close == closeOpen:
		return true
	case c.p.close == closeRST:
		return c.seg(idle, c2s, decodetest.FlagRST|decodetest.FlagACK, nil)
	case c.p.serverClose:
		return c.seg(idle, s2c, fin, nil) &&
			c.seg(uniformDur(c.r, 20*time.Microsecond, 100*time.Microsecond), c2s, decodetest.FlagACK, nil) &&
			c.seg(uniformDur(c.r, 200*time.Microsecond, 2*time.Millisecond), c2s, fin, nil) &&
			c.seg(c.p.rtt, s2c, decodetest.FlagACK, nil)
	default:
		return c.seg(idle, c2s, fin, nil) &&
			c.seg(c.p.rtt, s2c, fin, nil) &&
			c.seg(uniformDur(c.r, 20*time.Microsecond, 100*time.Microsecond), c2s, decodetest.FlagACK, nil)
	}
}
