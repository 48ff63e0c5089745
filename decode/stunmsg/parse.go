package stunmsg

import (
	"encoding/binary"
	"fmt"

	"github.com/pion/stun/v3"
)

// Parser decodes STUN messages into Message values. It holds one pion
// stun.Message whose Raw and Attributes buffers are reused, so that after the
// first few packets Parse allocates only for strings that changed. The zero
// value is ready to use; a Parser is not safe for concurrent use.
type Parser struct {
	msg stun.Message
}

// Parse decodes b into m with a temporary Parser. Hot paths should keep a
// Parser and call its Parse method instead.
func Parse(b []byte, m *Message) error {
	var p Parser
	return p.Parse(b, m)
}

// Parse decodes the STUN message at the start of b into m, after resetting m.
// Bytes after the length the header declares are ignored, as tailscale's
// and pion's decoders ignore them. Messages without the magic cookie are accepted when their type is a
// known RFC 3489 or MS-TURN type.
//
// Attributes are walked with RFC 8489 14 padding (by pion's decoder); if that
// walk does not fit the body, the MS-TURN layout without padding is tried and
// m.Unpadded is set. When an individual attribute has an impossible value,
// Parse still fills every other field and returns the first such error.
// Errors wrap ErrTruncated, ErrNotSTUN or ErrMalformed. m never refers to b.
func (p *Parser) Parse(b []byte, m *Message) error {
	old := saveTexts(m)
	m.reset()
	if len(b) < headerLen {
		return fmt.Errorf("%w: %d bytes, the header needs %d", ErrTruncated, len(b), headerLen)
	}
	// RFC 8489 5: the two most significant bits of every STUN message are 0.
	if b[0]&0xC0 != 0 {
		return fmt.Errorf("%w: first byte 0x%02x has a top bit set", ErrNotSTUN, b[0])
	}
	typ := binary.BigEndian.Uint16(b[0:2])
	n := int(binary.BigEndian.Uint16(b[2:4]))
	classic := binary.BigEndian.Uint32(b[4:8]) != magicCookie
	if _, ok := legacyTypes[typ]; classic && !ok {
		return fmt.Errorf("%w: no magic cookie and unknown type 0x%04x", ErrNotSTUN, typ)
	}
	m.Classic = classic
	if n > len(b)-headerLen {
		return fmt.Errorf("%w: length %d exceeds the %d bytes after the header", ErrTruncated, n, len(b)-headerLen)
	}
	copy(m.TransactionID[:], b[8:headerLen])
	raw := b[:headerLen+n]
	err := p.walk(raw, m)
	if err == nil {
		var key [16]byte
		copy(key[:], raw[4:headerLen])
		err = p.fill(m, &key, &old)
	}
	setType(m, typ, old.method)
	return err
}

// walk splits the attributes of raw (one whole message) into p.msg.Attributes
// and records their wire types in m.Attributes, index for index.
func (p *Parser) walk(raw []byte, m *Message) error {
	p.msg.Raw = append(p.msg.Raw[:0], raw...)
	if m.Classic {
		// pion only walks messages that carry the cookie; the attribute
		// layout does not depend on it, and addresses are decoded below
		// from the original bytes.
		binary.BigEndian.PutUint32(p.msg.Raw[4:8], magicCookie)
	}
	body := raw[headerLen:]
	if off, _ := badOffset(body, true); off < 0 {
		if err := p.msg.Decode(); err != nil {
			return fmt.Errorf("%w: %w", ErrMalformed, err)
		}
		// pion rewrites type 0x8020 to 0x0020; keep what was on the wire.
		m.Attributes = appendTypes(m.Attributes, body, len(p.msg.Attributes))
		return nil
	}
	if off, _ := badOffset(body, false); off >= 0 {
		padOff, _ := badOffset(body, true)
		return fmt.Errorf("%w: attribute at body offset %d overruns the %d-byte body (%d without padding)",
			ErrMalformed, padOff, len(body), off)
	}
	// MS-TURN ([MS-TURN] 2.2.2, after STUN draft 02) packs attributes
	// without padding; Teams relays send such ERROR-CODE and SOFTWARE values.
	p.msg.Attributes = p.msg.Attributes[:0]
	for len(body) >= 4 {
		t := binary.BigEndian.Uint16(body[0:2])
		l := int(binary.BigEndian.Uint16(body[2:4]))
		if l > len(body)-4 {
			break // cannot happen after tiles; keeps the slicing provably safe
		}
		p.msg.Attributes = append(p.msg.Attributes, stun.RawAttribute{
			Type: stun.AttrType(t), Length: uint16(l), Value: body[4 : 4+l],
		})
		m.Attributes = append(m.Attributes, t)
		body = body[4+l:]
	}
	m.Unpadded = true
	return nil
}

