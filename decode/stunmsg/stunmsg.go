// Package stunmsg decodes STUN and TURN messages (RFC 8489, RFC 8656), their
// RFC 3489 "classic" predecessors and Microsoft's MS-TURN dialect into typed
// values. It turns bytes into facts and decides nothing: whether a STUN
// exchange failed is for the analysis layer to say.
//
// The attribute walk and message-type bit layout come from
// github.com/pion/stun/v3; this package adds what pion does not handle:
// messages without the magic cookie, MS-TURN messages whose attributes are not
// padded to four bytes, TURN ChannelData (RFC 8656 12.4) and STUN over TCP
// (RFC 8489 7.2.2, RFC 6544 with RFC 4571 framing).
//
// Nothing here panics on any input, and no allocation is sized from a length
// field: every slice grows only by what was actually read.
package stunmsg

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/pion/stun/v3"
)

// Errors returned by Parse. They are wrapped with detail; test with errors.Is.
var (
	// ErrTruncated means the input is shorter than the 20-byte header or than
	// the length the header declares (RFC 8489 5).
	ErrTruncated = errors.New("stunmsg: truncated message")
	// ErrNotSTUN means the bytes cannot be a STUN message: the two most
	// significant bits are set (RFC 8489 5), or there is no magic cookie and
	// the type is not a known RFC 3489 / MS-TURN type.
	ErrNotSTUN = errors.New("stunmsg: not a stun message")
	// ErrMalformed means the header is plausible but the attributes do not
	// tile the message body, or a known attribute has an impossible value.
	ErrMalformed = errors.New("stunmsg: malformed message")
)

const (
	headerLen   = 20         // RFC 8489 5: fixed header size
	magicCookie = 0x2112A442 // RFC 8489 5
	// msturnCookie is the value of the MS-TURN MAGIC-COOKIE attribute
	// (0x000F), [MS-TURN] 2.2.2.8.
	msturnCookie = 0x72C64BC6
	// maxTextLen bounds the bytes kept from USERNAME, REALM, SOFTWARE and
	// the ERROR-CODE reason. RFC 8489 14.3 allows USERNAME up to 513 bytes
	// and 14.9/14.14 allow 763; 256 is plenty to recognise a server or realm.
	maxTextLen = 256
)

// Attribute types decoded by Parse (IANA STUN registry; RFC 8489 18.3,
// RFC 8656 18, [MS-TURN] 2.2.2).
const (
	attrMappedAddress      = 0x0001 // RFC 8489 14.1
	attrUsername           = 0x0006 // RFC 8489 14.3
	attrMessageIntegrity   = 0x0008 // RFC 8489 14.5
	attrErrorCode          = 0x0009 // RFC 8489 14.8
	attrChannelNumber      = 0x000C // RFC 8656 18.1
	attrLifetime           = 0x000D // RFC 8656 18.2
	attrMSTURNMagicCookie  = 0x000F // [MS-TURN] 2.2.2.8
	attrXORPeerAddress     = 0x0012 // RFC 8656 18.3 (REMOTE-ADDRESS in MS-TURN)
	attrRealm              = 0x0014 // RFC 8489 14.9 (NONCE in MS-TURN)
	attrMSTURNRealm        = 0x0015 // [MS-TURN] 2.2.2 (NONCE in RFC 8489)
	attrXORRelayedAddress  = 0x0016 // RFC 8656 18.5
	attrIntegritySHA256    = 0x001C // RFC 8489 14.6
	attrXORMappedAddress   = 0x0020 // RFC 8489 14.2
	attrXORMappedAddressMS = 0x8020 // [MS-TURN] 2.2.2.16, draft-ietf-behave-rfc3489bis-02
	attrSoftware           = 0x8022 // RFC 8489 14.14
	attrFingerprint        = 0x8028 // RFC 8489 14.7
)

