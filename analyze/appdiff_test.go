package analyze

import (
	"crypto/x509/pkix"
	encasn1 "encoding/asn1"
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/decode/stunmsg"
	"github.com/qadiag/qadiag/decode/tlsmsg"
	"github.com/qadiag/qadiag/internal/tshark"
)

// appArgs are the tshark preferences that make it reassemble and recognise
// what qadiag does; none hides a difference in what either tool decodes.
var appArgs = []string{
	// qadiag records an HTTP message in the frame where its header block
	// ends (apphttp.go); tshark by default waits for the body.
	"-o", "http.desegment_body:FALSE",
	// qadiag recognises TLS, HTTP and STUN over TCP by content on any port
	// (app.go decide); tshark tries its content heuristics only after the
	// dissector registered for the port (HTTP on 80: AnyDesk's TLS, TURN
	// in turn-tcp80-allocate-401.pcap) unless told.
	"-o", "tcp.try_heuristic_first:TRUE",
	// qadiag holds segments that arrive ahead of a hole (analyze/reasm);
	// tshark 4.0 does so only when told, else it drops the PDU.
	"-o", "tcp.reassemble_out_of_order:TRUE",
}

// appCounts are the totals TestAppMatchesTshark logs: per check
// "<check> files|flows|values", and per exception the tshark values it set
// aside.
type appCounts struct{ m sync.Map } // string -> *atomic.Int64

func (c *appCounts) add(key string, n int) {
	v, _ := c.m.LoadOrStore(key, new(atomic.Int64))
	v.(*atomic.Int64).Add(int64(n))
}

// TestAppMatchesTshark checks qadiag's application summaries (TLS SNI,
// certificate issuers, alerts, STUN transactions, DNS queries, HTTP
// exchanges) against what tshark decodes, flow by flow, on every corpus
// capture.
func TestAppMatchesTshark(t *testing.T) {
	tshark.Require(t)
	if testing.Short() {
		t.Skip("SKIP: -short: differential application-layer test against tshark not run")
	}
	counts := &appCounts{}
	t.Run("files", func(t *testing.T) {
		for _, path := range corpusFiles(t) {
			name := filepath.Base(path)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				if why, ok := tsharkExceptions[name]; ok {
					t.Skip("SKIP: " + why)
				}
				d := newAppDiff(t, path, counts)
				d.checkSNI()
				d.checkCertificates()
				d.checkAlerts()
				d.checkSTUN()
				d.checkDNS()
				d.checkHTTP()
			})
		}
	})
	var keys []string
	counts.m.Range(func(k, _ any) bool { keys = append(keys, k.(string)); return true })
	slices.Sort(keys)
	for _, k := range keys {
		v, _ := counts.m.Load(k)
		t.Logf("%-56s %6d", k, v.(*atomic.Int64).Load())
	}
}

// appDiff is one capture as both tools see it.
type appDiff struct {
	t      *testing.T
	res    *Result
	byFlow map[*Flow][]*tshark.AppFrame // tshark's frames per qadiag flow, in order
	seen   map[string]bool              // checks that compared a flow of this capture
	counts *appCounts
	// upgraded are the flows where tshark saw a protocol of
	// tshark.UpgradeProtocols.
	upgraded map[*Flow]bool
}

