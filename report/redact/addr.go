package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"net/netip"
)

// Address classes that the mapping preserves: an address inside one of
// these blocks maps inside the same block, and an address outside all of
// them maps outside all of them, so a private client stays private-looking
// and a public one public. The IPv4 list follows RFC 6890's special-purpose
// registry (this network, private, shared CGN, loopback, link local,
// multicast, reserved); the IPv6 one keeps global unicast (2000::/3, RFC
// 4291 2.4) apart from unique local (RFC 4193), link local, multicast and
// the embedded-IPv4 space under ::/8, and inside them the NAT64 prefix
// (RFC 6052) and the link-local subnet fe80::/64 (RFC 4291 2.5.6).
var (
	blocks4 = prefixes("0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
		"172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4")
	blocks6 = prefixes("::/8", "64:ff9b::/96", "2000::/3", "fc00::/7", "fe80::/10", "fe80::/64", "ff00::/8")
	// solicitedNode multicast addresses carry the low 24 bits of a
	// unicast address (RFC 4291 2.7.1), as do their MAC addresses
	// 33:33:ff:xx:xx:xx (RFC 2464 7).
	solicitedNode = netip.MustParsePrefix("ff02::1:ff00:0/104")
	cgn           = netip.MustParsePrefix("100.64.0.0/10")
)

func prefixes(s ...string) []netip.Prefix {
	out := make([]netip.Prefix, len(s))
	for i, p := range s {
		out[i] = netip.MustParsePrefix(p)
	}
	return out
}

