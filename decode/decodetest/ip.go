package decodetest

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// IP protocol numbers (IANA "Assigned Internet Protocol Numbers").
const (
	ProtoICMP   uint8 = 1
	ProtoTCP    uint8 = 6
	ProtoUDP    uint8 = 17
	ProtoICMPv6 uint8 = 58
)

// Header lengths without options or extension headers.
const (
	IPv4HeaderLen = 20 // RFC 791 3.1
	IPv6HeaderLen = 40 // RFC 8200 3
	TCPHeaderLen  = 20 // RFC 9293 3.1
	UDPHeaderLen  = 8  // RFC 768
)

// DefaultTTL is the TTL or hop limit written when IP.TTL is 0.
const DefaultTTL = 64

// IP holds the IP header fields a test chooses; addresses come from the
// transport builder. The IP version follows the address family.
type IP struct {
	// TTL is the IPv4 time to live or IPv6 hop limit; 0 writes DefaultTTL.
	TTL uint8
	// IPID is the IPv4 identification field (RFC 791 3.1); IPv6 has none.
	IPID uint16
	// DF sets the IPv4 don't-fragment flag.
	DF bool
	// TOS is the IPv4 type of service or IPv6 traffic class byte (DSCP and ECN).
	TOS uint8
	// FlowLabel is the 20-bit IPv6 flow label.
	FlowLabel uint32
}

// AppendIPHeader appends an IPv4 header (RFC 791 3.1, no options, correct
// header checksum) or an IPv6 header (RFC 8200 3, no extension headers) for
// a payload of payloadLen bytes. src and dst must be of the same family;
// IPv4-mapped IPv6 addresses count as IPv4.
func AppendIPHeader(dst []byte, ip *IP, src, dstAddr netip.Addr, proto uint8, payloadLen int) []byte {
	src, dstAddr = family(src, dstAddr)
	ttl := ip.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	if src.Is4() {
		start := len(dst)
		var flags uint16
		if ip.DF {
			flags = 0x4000
		}
		dst = append(dst, 0x45, ip.TOS)
		dst = binary.BigEndian.AppendUint16(dst, uint16(IPv4HeaderLen+payloadLen))
		dst = binary.BigEndian.AppendUint16(dst, ip.IPID)
		dst = binary.BigEndian.AppendUint16(dst, flags)
		dst = append(dst, ttl, proto, 0, 0)
		s, d := src.As4(), dstAddr.As4()
		dst = append(dst, s[:]...)
		dst = append(dst, d[:]...)
		binary.BigEndian.PutUint16(dst[start+10:], Checksum(dst[start:]))
		return dst
	}
	vtf := 6<<28 | uint32(ip.TOS)<<20 | ip.FlowLabel&0xfffff
	dst = binary.BigEndian.AppendUint32(dst, vtf)
	dst = binary.BigEndian.AppendUint16(dst, uint16(payloadLen))
	dst = append(dst, proto, ttl)
	s, d := src.As16(), dstAddr.As16()
	dst = append(dst, s[:]...)
	return append(dst, d[:]...)
}

// family unmaps IPv4-mapped addresses and panics on a family mismatch,
// which is a bug in the calling test.
func family(src, dst netip.Addr) (netip.Addr, netip.Addr) {
	src, dst = src.Unmap(), dst.Unmap()
	if src.Is4() != dst.Is4() || !src.IsValid() || !dst.IsValid() {
		panic(fmt.Sprintf("decodetest: address family mismatch: %v and %v", src, dst))
	}
	return src, dst
}

// etherTypeFor returns the EtherType of an IP packet from addr.
func etherTypeFor(addr netip.Addr) uint16 {
	if addr.Unmap().Is4() {
		return EtherTypeIPv4
	}
	return EtherTypeIPv6
}

// beginFrame appends the link and IP headers of a frame whose transport
// header and payload (l4Len bytes) follow, and returns the frame so far and
// the offset of the transport header.
func beginFrame(dst []byte, l *Link, ip *IP, src, dstAddr netip.Addr, proto uint8, l4Len int) ([]byte, int) {
	dst = AppendLink(dst, l, etherTypeFor(src))
	dst = AppendIPHeader(dst, ip, src, dstAddr, proto, l4Len)
	return dst, len(dst)
}

// finishL4 writes the transport checksum at l4+csumOff over the segment
// that starts at l4, including the pseudo-header.
func finishL4(dst []byte, l4, csumOff int, src, dstAddr netip.Addr, proto uint8) {
	src, dstAddr = src.Unmap(), dstAddr.Unmap()
	seg := dst[l4:]
	c := fold(sum(seg, pseudoSum(src, dstAddr, proto, len(seg))))
	if c == 0 && proto == ProtoUDP {
		c = 0xffff // RFC 768: a computed zero is sent as all ones
	}
	binary.BigEndian.PutUint16(seg[csumOff:], c)
}
