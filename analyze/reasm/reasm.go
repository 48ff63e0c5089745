// Package reasm reassembles the first bytes of one direction of a TCP
// connection, in sequence order, for the parsers that read handshakes from
// them: TLS (RFC 8446 4), HTTP CONNECT (RFC 9110 9.3.6), DNS over TCP
// (RFC 1035 4.2.2) and STUN over TCP (RFC 8489 6.2.2).
//
// Only a bounded prefix matters, so a Dir stops after a limit of delivered
// bytes, and out-of-order data is held only within that limit, in at most
// MaxPieces pieces, and within a Budget shared by all flows, much as
// gopacket's reassembly caps buffered pages per connection and in total.
//
// Sequence numbers are compared modulo 2^32 (RFC 9293 3.4), so streams that
// wrap past 0xffffffff reassemble like any other.
//
// Overlaps are resolved first copy wins: bytes already delivered or already
// held are trimmed from a later segment, as a receiver trims a segment to
// the part it has not received (RFC 9293 3.10.7.4, "first, check sequence
// number"). Wireshark keeps the first copy too and flags a retransmission
// whose bytes differ as tcp.segment.overlap.conflict; a forged segment that
// arrives second therefore never changes what the parsers see.
//
// The in-order path, the common case, copies nothing and allocates nothing:
// the sink reads the caller's payload. Only data that arrives ahead of a hole
// is copied.
package reasm

// Sink receives the bytes of one direction in sequence order.
type Sink interface {
	// Data delivers the next bytes of the stream. frame is the 1-based
	// capture frame that carried them, as Wireshark numbers frames. b is
	// valid only during the call: copy what you keep.
	Data(b []byte, frame uint64)
	// Gap reports that the next n bytes of the stream are missing (never
	// captured, or given up as lost); the stream continues after them.
	Gap(n uint32)
}

// Limits.
const (
	// MaxPieces is how many out-of-order pieces one Dir holds before it
	// gives up on the oldest hole. Real reordering leaves a few pieces
	// behind one lost segment; more means heavy loss, where waiting does
	// not help.
	MaxPieces = 32
	// MaxLimit is the largest limit Init accepts. Offsets from the next
	// byte are computed in 32-bit sequence space, where anything at or
	// beyond 2^31 is ambiguous (RFC 9293 3.4), so the window must stay far
	// below that.
	MaxLimit = 1 << 30
	// DefaultLimit is a limit that covers a TLS handshake up to the
	// certificates in practice (TLS records are at most 16 KiB, RFC 8446
	// 5.1, and a certificate chain rarely passes a few records).
	DefaultLimit = 64 << 10
	// DefaultBudget is a Budget size for a whole capture.
	DefaultBudget = 64 << 20
)

// Dir reassembles one direction of one TCP connection. Embed it by value in
// a flow: it is a few words when idle and allocates only to hold data that
// arrived out of order. Call Init before use; a Dir that was never
// initialised delivers nothing.
type Dir struct {
	held      *queue  // out-of-order pieces; nil when none are held
	budget    *Budget // nil: no global cap
	next      uint32  // sequence number of the next byte to deliver
	limit     uint32  // bytes to deliver before Done
	delivered uint32
	flags     uint8
	stats     Stats
}

// Dir flags.
const (
	flagStarted uint8 = 1 << iota // next is set
	flagSYN                       // the start came from a SYN
	flagDone                      // no more data accepted
)

// Stats counts the anomalies one Dir saw, so that they become evidence
// rather than being absorbed silently.
type Stats struct {
	// Duplicate counts bytes dropped because they had been delivered or
	// were already held: retransmissions and overlaps.
	Duplicate uint32
	// Lost counts bytes reported through Sink.Gap.
	Lost uint32
	// Reordered counts segments held because they arrived ahead of a hole.
	Reordered uint32
	// Ignored counts segments dropped as implausible: starting at or beyond
	// limit bytes past the next byte, which includes anything more than
	// 2^31 behind.
	Ignored uint32
}

// Init prepares d to deliver up to limit bytes, holding out-of-order data
// against budget (nil for no global cap). It panics if limit is not in
// [1, MaxLimit], a programming error. Init on a Dir in use discards its
// held data and returns it to its budget.
func (d *Dir) Init(limit int, budget *Budget) {
	if limit < 1 || limit > MaxLimit {
		panic("reasm: limit out of range")
	}
	d.release()
	*d = Dir{limit: uint32(limit), budget: budget}
}

// Done reports whether d accepts no more data: its limit was reached, it was
// flushed, or it was never initialised.
func (d *Dir) Done() bool { return d.flags&flagDone != 0 || d.limit == 0 }

