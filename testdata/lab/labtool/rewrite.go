package main

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"strings"
)

// runRewrite maps IPv4 addresses in a pcap or pcapng file in place (the
// container, timestamps, options and comments are kept byte for byte):
// IPv4 source and destination, addresses quoted in ICMP errors, and DNS A
// records, with every checksum that covers them adjusted incrementally
// (RFC 1624), so snaplen-truncated packets stay consistent too.
//
//	labtool rewrite IN OUT LABADDR=REALADDR...
func runRewrite(args []string) error {
	if len(args) < 3 {
		return errors.New("usage: rewrite IN OUT FROM=TO...")
	}
	m := map[[4]byte][4]byte{}
	for _, kv := range args[2:] {
		from, to, ok := strings.Cut(kv, "=")
		a, err1 := netip.ParseAddr(from)
		b, err2 := netip.ParseAddr(to)
		if !ok || err1 != nil || err2 != nil || !a.Is4() || !b.Is4() {
			return fmt.Errorf("bad mapping %q", kv)
		}
		m[a.As4()] = b.As4()
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return err
	}
	rw := &rewriter{m: m}
	if len(b) >= 4 && binary.BigEndian.Uint32(b) == 0x0A0D0D0A {
		err = rw.pcapng(b)
	} else {
		err = rw.pcap(b)
	}
	if err != nil {
		return err
	}
	return os.WriteFile(args[1], b, 0o644)
}

type rewriter struct{ m map[[4]byte][4]byte }