// Message is one decoded STUN or TURN message. Parse resets it before filling
// it, and reuses its Attributes slice and, where the bytes are unchanged, its
// strings. Address fields are the zero netip.AddrPort when the attribute is
// absent; the first occurrence of an attribute wins (RFC 8489 14).
type Message struct {
	// Class is "request", "indication", "success" or "error" (RFC 8489 5,
	// the C1 and C0 bits of the message type).
	Class string
	// Method is "binding", "allocate", "refresh", "send", "data",
	// "create_permission", "channel_bind", "connect", "connection_bind",
	// "connection_attempt" (RFC 8489 18.2, RFC 8656 17, RFC 6062), or
	// "0x%03x" for others. Classic and MS-TURN messages use their own type
	// table (RFC 3489 11.1, [MS-TURN] 2.2.1), which adds "shared_secret"
	// and "set_active_destination" and maps 0x0004 to "send" and 0x0115 to
	// a "data" indication.
	Method string
	// TransactionID is bytes 8 to 19 of the header: the RFC 8489 96-bit
	// transaction ID, or the last 12 bytes of the 128-bit RFC 3489 one.
	TransactionID [12]byte
	// Classic reports that bytes 4 to 7 are not the magic cookie: an
	// RFC 3489 or legacy MS-TURN message.
	Classic bool
	// MSTURN reports that the message carries the MS-TURN MAGIC-COOKIE
	// attribute 0x000F with value 0x72C64BC6 ([MS-TURN] 2.2.2.8). MS-TURN
	// numbers some attributes differently from RFC 8489 ([MS-TURN] 2.2.2):
	// REALM is 0x0015, 0x0014 is NONCE and 0x0012 is REMOTE-ADDRESS; Parse
	// follows that numbering when this is set.
	MSTURN bool
	// Unpadded reports that the attributes are packed without the 4-byte
	// padding of RFC 8489 14, as MS-TURN servers send them (STUN draft 02
	// framing); the attribute walk used that layout instead.
	Unpadded bool

	// MappedAddress is MAPPED-ADDRESS (RFC 8489 14.1). In an MS-TURN
	// Allocate response it holds the relayed transport address.
	MappedAddress netip.AddrPort
	// XORMappedAddress is XOR-MAPPED-ADDRESS, type 0x0020 (RFC 8489 14.2) or
	// the pre-standard 0x8020 ([MS-TURN] 2.2.2.16).
	XORMappedAddress netip.AddrPort
	// XORRelayedAddress is XOR-RELAYED-ADDRESS (RFC 8656 18.5).
	XORRelayedAddress netip.AddrPort
	// XORPeerAddress is XOR-PEER-ADDRESS (RFC 8656 18.3). It stays zero in
	// MS-TURN messages, where type 0x0012 is the unobfuscated REMOTE-ADDRESS.
	XORPeerAddress netip.AddrPort

	// ErrorCode is class*100+number from ERROR-CODE (RFC 8489 14.8), e.g.
	// 401, 438, 486; zero when absent. It is not range-checked.
	ErrorCode int
	// ErrorReason is the reason phrase, at most 256 bytes.
	ErrorReason string

	// Lifetime is LIFETIME in seconds (RFC 8656 18.2); HasLifetime tells a
	// zero lifetime (deallocation) from an absent attribute.
	Lifetime    uint32
	HasLifetime bool

	// Software is SOFTWARE (RFC 8489 14.14), at most 256 bytes.
	Software string
	// Realm is REALM (RFC 8489 14.9; type 0x0015 in MS-TURN), at most 256
	// bytes.
	Realm string
	// Username is USERNAME (RFC 8489 14.3), at most 256 bytes.
	Username string

	// HasIntegrity reports MESSAGE-INTEGRITY or MESSAGE-INTEGRITY-SHA256
	// (RFC 8489 14.5, 14.6). The HMAC is not checked: that needs the key.
	HasIntegrity bool
	// HasFingerprint reports FINGERPRINT (RFC 8489 14.7); not verified.
	HasFingerprint bool

	// ChannelNumber is CHANNEL-NUMBER (RFC 8656 18.1); zero when absent.
	ChannelNumber uint16

	// Attributes lists every attribute type in wire order, exactly as sent
	// (0x8020 stays 0x8020), including comprehension-optional ones such as
	// Microsoft's 0x8008 MS-VERSION, 0x8050 MS-SEQUENCE-NUMBER, 0x8054
	// CANDIDATE-IDENTIFIER, 0x8055 MS-SERVICE-QUALITY and 0x8070
	// MS-IMPLEMENTATION-VERSION.
	Attributes []uint16
}

