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

// DirStats are the counters and baselines of one direction of a flow. The
// fields every packet updates are kept in the flow's compact hot state while
// the flow is live and copied here when the table hands the flow out.
type DirStats struct {
	Packets uint64 // frames, as tshark's conversation table counts them
	Bytes   uint64 // frame lengths on the wire, as tshark counts them
	Payload uint64 // transport payload bytes

	FirstFrame, LastFrame uint64
	// The first and last packets' times, Unix nanoseconds (First, Last).
	firstNs, lastNs int64

	// IP baselines: the first values seen and the range, so that a packet
	// that does not fit (a forged reset) stands out.
	TTLFirst, TTLMin, TTLMax uint8
	IPIDFirst, IPIDLast      uint16

	// TCP options from this side's SYN (RFC 9293 3.7.1, RFC 7323, RFC 2018).
	MSS      uint16
	WScale   int8 // -1 when absent
	SACKPerm bool

	ISN     uint32 // initial sequence number, when the SYN was seen
	HaveISN bool

	SYNs, FINs, RSTs int32
	Retransmissions  int32
	OutOfOrder       int32
	ZeroWindows      int32
	KeepAlives       int32
	SeqGaps          int32 // segments that jumped ahead of the sequence space: lost or not captured
	MaxPayload       int32 // the largest segment payload
	LargeRetrans     int32 // retransmitted segments of largeSegment bytes or more
	StreamGaps       int32 // bytes missing from the reassembled start of the stream
	Malformed        int32 // frames whose headers did not decode cleanly
}

// dirHot is what every packet of one direction updates, packed into one
// cache line: with tens of thousands of live flows each packet's flow is a
// cache miss, and the fewer lines a packet touches the faster the table.
type dirHot struct {
	packets, bytes, payload uint64
	lastFrame               uint64
	last                    int64  // Unix nanoseconds
	nextSeq                 uint32 // one past the highest sequence number sent
	maxPayload              uint32
	haveSeq                 bool
	ttlMin, ttlMax          uint8
	ttlLast                 uint8
	ipidLast                uint16
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
	Window  uint16
	// PrevTTL and PrevIPID are those of the previous packet from the same
	// side (0 and false when the reset was its first): a forged reset
	// rarely matches them.
	PrevTTL  uint8
	PrevIPID uint16
	HavePrev bool
	// TriggerFrame and TriggerTime are the other side's last packet before
	// the reset: a reset sooner after it than the path's round trip cannot
	// come from the far end.
	TriggerFrame uint64
	TriggerTime  time.Time
}

// ICMPError is an ICMP or ICMPv6 error that quotes a packet of the flow.
type ICMPError struct {
	Frame uint64
	Time  time.Time
	From  netip.Addr // the router or host that reported it
	V6    bool
	Type  uint8
	Code  uint8
	MTU   uint16 // next-hop MTU of fragmentation needed / packet too big
	// ToServer reports that the quoted packet went from client to server.
	ToServer bool
}

// IdleGap is the longest silence of a flow of at least idleGapMin and what
// followed it, the evidence of a NAT or firewall that forgot the flow.
type IdleGap struct {
	Gap                  time.Duration
	StartFrame, EndFrame uint64 // the packets before and after the silence
	ClientAfter          int    // client packets after the silence
	ServerAfter          int    // server packets after the silence
	ServerPayloadAfter   int    // server packets with payload after it
	ClientRetransAfter   int
	ResetAfter           uint64 // first reset after the silence
	ResetAfterFromServer bool
}

// maxResets bounds the resets a flow keeps; the counters keep counting.
const maxResets = 8

// Flow is one TCP connection or UDP exchange: the same protocol and address
// pair seen in both directions. It is the summary a flow leaves when the
// table lets it go; what only reading needs (key, per-packet counters,
// parser state) is in liveFlow, which the table reuses for later flows, so
// memory grows by this summary a flow and not by the state of reading it.
type Flow struct {
	// MaxIdle is the longest silence between two consecutive packets of the
	// flow, IdleAfterFrame the frame that ended it. (First, next to the
	// live state, because every packet compares its gap with it.)
	MaxIdle        time.Duration
	IdleAfterFrame uint64
	// Idle is the longest silence of idleGapMin or more, if any.
	Idle *IdleGap

	// hseen records the history letters seen per direction, one bit each
	// (ConnState reads them).
	hseen    [2]uint32
	Proto    uint8 // decode.ProtoTCP or decode.ProtoUDP
	clientBy uint8 // how the client was chosen (ClientBy)
	appKind  uint8 // the application protocol (App)
	// ICMPCount counts the ICMP errors quoting the flow (ICMP keeps the
	// first maxICMP of them).
	ICMPCount int32

	ID     int // 1-based position in the result's flow list
	Client netip.AddrPort
	Server netip.AddrPort

	// Dir are the two directions' counters; the flow's first and last
	// frames and times are theirs (FirstFrame, First...), not kept twice.
	Dir [2]DirStats

	history *string // Zeek's history letters (History), shared by the flows with the same

	SYNFrame, SYNACKFrame uint64
	RTT                   time.Duration // SYN to SYN-ACK, seen from the capture point
	// events holds what few flows have (Resets, ICMP, DataAfterReset),
	// nil for the rest: one pointer instead of 56 bytes in every flow
	// keeps a Flow within the allocator's 448-byte class.
	events *flowEvents

	TLS  *TLSInfo  // also set for TLS inside an HTTP CONNECT tunnel
	HTTP *HTTPInfo // HTTP/1.x exchanges, proxy CONNECTs among them
	STUN *STUNInfo
	DNS  *DNSInfo
	// names are the names DNS answers in the capture resolved to the
	// server's address (Names): one list shared by the flows to that
	// address that began after the same answers.
	names *[]NameSource
}

