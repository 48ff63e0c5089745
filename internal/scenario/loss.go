package scenario

import (
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// lossyBurst captures a server burst of six segments whose second is lost
// before the capture point: the client answers each later segment with a
// duplicate ACK carrying a SACK block (RFC 2018), the server's fast
// retransmission (RFC 5681 3.2) arrives one RTT after the third, and the
// client's ACK covers the whole burst. The first ACK after the hole is
// new (it acknowledges the first segment); three duplicates follow. It returns the duplicate ACKs, the
// retransmission and the final ACK.
func (k *conn) lossyBurst(dt time.Duration) []handle {
	size := k.s.SegmentSize(s2c)
	data := decodetest.ApplicationData(5*size + 300 - 5)
	k.t += dt
	var hs []handle
	var hole uint32
	var lost []byte
	for i := 0; len(data) > 0; i++ {
		n := min(size, len(data))
		seg := data[:n]
		data = data[n:]
		flags := fACK
		if len(data) == 0 {
			flags |= fPSH
		}
		switch {
		case i == 1:
			hole, lost = k.lose(s2c, flags, seg), seg
		case i == 0:
			k.seg(0, s2c, flags, seg)
		default:
			k.seg(0, s2c, flags, seg)
			left := hole + uint32(len(lost))
			hs = append(hs, k.sackAbove(k.c.jitter(ackDelay), hole, left, k.s.Server.Next))
		}
		k.t += k.c.jitter(arrivalGap)
	}
	// The server sees the third duplicate half an RTT later and resends
	// at once; that arrives a little over one RTT after the last ACK.
	hs = append(hs, k.retransmit(k.rtt+k.rtt/5+k.c.jitter(2*time.Millisecond), s2c, hole, fACK, lost))
	return append(hs, k.ack(k.c.jitter(ackDelay), c2s))
}

// lostClientSegment captures client input that is lost after the capture
// point, its retransmission after the 300 ms floor of the Windows RTO and
// the server's ACK. It returns the three frames.
func (k *conn) lostClientSegment(dt time.Duration) []handle {
	payload := decodetest.ApplicationData(110)
	seq := k.s.Client.Next
	first := k.seg(dt, c2s, fACK|fPSH, payload)
	again := k.retransmit(k.c.jitter(windowsRTO), c2s, seq, fACK|fPSH, payload)
	return []handle{first, again, k.ack(k.reply(), s2c)}
}
