package stunmsg

import "encoding/binary"

// Channel numbers accepted by ParseChannelData and NextTCPMessage.
// RFC 5766 11 allowed 0x4000 to 0x7FFF; RFC 8656 12 narrows the numbers a
// client may bind to 0x4000 to 0x4FFF and reserves the rest for RFC 7983
// demultiplexing. Servers of either generation are in use, so the wider
// range is accepted; a caller that wants RFC 8656 strictness compares the
// returned channel with 0x4FFF.
const (
	// MinChannel is the lowest TURN channel number (RFC 8656 12).
	MinChannel = 0x4000
	// MaxChannel is the highest channel number accepted (RFC 5766 11).
	MaxChannel = 0x7FFF
)

// ParseChannelData reads a TURN ChannelData message (RFC 8656 12.4) that
// fills a UDP datagram: a 2-byte channel number in MinChannel..MaxChannel, a
// 2-byte length of the application data, and the data. length is that data
// length. ok is false when the channel is out of range, the datagram is
// shorter than 4+length, or more than 3 bytes follow the data: over UDP the
// message may be padded to a multiple of four but need not be (RFC 8656
// 12.5), so at most 3 padding bytes are tolerated.
func ParseChannelData(b []byte) (channel uint16, length int, ok bool) {
	if len(b) < 4 {
		return 0, 0, false
	}
	channel = binary.BigEndian.Uint16(b[0:2])
	length = int(binary.BigEndian.Uint16(b[2:4]))
	if channel < MinChannel || channel > MaxChannel {
		return 0, 0, false
	}
	if len(b) < 4+length || len(b) > pad4(4+length) {
		return 0, 0, false
	}
	return channel, length, true
}

// Kind says what NextTCPMessage found at the start of a TCP byte stream.
type Kind uint8

// Kinds of TCP messages.
const (
	// KindUnknown means the bytes were not recognised, or too few were
	// present to tell.
	KindUnknown Kind = iota
	// KindSTUN is a STUN message sent as is over TCP or TLS (RFC 8489
	// 7.2.2, RFC 8656 3.1): it delimits itself by its header length.
	KindSTUN
	// KindChannelData is a TURN ChannelData message over TCP, padded to a
	// multiple of four bytes (RFC 8656 12.5).
	KindChannelData
	// KindFramed4571STUN is a STUN message behind the 2-byte length of
	// RFC 4571 2, as ICE-TCP (RFC 6544) sends it.
	KindFramed4571STUN
)

// String returns the snake_case name of k.
func (k Kind) String() string {
	switch k {
	case KindSTUN:
		return "stun"
	case KindChannelData:
		return "channel_data"
	case KindFramed4571STUN:
		return "framed_4571_stun"
	}
	return "unknown"
}

// NextTCPMessage splits the first message off a reassembled TCP stream to a
// STUN or TURN server.
//
// Plain STUN and TURN over TCP or TLS (RFC 8489 7.2.2, RFC 8656 3.1) carry
// messages back to back with no extra framing: each STUN message ends where
// its 20-byte header's length says, and each ChannelData message (first two
// bits 01) is padded to a multiple of four (RFC 8656 12.5). ICE-TCP (RFC 6544)
// instead puts every STUN message behind the 2-byte length of RFC 4571 2;
// such a frame is recognised by the magic cookie at bytes 6 to 9 and a frame
// length equal to 20 plus the STUN length.
//
// On success msg is the STUN message (without any RFC 4571 prefix) or the
// ChannelData message without its padding, ready for Parser.Parse or
// ParseChannelData, and rest follows the message and its padding; both alias
// b. ok is false when b is not STUN, or when more bytes are needed: kind is
// then KindUnknown, or the kind whose header was recognised but whose body
// is incomplete. Classic RFC 3489 messages over TCP are not recognised.
func NextTCPMessage(b []byte) (msg []byte, rest []byte, kind Kind, ok bool) {
	if len(b) < 4 {
		return nil, b, KindUnknown, false
	}
	switch b[0] >> 6 {
	case 0:
		return nextSTUN(b)
	case 1:
		return nextChannelData(b)
	}
	return nil, b, KindUnknown, false
}

// nextSTUN handles a stream whose first byte has the two top bits clear.
func nextSTUN(b []byte) (msg []byte, rest []byte, kind Kind, ok bool) {
	if len(b) >= 8 && binary.BigEndian.Uint32(b[4:8]) == magicCookie {
		n := headerLen + int(binary.BigEndian.Uint16(b[2:4]))
		if len(b) < n {
			return nil, b, KindSTUN, false
		}
		return b[:n], b[n:], KindSTUN, true
	}
	if len(b) < 10 {
		return nil, b, KindUnknown, false
	}
	if binary.BigEndian.Uint32(b[6:10]) != magicCookie || b[2]&0xC0 != 0 {
		return nil, b, KindUnknown, false
	}
	frame := int(binary.BigEndian.Uint16(b[0:2]))
	if frame != headerLen+int(binary.BigEndian.Uint16(b[4:6])) {
		return nil, b, KindUnknown, false
	}
	if len(b) < 2+frame {
		return nil, b, KindFramed4571STUN, false
	}
	return b[2 : 2+frame], b[2+frame:], KindFramed4571STUN, true
}

// nextChannelData handles a stream whose first byte is 0x40 to 0x7F.
func nextChannelData(b []byte) (msg []byte, rest []byte, kind Kind, ok bool) {
	n := 4 + int(binary.BigEndian.Uint16(b[2:4]))
	padded := pad4(n)
	if len(b) < padded {
		return nil, b, KindChannelData, false
	}
	return b[:n], b[padded:], KindChannelData, true
}
