package analyze

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/decode/decodetest"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// A flow script is a fuzz input read as a small program that builds a
// capture of one or two connections to one server, so that the fuzzer
// drives the whole flow path (reader, decoder, flow table, reassembly,
// application parsers) with packets that reach the parsers.
//
// Header, two bytes:
//
//	byte 0: bit 0 UDP (else TCP); bits 1-3 the server port, an index into
//	        scriptPorts; bit 4 IPv6; bit 5 pcapng; bit 6 the client's
//	        sequence numbers start just below 2^32 (wraparound)
//	byte 1: low bits of the initial sequence numbers
//
// Then steps, each an op byte, a 2-byte big-endian length n, and n payload
// bytes (fewer if the input ends):
//
//	bit 0     direction: 0 client to server, 1 server to client
//	bit 1     connection: 0 or 1 (client ports 50000 and 50001)
//	bits 2-4  action: 0 send; 1 send twice; 2 hold (sent at the next
//	          release, held ones in reverse order); 3 release the held
//	          ones, then send; 4 drop (a hole: the sequence advances but
//	          nothing is captured); 5 overlap (sent n/2 bytes back in
//	          sequence, without advancing); 6 send with FIN; 7 send with RST
//	bits 5-6  time since the previous frame: 1 ms, 0, 1.5 s, 11 min (past
//	          the UDP idle timeout)
//	bit 7     TCP: the three-way handshake first (a new connection on the
//	          same ports once the old one closed)
const (
	scriptMaxSteps   = 256
	scriptMaxPayload = 1460
)

// scriptPorts are the server ports a script chooses from: those the
// application layer treats specially, and one it does not.
var scriptPorts = [8]uint16{443, 80, 3478, 53, 8080, 3479, 5349, 22}

// Script actions (op bits 2-4).
const (
	actSend = iota
	actDup
	actHold
	actRelease
	actDrop
	actOverlap
	actFIN
	actRST
)

// scriptStep is one step of a flow script, for building seeds.
type scriptStep struct {
	op   byte
	data []byte
}

// encodeScript turns a header and steps into fuzz input; long payloads are
// cut into steps of scriptMaxPayload bytes with the same op.
func encodeScript(hdr0, hdr1 byte, steps ...scriptStep) []byte {
	b := []byte{hdr0, hdr1}
	for _, s := range steps {
		data := s.data
		for first := true; first || len(data) > 0; first = false {
			n := min(len(data), scriptMaxPayload)
			b = append(b, s.op)
			b = binary.BigEndian.AppendUint16(b, uint16(n))
			b = append(b, data[:n]...)
			data = data[n:]
		}
	}
	return b
}

// scriptBuilder holds the state of a script being run.
type scriptBuilder struct {
	c      *capture
	udp    bool
	split  bool // cut each TCP segment of 2 bytes or more in two
	server netip.AddrPort
	client [2]netip.AddrPort
	sess   [2]*decodetest.Session
	held   [][][]byte
	// orig maps each frame (index frame-1) to the frame it would be
	// without split.
	orig  []uint64
	units uint64
}

var scriptGaps = [4]time.Duration{time.Millisecond, 0, 1500 * time.Millisecond, 11 * time.Minute}

