package stunmsg

import (
	"encoding/binary"
	"fmt"
	"net/netip"
)

// texts holds the strings of a Message from its previous use, so that Parse
// can reuse them instead of allocating when the bytes are unchanged.
type texts struct {
	software, realm, username, reason, method string
}

// saveTexts returns m's current strings before m is reset.
func saveTexts(m *Message) texts {
	return texts{m.Software, m.Realm, m.Username, m.ErrorReason, m.Method}
}

// keepText returns v, cut to maxTextLen bytes, as a string; it returns old
// without allocating when old already holds those bytes. The bytes are kept
// as sent, valid UTF-8 or not.
func keepText(old string, v []byte) string {
	if len(v) > maxTextLen {
		v = v[:maxTextLen]
	}
	if string(v) == old {
		return old
	}
	return string(v)
}

// Address families of MAPPED-ADDRESS and the XOR-*-ADDRESS attributes
// (RFC 8489 14.1).
const (
	familyIPv4 = 0x01
	familyIPv6 = 0x02
)

// decodeAddr decodes the MAPPED-ADDRESS layout of RFC 8489 14.1: a reserved
// byte, a family byte, a 2-byte port and a 4- or 16-byte address. With a
// non-nil key it undoes the XOR of RFC 8489 14.2: the port with key bytes 0
// and 1, the address with key bytes 0 to 3 (IPv4) or 0 to 15 (IPv6), where
// key is header bytes 4 to 19, that is, the magic cookie followed by the
// transaction ID. For classic MS-TURN messages the same bytes are the start
// of the 128-bit transaction ID, which is what [MS-TURN] 2.2.2.16 XORs with.
func decodeAddr(typ uint16, v []byte, key *[16]byte) (netip.AddrPort, error) {
	if len(v) < 4 {
		return netip.AddrPort{}, fmt.Errorf("%w: address attribute 0x%04x is %d bytes, needs at least 4",
			ErrMalformed, typ, len(v))
	}
	var size int
	switch v[1] {
	case familyIPv4:
		size = 4
	case familyIPv6:
		size = 16
	default:
		return netip.AddrPort{}, fmt.Errorf("%w: address attribute 0x%04x has family 0x%02x",
			ErrMalformed, typ, v[1])
	}
	if len(v) != 4+size {
		return netip.AddrPort{}, fmt.Errorf("%w: address attribute 0x%04x is %d bytes, family 0x%02x needs %d",
			ErrMalformed, typ, len(v), v[1], 4+size)
	}
	port := binary.BigEndian.Uint16(v[2:4])
	var a [16]byte
	copy(a[:size], v[4:])
	if key != nil {
		port ^= binary.BigEndian.Uint16(key[0:2])
		for i := range size {
			a[i] ^= key[i]
		}
	}
	if size == 4 {
		return netip.AddrPortFrom(netip.AddrFrom4([4]byte(a[:4])), port), nil
	}
	return netip.AddrPortFrom(netip.AddrFrom16(a), port), nil
}

// decodeErrorCode decodes ERROR-CODE (RFC 8489 14.8): 21 reserved bits, a
// 3-bit class (hundreds), an 8-bit number (0 to 99 when valid) and a reason
// phrase. The code is computed, not validated.
func decodeErrorCode(m *Message, v []byte, oldReason string) error {
	if len(v) < 4 {
		return fmt.Errorf("%w: ERROR-CODE is %d bytes, needs at least 4", ErrMalformed, len(v))
	}
	m.ErrorCode = int(v[2]&0x07)*100 + int(v[3])
	m.ErrorReason = keepText(oldReason, v[4:])
	return nil
}

// decodeUint32 decodes a 4-byte attribute such as LIFETIME (RFC 8656 18.2).
func decodeUint32(typ uint16, v []byte) (uint32, bool, error) {
	if len(v) != 4 {
		return 0, false, fmt.Errorf("%w: attribute 0x%04x is %d bytes, want 4", ErrMalformed, typ, len(v))
	}
	return binary.BigEndian.Uint32(v), true, nil
}

// decodeChannelNumber decodes CHANNEL-NUMBER (RFC 8656 18.1): a 2-byte
// channel number followed by 2 bytes reserved for future use.
func decodeChannelNumber(v []byte) (uint16, error) {
	if len(v) != 4 {
		return 0, fmt.Errorf("%w: CHANNEL-NUMBER is %d bytes, want 4", ErrMalformed, len(v))
	}
	return binary.BigEndian.Uint16(v[0:2]), nil
}