func (rw *rewriter) pcap(b []byte) error {
	if len(b) < 24 {
		return errors.New("short pcap")
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch binary.LittleEndian.Uint32(b) {
	case 0xa1b2c3d4, 0xa1b23c4d:
	default:
		bo = binary.BigEndian
	}
	link := bo.Uint32(b[20:])
	for off := 24; off+16 <= len(b); {
		n := int(bo.Uint32(b[off+8:]))
		if off+16+n > len(b) {
			return errors.New("truncated pcap record")
		}
		rw.packet(link, b[off+16:off+16+n])
		off += 16 + n
	}
	return nil
}

func (rw *rewriter) pcapng(b []byte) error {
	var bo binary.ByteOrder = binary.LittleEndian
	var links []uint32
	for off := 0; off+12 <= len(b); {
		typ := bo.Uint32(b[off:])
		if typ == 0x0A0D0D0A {
			if binary.LittleEndian.Uint32(b[off+8:]) != 0x1A2B3C4D {
				bo = binary.BigEndian
			} else {
				bo = binary.LittleEndian
			}
			links = nil
		}
		n := int(bo.Uint32(b[off+4:]))
		if n < 12 || off+n > len(b) {
			return errors.New("bad pcapng block")
		}
		blk := b[off : off+n]
		switch typ {
		case 1:
			links = append(links, uint32(bo.Uint16(blk[8:])))
		case 6:
			id, caplen := bo.Uint32(blk[8:]), int(bo.Uint32(blk[20:]))
			if int(id) < len(links) && 28+caplen <= n {
				rw.packet(links[id], blk[28:28+caplen])
			}
		}
		off += n
	}
	return nil
}

// packet rewrites one frame; only IPv4 is touched.
func (rw *rewriter) packet(link uint32, p []byte) {
	var l3 int
	switch link {
	case 1: // Ethernet
		if len(p) < 14 || binary.BigEndian.Uint16(p[12:]) != 0x0800 {
			return
		}
		l3 = 14
	case 113: // Linux SLL
		if len(p) < 16 || binary.BigEndian.Uint16(p[14:]) != 0x0800 {
			return
		}
		l3 = 16
	case 276: // Linux SLL2
		if len(p) < 20 || binary.BigEndian.Uint16(p[0:]) != 0x0800 {
			return
		}
		l3 = 20
	case 101, 12: // raw IP
	default:
		return
	}
	rw.ipv4(p[l3:])
}

// csum is a checksum field at off whose coverage starts at start (the
// parity of a byte within the coverage decides its weight).
type csum struct{ off, start int }

// put writes v at b[at:] and adjusts every checksum in sums (RFC 1624 eqn 3,
// applied per byte). Fields beyond the captured bytes are skipped.
func put(b []byte, at int, v []byte, sums []csum) {
	for i, nb := range v {
		p := at + i
		if p >= len(b) {
			return
		}
		ob := b[p]
		b[p] = nb
		if ob == nb {
			continue
		}
		for _, s := range sums {
			if s.off+2 > len(b) || p == s.off || p == s.off+1 {
				continue
			}
			ow, nw := uint32(ob), uint32(nb)
			if (p-s.start)%2 == 0 {
				ow, nw = ow<<8, nw<<8
			}
			c := uint32(^binary.BigEndian.Uint16(b[s.off:])) + (^ow & 0xffff) + nw
			for c>>16 != 0 {
				c = c&0xffff + c>>16
			}
			binary.BigEndian.PutUint16(b[s.off:], ^uint16(c))
		}
	}
}

func (rw *rewriter) mapAddr(b []byte, at int, sums []csum) {
	if at+4 > len(b) {
		return
	}
	if to, ok := rw.m[[4]byte(b[at:at+4])]; ok {
		put(b, at, to[:], sums)
	}
}

// ipv4 rewrites an IPv4 packet starting at b[0].
func (rw *rewriter) ipv4(b []byte) {
	if len(b) < 20 || b[0]>>4 != 4 {
		return
	}
	ihl := int(b[0]&15) * 4
	ipSum := csum{10, 0}
	var l4 []csum
	switch b[9] {
	case 6:
		l4 = []csum{{ihl + 16, ihl}}
	case 17:
		if ihl+8 <= len(b) && binary.BigEndian.Uint16(b[ihl+6:]) != 0 {
			l4 = []csum{{ihl + 6, ihl}}
		}
	}
	sums := append([]csum{ipSum}, l4...)
	rw.mapAddr(b, 12, sums)
	rw.mapAddr(b, 16, sums)
	if ihl > len(b) {
		return
	}
	switch b[9] {
	case 1:
		rw.icmp(b[ihl:])
	case 17:
		if ihl+8 <= len(b) {
			sp, dp := binary.BigEndian.Uint16(b[ihl:]), binary.BigEndian.Uint16(b[ihl+2:])
			if sp == 53 || dp == 53 {
				rw.dns(b, ihl+8, l4)
			}
		}
	}
}

// icmp rewrites the IPv4 header (and what follows) quoted in a destination
// unreachable or time exceeded message (RFC 792): the quoted packet is
// rewritten in a copy, then every changed byte goes back through put so the
// ICMP checksum (which covers the quote, same parity) follows.
func (rw *rewriter) icmp(b []byte) {
	if len(b) < 8+20 || (b[0] != 3 && b[0] != 11) {
		return
	}
	cp := append([]byte{}, b[8:]...)
	rw.ipv4(cp)
	put(b, 8, cp, []csum{{2, 0}})
}

// dns rewrites A records in the DNS message at b[off:] (RFC 1035 4.1).
func (rw *rewriter) dns(b []byte, off int, sums []csum) {
	msg := b[off:]
	if len(msg) < 12 {
		return
	}
	qd := int(binary.BigEndian.Uint16(msg[4:]))
	rr := int(binary.BigEndian.Uint16(msg[6:])) + int(binary.BigEndian.Uint16(msg[8:])) + int(binary.BigEndian.Uint16(msg[10:]))
	p := 12
	for i := 0; i < qd && p >= 0; i++ {
		p = skipName(msg, p)
		p += 4
	}
	for i := 0; i < rr && p >= 0 && p+10 <= len(msg); i++ {
		p = skipName(msg, p)
		if p < 0 || p+10 > len(msg) {
			return
		}
		typ, rdlen := binary.BigEndian.Uint16(msg[p:]), int(binary.BigEndian.Uint16(msg[p+8:]))
		p += 10
		if typ == 1 && rdlen == 4 {
			rw.mapAddr(b, off+p, sums)
		}
		p += rdlen
	}
}

func skipName(m []byte, p int) int {
	for p < len(m) {
		l := int(m[p])
		switch {
		case l == 0:
			return p + 1
		case l&0xc0 == 0xc0:
			return p + 2
		default:
			p += 1 + l
		}
	}
	return -1
}