// buildScript runs a flow script and returns the capture it describes.
// With split, each TCP segment carrying 2 bytes or more becomes two
// segments at the same time, and orig maps the frames back to those of the
// capture without split.
func buildScript(data []byte, split bool) (c *capture, orig []uint64) {
	c = newCapture()
	if len(data) < 2 {
		return c, nil
	}
	h0, h1 := data[0], data[1]
	data = data[2:]
	b := &scriptBuilder{c: c, udp: h0&1 != 0, split: split}
	c.pcapng = h0&0x20 != 0
	srv, cli := netip.MustParseAddr("20.42.65.90"), netip.MustParseAddr("10.20.30.11")
	if h0&0x10 != 0 {
		srv, cli = netip.MustParseAddr("2603:1061:14:50::10"), netip.MustParseAddr("2001:db8:20:30::11")
	}
	b.server = netip.AddrPortFrom(srv, scriptPorts[h0>>1&7])
	for i := range b.sess {
		b.client[i] = netip.AddrPortFrom(cli, 50000+uint16(i))
		s := decodetest.NewSession(b.client[i], b.server)
		s.Client.Next = uint32(h1)<<8 | uint32(i)
		if h0&0x40 != 0 {
			s.Client.Next = 0xffffff00 | uint32(h1)
		}
		s.Server.Next = 0x80000000 + uint32(h1)<<12
		b.sess[i] = s
	}
	for steps := 0; len(data) >= 3 && steps < scriptMaxSteps; steps++ {
		op, n := data[0], int(binary.BigEndian.Uint16(data[1:3]))
		data = data[3:]
		n = min(n, len(data), scriptMaxPayload)
		b.step(op, data[:n])
		data = data[n:]
	}
	b.release()
	return c, b.orig
}

// add captures a unit: the frames of one segment, d after the previous.
func (b *scriptBuilder) add(d time.Duration, unit [][]byte) {
	b.units++
	for i, f := range unit {
		if i > 0 {
			d = 0
		}
		b.c.after(d, f)
		b.orig = append(b.orig, b.units)
	}
}

// release sends the held units, the last held first.
func (b *scriptBuilder) release() {
	for i := len(b.held) - 1; i >= 0; i-- {
		b.add(time.Millisecond, b.held[i])
	}
	b.held = b.held[:0]
}

func (b *scriptBuilder) step(op byte, payload []byte) {
	dir, conn, act := decodetest.Dir(op&1), op>>1&1, op>>2&7
	gap := scriptGaps[op>>5&3]
	if act == actRelease {
		b.release()
	}
	if b.udp {
		src, dst := b.client[conn], b.server
		if dir == decodetest.ServerToClient {
			src, dst = dst, src
		}
		b.emit(act, gap, [][]byte{udpFrame(src, dst, payload)})
		return
	}
	s := b.sess[conn]
	if op&0x80 != 0 {
		for _, f := range s.Handshake() {
			b.add(gap, [][]byte{f})
		}
	}
	var flags uint8
	switch act {
	case actFIN:
		flags = decodetest.FlagFIN
	case actRST:
		flags = decodetest.FlagRST
	}
	seg := s.TCP(dir, decodetest.FlagACK|decodetest.FlagPSH|flags, payload)
	if act == actOverlap {
		seg.Seq -= uint32(len(payload) / 2)
	} else {
		s.Segment(nil, dir, seg.Flags, payload) // advance the session
	}
	if !b.split || len(payload) < 2 {
		b.emit(act, gap, [][]byte{seg.Frame()})
		return
	}
	// The payload's last byte chooses the cut, so that the fuzzer moves
	// it. Flags (FIN, RST) go on the second piece.
	cut := 1 + int(payload[len(payload)-1])%(len(payload)-1)
	first := seg
	first.Flags, first.Payload = decodetest.FlagACK, payload[:cut]
	seg.Seq, seg.Payload = seg.Seq+uint32(cut), payload[cut:]
	seg.IPID++
	b.emit(act, gap, [][]byte{first.Frame(), seg.Frame()})
}

// emit captures a unit as the action says.
func (b *scriptBuilder) emit(act byte, gap time.Duration, unit [][]byte) {
	switch act {
	case actHold:
		b.held = append(b.held, unit)
	case actDrop:
	case actDup:
		b.add(gap, unit)
		b.add(0, unit)
	default:
		b.add(gap, unit)
	}
}

// FuzzFlowPath runs flow scripts through Read: no panic, summaries within
// their bounds and their flows, the same result twice, and the same
// summaries when every TCP segment is cut in two. Seeds are the exchanges
// TestApp* check and the first payloads of the shared corpus.
//
//	go test -run '^$' -fuzz FuzzFlowPath -fuzztime 180s ./analyze/
func FuzzFlowPath(f *testing.F) {
	for _, seed := range flowSeeds() {
		f.Add(seed)
	}
	for _, seed := range corpusSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(checkFlowPath)
}

