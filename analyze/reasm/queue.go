package reasm

import (
	"cmp"
	"math"
	"slices"
)

// piece is a copy of bytes that arrived ahead of the stream.
type piece struct {
	seq   uint32 // sequence number of b[0]
	frame uint64 // frame that carried these bytes
	b     []byte
}

// queue holds the out-of-order pieces of one Dir, sorted by sequence number,
// never overlapping one another, all ahead of the next byte to deliver.
type queue struct {
	pieces []piece
	bytes  int
}

// span is a range of offsets from the next byte: [lo, hi).
type span struct{ lo, hi int64 }

// size returns the bytes held; 0 for a nil queue.
func (q *queue) size() int {
	if q == nil {
		return 0
	}
	return q.bytes
}

// count returns the pieces held; 0 for a nil queue.
func (q *queue) count() int {
	if q == nil {
		return 0
	}
	return len(q.pieces)
}

// empty reports whether q holds nothing.
func (q *queue) empty() bool { return q == nil || len(q.pieces) == 0 }

// ahead returns the distance from next to the first held piece, or
// math.MaxInt64 when nothing is held.
func (q *queue) ahead(next uint32) int64 {
	if q.empty() {
		return math.MaxInt64
	}
	return rel(q.pieces[0].seq, next)
}

// pop removes the first piece and returns its bytes to budget.
func (q *queue) pop(budget *Budget) piece {
	p := q.pieces[0]
	q.pieces[0] = piece{}
	q.pieces = q.pieces[1:]
	q.bytes -= len(p.b)
	budget.give(len(p.b))
	return p
}

// uncovered stores in spans the parts of [lo, hi) that no held piece
// covers, in order, and returns how many there are and their total length.
// spans must have room for len(q.pieces)+1 entries.
func (q *queue) uncovered(next uint32, lo, hi int64, spans []span) (k int, n int64) {
	cur := lo
	if q != nil {
		for _, p := range q.pieces {
			ps := rel(p.seq, next)
			pe := ps + int64(len(p.b))
			if pe <= cur {
				continue
			}
			if ps >= hi {
				break
			}
			if ps > cur {
				spans[k] = span{cur, ps}
				k, n = k+1, n+ps-cur
			}
			cur = pe
			if cur >= hi {
				break
			}
		}
	}
	if cur < hi {
		spans[k] = span{cur, hi}
		k, n = k+1, n+hi-cur
	}
	return k, n
}

// hold copies the parts of b (which starts off bytes ahead of the next byte,
// 0 < off < limit) that are not held yet. It returns false, holding nothing,
// when that would pass MaxPieces or the budget; the caller then gives up a
// hole to make room.
//
// Bytes past the window (limit bytes beyond the next byte) are cut: they
// could be delivered only after limit bytes more, when d is Done.
func (d *Dir) hold(off int64, b []byte, frame uint64) bool {
	if room := int64(d.limit) - off; int64(len(b)) > room {
		b = b[:room]
	}
	var spans [MaxPieces + 1]span
	k, n := d.held.uncovered(d.next, off, off+int64(len(b)), spans[:])
	if k == 0 {
		d.stats.Duplicate += uint32(len(b))
		return true
	}
	if d.held.count()+k > MaxPieces || !d.budget.take(int(n)) {
		return false
	}
	if d.held == nil {
		d.held = new(queue)
	}
	d.held.insert(d.next, spans[:k], int(n), b, off, frame)
	d.stats.Duplicate += uint32(int64(len(b)) - n)
	d.stats.Reordered++
	return true
}

// insert copies the spans of b (which starts at offset off) into one buffer
// of n bytes, adds a piece per span and restores the order.
func (q *queue) insert(next uint32, spans []span, n int, b []byte, off int64, frame uint64) {
	buf := make([]byte, 0, n)
	for _, s := range spans {
		start := len(buf)
		buf = append(buf, b[s.lo-off:s.hi-off]...)
		q.pieces = append(q.pieces, piece{seq: next + uint32(s.lo), frame: frame, b: buf[start:len(buf):len(buf)]})
	}
	q.bytes += n
	slices.SortFunc(q.pieces, func(a, b piece) int {
		return cmp.Compare(rel(a.seq, next), rel(b.seq, next))
	})
}
