package decode

import "net/netip"

// ICMP error types that quote the packet that caused them (RFC 792; RFC 4443 3).
const (
	icmp4DestUnreachable = 3
	icmp4SourceQuench    = 4
	icmp4Redirect        = 5
	icmp4TimeExceeded    = 11
	icmp4ParamProblem    = 12

	icmp6DestUnreachable = 1
	icmp6PacketTooBig    = 2
	icmp6TimeExceeded    = 3
	icmp6ParamProblem    = 4
)

func (d *Decoder) fromICMPv4(p *Packet) {
	switch p.ICMPType {
	case icmp4DestUnreachable, icmp4SourceQuench, icmp4Redirect, icmp4TimeExceeded, icmp4ParamProblem:
	default:
		return
	}
	if p.ICMPType == icmp4DestUnreachable && p.ICMPCode == 4 {
		p.MTU = d.icmp4.Seq // RFC 1191 4: next-hop MTU in the low 16 bits of the second word
	}
	p.Inner = quotedIPv4(d.icmp4.Payload)
}

func (d *Decoder) fromICMPv6(p *Packet) {
	// gopacket's ICMPv6 layer keeps the 4-byte header in Contents and the
	// rest, starting with the 32-bit MTU or unused word, in Payload.
	b := d.icmp6.Payload
	switch p.ICMPType {
	case icmp6DestUnreachable, icmp6PacketTooBig, icmp6TimeExceeded, icmp6ParamProblem:
	default:
		return
	}
	if len(b) < 4 {
		return
	}
	if p.ICMPType == icmp6PacketTooBig {
		p.MTU = uint16(min(be32(b), 0xffff))
	}
	p.Inner = quotedIPv6(b[4:])
}

// quotedIPv4 reads the IPv4 header and first 8 transport bytes an ICMP error
// quotes (RFC 792: "Internet Header + 64 bits of Original Data Datagram").
func quotedIPv4(b []byte) Quoted {
	if len(b) < 20 || b[0]>>4 != 4 {
		return Quoted{}
	}
	ihl := int(b[0]&0x0f) * 4
	if ihl < 20 || len(b) < ihl {
		return Quoted{}
	}
	q := Quoted{Valid: true, Proto: b[9]}
	src, dst := netip.AddrFrom4([4]byte(b[12:16])), netip.AddrFrom4([4]byte(b[16:20]))
	q.Src, q.Dst = quotedPorts(&q, src, dst, b[ihl:])
	return q
}

// quotedIPv6 reads the IPv6 header an ICMPv6 error quotes (RFC 4443 3.1),
// skipping extension headers that fit in the quote.
func quotedIPv6(b []byte) Quoted {
	if len(b) < 40 || b[0]>>4 != 6 {
		return Quoted{}
	}
	src, dst := netip.AddrFrom16([16]byte(b[8:24])), netip.AddrFrom16([16]byte(b[24:40]))
	next, rest := b[6], b[40:]
	for isIPv6Extension(next) && len(rest) >= 8 {
		n := extLen(next, rest)
		if n > len(rest) {
			break
		}
		next, rest = rest[0], rest[n:]
	}
	q := Quoted{Valid: true, Proto: next}
	q.Src, q.Dst = quotedPorts(&q, src, dst, rest)
	return q
}

func quotedPorts(q *Quoted, src, dst netip.Addr, t []byte) (netip.AddrPort, netip.AddrPort) {
	var sp, dp uint16
	if (q.Proto == ProtoTCP || q.Proto == ProtoUDP) && len(t) >= 4 {
		sp, dp = be16(t), be16(t[2:])
		if q.Proto == ProtoTCP && len(t) >= 8 {
			q.Seq = be32(t[4:])
		}
	}
	return netip.AddrPortFrom(src, sp), netip.AddrPortFrom(dst, dp)
}