// checkFlowPath builds the capture a flow script describes, reads it twice,
// and checks what must hold for any input; then, where the script allows,
// that cutting every TCP segment in two changes no summary.
func checkFlowPath(t *testing.T, data []byte) {
	c, _ := buildScript(data, false)
	file := c.file(t)
	res, err := Read(context.Background(), bytes.NewReader(file), "fuzz")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	packets := uint64(len(c.frames))
	if res.Capture.Packets != packets {
		t.Fatalf("read %d frames, wrote %d", res.Capture.Packets, packets)
	}
	if uint64(len(res.Flows)) > packets {
		t.Fatalf("%d flows from %d packets", len(res.Flows), packets)
	}
	for _, fl := range res.Flows {
		checkFlowApp(t, fl, packets)
	}
	again, err := Read(context.Background(), bytes.NewReader(file), "fuzz")
	if err != nil {
		t.Fatalf("second Read: %v", err)
	}
	if len(again.Flows) != len(res.Flows) {
		t.Fatalf("second Read: %d flows, first %d", len(again.Flows), len(res.Flows))
	}
	for i, fl := range res.Flows {
		if d := diffApp(fl, again.Flows[i], true); d != "" {
			t.Fatalf("flow %d differs between two Reads: %s", fl.ID, d)
		}
	}
	if splitComparable(data) {
		checkSplit(t, data, res)
	}
}

// checkSplit reads the capture of the script with every TCP segment cut in
// two and compares the summaries with those of res, frames mapped back.
func checkSplit(t *testing.T, data []byte, res *Result) {
	t.Helper()
	c, orig := buildScript(data, true)
	split, err := Read(context.Background(), bytes.NewReader(c.file(t)), "fuzz-split")
	if err != nil {
		t.Fatalf("Read of the split capture: %v", err)
	}
	if len(split.Flows) != len(res.Flows) {
		t.Fatalf("split capture: %d flows, whole %d", len(split.Flows), len(res.Flows))
	}
	for i, fl := range split.Flows {
		mapFrames(fl, func(n uint64) uint64 {
			if n == 0 || n > uint64(len(orig)) {
				return n
			}
			return orig[n-1]
		})
		// A TLS flow stops after tlsFollowRecords application_data
		// records each way, at a point that depends on where segments
		// end: what follows is not compared.
		w := res.Flows[i]
		tls := w.TLS == nil || w.TLS.AppData[0] < tlsFollowRecords || w.TLS.AppData[1] < tlsFollowRecords
		if d := diffApp(w, fl, tls); d != "" {
			t.Fatalf("flow %d: %s differs when segments are cut in two:\n%s", w.ID, d, appDump(w, fl, d))
		}
	}
}

// splitComparable reports whether cutting the segments of a script must
// leave the summaries as they are: TCP, every connection opened by a
// handshake before its data (a direction captured mid-stream is decided per
// segment), no segment dropped, and if any is held for reordering, few
// enough segments that reassembly holds all the pieces of the split capture
// (reasm.MaxPieces).
func splitComparable(data []byte) bool {
	if len(data) < 2 || data[0]&1 != 0 {
		return false
	}
	var opened [2]bool
	steps, held := 0, false
	for data = data[2:]; len(data) >= 3 && steps < scriptMaxSteps; steps++ {
		op, n := data[0], int(binary.BigEndian.Uint16(data[1:3]))
		data = data[3+min(n, len(data)-3, scriptMaxPayload):]
		conn := op >> 1 & 1
		opened[conn] = opened[conn] || op&0x80 != 0
		switch {
		case !opened[conn], op>>2&7 == actDrop:
			return false
		case op>>2&7 == actHold:
			held = true
		}
	}
	return !held || steps <= 16
}