// Delivered returns the number of bytes delivered through Sink.Data.
func (d *Dir) Delivered() int { return int(d.delivered) }

// SawSYN reports whether the stream's start came from a SYN, so that byte 0
// is the first byte of the connection rather than of the capture.
func (d *Dir) SawSYN() bool { return d.flags&flagSYN != 0 }

// Held returns the bytes d holds out of order.
func (d *Dir) Held() int { return d.held.size() }

// Stats returns the anomaly counters.
func (d *Dir) Stats() Stats { return d.stats }

// Segment accounts one TCP segment of this direction: its sequence number,
// whether SYN is set, its payload and the 1-based frame that carried it.
// Bytes that become contiguous are delivered to sink before it returns.
//
// The stream starts at the first SYN's seq+1 (the SYN occupies one sequence
// number, RFC 9293 3.4) or, when the capture began mid-connection, at the
// first segment with data. A SYN after the start is ignored: a
// retransmitted SYN carries nothing new, and one with another ISN belongs to
// another connection.
//
// It returns false once d is Done, so that callers stop feeding it.
func (d *Dir) Segment(seq uint32, syn bool, payload []byte, frame uint64, sink Sink) bool {
	if d.Done() {
		return false
	}
	if syn {
		if d.flags&flagStarted != 0 {
			return true
		}
		seq++
		d.next, d.flags = seq, d.flags|flagStarted|flagSYN
	}
	if len(payload) == 0 {
		return true
	}
	if d.flags&flagStarted == 0 {
		d.next, d.flags = seq, d.flags|flagStarted
	}
	d.place(seq, payload, frame, sink)
	return !d.Done()
}

// Flush ends the stream: each hole still open is reported with Sink.Gap and
// the held data after it delivered, up to the limit; buffers are freed and d
// is Done. Call it when the flow ends or the capture does.
func (d *Dir) Flush(sink Sink) {
	for d.held != nil && !d.Done() {
		d.skipHole(d.held.ahead(d.next), sink)
	}
	d.finish()
}

// rel returns the distance from next to seq in sequence space: negative
// when seq is behind. Sequence numbers are compared modulo 2^32 (RFC 9293
// 3.4), so the distance is the 32-bit difference read as signed; a
// segment more than 2^31 behind thus looks far ahead and is ignored.
func rel(seq, next uint32) int64 { return int64(int32(seq - next)) }

// place puts b, which starts at seq, into the stream: trims what was
// delivered, delivers what is next, holds what is ahead.
func (d *Dir) place(seq uint32, b []byte, frame uint64, sink Sink) {
	for len(b) > 0 && !d.Done() {
		off := rel(seq, d.next)
		switch {
		case off < 0:
			n := min(-off, int64(len(b)))
			d.stats.Duplicate += uint32(n)
			seq, b = seq+uint32(n), b[n:]
		case off == 0:
			// Deliver up to the first held piece only: its bytes
			// came first and win over this copy.
			n := len(b)
			if d.held != nil {
				n = min(n, int(d.held.ahead(d.next)))
			}
			d.deliver(b[:n], frame, sink)
			seq, b = seq+uint32(n), b[n:]
			d.drain(sink)
		case off >= int64(d.limit):
			d.stats.Ignored++
			return
		default:
			if d.hold(off, b, frame) {
				return
			}
			d.skipHole(min(off, d.held.ahead(d.next)), sink)
		}
	}
}

// deliver hands b to sink, cut at the limit, and advances the stream.
func (d *Dir) deliver(b []byte, frame uint64, sink Sink) {
	if rem := int(d.limit - d.delivered); len(b) > rem {
		b = b[:rem]
	}
	sink.Data(b, frame)
	d.delivered += uint32(len(b))
	d.next += uint32(len(b))
	if d.delivered >= d.limit {
		d.finish()
	}
}

// drain delivers the held pieces that the stream has reached.
func (d *Dir) drain(sink Sink) {
	for d.held != nil && !d.Done() && d.held.pieces[0].seq == d.next {
		p := d.held.pop(d.budget)
		if d.held.empty() {
			d.held = nil
		}
		d.deliver(p.b, p.frame, sink)
	}
}

// skipHole gives up the next n bytes as lost (n > 0), then delivers the
// held pieces that follow them.
func (d *Dir) skipHole(n int64, sink Sink) {
	sink.Gap(uint32(n))
	d.stats.Lost += uint32(n)
	d.next += uint32(n)
	d.drain(sink)
}

// finish marks d Done and frees what it holds.
func (d *Dir) finish() {
	d.release()
	d.flags |= flagDone
}

// release frees the held pieces and returns their bytes to the budget.
func (d *Dir) release() {
	if d.held != nil {
		d.budget.give(d.held.size())
		d.held = nil
	}
}