// appendTypes appends the wire types of the first count padded attributes in
// body to dst.
func appendTypes(dst []uint16, body []byte, count int) []uint16 {
	for i := 0; i < count && len(body) >= 4; i++ {
		dst = append(dst, binary.BigEndian.Uint16(body[0:2]))
		l := pad4(int(binary.BigEndian.Uint16(body[2:4])))
		if l > len(body)-4 {
			break
		}
		body = body[4+l:]
	}
	return dst
}

// Bits of the seen set in fill: the first occurrence of each attribute wins
// (RFC 8489 14).
const (
	seenMapped = 1 << iota
	seenXORMapped
	seenXORRelayed
	seenXORPeer
	seenError
	seenLifetime
	seenSoftware
	seenRealm
	seenUsername
	seenChannel
)

// fill decodes the attributes p.walk found into m. key is bytes 4 to 19 of
// the header, the XOR key of every XOR-*-ADDRESS.
func (p *Parser) fill(m *Message, key *[16]byte, old *texts) error {
	attrs := p.msg.Attributes
	if len(m.Attributes) < len(attrs) {
		attrs = attrs[:len(m.Attributes)]
	}
	for i := range attrs {
		v := attrs[i].Value
		if m.Attributes[i] == attrMSTURNMagicCookie && len(v) == 4 && binary.BigEndian.Uint32(v) == msturnCookie {
			m.MSTURN = true
		}
	}
	realmType := uint16(attrRealm)
	if m.MSTURN {
		realmType = attrMSTURNRealm
	}
	var first error
	var seen uint16
	once := func(bit uint16) bool {
		if seen&bit != 0 {
			return false
		}
		seen |= bit
		return true
	}
	for i := range attrs {
		t, v := m.Attributes[i], attrs[i].Value
		var err error
		switch {
		case t == attrMappedAddress && once(seenMapped):
			m.MappedAddress, err = decodeAddr(t, v, nil)
		case (t == attrXORMappedAddress || t == attrXORMappedAddressMS) && once(seenXORMapped):
			m.XORMappedAddress, err = decodeAddr(t, v, key)
		case t == attrXORRelayedAddress && once(seenXORRelayed):
			m.XORRelayedAddress, err = decodeAddr(t, v, key)
		case t == attrXORPeerAddress && !m.MSTURN && once(seenXORPeer):
			m.XORPeerAddress, err = decodeAddr(t, v, key)
		case t == attrErrorCode && once(seenError):
			err = decodeErrorCode(m, v, old.reason)
		case t == attrLifetime && once(seenLifetime):
			m.Lifetime, m.HasLifetime, err = decodeUint32(t, v)
		case t == attrChannelNumber && once(seenChannel):
			m.ChannelNumber, err = decodeChannelNumber(v)
		case t == attrSoftware && once(seenSoftware):
			m.Software = keepText(old.software, v)
		case t == realmType && once(seenRealm):
			m.Realm = keepText(old.realm, v)
		case t == attrUsername && once(seenUsername):
			m.Username = keepText(old.username, v)
		case t == attrMessageIntegrity || t == attrIntegritySHA256:
			m.HasIntegrity = true
		case t == attrFingerprint:
			m.HasFingerprint = true
		}
		if err != nil && first == nil {
			first = err
		}
	}
	return first
}

// setType fills Class and Method from the 16-bit message type. Classic and
// MS-TURN messages use the RFC 3489 / [MS-TURN] 2.2.1 table; others, and
// types missing from that table, use the RFC 8489 5 bit layout as decoded by
// pion.
func setType(m *Message, typ uint16, oldMethod string) {
	if lt, ok := legacyTypes[typ]; ok && (m.Classic || m.MSTURN) {
		m.Class, m.Method = lt.class, lt.method
		return
	}
	var t stun.MessageType
	t.ReadValue(typ)
	switch t.Class {
	case stun.ClassRequest:
		m.Class = "request"
	case stun.ClassIndication:
		m.Class = "indication"
	case stun.ClassSuccessResponse:
		m.Class = "success"
	default:
		m.Class = "error"
	}
	m.Method = methodName(t.Method, oldMethod)
}

// methodName names an RFC 8489 18.2 / RFC 8656 17 / RFC 6062 method, or
// formats it as "0x%03x" (reusing old when it already holds that text).
func methodName(method stun.Method, old string) string {
	switch method {
	case stun.MethodBinding:
		return "binding"
	case stun.MethodAllocate:
		return "allocate"
	case stun.MethodRefresh:
		return "refresh"
	case stun.MethodSend:
		return "send"
	case stun.MethodData:
		return "data"
	case stun.MethodCreatePermission:
		return "create_permission"
	case stun.MethodChannelBind:
		return "channel_bind"
	case stun.MethodConnect:
		return "connect"
	case stun.MethodConnectionBind:
		return "connection_bind"
	case stun.MethodConnectionAttempt:
		return "connection_attempt"
	}
	const digits = "0123456789abcdef"
	v := uint16(method) & 0x0FFF
	buf := [5]byte{'0', 'x', digits[v>>8], digits[v>>4&0xF], digits[v&0xF]}
	if string(buf[:]) == old {
		return old
	}
	return string(buf[:])
}
