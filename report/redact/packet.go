package redact

import (
	"encoding/binary"
	"net/netip"
	"slices"

	"github.com/gopacket/gopacket/layers"
)

// maxDepth bounds nested IP headers: an ICMP error quoting a packet, an
// IP-in-IP tunnel.
const maxDepth = 3

// Packet returns a redacted copy of one frame of link type lt for the
// evidence capture; data is not modified. MAC addresses and IP addresses
// are mapped as in the reports (Microsoft's servers stay), the IPv4 header
// checksum is recomputed and the TCP, UDP and ICMP checksums are updated
// for every changed byte (RFC 1624), so a checksum that was valid stays
// valid, also in frames cut by the snapshot length or in fragments. In the
// payload, TLS record and handshake structure stays, with the server name
// and certificate names outside the catalog replaced by pseudonyms of the
// same length; DNS names and addresses are rewritten in place (same
// length, so compression offsets hold); STUN addresses are mapped and
// usernames replaced; HTTP headers keep their names, credentials, cookies
// and unknown values become 'x' and bodies zeros. Payloads of other
// protocols, fragments after the first, and whatever the frame holds beyond
// a header that cannot be parsed become zeros: frames keep their length.
//
// Ethernet (with 802.1Q tags and PPPoE), Linux SLL and SLL2, BSD null and
// loopback, and raw IP are understood; a frame of another link type is
// zeroed. Call Result first, so that the servers a catalog name resolved to
// stay visible and the names of the reports are swept from the payloads.
func (r *Redactor) Packet(lt layers.LinkType, data []byte) []byte {
	b := slices.Clone(data)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.link(lt, b)
	return b
}

func (r *Redactor) link(lt layers.LinkType, b []byte) {
	switch lt {
	case layers.LinkTypeEthernet:
		r.ethernet(b)
	case layers.LinkTypeLinuxSLL:
		// packet type, ARPHRD type, address length, 8-byte address,
		// protocol (tcpdump.org/linktypes/LINKTYPE_LINUX_SLL.html).
		if len(b) < 16 {
			clear(b)
			return
		}
		if be16(b[4:]) == 6 {
			r.mac(b[6:12])
		}
		r.etherType(be16(b[14:]), b[16:])
	case layers.LinkTypeLinuxSLL2:
		// protocol, reserved, interface, ARPHRD type, packet type, address
		// length, 8-byte address (LINKTYPE_LINUX_SLL2).
		if len(b) < 20 {
			clear(b)
			return
		}
		if b[11] == 6 {
			r.mac(b[12:18])
		}
		r.etherType(be16(b), b[20:])
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		if len(b) < 4 {
			clear(b)
			return
		}
		r.ip(b[4:], 0)
	case layers.LinkTypeRaw, linkTypeRawOpenBSD, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		r.ip(b, 0)
	default:
		clear(b)
	}
}

// linkTypeRawOpenBSD is DLT_RAW's value on OpenBSD, as decode reads it.
const linkTypeRawOpenBSD = 12

func (r *Redactor) ethernet(b []byte) {
	if len(b) < 14 {
		clear(b)
		return
	}
	r.mac(b[0:6])
	r.mac(b[6:12])
	off, et := 12, be16(b[12:])
	for (et == 0x8100 || et == 0x88a8 || et == 0x9100) && off+6 <= len(b) { // 802.1Q, 802.1ad tags
		off += 4
		et = be16(b[off:])
	}
	r.etherType(et, b[off+2:])
}

func (r *Redactor) etherType(et uint16, p []byte) {
	switch et {
	case 0x0800, 0x86dd:
		r.ip(p, 0)
	case 0x0806:
		r.arp(p)
	case 0x8864: // PPPoE session (RFC 2516 4), then the PPP protocol (RFC 1661 2)
		if len(p) >= 8 && (be16(p[6:]) == 0x0021 || be16(p[6:]) == 0x0057) {
			r.ip(p[8:], 0)
		} else {
			clear(p)
		}
	default:
		clear(p)
	}
}

