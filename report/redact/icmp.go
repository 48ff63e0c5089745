package redact

import (
	"net/netip"
	"slices"
)

// icmp4 maps what an ICMP message (RFC 792) says about addresses: the
// packet an error quotes (its addresses mapped, its payload zeroed) and a
// redirect's gateway. Echo and other data become zeros past the 8-byte
// header. The checksum covers the message alone.
func (r *Redactor) icmp4(seg []byte, depth int) {
	if len(seg) < 8 {
		return
	}
	old := slices.Clone(seg)
	switch seg[0] {
	case 3, 4, 11, 12: // destination unreachable, source quench, time exceeded, parameter problem
		r.quoted(seg[8:], depth)
	case 5: // redirect
		r.ip4At(seg[4:8])
		r.quoted(seg[8:], depth)
	case 0, 8, 13, 14: // echo and timestamp: identifier and sequence stay
		clear(seg[8:])
	default:
		clear(seg[4:])
	}
	patch(seg, old, 2, pseudo{}, plain)
}

// quoted redacts the invoking packet an ICMP error carries.
func (r *Redactor) quoted(b []byte, depth int) {
	if depth >= maxDepth {
		clear(b)
		return
	}
	r.ip(b, depth+1)
}

// icmp6 is icmp4 for ICMPv6 (RFC 4443), whose checksum covers the
// pseudo-header, and for Neighbor Discovery (RFC 4861), whose messages
// carry addresses and link-layer addresses.
func (r *Redactor) icmp6(seg []byte, ps pseudo, depth int) {
	if len(seg) < 4 {
		return
	}
	old := slices.Clone(seg)
	switch t := seg[0]; {
	case t >= 1 && t <= 4: // destination unreachable, packet too big, time exceeded, parameter problem
		if len(seg) >= 8 {
			r.quoted(seg[8:], depth)
		}
	case t == 128 || t == 129: // echo
		clear(seg[min(8, len(seg)):])
	case t == 130 || t == 131 || t == 132 || t == 143: // MLD: multicast groups only
	case t >= 133 && t <= 137:
		r.nd(seg)
	default:
		clear(seg[4:])
	}
	patch(seg, old, 2, ps, plain)
}

// nd maps the target and destination addresses of Neighbor Discovery
// messages and their options (RFC 4861 4.1-4.6): link-layer addresses,
// prefixes (mapped like an address in them, so they still contain the
// mapped hosts), RDNSS servers (RFC 8106 5.1). Other options are zeroed.
func (r *Redactor) nd(seg []byte) {
	var opts int // where the options start
	switch seg[0] {
	case 133: // router solicitation
		opts = 8
	case 134: // router advertisement
		opts = 16
	case 135, 136: // neighbor solicitation and advertisement: target
		opts = 24
	case 137: // redirect: target, destination
		opts = 40
	}
	if len(seg) < opts {
		clear(seg[4:])
		return
	}
	if opts >= 24 {
		r.ip6At(seg[8:24])
	}
	if opts == 40 {
		r.ip6At(seg[24:40])
	}
	for off := opts; off+2 <= len(seg); {
		n := int(seg[off+1]) * 8
		if n == 0 || off+n > len(seg) {
			clear(seg[off:])
			return
		}
		o := seg[off : off+n]
		switch o[0] {
		case 1, 2: // source and target link-layer address
			if n >= 8 {
				r.mac(o[2:8])
			}
		case 3: // prefix information
			if n >= 32 && o[2] <= 128 {
				p := netip.PrefixFrom(r.addr(netip.AddrFrom16([16]byte(o[16:32]))), int(o[2])).Masked().Addr().As16()
				copy(o[16:32], p[:])
			}
		case 5: // MTU
		case 25: // recursive DNS servers
			for a := 8; a+16 <= n; a += 16 {
				r.ip6At(o[a : a+16])
			}
		default:
			clear(o[2:])
		}
		off += n
	}
}