// mapFrames rewrites the frames in a flow's summaries through m.
func mapFrames(f *Flow, m func(uint64) uint64) {
	if x := f.TLS; x != nil {
		for _, p := range []*uint64{&x.ClientFrame, &x.ServerFrame, &x.Details().HRRFrame, &x.CertFrame, &x.Details().DoneFrame,
			&x.CCSFrame[0], &x.CCSFrame[1], &x.AppDataFrame[0], &x.AppDataFrame[1]} {
			*p = m(*p)
		}
		for d := range Direction(2) {
			recs := x.FirstAppData(d)
			for i := range recs {
				recs[i].Frame = m(recs[i].Frame)
			}
			x.setFirstAppData(d, recs)
		}
		for i := range x.Details().Alerts {
			x.Details().Alerts[i].Frame = m(x.Details().Alerts[i].Frame)
		}
	}
	if h := f.HTTP; h != nil {
		for i := range h.Exchanges {
			h.Exchanges[i].Frame, h.Exchanges[i].ResponseFrame = m(h.Exchanges[i].Frame), m(h.Exchanges[i].ResponseFrame)
		}
	}
	if s := f.STUN; s != nil {
		for i := range s.Transactions {
			tx := &s.Transactions[i]
			tx.ResponseFrame = m(tx.ResponseFrame)
			for j := range tx.RequestFrames {
				tx.RequestFrames[j] = m(tx.RequestFrames[j])
			}
		}
	}
	if d := f.DNS; d != nil {
		for i := range d.Queries {
			q := &d.Queries[i]
			q.Frame, q.ResponseFrame = m(q.Frame), m(q.ResponseFrame)
			for j := range q.Frames {
				q.Frames[j] = m(q.Frames[j])
			}
		}
	}
	for i := range f.Names() {
		f.Names()[i].Frame = m(f.Names()[i].Frame)
	}
}

// appDump shows the summary named what of two flows.
func appDump(a, b *Flow, what string) string {
	pick := func(f *Flow) any {
		switch what {
		case "TLS":
			return f.TLS
		case "HTTP":
			return f.HTTP
		case "STUN":
			return f.STUN
		case "DNS":
			return f.DNS
		case "Names":
			return f.Names()
		}
		return f.App()
	}
	return fmt.Sprintf("whole: %+v\nsplit: %+v", pick(a), pick(b))
}

// diffApp names the first application summary that differs between two
// flows, or returns ""; tls false leaves TLS out.
func diffApp(a, b *Flow, tls bool) string {
	switch {
	case a.App() != b.App():
		return "App"
	case tls && !reflect.DeepEqual(a.TLS, b.TLS):
		return "TLS"
	case !reflect.DeepEqual(a.HTTP, b.HTTP):
		return "HTTP"
	case !reflect.DeepEqual(a.STUN, b.STUN):
		return "STUN"
	case !reflect.DeepEqual(a.DNS, b.DNS):
		return "DNS"
	case !reflect.DeepEqual(a.Names(), b.Names()):
		return "Names"
	}
	return ""
}

// checkFlowApp checks one flow's application summaries: frames inside the
// flow (names point at DNS answers anywhere in the capture), slices within
// their documented bounds, counters consistent with what was kept.
func checkFlowApp(t *testing.T, f *Flow, packets uint64) {
	t.Helper()
	in := func(what string, frame uint64) {
		if frame != 0 && (frame < f.FirstFrame() || frame > f.LastFrame()) {
			t.Errorf("flow %d (frames %d-%d): %s frame %d outside the flow", f.ID, f.FirstFrame(), f.LastFrame(), what, frame)
		}
	}
	if len(f.Names()) > maxNamesPerAddr {
		t.Errorf("flow %d: %d names", f.ID, len(f.Names()))
	}
	for _, n := range f.Names() {
		if n.Frame == 0 || n.Frame > packets {
			t.Errorf("flow %d: name %q from frame %d of %d", f.ID, n.Name, n.Frame, packets)
		}
	}
	if f.TLS != nil {
		checkTLS(t, f.TLS, in)
	}
	if f.HTTP != nil {
		checkHTTP(t, f.HTTP, in)
	}
	if f.STUN != nil {
		checkSTUN(t, f.STUN, f.Proto == decode.ProtoUDP, in)
	}
	if f.DNS != nil {
		checkDNS(t, f.DNS, f.Proto == decode.ProtoUDP, in)
	}
	if want := map[string]bool{AppTLS: f.TLS != nil, AppHTTP: f.HTTP != nil, AppSTUN: f.STUN != nil, AppDNS: f.DNS != nil}; f.App() != "" && !want[f.App()] {
		t.Errorf("flow %d: App %q without its summary", f.ID, f.App())
	}
}