func newAppDiff(t *testing.T, path string, counts *appCounts) *appDiff {
	t.Helper()
	res, err := readFile(t, path)
	d := &appDiff{t: t, res: res, byFlow: map[*Flow][]*tshark.AppFrame{}, seen: map[string]bool{},
		counts: counts, upgraded: map[*Flow]bool{}}
	flows := map[flowPair][]*Flow{}
	for _, f := range res.Flows {
		k := pairOf(f.Proto, f.Client, f.Server)
		flows[k] = append(flows[k], f)
	}
	frames := tshark.App(t, path, appArgs...)
	for i := range frames {
		a := &frames[i]
		switch {
		case err != nil && a.Number > res.Capture.Packets:
			d.except("frame after the damage qadiag stops at", 1)
			continue
		case a.Proto == 0:
			// An ICMP error quoting a datagram: tshark dissects the
			// quoted DNS or STUN, qadiag keeps the ICMP message apart
			// from application flows.
			d.except("ICMP error quoting DNS or STUN", 1)
			continue
		}
		k := pairOf(a.Proto, a.Src, a.Dst)
		var flow *Flow
		for _, f := range flows[k] {
			if f.FirstFrame() <= a.Number && a.Number <= f.LastFrame() {
				flow = f
			}
		}
		if flow == nil {
			t.Errorf("frame %d: no qadiag flow for tshark's %v", a.Number, k)
			continue
		}
		d.byFlow[flow] = append(d.byFlow[flow], a)
		if slices.ContainsFunc(a.Protocols, func(p string) bool { return slices.Contains(tshark.UpgradeProtocols, p) }) {
			d.upgraded[flow] = true
		}
	}
	return d
}

// count records what one check compared on one flow.
func (d *appDiff) count(check string, values int) {
	if !d.seen[check] {
		d.seen[check] = true
		d.counts.add(check+" files", 1)
	}
	d.counts.add(check+" flows", 1)
	d.counts.add(check+" values", values)
}

// except records n tshark values set aside by an exception.
func (d *appDiff) except(why string, n int) {
	if n > 0 {
		d.counts.add("except: "+why, n)
	}
}

// flowPair is a flow's protocol and endpoints in canonical order.
type flowPair struct {
	proto uint8
	a, b  netip.AddrPort
}

func (k flowPair) String() string { return fmt.Sprintf("proto %d %v <-> %v", k.proto, k.a, k.b) }

func pairOf(proto uint8, x, y netip.AddrPort) flowPair {
	if c := x.Addr().Compare(y.Addr()); c > 0 || c == 0 && x.Port() > y.Port() {
		x, y = y, x
	}
	return flowPair{proto, x, y}
}

func flowName(f *Flow) string {
	proto := "tcp"
	if f.Proto == decode.ProtoUDP {
		proto = "udp"
	}
	return fmt.Sprintf("flow %d %s %v -> %v (frames %d-%d)", f.ID, proto, f.Client, f.Server, f.FirstFrame(), f.LastFrame())
}

// dirOf is the direction of a tshark frame within its qadiag flow.
func dirOf(a *tshark.AppFrame, f *Flow) Direction {
	if a.Src == f.Server && a.Src != f.Client {
		return FromServer
	}
	return FromClient
}

// tlsSkip returns why qadiag is not expected to read the TLS records
// tshark shows in a frame of flow f, or "".
func (d *appDiff) tlsSkip(a *tshark.AppFrame, f *Flow) string {
	switch {
	case slices.Contains(a.Protocols, "quic"):
		// tshark decrypts QUIC Initial packets (their keys derive from
		// the connection ID, RFC 9001 5.2) and shows their ClientHello;
		// qadiag does not read QUIC.
		return "TLS inside QUIC"
	case d.upgraded[f] && f.TLS == nil:
		// TLS after MySQL's SSLRequest, STARTTLS or SOCKS: qadiag reads
		// TLS only from the first bytes of a stream or inside an HTTP
		// CONNECT tunnel (app.go decide, apphttp.go tunnelData).
		return "TLS after another protocol's upgrade"
	case a.TCPSeq+a.TCPLen > streamLimit+1:
		// qadiag reassembles the first streamLimit bytes of each
		// direction (app.go); tcp.seq is 1 at the first byte.
		return "TLS beyond the 64 KiB reassembled"
	}
	return ""
}

// tlsHello is a flow's first ClientHello.
type tlsHello struct {
	Frame uint64
	SNI   string
}

