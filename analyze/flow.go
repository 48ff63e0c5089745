// Package analyze rebuilds flows from decoded packets and, from the flows,
// decides which belong to Quick Assist and what went wrong. It knows nothing
// of file formats or output formats.
package analyze

import (
	"net/netip"
	"time"
)

// Direction of a packet within a flow: from the client (the side that opened
// it) or from the server.
type Direction uint8

// Directions. Zeek calls them originator and responder.
const (
	FromClient Direction = 0
	FromServer Direction = 1
)

// DirStats are the counters and baselines of one direction of a flow.
type DirStats struct {
	Packets uint64 // frames, as tshark's conversation table counts them
	Bytes   uint64 // frame lengths on the wire, as tshark counts them
	Payload uint64 // transport payload bytes

	FirstFrame, LastFrame uint64
	First, Last           time.Time

	// IP baselines: the first values seen and the range, so that a packet
	// that does not fit (a forged reset) stands out.
	TTLFirst, TTLMin, TTLMax uint8
	IPIDFirst, IPIDLast      uint16

	// TCP options from this side's SYN (RFC 9293 3.7.1, RFC 7323, RFC 2018).
	MSS      uint16
	WScale   int8 // -1 when absent
	SACKPerm bool

	ISN      uint32 // initial sequence number, when the SYN was seen
	HaveISN  bool
	nextSeq  uint32 // one past the highest sequence number sent
	haveSeq  bool
	holeAt   uint32 // start of the newest gap in the sequence space
	holeTime time.Time

	SYNs, FINs, RSTs int
	Retransmissions  int
	OutOfOrder       int
	ZeroWindows      int
	KeepAlives       int
	SeqGaps          int // segments that jumped ahead of the sequence space: lost or not captured
	Malformed        int // frames whose headers did not decode cleanly
}

// Reset is one TCP reset as seen on the wire, with what the detectors compare
// it against.
type Reset struct {
	Frame   uint64
	Time    time.Time
	From    Direction
	TTL     uint8
	IPID    uint16
	Seq     uint32
	Ack     uint32
	Payload int // bytes carried by the reset (RFC 9293 3.5.3 allows diagnostic text)
	Flags   uint8
}

// maxResets bounds the resets a flow keeps; the counters keep counting.
const maxResets = 8

// Flow is one TCP connection or UDP exchange: the same protocol and address
// pair seen in both directions.
type Flow struct {
	ID     int   // 1-based position in the result's flow list
	Proto  uint8 // decode.ProtoTCP or decode.ProtoUDP
	Client netip.AddrPort
	Server netip.AddrPort
	// ClientBy says how the client was chosen: "syn", "syn-ack", "port"
	// (the server sits on the lower or well-known port) or "first" (first sender).
	ClientBy string

	FirstFrame, LastFrame uint64
	First, Last           time.Time
	Dir                   [2]DirStats

	history []byte
	hseen   [2]uint32 // letters recorded per direction, one bit each
	hcount  [2][2]int // retransmission and zero-window counts for Zeek's repeated letters

	SYNFrame, SYNACKFrame uint64
	RTT                   time.Duration // SYN to SYN-ACK, seen from the capture point
	Resets                []Reset

	// MaxIdle is the longest silence between two consecutive packets of the
	// flow, IdleAfterFrame the frame that ended it.
	MaxIdle        time.Duration
	IdleAfterFrame uint64

	closedAt time.Time // when both FINs or a RST were seen; zero while open
	key      flowKey
	clientB  bool // the client is the key's second endpoint
}

// History is Zeek's connection history string: upper case for the client,
// lower case for the server (s SYN, h SYN-ACK, a ACK, d data, f FIN, r RST,
// t retransmission, w zero window, q multi-flag, ^ direction flipped).
func (f *Flow) History() string { return string(f.history) }

// Packets counts frames in both directions.
func (f *Flow) Packets() uint64 { return f.Dir[0].Packets + f.Dir[1].Packets }

// Bytes counts frame bytes in both directions.
func (f *Flow) Bytes() uint64 { return f.Dir[0].Bytes + f.Dir[1].Bytes }

// Duration is the time from the first to the last packet.
func (f *Flow) Duration() time.Duration { return f.Last.Sub(f.First) }
