package analyze

import (
	"math"

	"github.com/qadiag/qadiag/analyze/reasm"
	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/decode/dnsmsg"
	"github.com/qadiag/qadiag/decode/httpmsg"
	"github.com/qadiag/qadiag/decode/stunmsg"
	"github.com/qadiag/qadiag/decode/tlskeys"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// Application protocols a flow is recognised to carry, by content and not by
// port (except DNS, whose messages have no signature).
const (
	AppTLS  = "tls"
	AppHTTP = "http"
	AppSTUN = "stun"
	AppDNS  = "dns"
)

// What a flow keeps of its protocol (Flow.App gives the name): a byte,
// where the name's string header took sixteen.
const (
	appNone uint8 = iota
	appTLS
	appHTTP
	appSTUN
	appDNS
)

var appNames = [...]string{appNone: "", appTLS: AppTLS, appHTTP: AppHTTP, appSTUN: AppSTUN, appDNS: AppDNS}

// App is the application protocol recognised by content: AppTLS, AppHTTP,
// AppSTUN, AppDNS, or "" for none.
func (f *Flow) App() string { return appNames[f.appKind] }

// Bounds on what the application layer keeps, so that memory follows the
// number of flows and not what a hostile or huge capture holds.
const (
	// streamLimit is how many bytes of each TCP direction are reassembled:
	// a TLS handshake with its certificate chain, a few HTTP exchanges.
	streamLimit = reasm.DefaultLimit
	// streamBudget caps the out-of-order bytes held across all flows.
	streamBudget = reasm.DefaultBudget
	// sniffLen is how many bytes a direction may gather before the flow's
	// protocol is decided.
	sniffLen = 24
	// maxBuffered bounds a message (HTTP header block, DNS or STUN over
	// TCP) gathered across segments.
	maxBuffered = 64 << 10
	// certCacheBytes bounds the certificate messages remembered so that
	// connections to one server share one parsed chain.
	certCacheBytes = 8 << 20
	// udpProbes is how many datagrams of an unrecognised UDP flow are
	// looked at for STUN.
	udpProbes = 16
)

// appState is a live flow's application-layer parsing state, created at its
// first payload and dropped when the flow is handed out; the summaries it
// fills (Flow.TLS, STUN, DNS, HTTP) stay.
type appState struct {
	f     *liveFlow
	t     *Table
	tcp   [2]reasm.Dir
	sinks [2]streamSink
	sniff [2][]byte // first bytes while the protocol is not known

	tls    *[2]tlsmsg.Stream
	tls13  bool // the server selected TLS 1.3: the client's later records are encrypted
	http   *httpState
	stun   *stunState
	dns    *dnsState
	dnsVal dnsState
	// tcpBuf gathers DNS or STUN messages over TCP per direction.
	tcpBuf [2][]byte
	probes int   // UDP datagrams seen before the protocol was known
	now    int64 // the current packet's time, Unix nanoseconds
	// frame is the current packet's frame while its segment is
	// reassembled, 0 otherwise (see streamSink.Data).
	frame uint64
	// skipped marks a direction whose first bytes, captured mid-stream,
	// decided nothing and were dropped.
	skipped [2]bool
	// sniffFrame and sniffNow are the frame and time of the last byte in
	// sniff.
	sniffFrame [2]uint64
	sniffNow   [2]int64
}

// newDNS returns the flow's DNS state, kept inside appState (which is
// reused) rather than allocated per flow.
func (a *appState) newDNS() *dnsState {
	a.dnsVal = dnsState{}
	return &a.dnsVal
}

// discard drops what a stream still holds when parsing stops.
type discard struct{}

func (discard) Data([]byte, uint64) {}
func (discard) Gap(uint32)          {}

// streamSink receives one direction's reassembled bytes.
type streamSink struct {
	a   *appState
	dir Direction
}

// Data attributes bytes that a segment made contiguous to that segment's
// frame, also when they arrived earlier out of order: a message is complete
// in the frame that filled the hole, where Wireshark shows it, and a.now,
// which DNS and STUN over TCP use for response times, is that frame's time.
func (s *streamSink) Data(b []byte, frame uint64) { s.a.data(s.dir, b, max(frame, s.a.frame)) }
func (s *streamSink) Gap(n uint32)                { s.a.gap(s.dir, n) }

// appShared is the application layer's capture-wide state.
type appShared struct {
	budget *reasm.Budget
	stunP  stunmsg.Parser
	stunM  stunmsg.Message
	dnsP   dnsmsg.Parser
	dnsM   dnsmsg.Message
	names  nameMap
	certs  *tlsmsg.CertCache
	keyLog *tlskeys.KeyLog // nil: no decryption
	ja4    *ja4Cache
	// sni interns server names; lists shares the short lists every flow
	// keeps (ALPN, offered versions, key share groups), which a capture's
	// clients send the same over and over.
	sni   tlsmsg.Names
	lists listCache
	// offers shares one TLSOffer among the flows whose clients offered
	// the same (appShared.offer).
	offers map[offerKey]*TLSOffer
	// Parsing state of finished flows, for reuse: with thousands of
	// handshakes a second, allocating it anew kept the garbage collector
	// busy.
	freeTLS []*[2]tlsmsg.Stream
	freeApp []*appState
	// histories shares the history strings of finished flows: a flow
	// keeps a pointer to one (historyString).
	histories map[string]*string
}

const maxFree = 4096

func newAppShared() *appShared {
	return &appShared{budget: reasm.NewBudget(streamBudget), names: newNameMap(),
		certs: tlsmsg.NewCertCache(certCacheBytes), ja4: newJA4Cache()}
}

func (sh *appShared) newAppState(f *liveFlow, t *Table) *appState {
	var a *appState
	if n := len(sh.freeApp); n > 0 {
		a, sh.freeApp = sh.freeApp[n-1], sh.freeApp[:n-1]
		sniff, bufs := a.sniff, a.tcpBuf
		*a = appState{}
		for d := range a.sniff {
			a.sniff[d], a.tcpBuf[d] = sniff[d][:0], bufs[d][:0]
		}
	} else {
		a = new(appState)
	}
	a.f, a.t = f, t
	a.sinks = [2]streamSink{{a, FromClient}, {a, FromServer}}
	return a
}

// release returns a finished flow's parsing state for reuse.
func (sh *appShared) release(a *appState) {
	if a.tls != nil && len(sh.freeTLS) < maxFree {
		a.tls[0].Reset()
		a.tls[1].Reset()
		sh.freeTLS = append(sh.freeTLS, a.tls)
	}
	a.tls, a.http, a.stun, a.dns, a.f = nil, nil, nil, nil, nil
	if len(sh.freeApp) < maxFree {
		sh.freeApp = append(sh.freeApp, a)
	}
}

// app hands one packet's payload (or a TCP SYN) to the flow's application
// layer.
func (t *Table) app(f *liveFlow, dir Direction, fr *decode.Frame, p *decode.Packet, now int64) {
	a := f.app
	if a == nil {
		if f.appOff || len(p.Payload) == 0 {
			return
		}
		a = t.shared.newAppState(f, t)
		f.app = a
		if p.Proto == decode.ProtoTCP {
			for d := range a.tcp {
				a.tcp[d].Init(streamLimit, t.shared.budget)
				// The SYN went by before the first payload: start the
				// stream where it said. A SYN with data (TCP Fast Open,
				// RFC 7413) is this packet and starts its stream below.
				if ds := &f.Dir[d]; ds.HaveISN && (Direction(d) != dir || p.Flags&decode.FlagSYN == 0) {
					a.tcp[d].Segment(ds.ISN, true, nil, ds.FirstFrame, &a.sinks[d])
				}
			}
		}
	}
	if a.f.appOff {
		return
	}
	if p.Proto == decode.ProtoUDP {
		a.datagram(dir, fr, p.Payload, now)
		return
	}
	if len(p.Payload) == 0 && p.Flags&decode.FlagSYN == 0 {
		return
	}
	a.now, a.frame = now, fr.Number
	if !a.tcp[dir].Segment(p.Seq, p.Flags&decode.FlagSYN != 0, p.Payload, fr.Number, &a.sinks[dir]) &&
		a.tcp[1-dir].Done() {
		a.stop()
	}
}

// stop ends parsing on the flow but keeps what was found.
func (a *appState) stop() {
	a.f.appOff = true
	for d := range a.tcp {
		a.tcp[d].Flush(discard{})
	}
	for d := range a.sniff {
		a.sniff[d], a.tcpBuf[d] = a.sniff[d][:0], a.tcpBuf[d][:0]
	}
}

// data receives reassembled TCP bytes.
func (a *appState) data(dir Direction, b []byte, frame uint64) {
	if a.f.appOff {
		return
	}
	if a.f.appKind == appNone {
		if len(a.sniff[dir]) > 0 || len(b) < sniffLen {
			a.sniff[dir] = append(a.sniff[dir], b...)
			a.sniffFrame[dir], a.sniffNow[dir] = frame, a.now
			if len(a.sniff[dir]) < sniffLen {
				return
			}
			b = a.sniff[dir]
		}
		if !a.decide(dir, b) {
			a.sniff[dir] = nil
			if a.tcp[dir].SawSYN() {
				a.stop()
				return
			}
			// The capture began inside this direction's stream: these
			// bytes may be the middle of a message (the tail of a
			// ClientHello), so the other direction or a later segment
			// may still tell.
			a.skipped[dir] = true
			return
		}
		a.sniff[dir] = nil
		// What the other direction sent, too short to decide on (a bare
		// 20-byte STUN request), came first.
		a.pending(1 - dir)
	}
	a.parse(dir, b, frame)
}

// pending parses the bytes a direction gathered while the protocol was not
// known.
func (a *appState) pending(dir Direction) {
	if b := a.sniff[dir]; len(b) > 0 && !a.f.appOff {
		a.sniff[dir] = nil
		now := a.now
		a.now = a.sniffNow[dir]
		a.parse(dir, b, a.sniffFrame[dir])
		a.now = now
	}
}

// decideShort decides on fewer than sniffLen bytes when a stream ends
// with them, and parses them.
func (a *appState) decideShort() {
	for d := range a.sniff {
		if a.f.appKind == appNone && len(a.sniff[d]) > 0 {
			a.decide(Direction(d), a.sniff[d])
		}
	}
	if a.f.appKind != appNone {
		a.pending(FromClient)
		a.pending(FromServer)
	}
}

// parse hands bytes of a direction to the flow's protocol parser.
func (a *appState) parse(dir Direction, b []byte, frame uint64) {
	if a.f.appOff {
		return
	}
	if a.skipped[dir] {
		a.skipped[dir] = false
		a.gap(dir, 0)
	}
	switch a.f.appKind {
	case appTLS:
		a.tlsData(dir, b, frame)
	case appHTTP:
		a.httpData(dir, b, frame)
	case appDNS:
		a.dnsStream(dir, b, frame)
	case appSTUN:
		a.stunStream(dir, b, frame)
	}
}

// gap handles n bytes lost from one direction (0: an unknown number).
func (a *appState) gap(dir Direction, n uint32) {
	switch {
	case a.f.appOff:
	case a.f.appKind == appNone:
		// The first bytes are missing: decide on what follows.
		a.sniff[dir] = nil
	case a.f.appKind == appTLS || a.tls != nil && a.http != nil && a.http.dir[dir].tunnel:
		a.tlsStreams()[dir].Gap()
	case a.f.appKind == appHTTP:
		a.http.gap(dir, n)
	default:
		a.tcpBuf[dir] = nil
	}
}

// decide recognises a TCP flow's protocol from the first bytes of one
// direction; false when it is none qadiag reads.
func (a *appState) decide(dir Direction, b []byte) bool {
	f := a.f
	switch {
	case tlsmsg.LooksLikeTLS(b):
		f.appKind = appTLS
		f.TLS = &TLSInfo{}
	case dir == FromClient && httpmsg.LooksLikeRequest(b), dir == FromServer && httpmsg.LooksLikeResponse(b):
		f.appKind = appHTTP
		f.HTTP = &HTTPInfo{Tunnel: -1}
		a.http = &httpState{}
	case f.Server.Port() == 53 || f.Client.Port() == 53:
		f.appKind = appDNS
		f.DNS = &DNSInfo{}
		a.dns = a.newDNS()
	default:
		// ChannelData has only a 4-byte header, which any text starting
		// with a letter passes ("SSH-2.0"): alone it decides only on the
		// TURN ports, as for UDP.
		_, _, kind, _ := stunmsg.NextTCPMessage(b)
		if kind == stunmsg.KindUnknown || kind == stunmsg.KindChannelData && !turnPort(f.Server.Port()) {
			return false
		}
		f.appKind = appSTUN
		f.STUN = &STUNInfo{}
		a.stun = newSTUNState()
	}
	return true
}

// datagram parses one UDP payload: DNS on port 53, else STUN or TURN
// ChannelData by content.
func (a *appState) datagram(dir Direction, fr *decode.Frame, b []byte, now int64) {
	f := a.f
	if f.Server.Port() == 53 || f.Client.Port() == 53 {
		if f.appKind == appNone {
			f.appKind, f.DNS, a.dns = appDNS, &DNSInfo{}, a.newDNS()
		}
		if f.appKind == appDNS {
			a.dnsMessage(dir, fr.Number, now, b)
		}
		return
	}
	if f.appKind == appNone {
		// ChannelData has only a 4-byte header: on its own it decides only
		// on the TURN ports (RFC 8656 3: 3478, 5349; Microsoft's relays
		// listen on 3478-3481).
		if !stunmsg.IsSTUN(b) && !stunmsg.IsClassicSTUN(b) {
			if _, _, ok := stunmsg.ParseChannelData(b); !ok || !turnPort(f.Server.Port()) {
				// A later datagram may be STUN (ICE checks follow
				// media), but not after many that are not.
				if a.probes++; a.probes >= udpProbes {
					a.stop()
				}
				return
			}
		}
		f.appKind, f.STUN, a.stun = appSTUN, &STUNInfo{}, newSTUNState()
	}
	if f.appKind == appSTUN {
		a.stunDatagram(dir, fr.Number, now, b)
	}
}

// finishApp completes the summaries of a flow leaving the table.
func (f *liveFlow) finishApp() {
	a := f.app
	if a == nil {
		return
	}
	a.frame = 0 // flushed pieces keep their own frames
	for d := range a.tcp {
		if !a.f.appOff {
			a.tcp[d].Flush(&a.sinks[d])
		}
		st := a.tcp[d].Stats()
		f.Dir[d].StreamGaps = int32(min(st.Lost, math.MaxInt32))
	}
	if !a.f.appOff && f.Proto == decode.ProtoTCP {
		a.decideShort()
	}
	if a.tls != nil && f.TLS != nil {
		f.TLS.fill(&a.tls[0], &a.tls[1], a.t.shared)
	}
	if a.stun != nil {
		a.stun.finish(f.STUN)
	}
	if a.dns != nil {
		a.dns.finish(f.DNS)
	}
	f.app = nil
	a.t.shared.release(a)
}

func turnPort(p uint16) bool { return p >= 3478 && p <= 3481 || p == 5349 }