// checkSNI compares the first ClientHello of every TCP flow: its frame (the
// one carrying its last byte, in both tools) and its server_name.
func (d *appDiff) checkSNI() {
	for _, f := range d.res.Flows {
		var want, got tlsHello
		for _, a := range d.byFlow[f] {
			if !slices.Contains(a.HandshakeTypes, "1") {
				continue
			}
			if why := d.tlsSkip(a, f); why != "" {
				d.except(why+" (ClientHello)", 1)
				continue
			}
			if t := f.TLS; a.Malformed && t != nil && t.Details().Malformed != "" && t.ClientFrame == 0 {
				// Both found the ClientHello malformed: tshark still
				// names it, qadiag keeps only a parsed one and records
				// the error in TLSInfo.Malformed.
				d.except("malformed ClientHello", 1)
				continue
			}
			want = tlsHello{a.Number, a.SNI}
			break
		}
		if f.TLS != nil && f.TLS.ClientFrame != 0 {
			got = tlsHello{f.TLS.ClientFrame, f.TLS.SNI}
		}
		if want.Frame == 0 && got.Frame == 0 {
			continue
		}
		d.count("sni", 2)
		if diff := cmp.Diff(want, got); diff != "" {
			d.t.Errorf("%s: first ClientHello (-tshark +qadiag):\n%s", flowName(f), diff)
		}
	}
}

// tlsChain is a flow's first Certificate message (TLS 1.2 and earlier).
type tlsChain struct {
	Frame   uint64
	Issuers []tlsIssuer
}

type tlsIssuer struct{ Issuer, IssuerCN string }

// checkCertificates compares the server's first Certificate message: its
// frame and, per certificate, the issuer's distinguished name and common
// name. The DER comes from tshark's reassembly, not qadiag's, and the
// issuer's common name must also be among the strings tshark's own X.509
// dissector decoded in that frame.
func (d *appDiff) checkCertificates() {
	for _, f := range d.res.Flows {
		var want, got tlsChain
		var names []string
		for _, a := range d.byFlow[f] {
			if !slices.Contains(a.HandshakeTypes, "11") {
				continue
			}
			if why := d.tlsSkip(a, f); why != "" {
				d.except(why+" (Certificate)", 1)
				continue
			}
			want.Frame, names = a.Number, a.X509Strings
			for _, der := range a.Certificates {
				iss, err := derIssuer(der)
				if t := f.TLS; err != nil && a.Malformed && t != nil && t.Details().Malformed != "" {
					// Both found the certificate malformed: qadiag
					// lists only those it parsed.
					d.except("malformed certificate", 1)
					continue
				}
				want.Issuers = append(want.Issuers, iss)
			}
			break
		}
		if f.TLS != nil && f.TLS.CertFrame != 0 {
			got.Frame = f.TLS.CertFrame
			for _, c := range f.TLS.Details().Certificates {
				got.Issuers = append(got.Issuers, tlsIssuer{c.Issuer, c.IssuerCN})
			}
		}
		if want.Frame == 0 && got.Frame == 0 {
			continue
		}
		d.count("certificates", 1+3*len(want.Issuers))
		if diff := cmp.Diff(want, got); diff != "" {
			d.t.Errorf("%s: first Certificate message (-tshark +qadiag):\n%s", flowName(f), diff)
			continue
		}
		for _, c := range got.Issuers {
			if c.IssuerCN != "" && !slices.Contains(names, c.IssuerCN) {
				d.t.Errorf("%s: issuer CN %q is not among the names tshark decoded in frame %d", flowName(f), c.IssuerCN, got.Frame)
			}
		}
	}
}

