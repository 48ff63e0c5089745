package redact

import (
	"encoding/binary"
	"hash/crc32"
	"net/netip"
)

const stunMagic = 0x2112a442 // RFC 8489 5

// isSTUN reports whether p starts with a STUN message header (RFC 8489 5):
// the two zero bits, a length that is a multiple of 4, and the magic cookie
// or, on a TURN port, a classic RFC 3489 message filling the datagram.
func isSTUN(p []byte, turnPort bool) bool {
	if len(p) < 20 || p[0]&0xc0 != 0 || be16(p[2:])%4 != 0 {
		return false
	}
	return be32(p[4:]) == stunMagic || turnPort && 20+int(be16(p[2:])) == len(p)
}

// isChannelData reports whether p starts with a TURN ChannelData header
// (RFC 8656 12.4: channel numbers 0x4000-0x4fff).
func isChannelData(p []byte) bool { return len(p) >= 4 && p[0]&0xf0 == 0x40 }

// stunStream redacts STUN messages and ChannelData framed over TCP (RFC
// 8656 12.5: ChannelData padded to 4 bytes); what cannot be framed becomes
// zeros.
func (r *Redactor) stunStream(p []byte) {
	for len(p) >= 4 {
		switch {
		case isSTUN(p, false):
			n := min(20+int(be16(p[2:])), len(p))
			r.stunMessage(p[:n])
			p = p[n:]
		case isChannelData(p):
			n := min(4+(int(be16(p[2:]))+3)&^3, len(p))
			clear(p[4:n])
			p = p[n:]
		default:
			clear(p)
			return
		}
	}
	clear(p)
}

// stunKeep are attributes that identify nobody (RFC 8489 18.3, RFC 8656
// 18, RFC 8445 16.1, [MS-TURN] 2.2.2): they stay. Address attributes are
// mapped, USERNAME and SOFTWARE replaced, FINGERPRINT recomputed, and any
// other attribute (DATA, ALTERNATE-DOMAIN, unknown ones) zeroed.
var stunKeep = map[uint16]bool{0x0003: true, 0x0008: true, 0x0009: true, 0x000a: true, 0x000c: true, 0x000d: true,
	0x0014: true, 0x0015: true, 0x0017: true, 0x0018: true, 0x0019: true, 0x001a: true, 0x001c: true, 0x001d: true,
	0x0022: true, 0x0024: true, 0x0025: true, 0x8001: true, 0x8002: true, 0x8008: true, 0x8029: true, 0x802a: true,
	0x8050: true, 0x8054: true, 0x8055: true, 0x8070: true}

// stunMessage redacts one STUN message in place. MESSAGE-INTEGRITY no
// longer verifies (its key is the user's password); FINGERPRINT (RFC 8489
// 14.7) is recomputed when the message was captured whole.
func (r *Redactor) stunMessage(b []byte) {
	if len(b) < 20 {
		clear(b)
		return
	}
	n := 20 + int(be16(b[2:]))
	if n < len(b) {
		clear(b[n:])
	}
	whole := n <= len(b)
	n = min(n, len(b))
	fingerprint := -1
	for off := 20; off+4 <= n; off += 4 + (int(be16(b[off+2:]))+3)&^3 {
		typ, l := be16(b[off:]), int(be16(b[off+2:]))
		v := b[off+4 : min(off+4+l, n)]
		switch typ {
		case 0x0001, 0x0004, 0x0005, 0x8023, 0x802b, 0x802c: // MAPPED-, SOURCE-, CHANGED-ADDRESS, ALTERNATE-SERVER, RESPONSE-ORIGIN, OTHER-ADDRESS
			r.stunAddr(v, nil)
		case 0x0020, 0x8020, 0x0016, 0x0012: // XOR-MAPPED-ADDRESS (and MS-TURN's), XOR-RELAYED-ADDRESS, XOR-PEER-ADDRESS
			r.stunAddr(v, b[4:20])
		case 0x0006: // USERNAME
			copy(v, r.opaque(string(v)))
		case 0x8022: // SOFTWARE
			productBytes(v)
		case 0x8028: // FINGERPRINT
			fingerprint = off
		default:
			if !stunKeep[typ] {
				clear(v)
			}
		}
	}
	if whole && fingerprint >= 0 && fingerprint+8 <= n {
		binary.BigEndian.PutUint32(b[fingerprint+4:], crc32.ChecksumIEEE(b[:fingerprint])^0x5354554e)
	}
}

// stunAddr maps an address attribute (RFC 8489 14.1, 14.2): family, port,
// address; XOR-ed with the magic cookie and transaction ID when key (the
// header's bytes 4-20) is given. The port stays.
func (r *Redactor) stunAddr(v, key []byte) {
	if len(v) < 4 {
		return
	}
	size := 0
	switch v[1] {
	case 1:
		size = 4
	case 2:
		size = 16
	}
	if size == 0 || len(v) < 4+size {
		clear(v[4:])
		return
	}
	a := make([]byte, size)
	copy(a, v[4:4+size])
	for i := range key {
		if i < size {
			a[i] ^= key[i]
		}
	}
	addr, _ := netip.AddrFromSlice(a)
	m := r.addr(addr).AsSlice()
	for i := range key {
		if i < size {
			m[i] ^= key[i]
		}
	}
	copy(v[4:], m)
}