// reset clears m for reuse and keeps the Attributes backing array.
func (m *Message) reset() {
	attrs := m.Attributes[:0]
	*m = Message{Attributes: attrs}
}

// IsSTUN reports whether b starts with an RFC 5389/8489 header: at least 20
// bytes with the magic cookie 0x2112A442 at bytes 4 to 7 (RFC 8489 5). It is
// pion's stun.IsMessage and does no further checks; use it to demultiplex.
func IsSTUN(b []byte) bool {
	return stun.IsMessage(b)
}

// IsClassicSTUN reports whether b is exactly one RFC 3489-shaped message
// without the magic cookie: the two top bits are zero, the type is a known
// RFC 3489 or MS-TURN type, the header length equals len(b)-20, and the
// attributes tile the body exactly with no attribute of type zero.
//
// The tiling is tried with RFC 3489 lengths (every attribute a multiple of
// four, RFC 3489 11.2) and with MS-TURN's unpadded layout; in the first case
// the length must be a multiple of four. These conditions together make a
// false match on RTP (first byte 0x80 and up), DNS or random data very
// unlikely; the weakest case is a bare 20-byte Binding Request.
func IsClassicSTUN(b []byte) bool {
	if len(b) < headerLen || b[0]&0xC0 != 0 {
		return false
	}
	if binary.BigEndian.Uint32(b[4:8]) == magicCookie {
		return false
	}
	if _, ok := legacyTypes[binary.BigEndian.Uint16(b[0:2])]; !ok {
		return false
	}
	n := int(binary.BigEndian.Uint16(b[2:4]))
	if n != len(b)-headerLen {
		return false
	}
	body := b[headerLen:]
	if n%4 == 0 && tiles(body, true) {
		return true
	}
	return tiles(body, false)
}

// legacyType names a message type of RFC 3489 11.1 or [MS-TURN] 2.2.1.
type legacyType struct{ class, method string }

// legacyTypes are the message types of RFC 3489 11.1 (binding, shared
// secret) and [MS-TURN] 2.2.1 (allocate, send, data indication, set active
// destination). In these the class is not encoded in the C1/C0 bits the way
// RFC 8489 5 encodes it: 0x0115 is an indication, not an error response.
var legacyTypes = map[uint16]legacyType{
	0x0001: {"request", "binding"},
	0x0101: {"success", "binding"},
	0x0111: {"error", "binding"},
	0x0002: {"request", "shared_secret"},
	0x0102: {"success", "shared_secret"},
	0x0112: {"error", "shared_secret"},
	0x0003: {"request", "allocate"},
	0x0103: {"success", "allocate"},
	0x0113: {"error", "allocate"},
	0x0004: {"request", "send"},
	0x0104: {"success", "send"},
	0x0114: {"error", "send"},
	0x0115: {"indication", "data"},
	0x0006: {"request", "set_active_destination"},
	0x0106: {"success", "set_active_destination"},
	0x0116: {"error", "set_active_destination"},
}

// pad4 rounds n up to a multiple of four (RFC 8489 14: attribute padding).
func pad4(n int) int {
	return (n + 3) &^ 3
}

// badOffset walks body as type-length-value attributes and returns the
// offset of the first attribute that overruns it, or -1 when the attributes
// end exactly at len(body). With padded set each value is followed by
// padding to four bytes (RFC 8489 14); otherwise values are packed back to
// back (MS-TURN). zeroType reports an attribute of type zero (reserved,
// RFC 8489 18.3) among those walked.
func badOffset(body []byte, padded bool) (off int, zeroType bool) {
	for off < len(body) {
		rest := body[off:]
		if len(rest) < 4 {
			return off, zeroType
		}
		zeroType = zeroType || binary.BigEndian.Uint16(rest[0:2]) == 0
		n := int(binary.BigEndian.Uint16(rest[2:4]))
		if padded {
			n = pad4(n)
		}
		if n > len(rest)-4 {
			return off, zeroType
		}
		off += 4 + n
	}
	return -1, zeroType
}

// tiles reports whether body is a sequence of attributes that ends exactly
// at len(body) and has none of type zero (see badOffset).
func tiles(body []byte, padded bool) bool {
	off, zero := badOffset(body, padded)
	return off < 0 && !zero
}