// arp maps the hardware and protocol addresses of an Ethernet/IPv4 ARP
// message (RFC 826); any other ARP is zeroed past its fixed header.
func (r *Redactor) arp(p []byte) {
	if len(p) < 28 || be16(p) != 1 || be16(p[2:]) != 0x0800 || p[4] != 6 || p[5] != 4 {
		clear(p[min(8, len(p)):])
		return
	}
	r.mac(p[8:14])
	r.ip4At(p[14:18])
	r.mac(p[18:24])
	r.ip4At(p[24:28])
	clear(p[28:])
}

func (r *Redactor) ip4At(b []byte) {
	m := r.addr(netip.AddrFrom4([4]byte(b))).As4()
	copy(b, m[:])
}

func (r *Redactor) ip6At(b []byte) {
	m := r.addr(netip.AddrFrom16([16]byte(b))).As16()
	copy(b, m[:])
}

func (r *Redactor) ip(b []byte, depth int) {
	if len(b) == 0 {
		return
	}
	switch b[0] >> 4 {
	case 4:
		r.ipv4(b, depth)
	case 6:
		r.ipv6(b, depth)
	default:
		clear(b)
	}
}

// ipv4 maps the addresses of an IPv4 header (RFC 791 3.1), zeroes its
// options (record route and timestamps hold addresses; zero is End of
// Option List), recomputes its checksum and goes on to the transport.
// Bytes past the total length (Ethernet padding) become zeros.
func (r *Redactor) ipv4(b []byte, depth int) {
	ihl := int(b[0]&15) * 4
	if len(b) < 20 || ihl < 20 || ihl > len(b) {
		clear(b[min(12, len(b)):])
		return
	}
	end := max(int(be16(b[2:])), ihl)
	if be16(b[2:]) == 0 {
		end = len(b) // total length 0: segmentation offload (Wireshark presumes the same)
	}
	if end < len(b) {
		clear(b[end:])
	}
	end = min(end, len(b))
	var old [8]byte
	copy(old[:], b[12:20])
	r.ip4At(b[12:16])
	r.ip4At(b[16:20])
	clear(b[20:ihl])
	b[10], b[11] = 0, 0
	binary.BigEndian.PutUint16(b[10:], ^fold(sum16(b[:ihl], 0)))
	ps := pseudo{old: sum16(old[:], 0), new: sum16(b[12:20], 0)}
	payload := b[ihl:end]
	if be16(b[6:])&0x1fff != 0 {
		clear(payload) // a later fragment: no transport header to read it by
		return
	}
	r.transport(b[9], payload, ps, false, depth)
}

// ipv6 maps the addresses of an IPv6 header (RFC 8200 3) and walks the
// extension headers to the transport; option contents become zeros (Pad1),
// a routing header (whose addresses change the pseudo-header) or ESP ends
// the walk and zeroes the rest.
func (r *Redactor) ipv6(b []byte, depth int) {
	if len(b) < 40 {
		clear(b[min(8, len(b)):])
		return
	}
	end := 40 + int(be16(b[4:]))
	if end < len(b) {
		clear(b[end:])
	}
	end = min(end, len(b))
	old := slices.Clone(b[8:40])
	r.ip6At(b[8:24])
	r.ip6At(b[24:40])
	ps := pseudo{old: sum16(old, 0), new: sum16(b[8:40], 0)}
	next, off := b[6], 40
	for {
		switch next {
		case 0, 60: // hop-by-hop and destination options (RFC 8200 4.3, 4.6)
			if off+8 > end || off+(int(b[off+1])+1)*8 > end {
				clear(b[off:end])
				return
			}
			n := (int(b[off+1]) + 1) * 8
			clear(b[off+2 : off+n])
			next, off = b[off], off+n
		case 44: // fragment (RFC 8200 4.5)
			if off+8 > end {
				clear(b[off:end])
				return
			}
			later := be16(b[off+2:])>>3 != 0
			next, off = b[off], off+8
			if later {
				clear(b[off:end])
				return
			}
		case 51: // authentication header (RFC 4302 2)
			if off+8 > end || off+(int(b[off+1])+2)*4 > end {
				clear(b[off:end])
				return
			}
			next, off = b[off], off+(int(b[off+1])+2)*4
		default:
			r.transport(next, b[off:end], ps, true, depth)
			return
		}
	}
}

