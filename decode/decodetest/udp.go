package decodetest

import (
	"encoding/binary"
	"net/netip"
)

// UDP describes one UDP datagram (RFC 768) and the frame around it. Src and
// Dst choose IPv4 or IPv6.
type UDP struct {
	Link
	IP
	// Src and Dst are the sender's and receiver's addresses and ports.
	Src, Dst netip.AddrPort
	// Payload is the datagram data.
	Payload []byte
}

// Len returns the length of the UDP header and payload.
func (u *UDP) Len() int {
	return UDPHeaderLen + len(u.Payload)
}

// AppendFrame appends the whole frame with correct IP and UDP checksums and
// padding as Link asks.
func (u UDP) AppendFrame(dst []byte) []byte {
	return u.appendFrame(dst, &u.Link)
}

// AppendPacket appends the IP packet without a link-layer header.
func (u UDP) AppendPacket(dst []byte) []byte {
	l := Link{Type: LinkRaw}
	return u.appendFrame(dst, &l)
}

// Frame returns the whole frame in a new slice.
func (u UDP) Frame() []byte {
	return u.AppendFrame(make([]byte, 0, 70+len(u.Payload)))
}

func (u *UDP) appendFrame(dst []byte, l *Link) []byte {
	start := len(dst)
	src, d := u.Src.Addr(), u.Dst.Addr()
	dst, l4 := beginFrame(dst, l, &u.IP, src, d, ProtoUDP, u.Len())
	dst = binary.BigEndian.AppendUint16(dst, u.Src.Port())
	dst = binary.BigEndian.AppendUint16(dst, u.Dst.Port())
	dst = binary.BigEndian.AppendUint16(dst, uint16(u.Len()))
	dst = append(dst, 0, 0)
	dst = append(dst, u.Payload...)
	finishL4(dst, l4, 6, src, d, ProtoUDP)
	return pad(dst, start, l)
}

// ICMP types and codes used by ICMPUnreachable.
const (
	ICMPv4DestUnreachable uint8 = 3 // RFC 792
	ICMPv6DestUnreachable uint8 = 1 // RFC 4443 3.1
	ICMPv6PacketTooBig    uint8 = 2 // RFC 4443 3.2

	// ICMPv4 destination unreachable codes (RFC 792, RFC 1812 5.2.7.1).
	ICMPv4NetUnreachable   uint8 = 0
	ICMPv4HostUnreachable  uint8 = 1
	ICMPv4ProtoUnreachable uint8 = 2
	ICMPv4PortUnreachable  uint8 = 3
	ICMPv4FragNeeded       uint8 = 4
	ICMPv4AdminProhibited  uint8 = 13

	// ICMPv6 destination unreachable codes (RFC 4443 3.1).
	ICMPv6NoRoute         uint8 = 0
	ICMPv6AdminProhibited uint8 = 1
	ICMPv6AddrUnreachable uint8 = 3
	ICMPv6PortUnreachable uint8 = 4
	ICMPv6RejectRoute     uint8 = 6
	icmpv4MaxQuote              = 576 - IPv4HeaderLen - 8  // RFC 1812 4.3.2.3
	icmpv6MaxQuote              = 1280 - IPv6HeaderLen - 8 // RFC 4443 2.4 (c)
)

// ICMPUnreachable describes an ICMPv4 destination unreachable message
// (type 3) or an ICMPv6 destination unreachable (type 1) or packet too big
// (type 2) message that quotes an offending packet. Src is the router or
// host that reports, Dst the sender of the quoted packet.
type ICMPUnreachable struct {
	Link
	IP
	Src, Dst netip.Addr
	// Code is the unreachable code (ICMPv4PortUnreachable, ICMPv6AdminProhibited, ...).
	Code uint8
	// TooBig makes an ICMPv6 packet too big message, or for IPv4 sets code 4
	// (fragmentation needed); MTU is then the next-hop MTU (RFC 1191 4, RFC 4443 3.2).
	TooBig bool
	MTU    uint32
	// Quote is the offending IP packet (for example TCP.AppendPacket); it is
	// cut to the length RFC 1812 and RFC 4443 allow.
	Quote []byte
}

func (c *ICMPUnreachable) typeCode() (uint8, uint8, []byte) {
	q := c.Quote
	if c.Src.Unmap().Is4() {
		if len(q) > icmpv4MaxQuote {
			q = q[:icmpv4MaxQuote]
		}
		if c.TooBig {
			return ICMPv4DestUnreachable, ICMPv4FragNeeded, q
		}
		return ICMPv4DestUnreachable, c.Code, q
	}
	if len(q) > icmpv6MaxQuote {
		q = q[:icmpv6MaxQuote]
	}
	if c.TooBig {
		return ICMPv6PacketTooBig, 0, q
	}
	return ICMPv6DestUnreachable, c.Code, q
}

// AppendFrame appends the whole frame with correct checksums.
func (c ICMPUnreachable) AppendFrame(dst []byte) []byte {
	start := len(dst)
	typ, code, q := c.typeCode()
	v4 := c.Src.Unmap().Is4()
	proto := ProtoICMPv6
	if v4 {
		proto = ProtoICMP
	}
	dst, l4 := beginFrame(dst, &c.Link, &c.IP, c.Src, c.Dst, proto, 8+len(q))
	dst = append(dst, typ, code, 0, 0)
	switch {
	case v4 && c.TooBig:
		dst = binary.BigEndian.AppendUint32(dst, c.MTU&0xffff) // RFC 1191 4: unused, next-hop MTU
	case v4:
		dst = append(dst, 0, 0, 0, 0)
	case c.TooBig:
		dst = binary.BigEndian.AppendUint32(dst, c.MTU)
	default:
		dst = append(dst, 0, 0, 0, 0)
	}
	dst = append(dst, q...)
	if v4 {
		binary.BigEndian.PutUint16(dst[l4+2:], Checksum(dst[l4:]))
	} else {
		finishL4(dst, l4, 2, c.Src, c.Dst, ProtoICMPv6)
	}
	return pad(dst, start, &c.Link)
}

// Frame returns the whole frame in a new slice.
func (c ICMPUnreachable) Frame() []byte {
	return c.AppendFrame(make([]byte, 0, 100+len(c.Quote)))
}