// verbatim reports whether a identifies nobody and stays as it is:
// unspecified, loopback, multicast and the IPv4 limited broadcast (sinkhole
// answers such as 0.0.0.0 and 127.0.0.1 are evidence).
func verbatim(a netip.Addr) bool {
	return a.IsUnspecified() || a.IsLoopback() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// public reports whether a is a global unicast address outside the private
// and shared ranges: only such a server address can be Microsoft's.
func public(a netip.Addr) bool {
	return a.IsGlobalUnicast() && !a.IsPrivate() && !cgn.Contains(a)
}

// kept reports whether a is a Microsoft server address that stays visible:
// a public address in a catalog range, or one Learn saw a catalog name
// resolve to or be sent to.
func (r *Redactor) kept(a netip.Addr) bool {
	if !public(a) {
		return false
	}
	if r.keep[a] {
		return true
	}
	_, ok := r.cat.MatchAddr(a)
	return ok
}

// addr maps one address. IPv4-mapped IPv6 addresses map as their IPv4
// address; a zone stays.
func (r *Redactor) addr(a netip.Addr) netip.Addr {
	if !a.IsValid() {
		return a
	}
	if a.Is4In6() {
		m := r.addr(a.Unmap()).As4()
		return netip.AddrFrom16([16]byte{10: 0xff, 11: 0xff, 12: m[0], 13: m[1], 14: m[2], 15: m[3]}).WithZone(a.Zone())
	}
	zone := a.Zone()
	a = a.WithZone("")
	r.seen[a] = true
	if solicitedNode.Contains(a) {
		b := a.As16()
		r.low24(b[13:16])
		return netip.AddrFrom16(b).WithZone(zone)
	}
	if verbatim(a) || r.kept(a) {
		return a.WithZone(zone)
	}
	if m, ok := r.addrs[a]; ok {
		return m.WithZone(zone)
	}
	m := r.cryptoPAn(a)
	r.addrs[a] = m
	return m.WithZone(zone)
}

func (r *Redactor) addrPort(ap netip.AddrPort) netip.AddrPort {
	if !ap.IsValid() {
		return ap
	}
	return netip.AddrPortFrom(r.addr(ap.Addr()), ap.Port())
}

// cryptoPAn is Crypto-PAn (Xu, Fan, Ammar, Moon: "Prefix-preserving IP
// address anonymization", ICNP 2002): bit i of the result is bit i of a
// flipped by the first bit of AES(key, first i bits of a ++ pad). Two
// addresses that share their first n bits share them after mapping, and the
// map is a permutation of the address space.
//
// Two changes keep address classes (blocks4, blocks6). Inside a class
// block, and for every IPv6 address, no bit is flipped at a node of the
// address tree that is a proper prefix of a block: the path to each block is
// then fixed, so every block maps onto itself and the rest of the space onto
// the rest, and only the class bits stay as they were. Public IPv4 is not a
// block but what the blocks leave, so fixing paths would keep several of its
// leading bits; it is mapped by plain Crypto-PAn instead, applied again
// while the result falls inside a block (cycle walking, Black and Rogaway
// 2002), a permutation of public IPv4 that keeps no bit. Prefixes are
// preserved except for the few addresses whose image needed a second step.
func (r *Redactor) cryptoPAn(a netip.Addr) netip.Addr {
	if a.Is6() {
		return r.permute(a, true)
	}
	if inBlock(a, blocks4) {
		return r.permute(a, true)
	}
	m := r.permute(a, false)
	for i := 0; i < 1000 && inBlock(m, blocks4); i++ {
		m = r.permute(m, false)
	}
	return m
}

func inBlock(a netip.Addr, classes []netip.Prefix) bool {
	for _, b := range classes {
		if b.Contains(a) {
			return true
		}
	}
	return false
}

// permute is one Crypto-PAn pass, with fixed paths to the class blocks when
// protect is set.
func (r *Redactor) permute(a netip.Addr, protect bool) netip.Addr {
	var in, out, block [16]byte
	bits, pad, classes := 128, &r.pad6, blocks6
	if a.Is4() {
		v4 := a.As4()
		copy(in[:], v4[:])
		bits, pad, classes = 32, &r.pad4, blocks4
	} else {
		in = a.As16()
	}
	res := in
	for i := 0; i < bits; i++ {
		if protect && protected(a, i, classes) {
			continue
		}
		block = *pad
		full, rest := i/8, i%8
		copy(block[:full], in[:full])
		if rest > 0 {
			mask := byte(0xff) << (8 - rest)
			block[full] = in[full]&mask | pad[full]&^mask
		}
		r.block.Encrypt(out[:], block[:])
		if out[0]&0x80 != 0 {
			res[i/8] ^= 0x80 >> (i % 8)
		}
	}
	if a.Is4() {
		return netip.AddrFrom4([4]byte(res[:4]))
	}
	return netip.AddrFrom16(res)
}

// protected reports whether the first i bits of a are a proper prefix of
// one of the class blocks.
func protected(a netip.Addr, i int, classes []netip.Prefix) bool {
	for _, b := range classes {
		if b.Bits() <= i {
			continue
		}
		pa, _ := a.Prefix(i)
		pb, _ := b.Addr().Prefix(i)
		if pa == pb {
			return true
		}
	}
	return false
}

// mac maps a MAC address in place. Group addresses (broadcast, multicast:
// the I/G bit, IEEE 802 9.2) and the zero address stay; a unicast address
// becomes a keyed pseudonym with the locally administered bit set, so it
// cannot be mistaken for a vendor's.
func (r *Redactor) mac(b []byte) {
	if len(b) != 6 {
		return
	}
	if b[0] == 0x33 && b[1] == 0x33 && b[2] == 0xff {
		r.low24(b[3:6]) // a solicited-node group: as its address
		return
	}
	if b[0]&1 != 0 || b[0]|b[1]|b[2]|b[3]|b[4]|b[5] == 0 {
		return
	}
	m := hmac.New(sha256.New, r.macs)
	m.Write(b)
	sum := m.Sum(nil)
	copy(b, sum[:6])
	b[0] = b[0]&^1 | 2
}

// low24 maps the low 24 bits of a unicast address that a solicited-node
// group and its MAC address carry, the same way in both.
func (r *Redactor) low24(b []byte) {
	m := hmac.New(sha256.New, r.macs)
	m.Write([]byte("solicited-node"))
	m.Write(b)
	copy(b, m.Sum(nil)[:3])
}
