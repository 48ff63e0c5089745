package decode

import (
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Limits on fragment reassembly. Fragments are rare in the captures qadiag
// reads (a sign of an MTU problem when they appear), so the table is small
// and a flood of fragments cannot grow memory: beyond the limits the oldest
// datagram is dropped. 30 s is Linux's ipfrag_time.
const (
	maxFragDatagrams = 64
	maxDatagramBytes = 65535
	fragTimeout      = 30 * time.Second
)

type fragKey struct {
	src, dst netip.Addr
	id       uint32
	proto    uint8
}

type fragPiece struct {
	off  int
	data []byte
}

type datagram struct {
	key    fragKey
	first  time.Time
	pieces []fragPiece
	total  int // length of the whole datagram once the last fragment arrived, else -1
}

type defragmenter struct {
	list []*datagram // oldest first
	buf  []byte
}

// add records one fragment and returns the whole transport payload when the
// datagram is complete (valid until the next call).
func (df *defragmenter) add(k fragKey, now time.Time, off int, more bool, data []byte) ([]byte, bool) {
	df.expire(now)
	if off+len(data) > maxDatagramBytes {
		return nil, false
	}
	i := slices.IndexFunc(df.list, func(g *datagram) bool { return g.key == k })
	if i < 0 {
		if len(df.list) == maxFragDatagrams {
			df.list = slices.Delete(df.list, 0, 1)
		}
		df.list = append(df.list, &datagram{key: k, first: now, total: -1})
		i = len(df.list) - 1
	}
	g := df.list[i]
	g.pieces = append(g.pieces, fragPiece{off: off, data: slices.Clone(data)})
	if !more {
		g.total = off + len(data)
	}
	whole, ok := g.assemble(df.buf[:0])
	if ok {
		df.buf = whole
		df.list = slices.Delete(df.list, i, i+1)
	}
	return whole, ok
}

// assemble joins the pieces if they cover [0, total) without a hole; a
// later piece overrides an earlier one where they overlap.
func (g *datagram) assemble(dst []byte) ([]byte, bool) {
	if g.total < 0 {
		return nil, false
	}
	slices.SortStableFunc(g.pieces, func(a, b fragPiece) int { return a.off - b.off })
	covered := 0
	for _, p := range g.pieces {
		if p.off > covered {
			return nil, false
		}
		covered = max(covered, p.off+len(p.data))
	}
	if covered < g.total {
		return nil, false
	}
	dst = slices.Grow(dst, g.total)[:g.total]
	for _, p := range g.pieces {
		copy(dst[p.off:min(p.off+len(p.data), g.total)], p.data)
	}
	return dst, true
}

func (df *defragmenter) expire(now time.Time) {
	n := 0
	for n < len(df.list) && now.Sub(df.list[n].first) > fragTimeout {
		n++
	}
	if n > 0 {
		df.list = slices.Delete(df.list, 0, n)
	}
}

// reassemble4 handles an IPv4 fragment (RFC 791 3.2): it marks the packet a
// fragment, or, when this fragment completes the datagram, decodes the
// transport header from the reassembled bytes.
func (d *Decoder) reassemble4(f *Frame, p *Packet) {
	if d.ip4.FragOffset == 0 && len(d.ip4.Payload) < int(d.ip4.Length)-int(d.ip4.IHL)*4 {
		// A first fragment cut short cannot be reassembled; Wireshark then
		// dissects the transport header it holds, and so does qadiag.
		p.Truncated = true
		d.transport(d.ip4.Payload, p)
		return
	}
	k := fragKey{src: p.Src, dst: p.Dst, id: uint32(d.ip4.Id), proto: p.Proto}
	more := d.ip4.Flags&layers.IPv4MoreFragments != 0
	whole, ok := d.frag.add(k, f.Time, int(d.ip4.FragOffset)*8, more, d.ip4.Payload)
	if !ok {
		p.Fragment = true
		return
	}
	p.Reassembled = true
	d.transport(whole, p)
}

// ipv6Extensions walks the extension headers gopacket's parser stops at
// (RFC 8200 4) and decodes the transport header behind them, reassembling
// fragments (RFC 8200 4.5).
func (d *Decoder) ipv6Extensions(f *Frame, p *Packet) {
	next, b := d.ip6NextHeader(), d.ip6.Payload
	for isIPv6Extension(next) {
		if len(b) < 8 {
			p.Truncated = true
			return
		}
		n := extLen(next, b)
		if n > len(b) {
			p.Truncated = true
			return
		}
		if next == 44 { // Fragment header
			off, more, id := int(be16(b[2:])&^7), b[3]&1 == 1, be32(b[4:])
			if off != 0 || more {
				p.Proto = b[0]
				whole, ok := d.frag.add(fragKey{src: p.Src, dst: p.Dst, id: id, proto: b[0]}, f.Time, off, more, b[8:])
				if !ok {
					p.Fragment = true
					return
				}
				p.Reassembled = true
				d.transport(whole, p)
				return
			}
		}
		next, b = b[0], b[n:]
	}
	p.Proto = next
	d.transport(b, p)
}

func isIPv6Extension(next uint8) bool {
	switch next {
	case 0, 43, 44, 51, 60, 135, 139, 140: // RFC 8200 4, RFC 4302 (AH), RFC 6275, RFC 7401, RFC 5533
		return true
	}
	return false
}

// extLen is the length of one IPv6 extension header: 8 for Fragment, AH's
// length in 4-octet units plus 2 (RFC 4302 2.2), others in 8-octet units
// plus 1 (RFC 8200 4.3).
func extLen(next uint8, b []byte) int {
	switch next {
	case 44:
		return 8
	case 51:
		return (int(b[1]) + 2) * 4
	}
	return (int(b[1]) + 1) * 8
}

// transport decodes a TCP or UDP header found outside the layer parser.
func (d *Decoder) transport(b []byte, p *Packet) {
	switch p.Proto {
	case ProtoTCP:
		if err := d.tcp.DecodeFromBytes(b, nopFeedback{}); err != nil {
			p.Malformed = layerError(nil, err)
			return
		}
		d.fromTCP(p)
	case ProtoUDP:
		if err := d.udp.DecodeFromBytes(b, nopFeedback{}); err != nil {
			p.Malformed = layerError(nil, err)
			return
		}
		d.fromUDP(p)
	}
}

type nopFeedback struct{}

func (nopFeedback) SetTruncated() {}
