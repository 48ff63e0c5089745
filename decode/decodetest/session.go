package decodetest

import "net/netip"

// Dir is the direction of a segment in a Session.
type Dir uint8

// Directions of a TCP connection.
const (
	ClientToServer Dir = iota
	ServerToClient
)

// Endpoint is one side of a Session: its address, the headers of the
// frames it sends as the capture sees them, and its sequence state.
type Endpoint struct {
	// Addr is the endpoint's address and port.
	Addr netip.AddrPort
	// Link is the link-layer header of frames this endpoint sends.
	Link Link
	// IP holds TTL, DF and the IP ID of the next packet it sends; the IP ID
	// rises by one per segment.
	IP IP
	// Next is the next sequence number it sends: set it to the initial
	// sequence number before the SYN.
	Next uint32
	// MSS, WScale and SACKPerm are the options on its SYN.
	MSS      uint16
	WScale   int8
	SACKPerm bool
	// SYNWindow is the window field of its SYN; Window of later segments.
	SYNWindow, Window uint16
}

// Session tracks the sequence numbers of one TCP connection and builds its
// segments: each call appends one frame and advances the sender's sequence
// number, so tests and generators write the exchange step by step.
type Session struct {
	Client, Server Endpoint
}

// Default link-layer addresses of NewSession: a client NIC and its gateway.
var (
	DefaultClientMAC  = MAC{0x00, 0x15, 0x5d, 0x01, 0x02, 0x03}
	DefaultGatewayMAC = MAC{0x00, 0x1c, 0x73, 0x0a, 0x0b, 0x0c}
)

// NewSession returns a session between client and server as captured on
// the client: the client looks like Windows (TTL 128, window scale 8, SACK
// permitted), the server like a Windows host 14 hops away (TTL 114),
// server frames are padded to the Ethernet minimum, and the initial
// sequence numbers are fixed.
func NewSession(client, server netip.AddrPort) *Session {
	mss := uint16(1460)
	if !client.Addr().Unmap().Is4() {
		mss = 1440
	}
	return &Session{
		Client: Endpoint{
			Addr: client,
			Link: Link{SrcMAC: DefaultClientMAC, DstMAC: DefaultGatewayMAC},
			IP:   IP{TTL: 128, IPID: 0x1000, DF: true},
			Next: 0x10000000, MSS: mss, WScale: 8, SACKPerm: true,
			SYNWindow: 64240, Window: 1026,
		},
		Server: Endpoint{
			Addr: server,
			Link: Link{SrcMAC: DefaultGatewayMAC, DstMAC: DefaultClientMAC, Pad: true},
			IP:   IP{TTL: 114, IPID: 0x2000, DF: true},
			Next: 0x20000000, MSS: 1440, WScale: 8, SACKPerm: true,
			SYNWindow: 65535, Window: 16385,
		},
	}
}

// ends returns the sender and receiver of direction d.
func (s *Session) ends(d Dir) (from, to *Endpoint) {
	if d == ServerToClient {
		return &s.Server, &s.Client
	}
	return &s.Client, &s.Server
}

// TCP returns the segment Segment would build, without advancing any
// state, so a test can alter it (a forged TTL, a wrong sequence number).
func (s *Session) TCP(d Dir, flags uint8, payload []byte) TCP {
	from, to := s.ends(d)
	t := TCP{
		Link: from.Link, IP: from.IP,
		Src: from.Addr, Dst: to.Addr,
		Seq: from.Next, Flags: flags, Window: from.Window,
		WScale: -1, Payload: payload,
	}
	if flags&FlagACK != 0 {
		t.Ack = to.Next
	}
	if flags&FlagSYN != 0 {
		t.MSS, t.WScale, t.SACKPerm, t.Window = from.MSS, from.WScale, from.SACKPerm, from.SYNWindow
	}
	return t
}

// Segment appends one segment from direction d and advances the sender's
// sequence number by the payload length plus one for SYN and FIN, and its
// IP ID by one.
func (s *Session) Segment(dst []byte, d Dir, flags uint8, payload []byte) []byte {
	dst = s.TCP(d, flags, payload).AppendFrame(dst)
	from, _ := s.ends(d)
	from.Next += uint32(len(payload))
	if flags&(FlagSYN|FlagFIN) != 0 {
		from.Next++
	}
	from.IP.IPID++
	return dst
}

// SYN appends the client's SYN.
func (s *Session) SYN(dst []byte) []byte { return s.Segment(dst, ClientToServer, FlagSYN, nil) }

// SYNACK appends the server's SYN-ACK.
func (s *Session) SYNACK(dst []byte) []byte {
	return s.Segment(dst, ServerToClient, FlagSYN|FlagACK, nil)
}

// ACK appends a bare ACK from direction d.
func (s *Session) ACK(dst []byte, d Dir) []byte { return s.Segment(dst, d, FlagACK, nil) }

// Data appends one PSH-ACK segment carrying payload; the caller keeps it
// within SegmentSize (Segments splits).
func (s *Session) Data(dst []byte, d Dir, payload []byte) []byte {
	return s.Segment(dst, d, FlagPSH|FlagACK, payload)
}

// FIN appends a FIN-ACK from direction d.
func (s *Session) FIN(dst []byte, d Dir) []byte { return s.Segment(dst, d, FlagFIN|FlagACK, nil) }

// RST appends a RST-ACK from direction d.
func (s *Session) RST(dst []byte, d Dir) []byte { return s.Segment(dst, d, FlagRST|FlagACK, nil) }

// SegmentSize returns the largest payload direction d may send: the MSS
// the receiver announced.
func (s *Session) SegmentSize(d Dir) int {
	_, to := s.ends(d)
	if to.MSS == 0 {
		return 536 // RFC 9293 3.7.1 default
	}
	return int(to.MSS)
}

// Segments splits payload at SegmentSize and calls emit with each frame:
// ACK on all, PSH on the last. The frame is valid only during the call.
func (s *Session) Segments(d Dir, payload []byte, emit func(frame []byte)) {
	var buf []byte
	size := s.SegmentSize(d)
	for len(payload) > 0 {
		n := min(size, len(payload))
		flags := FlagACK
		if n == len(payload) {
			flags |= FlagPSH
		}
		buf = s.Segment(buf[:0], d, flags, payload[:n])
		emit(buf)
		payload = payload[n:]
	}
}

// Handshake returns the three frames of the opening handshake.
func (s *Session) Handshake() [][]byte {
	return [][]byte{s.SYN(nil), s.SYNACK(nil), s.ACK(nil, ClientToServer)}
}