func checkTLS(t *testing.T, x *TLSInfo, in func(string, uint64)) {
	t.Helper()
	for _, fr := range []struct {
		what  string
		frame uint64
	}{{"ClientHello", x.ClientFrame}, {"ServerHello", x.ServerFrame}, {"HRR", x.Details().HRRFrame}, {"Certificate", x.CertFrame},
		{"ServerHelloDone", x.Details().DoneFrame}, {"client CCS", x.CCSFrame[0]}, {"server CCS", x.CCSFrame[1]},
		{"client app data", x.AppDataFrame[0]}, {"server app data", x.AppDataFrame[1]}} {
		in("TLS "+fr.what, fr.frame)
	}
	if x.HelloRetry != (x.Details().HRRFrame != 0) {
		t.Errorf("HelloRetry %v with HRR frame %d", x.HelloRetry, x.Details().HRRFrame)
	}
	if len(x.Details().Alerts) > 2*tlsmsg.MaxAlerts || len(x.Details().Alerts) > int(x.Details().AlertRecords) {
		t.Errorf("%d alerts kept of %d", len(x.Details().Alerts), x.Details().AlertRecords)
	}
	for i, a := range x.Details().Alerts {
		in("alert", a.Frame)
		if i > 0 && a.Frame < x.Details().Alerts[i-1].Frame {
			t.Errorf("alerts out of frame order: %d after %d", a.Frame, x.Details().Alerts[i-1].Frame)
		}
	}
	for d := range 2 {
		if x.AppData[d] > tlsFollowRecords || x.AppData[d] > x.Records[d] {
			t.Errorf("direction %d: %d application_data records of %d", d, x.AppData[d], x.Records[d])
		}
		for _, r := range x.FirstAppData(Direction(d)) {
			in("application_data record", r.Frame)
		}
		if (x.AppData[d] > 0) != (x.AppDataFrame[d] != 0) {
			t.Errorf("direction %d: %d application_data records, first in frame %d", d, x.AppData[d], x.AppDataFrame[d])
		}
	}
	if slices.ContainsFunc(x.Offered().OfferedVersions, tlsmsg.IsGREASE) {
		t.Errorf("GREASE among offered versions %x", x.Offered().OfferedVersions)
	}
}

func checkHTTP(t *testing.T, h *HTTPInfo, in func(string, uint64)) {
	t.Helper()
	if len(h.Exchanges) > maxExchanges {
		t.Errorf("%d HTTP exchanges", len(h.Exchanges))
	}
	requests := 0
	for _, ex := range h.Exchanges {
		in("HTTP request", ex.Frame)
		in("HTTP response", ex.ResponseFrame)
		if ex.Frame != 0 {
			requests++
		}
	}
	if requests > h.Requests {
		t.Errorf("%d requests kept, %d counted", requests, h.Requests)
	}
	if h.Tunnel < -1 || h.Tunnel >= len(h.Exchanges) {
		t.Errorf("tunnel exchange %d of %d", h.Tunnel, len(h.Exchanges))
	} else if h.Tunnel >= 0 && h.Exchanges[h.Tunnel].Status/100 != 2 {
		t.Errorf("tunnel by status %d", h.Exchanges[h.Tunnel].Status)
	}
}