// flowEvents are a flow's resets and ICMP errors.
type flowEvents struct {
	resets         []Reset
	icmp           []ICMPError
	dataAfterReset uint64
}

// ev returns the flow's events, creating them on first use.
func (f *Flow) ev() *flowEvents {
	if f.events == nil {
		f.events = new(flowEvents)
	}
	return f.events
}

// Resets lists the first maxResets TCP resets of the flow (DirStats.RSTs
// counts them all).
func (f *Flow) Resets() []Reset {
	if f.events == nil {
		return nil
	}
	return f.events.resets
}

// ICMP lists the first maxICMP ICMP errors quoting the flow (ICMPCount
// counts them all).
func (f *Flow) ICMP() []ICMPError {
	if f.events == nil {
		return nil
	}
	return f.events.icmp
}

// ReplaceICMP sets the flow's ICMP errors to icmp. A copy of a Flow shares
// the original's resets and ICMP errors; this gives the copy its own (a
// redacted copy rewrites the reporting addresses).
func (f *Flow) ReplaceICMP(icmp []ICMPError) {
	var ev flowEvents
	if f.events != nil {
		ev = *f.events
	}
	ev.icmp = icmp
	f.events = &ev
}

// DataAfterReset is the first frame carrying data from a side that had
// already sent a reset (a real stack sends nothing after its reset), or 0.
func (f *Flow) DataAfterReset() uint64 {
	if f.events == nil {
		return 0
	}
	return f.events.dataAfterReset
}

// Names are the names DNS answers in the capture resolved to the server's
// address, with the answering frame (answers before the flow began when
// there are any). The list may be shared: read only.
func (f *Flow) Names() []NameSource {
	if f.names == nil {
		return nil
	}
	return *f.names
}

// SetNames sets the names the server's address was resolved from.
func (f *Flow) SetNames(ns []NameSource) {
	f.names = nil
	if ns != nil {
		f.names = &ns
	}
}

// History is Zeek's connection history string: upper case for the client,
// lower case for the server (s SYN, h SYN-ACK, a ACK, d data, f FIN, r RST,
// t retransmission, w zero window, q multi-flag, ^ direction flipped).
func (f *Flow) History() string {
	if f.history == nil {
		return ""
	}
	return *f.history
}

// Packets counts frames in both directions.
func (f *Flow) Packets() uint64 { return f.Dir[0].Packets + f.Dir[1].Packets }

// Bytes counts frame bytes in both directions.
func (f *Flow) Bytes() uint64 { return f.Dir[0].Bytes + f.Dir[1].Bytes }

// FirstFrame is the frame of the flow's first packet.
func (f *Flow) FirstFrame() uint64 { return f.Dir[f.firstDir()].FirstFrame }

// LastFrame is the frame of the flow's last packet.
func (f *Flow) LastFrame() uint64 { return max(f.Dir[0].LastFrame, f.Dir[1].LastFrame) }

// firstDir is the direction of the flow's first packet: the one whose
// first frame comes first, of those that sent any.
func (f *Flow) firstDir() Direction {
	a, b := f.Dir[0].FirstFrame, f.Dir[1].FirstFrame
	if a == 0 || b != 0 && b < a {
		return 1
	}
	return 0
}

// First is the time of the flow's first packet.
func (f *Flow) First() time.Time { return unixTime(f.firstNs()) }

// Last is the time of the flow's last packet.
func (f *Flow) Last() time.Time { return unixTime(f.lastNs()) }

// Duration is the time from the first to the last packet.
func (f *Flow) Duration() time.Duration { return time.Duration(f.lastNs() - f.firstNs()) }

func (f *Flow) firstNs() int64 { return f.Dir[f.firstDir()].firstNs }

func (f *Flow) lastNs() int64 {
	if f.Dir[1].LastFrame > f.Dir[0].LastFrame {
		return f.Dir[1].lastNs
	}
	return f.Dir[0].lastNs
}

// First is the time of the direction's first packet (zero when it sent none).
func (d *DirStats) First() time.Time { return d.time(d.firstNs) }

// Last is the time of the direction's last packet (zero when it sent none).
func (d *DirStats) Last() time.Time { return d.time(d.lastNs) }

func (d *DirStats) time(ns int64) time.Time {
	if d.Packets == 0 {
		return time.Time{}
	}
	return unixTime(ns)
}

// How the client of a flow was chosen (Flow.ClientBy).
const (
	clientBySYN uint8 = iota
	clientBySYNACK
	clientByPort
	clientByFirst
)

var clientByNames = [...]string{clientBySYN: "syn", clientBySYNACK: "syn-ack", clientByPort: "port", clientByFirst: "first"}

// ClientBy says how the client was chosen: "syn", "syn-ack", "port" (the
// server sits on the lower or well-known port) or "first" (first sender).
func (f *Flow) ClientBy() string { return clientByNames[f.clientBy] }
