package decodetest

import (
	"encoding/binary"
	"net/netip"
)

// TCP flags (RFC 9293 3.1, RFC 3168 6.1).
const (
	FlagFIN uint8 = 1 << iota
	FlagSYN
	FlagRST
	FlagPSH
	FlagACK
	FlagURG
	FlagECE
	FlagCWR
)

// TCP option kinds (RFC 9293 3.2, RFC 7323, RFC 2018).
const (
	optEOL      = 0
	optNOP      = 1
	optMSS      = 2
	optWScale   = 3
	optSACKPerm = 4
	optSACK     = 5
	optTS       = 8
)

// maxTCPOptions is the option space of a TCP header (RFC 9293 3.1).
const maxTCPOptions = 40

// SACKBlock is one selective acknowledgment block (RFC 2018 3): the
// receiver holds [Left, Right).
type SACKBlock struct {
	Left, Right uint32
}

// TCP describes one TCP segment and the frame around it. Src and Dst choose
// IPv4 or IPv6.
type TCP struct {
	Link
	IP
	// Src and Dst are the sender's and receiver's addresses and ports.
	Src, Dst netip.AddrPort
	// Seq and Ack are the sequence and acknowledgment numbers.
	Seq, Ack uint32
	// Flags is a combination of FlagFIN, FlagSYN, FlagRST, FlagPSH, FlagACK, ...
	Flags uint8
	// Window is the unscaled receive window field.
	Window uint16
	// MSS is the maximum segment size option (RFC 9293 3.7.1); 0 omits it.
	MSS uint16
	// WScale is the window scale shift count (RFC 7323 2.2), written only on
	// SYN segments as RFC 7323 requires; -1 omits it, so a zero value
	// writes a shift count of 0 on a SYN.
	WScale int8
	// SACKPerm writes the SACK-permitted option (RFC 2018 2) on a SYN.
	SACKPerm bool
	// SACK holds SACK blocks; blocks that do not fit in the 40 bytes of
	// option space (at most 4, or 3 with timestamps) are dropped.
	SACK []SACKBlock
	// Timestamps writes the timestamps option (RFC 7323 3) carrying TSVal
	// and TSEcr.
	Timestamps   bool
	TSVal, TSEcr uint32 // timestamp value and echo reply
	// Payload is the segment data.
	Payload []byte
}

// optionsLen returns the length of the options t writes, padded to 4 bytes.
func (t *TCP) optionsLen() int {
	n := 0
	syn := t.Flags&FlagSYN != 0
	if t.MSS != 0 {
		n += 4
	}
	if syn && t.WScale >= 0 {
		n += 4
	}
	if syn && t.SACKPerm {
		n += 4
	}
	if t.Timestamps {
		n += 12
	}
	if b := t.sackBlocks(n); b > 0 {
		n += 4 + 8*b
	}
	return n
}

// sackBlocks returns how many SACK blocks fit after used bytes of options.
func (t *TCP) sackBlocks(used int) int {
	room := (maxTCPOptions - used - 4) / 8
	return max(0, min(len(t.SACK), room))
}

// appendOptions writes the options in the layout Windows and Linux use:
// each option padded with leading NOPs to a 4-byte boundary.
func (t *TCP) appendOptions(dst []byte) []byte {
	syn := t.Flags&FlagSYN != 0
	used := 0
	if t.MSS != 0 {
		dst = append(dst, optMSS, 4)
		dst = binary.BigEndian.AppendUint16(dst, t.MSS)
		used += 4
	}
	if syn && t.WScale >= 0 {
		dst = append(dst, optNOP, optWScale, 3, uint8(t.WScale))
		used += 4
	}
	if syn && t.SACKPerm {
		dst = append(dst, optNOP, optNOP, optSACKPerm, 2)
		used += 4
	}
	if t.Timestamps {
		dst = append(dst, optNOP, optNOP, optTS, 10)
		dst = binary.BigEndian.AppendUint32(dst, t.TSVal)
		dst = binary.BigEndian.AppendUint32(dst, t.TSEcr)
		used += 12
	}
	if b := t.sackBlocks(used); b > 0 {
		dst = append(dst, optNOP, optNOP, optSACK, uint8(2+8*b))
		for _, s := range t.SACK[:b] {
			dst = binary.BigEndian.AppendUint32(dst, s.Left)
			dst = binary.BigEndian.AppendUint32(dst, s.Right)
		}
	}
	return dst
}

// AppendSegment appends the TCP header and payload without link or IP
// headers, with a correct checksum for the pseudo-header of Src and Dst.
func (t TCP) AppendSegment(dst []byte) []byte {
	start := len(dst)
	dst = t.appendHeader(dst)
	finishL4(dst, start, 16, t.Src.Addr(), t.Dst.Addr(), ProtoTCP)
	return dst
}

func (t *TCP) appendHeader(dst []byte) []byte {
	olen := t.optionsLen()
	dst = binary.BigEndian.AppendUint16(dst, t.Src.Port())
	dst = binary.BigEndian.AppendUint16(dst, t.Dst.Port())
	dst = binary.BigEndian.AppendUint32(dst, t.Seq)
	dst = binary.BigEndian.AppendUint32(dst, t.Ack)
	dst = append(dst, uint8((TCPHeaderLen+olen)/4)<<4, t.Flags)
	dst = binary.BigEndian.AppendUint16(dst, t.Window)
	dst = append(dst, 0, 0, 0, 0) // checksum, urgent pointer
	dst = t.appendOptions(dst)
	return append(dst, t.Payload...)
}

// Len returns the length of the TCP header, options and payload.
func (t *TCP) Len() int {
	return TCPHeaderLen + t.optionsLen() + len(t.Payload)
}

// AppendPacket appends the IP packet (IP header and segment) without a
// link-layer header: the bytes an ICMP error quotes.
func (t TCP) AppendPacket(dst []byte) []byte {
	l := Link{Type: LinkRaw}
	return t.appendFrame(dst, &l)
}

// AppendFrame appends the whole frame: link header, IP header, TCP header,
// options and payload, with correct checksums and padding as Link asks.
func (t TCP) AppendFrame(dst []byte) []byte {
	return t.appendFrame(dst, &t.Link)
}

// Frame returns the whole frame in a new slice.
func (t TCP) Frame() []byte {
	return t.AppendFrame(make([]byte, 0, 80+len(t.Payload)))
}

func (t *TCP) appendFrame(dst []byte, l *Link) []byte {
	start := len(dst)
	src, d := t.Src.Addr(), t.Dst.Addr()
	dst, l4 := beginFrame(dst, l, &t.IP, src, d, ProtoTCP, t.Len())
	dst = t.appendHeader(dst)
	finishL4(dst, l4, 16, src, d, ProtoTCP)
	return pad(dst, start, l)
}