func checkSTUN(t *testing.T, s *STUNInfo, udp bool, in func(string, uint64)) {
	t.Helper()
	if len(s.Transactions) > maxTransactions || len(s.Transactions) > s.TransactionCount ||
		len(s.MappedAddresses) > maxAddrList || len(s.RelayedAddresses) > maxAddrList || len(s.Channels) > maxChannels {
		t.Errorf("STUN bounds: %d of %d transactions, %d mapped, %d relayed, %d channels",
			len(s.Transactions), s.TransactionCount, len(s.MappedAddresses), len(s.RelayedAddresses), len(s.Channels))
	}
	// ERROR-CODE is class (3 bits) * 100 + number (8 bits).
	if len(s.ErrorCodes) > 8*256 || s.Unanswered > len(s.Transactions) {
		t.Errorf("%d error codes, %d unanswered of %d", len(s.ErrorCodes), s.Unanswered, len(s.Transactions))
	}
	unanswered, requests := 0, 0
	for _, tx := range s.Transactions {
		if len(tx.RequestFrames) == 0 || len(tx.RequestFrames) > maxRetransmitFrames || tx.Requests < len(tx.RequestFrames) {
			t.Errorf("transaction %s: %d request frames of %d", tx.ID, len(tx.RequestFrames), tx.Requests)
			continue
		}
		requests += tx.Requests
		for i, fr := range tx.RequestFrames {
			in("STUN request", fr)
			if udp && i > 0 && fr <= tx.RequestFrames[i-1] {
				t.Errorf("transaction %s: request frames %v", tx.ID, tx.RequestFrames)
			}
		}
		in("STUN response", tx.ResponseFrame)
		if tx.ResponseFrame == 0 {
			unanswered++
		} else if udp && tx.ResponseFrame <= tx.RequestFrames[0] {
			t.Errorf("transaction %s: response in frame %d, request in %d", tx.ID, tx.ResponseFrame, tx.RequestFrames[0])
		}
	}
	if unanswered != s.Unanswered || requests-len(s.Transactions) > s.Retransmissions {
		t.Errorf("%d unanswered (counted %d), %d retransmissions kept (counted %d)",
			unanswered, s.Unanswered, requests-len(s.Transactions), s.Retransmissions)
	}
	channels := 0
	for _, ch := range s.Channels {
		channels += ch.Packets[0] + ch.Packets[1]
	}
	if channels > s.ChannelData {
		t.Errorf("%d ChannelData in channels, %d counted", channels, s.ChannelData)
	}
}

func checkDNS(t *testing.T, d *DNSInfo, udp bool, in func(string, uint64)) {
	t.Helper()
	if len(d.Queries) > maxQueries || d.Unanswered > len(d.Queries) {
		t.Errorf("%d queries kept, %d unanswered", len(d.Queries), d.Unanswered)
	}
	queries, responses := 0, 0
	for _, q := range d.Queries {
		in("DNS query", q.Frame)
		in("DNS response", q.ResponseFrame)
		if q.ResponseFrame != 0 {
			responses++
		}
		if q.Frame == 0 {
			continue
		}
		queries++
		if len(q.Frames) == 0 || q.Frames[0] != q.Frame || len(q.Frames) > maxRetransmitFrames || q.Count < len(q.Frames) {
			t.Errorf("query %d %q: frame %d, frames %v, count %d", q.ID, q.Name, q.Frame, q.Frames, q.Count)
		}
		for _, fr := range q.Frames {
			in("DNS query copy", fr)
		}
		if udp && q.ResponseFrame != 0 && q.ResponseFrame <= q.Frame {
			t.Errorf("query %d %q: response in frame %d, query in %d", q.ID, q.Name, q.ResponseFrame, q.Frame)
		}
	}
	if queries > d.QueryCount || responses > d.Responses {
		t.Errorf("%d queries and %d responses kept, %d and %d counted", queries, responses, d.QueryCount, d.Responses)
	}
}

// Script ops the seeds use.
const (
	opC   = 0               // client sends
	opS   = 1               // server sends
	opSYN = 0x80            // handshake first
	opHld = actHold << 2    // held for reordering
	opRel = actRelease << 2 // held ones released, then sent
	opDup = actDup << 2     // sent twice
	opFIN = actFIN << 2     // with FIN
	opLng = 2 << 5          // 1.5 s after the previous frame
	opTCP = 0               // header byte 0: TCP ...
	opUDP = 1               // ... or UDP
)