// pseudo is the one's complement sum of the pseudo-header's addresses
// before and after mapping (RFC 9293 3.1, RFC 768, RFC 8200 8.1).
type pseudo struct{ old, new uint64 }

func (r *Redactor) transport(proto uint8, seg []byte, ps pseudo, v6 bool, depth int) {
	switch {
	case proto == 6:
		r.tcp(seg, ps, depth)
	case proto == 17:
		r.udp(seg, ps, v6, depth)
	case proto == 1 && !v6:
		r.icmp4(seg, depth)
	case proto == 58 && v6:
		r.icmp6(seg, ps, depth)
	case (proto == 4 || proto == 41) && depth < maxDepth:
		r.ip(seg, depth+1)
	default:
		clear(seg)
	}
}

// tcp redacts a segment's payload (a quoted segment's becomes zeros) and
// updates its checksum (RFC 9293 3.1).
func (r *Redactor) tcp(seg []byte, ps pseudo, depth int) {
	old := slices.Clone(seg)
	if len(seg) >= 20 {
		if doff := int(seg[12]>>4) * 4; doff >= 20 && doff <= len(seg) {
			if depth == 0 {
				r.tcpPayload(seg[doff:], be16(seg), be16(seg[2:]))
			} else {
				clear(seg[doff:])
			}
		}
	}
	patch(seg, old, 16, ps, plain)
}

// udp redacts a datagram's payload and updates its checksum (RFC 768);
// bytes past the UDP length become zeros.
func (r *Redactor) udp(seg []byte, ps pseudo, v6 bool, depth int) {
	old := slices.Clone(seg)
	if len(seg) >= 8 {
		end := len(seg)
		if n := int(be16(seg[4:])); n >= 8 && n < end {
			clear(seg[n:])
			end = n
		}
		if depth == 0 {
			r.udpPayload(seg[8:end], be16(seg), be16(seg[2:]))
		} else {
			clear(seg[8:end])
		}
	}
	kind := udp4
	if v6 {
		kind = udp6
	}
	patch(seg, old, 6, ps, kind)
}

// sum16 adds b to acc as big-endian 16-bit words, an odd last byte padded
// with zero (RFC 1071).
func sum16(b []byte, acc uint64) uint64 {
	n := len(b) &^ 1
	for i := 0; i < n; i += 2 {
		acc += uint64(b[i])<<8 | uint64(b[i+1])
	}
	if n < len(b) {
		acc += uint64(b[n]) << 8
	}
	return acc
}

func fold(acc uint64) uint16 {
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// Checksum kinds for patch.
const (
	plain = iota // TCP, ICMP, ICMPv6
	udp4         // UDP over IPv4: zero means no checksum
	udp6         // UDP over IPv6: zero is not allowed
)

// patch updates the checksum at seg[at:at+2] for the change of seg from old
// (same length, the captured part of the segment) and of the pseudo-header,
// by RFC 1624 equation 3: HC' = ~(~HC + ~m + m'). Bytes not captured did
// not change, so the update is exact for cut frames and fragments too. A
// zero UDP checksum over IPv4 means none (RFC 768) and stays; a computed
// UDP zero is sent as all ones (RFC 768, RFC 8200 8.1).
func patch(seg, old []byte, at int, ps pseudo, kind int) {
	if at+2 > len(seg) {
		return
	}
	hc := be16(seg[at:])
	if kind == udp4 && hc == 0 {
		return
	}
	m := sum16(old[at+2:], sum16(old[:at], ps.old))
	m2 := sum16(seg[at+2:], sum16(seg[:at], ps.new))
	ck := ^fold(uint64(^hc) + uint64(^fold(m)) + uint64(fold(m2)))
	if kind != plain && ck == 0 {
		ck = 0xffff
	}
	binary.BigEndian.PutUint16(seg[at:], ck)
}

func be16(b []byte) uint16 { return binary.BigEndian.Uint16(b) }