// derIssuer reads the issuer Name (RFC 5280 4.1.2.4) of a DER certificate
// with a walk of its own and encoding/asn1, not tlsmsg's parser.
func derIssuer(der []byte) (tlsIssuer, error) {
	in := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	var issuer []byte
	if !in.ReadASN1(&cert, asn1.SEQUENCE) || !cert.ReadASN1(&tbs, asn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(asn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.SkipASN1(asn1.INTEGER) || !tbs.SkipASN1(asn1.SEQUENCE) ||
		!tbs.ReadASN1Element((*cryptobyte.String)(&issuer), asn1.SEQUENCE) {
		return tlsIssuer{Issuer: "no issuer in DER"}, errors.New("no issuer in DER")
	}
	var rdn pkix.RDNSequence
	if rest, err := encasn1.Unmarshal(issuer, &rdn); err != nil || len(rest) != 0 {
		return tlsIssuer{Issuer: "issuer does not decode"}, fmt.Errorf("issuer does not decode: %v", err)
	}
	var n pkix.Name
	n.FillFromRDNSequence(&rdn)
	return tlsIssuer{n.String(), n.CommonName}, nil
}

// checkAlerts compares every alert record per flow and frame: level and
// description when plaintext, or that it was encrypted (tshark's
// "Encrypted Alert": a content type 21 record without a readable alert).
func (d *appDiff) checkAlerts() {
	for _, f := range d.res.Flows {
		var want, got []string
		var kept, appData [2]int
		for _, a := range d.byFlow[f] {
			dir, alerts, records := dirOf(a, f), 0, 0
			for _, ct := range a.RecordTypes {
				switch ct {
				case "21":
					alerts++
				case "23":
					records++
				}
			}
			why := d.tlsSkip(a, f)
			if appData[0] >= tlsFollowRecords && appData[1] >= tlsFollowRecords {
				// qadiag stops reading a TLS flow once both directions
				// sent tlsFollowRecords application_data records
				// (apptls.go): later alerts are not expected.
				why = "TLS after the records qadiag follows"
			}
			if why != "" {
				d.except(why+" (alert)", alerts)
				continue
			}
			appData[dir] += records
			for i := range alerts {
				s := fmt.Sprintf("frame %d: encrypted", a.Number)
				if i < len(a.Alerts) {
					s = fmt.Sprintf("frame %d: %s/%s", a.Number, a.Alerts[i].Level, a.Alerts[i].Description)
				}
				// tlsmsg.Stream keeps MaxAlerts per direction and
				// only counts the rest (AlertRecords).
				if kept[dir]++; kept[dir] > tlsmsg.MaxAlerts {
					d.except("TLS alerts past MaxAlerts", 1)
					continue
				}
				want = append(want, s)
			}
		}
		if f.TLS != nil {
			for _, al := range f.TLS.Details().Alerts {
				s := fmt.Sprintf("frame %d: %d/%d", al.Frame, al.Level, al.Description)
				if al.Encrypted {
					s = fmt.Sprintf("frame %d: encrypted", al.Frame)
				}
				got = append(got, s)
			}
		}
		if len(want) == 0 && len(got) == 0 {
			continue
		}
		slices.Sort(want)
		slices.Sort(got)
		d.count("alerts", len(want))
		if diff := cmp.Diff(want, got); diff != "" {
			d.t.Errorf("%s: TLS alerts (-tshark +qadiag):\n%s", flowName(f), diff)
		}
	}
}

// stunSummary is what a flow's STUN messages add up to, as STUNInfo counts
// them.
type stunSummary struct {
	Messages, Classic, Indications, ChannelData int
	TransactionCount                            int
	Transactions                                []stunTxn
}

type stunTxn struct {
	ID, Method    string
	RequestFrames []uint64
	Requests      int
	ResponseFrame uint64
	Class         string
	ErrorCode     int
}

// checkSTUN compares, per flow, the message counts and every kept
// transaction: the requests and retransmissions matched to the first
// response by transaction ID (RFC 8489 6.3), as STUNInfo keeps them.
func (d *appDiff) checkSTUN() {
	for _, f := range d.res.Flows {
		var want stunSummary
		byID := map[string]int{}
		for _, a := range d.byFlow[f] {
			for _, ch := range a.Channels {
				// tshark 4.0 takes any channel number from 0x4000 as
				// ChannelData; qadiag RFC 5766 11's 0x4000-0x7FFF
				// only (stunmsg.ParseChannelData). Teams prefixes ICE
				// packets to its relays with 0xff10.
				if ch < stunmsg.MinChannel || ch > stunmsg.MaxChannel {
					d.except("ChannelData number above 0x7FFF", 1)
					continue
				}
				want.ChannelData++
			}
			for _, m := range a.STUN {
				want.add(a, m, byID)
			}
		}
		if want.TransactionCount > len(want.Transactions) {
			d.except("STUN transactions past maxTransactions", want.TransactionCount-len(want.Transactions))
		}
		got := d.stunGot(f)
		if want.Messages+want.ChannelData == 0 && got.Messages+got.ChannelData == 0 {
			continue
		}
		d.count("stun", 5+6*len(want.Transactions))
		if diff := cmp.Diff(want, got); diff != "" {
			d.t.Errorf("%s: STUN (-tshark +qadiag):\n%s", flowName(f), diff)
		}
	}
}

// stunGot is qadiag's STUNInfo in the form of stunSummary.
func (d *appDiff) stunGot(f *Flow) stunSummary {
	s := f.STUN
	if s == nil {
		return stunSummary{}
	}
	got := stunSummary{Messages: s.Messages, Classic: s.Classic, Indications: s.Indications,
		ChannelData: s.ChannelData, TransactionCount: s.TransactionCount}
	for _, tx := range s.Transactions {
		if d.unassignedUnseen(tx, f) {
			// tshark's STUN dissector rejects methods no RFC assigns
			// (Facebook's relays send type 0x0801 with the magic
			// cookie); qadiag accepts any method in the RFC 8489 5
			// layout and names it "0x201".
			d.except("STUN method no RFC assigns", 1)
			got.Messages -= tx.Requests
			if tx.ResponseFrame != 0 {
				got.Messages--
			}
			got.TransactionCount--
			continue
		}
		got.Transactions = append(got.Transactions, stunTxn{tx.ID, tx.Method, tx.RequestFrames,
			tx.Requests, tx.ResponseFrame, tx.Class, tx.ErrorCode})
	}
	return got
}

// unassignedUnseen reports whether a qadiag transaction has an unassigned
// method and tshark decoded STUN in none of its frames.
func (d *appDiff) unassignedUnseen(tx STUNTransaction, f *Flow) bool {
	if !strings.HasPrefix(tx.Method, "0x") {
		return false
	}
	frames := append(slices.Clone(tx.RequestFrames), tx.ResponseFrame)
	return !slices.ContainsFunc(d.byFlow[f], func(a *tshark.AppFrame) bool {
		return len(a.STUN) > 0 && slices.Contains(frames, a.Number)
	})
}

// add counts one message the way appstun.go does, with its bounds: the
// first maxTransactions transactions, maxRetransmitFrames frames each.
func (s *stunSummary) add(a *tshark.AppFrame, m tshark.STUNMessage, byID map[string]int) {
	class, method := stunClassMethod(m.Type, m.Classic || a.MSTURN && len(a.STUN) == 1)
	s.Messages++
	if m.Classic {
		s.Classic++
	}
	i, ok := byID[m.ID]
	switch {
	case class == "indication":
		s.Indications++
	case class == "request":
		if !ok {
			s.TransactionCount++
			if len(s.Transactions) >= maxTransactions {
				return
			}
			i = len(s.Transactions)
			byID[m.ID] = i
			s.Transactions = append(s.Transactions, stunTxn{ID: m.ID, Method: method})
		}
		tx := &s.Transactions[i]
		if tx.Requests++; len(tx.RequestFrames) < maxRetransmitFrames {
			tx.RequestFrames = append(tx.RequestFrames, a.Number)
		}
	case ok && s.Transactions[i].ResponseFrame == 0:
		tx := &s.Transactions[i]
		tx.ResponseFrame, tx.Class = a.Number, class
		if class == "error" {
			tx.ErrorCode = a.STUNCode
		}
	}
}

// stunClassMethod names a message type as stunmsg does: the RFC 3489 and
// [MS-TURN] 2.2.1 table for classic and MS-TURN messages, else the RFC 8489
// 5 bit layout and the methods of RFC 8489 18.2, RFC 8656 17 and RFC 6062.
func stunClassMethod(typ uint16, legacy bool) (class, method string) {
	if legacy {
		lt := map[uint16][2]string{
			0x0001: {"request", "binding"}, 0x0101: {"success", "binding"}, 0x0111: {"error", "binding"},
			0x0002: {"request", "shared_secret"}, 0x0102: {"success", "shared_secret"}, 0x0112: {"error", "shared_secret"},
			0x0003: {"request", "allocate"}, 0x0103: {"success", "allocate"}, 0x0113: {"error", "allocate"},
			0x0004: {"request", "send"}, 0x0104: {"success", "send"}, 0x0114: {"error", "send"},
			0x0115: {"indication", "data"}, 0x0006: {"request", "set_active_destination"},
			0x0106: {"success", "set_active_destination"}, 0x0116: {"error", "set_active_destination"},
		}
		if cm, ok := lt[typ]; ok {
			return cm[0], cm[1]
		}
	}
	class = [4]string{"request", "indication", "success", "error"}[typ>>7&2|typ>>4&1]
	m := typ&0xF | typ>>1&0x70 | typ>>2&0xF80
	names := map[uint16]string{1: "binding", 3: "allocate", 4: "refresh", 6: "send", 7: "data",
		8: "create_permission", 9: "channel_bind", 10: "connect", 11: "connection_bind", 12: "connection_attempt"}
	if n, ok := names[m]; ok {
		return class, n
	}
	return class, fmt.Sprintf("0x%03x", m)
}

// dnsSummary is what a flow's DNS messages add up to, as DNSInfo counts
// them.
type dnsSummary struct {
	QueryCount, Responses int
	Queries               []dnsQuery
}

type dnsQuery struct {
	ID            uint16
	Name          string
	Type          uint16
	Frame         uint64
	Frames        []uint64
	Count         int
	ResponseFrame uint64
	Rcode         uint8
}

// checkDNS compares, per flow, every kept query: ID, name and type, its
// frames, and the first response matched by ID and question (RFC 1035 7.3)
// with its rcode, as DNSInfo keeps them.
func (d *appDiff) checkDNS() {
	for _, f := range d.res.Flows {
		var want dnsSummary
		index := map[dnsKey]int{}
		for _, a := range d.byFlow[f] {
			for _, m := range a.DNS {
				switch {
				case f.Server.Port() != 53 && f.Client.Port() != 53:
					// qadiag reads DNS on port 53 only (it has no
					// signature, app.go); tshark decodes mDNS and
					// LLMNR with the same fields.
					d.except("DNS off port 53 (mDNS, LLMNR)", 1)
				case m.Opcode == "0" && m.Question:
					// qadiag skips other opcodes and questionless
					// messages (appdns.go), as tshark's fields do.
					want.add(a.Number, m, index)
				}
			}
		}
		if len(want.Queries) == maxQueries {
			d.except("DNS flows that reach maxQueries", 1)
		}
		var got dnsSummary
		if s := f.DNS; s != nil {
			got = dnsSummary{QueryCount: s.QueryCount, Responses: s.Responses}
			for _, q := range s.Queries {
				got.Queries = append(got.Queries, dnsQuery{q.ID, q.Name, q.Type, q.Frame, q.Frames, q.Count, q.ResponseFrame, q.Rcode})
			}
		}
		if len(want.Queries) == 0 && len(got.Queries) == 0 {
			continue
		}
		d.count("dns", 2+6*len(want.Queries))
		if diff := cmp.Diff(want, got); diff != "" {
			d.t.Errorf("%s: DNS (-tshark +qadiag):\n%s", flowName(f), diff)
		}
	}
}

// add counts one message the way appdns.go does, with its bounds: the first
// maxQueries queries, maxRetransmitFrames frames each. Names are compared
// as dnsmsg writes them: lower case, the root as "".
func (s *dnsSummary) add(frame uint64, m tshark.DNSMessage, index map[dnsKey]int) {
	name := strings.ToLower(m.Name)
	if name == "<root>" {
		name = ""
	}
	k := dnsKey{id: m.ID, typ: m.Type, name: name}
	i, seen := index[k]
	switch {
	case !m.Response && seen && s.Queries[i].Frame == 0:
		// A query after its response: a new exchange qadiag does not track.
	case !m.Response && seen:
		q := &s.Queries[i]
		if q.Count++; len(q.Frames) < maxRetransmitFrames {
			q.Frames = append(q.Frames, frame)
		}
	case !m.Response:
		s.QueryCount++
		if len(s.Queries) < maxQueries {
			index[k] = len(s.Queries)
			s.Queries = append(s.Queries, dnsQuery{ID: m.ID, Name: name, Type: m.Type, Frame: frame, Frames: []uint64{frame}, Count: 1})
		}
	default:
		s.Responses++
		if !seen && len(s.Queries) < maxQueries {
			i, seen = len(s.Queries), true
			index[k] = i
			s.Queries = append(s.Queries, dnsQuery{ID: m.ID, Name: name, Type: m.Type})
		}
		if q := &s.Queries[i]; seen && q.ResponseFrame == 0 {
			q.ResponseFrame, q.Rcode = frame, m.Rcode
		}
	}
}

// httpKeptLen is how many bytes of a request target qadiag keeps
// (httpmsg's maxValueLen); tshark's is cut to it.
const httpKeptLen = 256

// httpMsg is one HTTP request or final response.
type httpMsg struct {
	Frame          uint64
	Method, Target string
	Status         int
}

// checkHTTP compares HTTP exchanges: every CONNECT request tshark shows
// must be one of qadiag's exchanges with the same frame and target,
// answered in the same frame with the same status; every request and
// response qadiag keeps must be one tshark shows in that frame.
func (d *appDiff) checkHTTP() {
	for _, f := range d.res.Flows {
		reqs, resps := d.httpWant(f)
		var exs []HTTPExchange
		if f.HTTP != nil {
			exs = f.HTTP.Exchanges
		}
		if len(reqs)+len(resps)+len(exs) == 0 {
			continue
		}
		n := 0
		for i, req := range reqs {
			if req.Method != "CONNECT" {
				continue
			}
			want := []httpMsg{req}
			if i < len(resps) {
				want = append(want, resps[i]) // HTTP/1.1 answers in request order
			}
			var got []httpMsg
			if j := slices.IndexFunc(exs, func(e HTTPExchange) bool { return e.Frame == req.Frame }); j >= 0 {
				got = append(got, httpMsg{Frame: exs[j].Frame, Method: exs[j].Method, Target: exs[j].Target})
				if exs[j].ResponseFrame != 0 {
					got = append(got, httpMsg{Frame: exs[j].ResponseFrame, Status: exs[j].Status})
				}
			}
			n += 3 * len(want)
			if diff := cmp.Diff(want, got); diff != "" {
				d.t.Errorf("%s: CONNECT exchange (-tshark +qadiag):\n%s", flowName(f), diff)
			}
		}
		for _, e := range exs {
			if m := (httpMsg{Frame: e.Frame, Method: e.Method, Target: e.Target}); e.Frame != 0 {
				n += 3
				if !slices.Contains(reqs, m) {
					d.t.Errorf("%s: qadiag request %+v; tshark's requests: %+v", flowName(f), m, reqs)
				}
			}
			if m := (httpMsg{Frame: e.ResponseFrame, Status: e.Status}); e.ResponseFrame != 0 {
				n += 2
				if !slices.Contains(resps, m) {
					d.t.Errorf("%s: qadiag response %+v; tshark's responses: %+v", flowName(f), m, resps)
				}
			}
		}
		d.count("http", n)
	}
}

// httpWant lists tshark's requests and final responses on a flow.
func (d *appDiff) httpWant(f *Flow) (reqs, resps []httpMsg) {
	for _, a := range d.byFlow[f] {
		for _, r := range a.Requests {
			reqs = append(reqs, httpMsg{Frame: a.Number, Method: r.Method, Target: r.Target[:min(len(r.Target), httpKeptLen)]})
		}
		for _, code := range a.Statuses {
			if code < 200 {
				// qadiag skips interim responses (RFC 9110 15.2).
				d.except("HTTP interim response", 1)
				continue
			}
			resps = append(resps, httpMsg{Frame: a.Number, Status: code})
		}
	}
	return reqs, resps
}