// port is header byte 0's bits for server port scriptPorts[i].
func port(i byte) byte { return i << 1 }

// flowSeeds are scripts of the exchanges TestApp* check, built with
// decodetest.
func flowSeeds() [][]byte {
	r := rand.New(rand.NewPCG(3, 4))
	hello := decodetest.ClientHello(decodetest.ChromiumHello(testSNI, r))
	sh13 := concat(decodetest.ServerHello(decodetest.VersionTLS13, decodetest.SuiteAES128GCMSHA256, false),
		decodetest.ChangeCipherSpec(), decodetest.ApplicationData(900))
	fin13 := concat(decodetest.ChangeCipherSpec(), decodetest.ApplicationData(53))
	flight12 := concat(decodetest.ServerHello(decodetest.VersionTLS12, decodetest.SuiteECDHERSAAES128GCMSHA256, false),
		decodetest.Certificate(testChain), decodetest.ServerHelloDone())
	id1, id2 := decodetest.STUNTxID(r), decodetest.STUNTxID(r)
	dnsAns := []decodetest.DNSAnswer{{TTL: 60, Addr: testServer.Addr()}}
	return [][]byte{
		// TLS 1.3, the hello in two segments.
		encodeScript(opTCP|port(0), 1, scriptStep{opSYN | opC, hello[:1440]}, scriptStep{opC, hello[1440:]},
			scriptStep{opS, sh13}, scriptStep{opC, fin13}),
		// The same, out of order and with a duplicate.
		encodeScript(opTCP|port(0)|0x40, 2, scriptStep{opSYN | opHld | opC, hello[:1000]}, scriptStep{opDup | opC, hello[1000:]},
			scriptStep{opRel | opS, sh13}, scriptStep{opC, fin13}),
		// TLS 1.2 with a chain, refused by the client.
		encodeScript(opTCP|port(0)|0x10, 3, scriptStep{opSYN | opC, decodetest.ClientHello(decodetest.SchannelHello(testSNI, r))},
			scriptStep{opS, flight12}, scriptStep{opC | opFIN, decodetest.Alert(decodetest.AlertFatal, decodetest.AlertUnknownCA)}),
		// HelloRetryRequest.
		encodeScript(opTCP|port(0), 4, scriptStep{opSYN | opC, hello},
			scriptStep{opS, concat(decodetest.ServerHello(decodetest.VersionTLS13, decodetest.SuiteAES128GCMSHA256, true), decodetest.ChangeCipherSpec())},
			scriptStep{opC, concat(decodetest.ChangeCipherSpec(), hello)}, scriptStep{opS, sh13}),
		// CONNECT, 407, CONNECT with credentials, 200, TLS in the tunnel.
		encodeScript(opTCP|port(4)|0x20, 5, scriptStep{opSYN | opC, decodetest.ConnectRequest(testSNI+":443", false)},
			scriptStep{opS, proxyAuth}, scriptStep{opC, decodetest.ConnectRequest(testSNI+":443", true)},
			scriptStep{opS, decodetest.ConnectEstablished()}, scriptStep{opC, hello}, scriptStep{opS, sh13}),
		// STUN and TURN over UDP, with a retransmission.
		encodeScript(opUDP|port(2), 0, scriptStep{opC, decodetest.AllocateRequest(id1, nil)},
			scriptStep{opC | opLng, decodetest.AllocateRequest(id1, nil)},
			scriptStep{opS, decodetest.AllocateUnauthorized(id1, turnAuth.Realm, turnAuth.Nonce)},
			scriptStep{opC, decodetest.AllocateRequest(id2, turnAuth)},
			scriptStep{opS, decodetest.AllocateSuccess(id2, testRelayed, testMapped, 10*time.Minute, turnAuth)},
			scriptStep{opC, decodetest.ChannelData(0x4000, make([]byte, 100))}),
		// TURN over TCP.
		encodeScript(opTCP|port(2), 6, scriptStep{opSYN | opC, decodetest.AllocateRequest(id1, nil)},
			scriptStep{opS, decodetest.AllocateUnauthorized(id1, turnAuth.Realm, turnAuth.Nonce)},
			scriptStep{opC, concat(decodetest.AllocateRequest(id2, turnAuth), decodetest.ChannelData(0x4001, []byte("abcd")))}),
		// DNS over UDP, then over TCP.
		encodeScript(opUDP|port(3), 0, scriptStep{opC, decodetest.DNSQuery(1, testSNI, decodetest.DNSTypeA)},
			scriptStep{opC | opLng, decodetest.DNSQuery(1, testSNI, decodetest.DNSTypeA)},
			scriptStep{opS, decodetest.DNSResponse(1, testSNI, decodetest.DNSTypeA, 0, dnsAns)}),
		encodeScript(opTCP|port(3), 7, scriptStep{opSYN | opC, lengthPrefixed(decodetest.DNSQuery(2, testSNI, decodetest.DNSTypeA))},
			scriptStep{opS, lengthPrefixed(decodetest.DNSResponse(2, testSNI, decodetest.DNSTypeA, decodetest.DNSRcodeNXDomain, nil))}),
	}
}

