package decode

import (
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// decodeFast decodes the common case by hand: an untagged Ethernet frame
// carrying an IPv4 packet without options or fragmentation, or an IPv6
// packet without extension headers, carrying TCP or UDP, every length
// consistent with the bytes captured. It reports false, having changed
// nothing the caller relies on, for anything else; Decode then takes the
// DecodingLayerParser path. The two paths fill Packet identically
// (TestFastPathMatchesParser); the fast one is several times cheaper
// because it skips the parser's per-layer dispatch and gopacket's option
// slices.
func (d *Decoder) decodeFast(f *Frame, p *Packet) bool {
	b := f.Data
	if f.LinkType != layers.LinkTypeEthernet || len(b) < 14 {
		return false
	}
	var l4 []byte
	switch be16(b[12:]) {
	case 0x0800:
		ip := b[14:]
		if len(ip) < 20 || ip[0] != 0x45 {
			return false
		}
		total := int(be16(ip[2:]))
		if total < 20 || total > len(ip) || be16(ip[6:])&0x3fff != 0 { // MF or fragment offset
			return false
		}
		p.IPVersion = 4
		p.Src = netip.AddrFrom4([4]byte(ip[12:16]))
		p.Dst = netip.AddrFrom4([4]byte(ip[16:20]))
		p.Proto, p.TTL, p.IPID, p.DF = ip[9], ip[8], be16(ip[4:]), ip[6]&0x40 != 0
		l4 = ip[20:total]
	case 0x86dd:
		ip := b[14:]
		if len(ip) < 40 || ip[0]>>4 != 6 {
			return false
		}
		plen := int(be16(ip[4:]))
		if plen == 0 || 40+plen > len(ip) || ip[6] != ProtoTCP && ip[6] != ProtoUDP {
			return false
		}
		p.IPVersion = 6
		p.Src = netip.AddrFrom16([16]byte(ip[8:24]))
		p.Dst = netip.AddrFrom16([16]byte(ip[24:40]))
		p.Proto, p.TTL = ip[6], ip[7]
		l4 = ip[40 : 40+plen]
	default:
		return false
	}
	switch p.Proto {
	case ProtoTCP:
		return fastTCP(l4, p)
	case ProtoUDP:
		return fastUDP(l4, p)
	}
	return false
}

func fastUDP(b []byte, p *Packet) bool {
	if len(b) < 8 {
		return false
	}
	n := int(be16(b[4:]))
	if n < 8 || n > len(b) {
		return false
	}
	p.Transport = true
	p.SrcPort, p.DstPort, p.Payload = be16(b), be16(b[2:]), b[8:n]
	return true
}

func fastTCP(b []byte, p *Packet) bool {
	if len(b) < 20 {
		return false
	}
	hl := int(b[12]>>4) * 4
	if hl < 20 || hl > len(b) || !fastTCPOptions(b[20:hl], p) {
		return false
	}
	p.Transport = true
	p.SrcPort, p.DstPort = be16(b), be16(b[2:])
	p.Seq, p.Ack = be32(b[4:]), be32(b[8:])
	p.Flags, p.Window = b[13], be16(b[14:])
	p.Payload = b[hl:]
	return true
}

// fastTCPOptions reads the options qadiag keeps (RFC 9293 3.1, RFC 7323,
// RFC 2018) and reports false for any irregular option list, which the
// parser path then judges as gopacket does.
func fastTCPOptions(o []byte, p *Packet) bool {
	for len(o) > 0 {
		switch o[0] {
		case 0: // end of option list
			return true
		case 1: // no-operation (MPTCP, kind 30, is left to the parser path)
			o = o[1:]
			continue
		}
		if o[0] == 30 || len(o) < 2 || int(o[1]) < 2 || int(o[1]) > len(o) {
			return false
		}
		data := o[2:o[1]]
		switch o[0] {
		case 2:
			if len(data) == 2 {
				p.MSS = be16(data)
			}
		case 3:
			if len(data) == 1 {
				p.WScale = int8(min(data[0], 14))
			}
		case 4:
			p.SACKPerm = true
		case 5:
			p.SACK = uint8(len(data) / 8)
		case 8:
			if len(data) == 8 {
				p.HasTS, p.TSVal, p.TSEcr = true, be32(data), be32(data[4:])
			}
		}
		o = o[o[1]:]
	}
	return true
}