// corpusSeeds turns the first payloads of a few shared-corpus captures
// into scripts: each capture's packets on a port of scriptPorts, in order,
// as one connection (UDP or TCP as captured).
func corpusSeeds(tb testing.TB) [][]byte {
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.pcap*"))
	var seeds [][]byte
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil || len(data) > 4<<20 {
			continue
		}
		if s := corpusScript(data); s != nil {
			seeds = append(seeds, s)
		}
	}
	return seeds
}

// corpusScript returns the script of the first 40 payloads to or from the
// first service port of scriptPorts seen in a capture, or nil.
func corpusScript(file []byte) []byte {
	rd, err := decode.NewReader(bytes.NewReader(file))
	if err != nil {
		return nil
	}
	var (
		fr    decode.Frame
		p     decode.Packet
		dec   = decode.NewDecoder()
		steps []scriptStep
		hdr   byte
		svc   uint16
	)
	for len(steps) < 40 {
		if err := rd.Next(&fr); err != nil {
			if !errors.Is(err, io.EOF) && len(steps) == 0 {
				return nil
			}
			break
		}
		dec.Decode(&fr, &p)
		if !p.Transport || len(p.Payload) == 0 {
			continue
		}
		if svc == 0 {
			for i, sp := range scriptPorts {
				if p.DstPort == sp || p.SrcPort == sp {
					svc, hdr = sp, byte(i)<<1
					if p.Proto == decode.ProtoUDP {
						hdr |= 1
					}
					break
				}
			}
			if svc == 0 {
				continue
			}
		}
		var op byte
		switch svc {
		case p.DstPort:
		case p.SrcPort:
			op = opS
		default:
			continue
		}
		if len(steps) == 0 {
			op |= opSYN
		}
		steps = append(steps, scriptStep{op, bytes.Clone(p.Payload)})
	}
	if len(steps) == 0 {
		return nil
	}
	return encodeScript(hdr, 0, steps...)
}

// TestFlowPathSeeds runs the fuzz body on every seed, so that a plain go
// test checks the invariants on realistic captures too.
func TestFlowPathSeeds(t *testing.T) {
	corpus := corpusSeeds(t)
	seeds := append(flowSeeds(), corpus...)
	comparable := 0
	for _, s := range seeds {
		if splitComparable(s) {
			comparable++
		}
	}
	t.Logf("%d seeds, %d from the shared corpus, %d also checked cut in two", len(seeds), len(corpus), comparable)
	for i, s := range seeds {
		checkFlowPath(t, s)
		if t.Failed() {
			t.Fatalf("seed %d failed", i)
		}
	}
	// The scripts must reach the parsers: each realistic seed gives a
	// flow with an application summary.
	for i, s := range flowSeeds() {
		c, _ := buildScript(s, false)
		res, err := Read(context.Background(), bytes.NewReader(c.file(t)), "seed")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Flows) == 0 || res.Flows[0].App() == "" {
			t.Errorf("seed %d: no application protocol recognised", i)
		}
	}
}
