package tshark

import (
	"encoding/hex"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// occurrenceSep separates the occurrences of one field in a Records value.
// It is the ASCII unit separator, which no name, URI or hex string that the
// differential tests read contains, unlike the comma Fields aggregates with
// (certificate names such as "VeriSign, Inc." hold commas).
const occurrenceSep = "\x1f"

// Records runs tshark -T fields like Fields, with extra arguments
// (preferences, decode-as rules) placed before the display filter, and
// returns per matching frame, per field, the field's occurrences in the
// order tshark dissected them: outer layers first, then PDUs in stream
// order. A field absent from a frame has no occurrences.
func Records(t testing.TB, file string, extra []string, filter string, fields ...string) [][][]string {
	t.Helper()
	args := []string{"-n", "-r", file, "-T", "fields", "-E", "separator=\t",
		"-E", "occurrence=a", "-E", "aggregator=" + occurrenceSep}
	args = append(args, extra...)
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out := Run(t, args...)
	var rows [][][]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) != len(fields) {
			t.Fatalf("tshark %s: row has %d columns, want %d: %.200q", file, len(cols), len(fields), line)
		}
		row := make([][]string, len(cols))
		for i, c := range cols {
			if c != "" {
				row[i] = strings.Split(c, occurrenceSep)
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// AppFrame is what tshark decoded of one frame's TLS handshake and alerts,
// STUN, DNS and HTTP.
type AppFrame struct {
	Number    uint64
	Protocols []string // frame.protocols, outermost first
	// Proto (6 or 17), Src and Dst come from the outermost IP header and
	// the transport header right after it: the 5-tuple a flow table keys
	// on. Proto is 0 when that header is not TCP or UDP (an ICMP error
	// quoting a datagram, whose quoted headers tshark dissects too).
	Proto    uint8
	Src, Dst netip.AddrPort
	// Malformed reports tshark's "[Malformed Packet]": a field ran past
	// the data or did not decode.
	Malformed bool
	// TCPSeq is the relative sequence number (1 is the first byte after
	// the SYN), TCPLen the segment's payload length.
	TCPSeq, TCPLen uint64

	HandshakeTypes []string // TLS handshake message types, decimal
	SNI            string
	Certificates   [][]byte // DER, of every Certificate message in the frame
	X509Strings    []string // every DirectoryString and IA5String in them
	RecordTypes    []string // TLS record content types, decimal
	Alerts         []Alert  // plaintext alerts; an encrypted one is a type 21 record without one

	STUN     []STUNMessage
	STUNCode int  // ERROR-CODE (class*100 + number) when the frame holds one
	MSTURN   bool // the MS-TURN MAGIC-COOKIE attribute ([MS-TURN] 2.2.2.8) is present
	Channels []uint16

	DNS []DNSMessage

	Requests []HTTPRequest
	Statuses []int // HTTP response status codes
}

// Alert is a plaintext TLS alert (RFC 8446 6).
type Alert struct{ Level, Description string }

// STUNMessage is one STUN message (RFC 8489 5), or a classic RFC 3489 one.
type STUNMessage struct {
	Type    uint16
	ID      string // the last 12 bytes of the transaction ID, in hex
	Classic bool
}

// DNSMessage is one DNS message (RFC 1035 4.1) with its first question.
type DNSMessage struct {
	Response bool
	Opcode   string
	ID       uint16
	Question bool // the message has a (decoded) question
	Name     string
	Type     uint16
	Rcode    uint8
}

// HTTPRequest is one HTTP request line (RFC 9112 3).
type HTTPRequest struct{ Method, Target string }

// appFields are the fields App reads, in one tshark run per capture: its
// start-up dominates the time on small captures.
var appFields = []string{
	"frame.number", "frame.protocols", "_ws.malformed",
	"ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport",
	"tcp.seq", "tcp.len",
	"tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.certificate",
	"tls.record.content_type", "tls.alert_message.level", "tls.alert_message.desc",
	"stun.type", "stun.id", "stun.att.error.class", "stun.att.error", "stun.att.magic_cookie",
	"classicstun.type", "classicstun.id", "stun.channel",
	"dns.flags.response", "dns.flags.opcode", "dns.id", "dns.count.queries", "dns.qry.name", "dns.qry.type", "dns.flags.rcode",
	"http.request.method", "http.request.uri", "http.response.code",
	"x509sat.printableString", "x509sat.uTF8String", "x509sat.teletexString", "x509sat.bmpString",
	"x509sat.universalString", "x509sat.IA5String",
}

// Indexes into appFields; the X.509 strings are the last fields.
const (
	fFrame = iota
	fProtos
	fMalformed
	fIPSrc
	fIPDst
	fIP6Src
	fIP6Dst
	fTCPSrc
	fTCPDst
	fUDPSrc
	fUDPDst
	fTCPSeq
	fTCPLen
	fHSType
	fSNI
	fCert
	fRecType
	fAlertLevel
	fAlertDesc
	fSTUNType
	fSTUNID
	fSTUNErrClass
	fSTUNErrNum
	fMSTURNCookie
	fClassicType
	fClassicID
	fChannel
	fDNSResp
	fDNSOpcode
	fDNSID
	fDNSQd
	fDNSName
	fDNSType
	fDNSRcode
	fHTTPMethod
	fHTTPURI
	fHTTPCode
	fX509
)

// UpgradeProtocols hand a connection over to TLS after their own exchange
// (MySQL's SSLRequest, STARTTLS in SMTP, IMAP, POP, FTP, LDAP and XMPP, a
// SOCKS CONNECT); tshark follows them into TLS. App selects their frames
// too, so a caller can tell TLS that did not start its stream.
var UpgradeProtocols = []string{"mysql", "pgsql", "smtp", "imap", "pop", "ftp", "ldap", "xmpp", "socks"}

// appFilter selects the frames App reports.
var appFilter = "tls.handshake.type == 1 or tls.handshake.type == 11 or tls.record.content_type == 21 or " +
	"tls.record.content_type == 23 or stun or classicstun or dns or http.request or http.response or " +
	strings.Join(UpgradeProtocols, " or ")

// App runs tshark once over file, with extra arguments (preferences), and
// returns the frames that carry a ClientHello, a Certificate message, an
// alert or application_data record, STUN, DNS or HTTP, or a protocol of
// UpgradeProtocols.
func App(t testing.TB, file string, extra ...string) []AppFrame {
	t.Helper()
	var frames []AppFrame
	for _, v := range Records(t, file, extra, appFilter, appFields...) {
		frames = append(frames, appFrame(row(v)))
	}
	return frames
}

// row is one Records row.
type row [][]string

// at returns the field's i-th occurrence, "" when there are fewer.
func (r row) at(f, i int) string {
	if i >= len(r[f]) {
		return ""
	}
	return r[f][i]
}

func (r row) uint(f, i int) uint64 {
	n, _ := strconv.ParseUint(r.at(f, i), 0, 64)
	return n
}

func appFrame(r row) AppFrame {
	a := AppFrame{
		Number:         r.uint(fFrame, 0),
		Protocols:      strings.Split(r.at(fProtos, 0), ":"),
		Malformed:      len(r[fMalformed]) > 0,
		TCPSeq:         r.uint(fTCPSeq, 0),
		TCPLen:         r.uint(fTCPLen, 0),
		HandshakeTypes: r[fHSType],
		SNI:            r.at(fSNI, 0),
		RecordTypes:    r[fRecType],
		MSTURN:         slices.Contains(r[fMSTURNCookie], "0x72c64bc6"),
	}
	a.Proto, a.Src, a.Dst = r.outer(a.Protocols)
	for _, h := range r[fCert] {
		der, _ := hex.DecodeString(strings.ReplaceAll(h, ":", ""))
		a.Certificates = append(a.Certificates, der)
	}
	for f := fX509; f < len(appFields); f++ {
		a.X509Strings = append(a.X509Strings, r[f]...)
	}
	for i, d := range r[fAlertDesc] {
		a.Alerts = append(a.Alerts, Alert{r.at(fAlertLevel, i), d})
	}
	a.STUN, a.STUNCode = r.stun()
	for i := range r[fChannel] {
		a.Channels = append(a.Channels, uint16(r.uint(fChannel, i)))
	}
	a.DNS = r.dns()
	for i, m := range r[fHTTPMethod] {
		a.Requests = append(a.Requests, HTTPRequest{m, r.at(fHTTPURI, i)})
	}
	for i := range r[fHTTPCode] {
		a.Statuses = append(a.Statuses, int(r.uint(fHTTPCode, i)))
	}
	return a
}

// outer returns the 5-tuple of the outermost IP header and the transport
// header after it (past any IPv6 extension headers).
func (r row) outer(protos []string) (uint8, netip.AddrPort, netip.AddrPort) {
	i := slices.IndexFunc(protos, func(p string) bool { return p == "ip" || p == "ipv6" })
	if i < 0 {
		return 0, netip.AddrPort{}, netip.AddrPort{}
	}
	src, dst := fIPSrc, fIPDst
	if protos[i] == "ipv6" {
		src, dst = fIP6Src, fIP6Dst
	}
	j := i + 1
	for j < len(protos) && strings.HasPrefix(protos[j], "ipv6.") {
		j++
	}
	var proto uint8
	sp, dp := fTCPSrc, fTCPDst
	switch {
	case j == len(protos):
		return 0, netip.AddrPort{}, netip.AddrPort{}
	case protos[j] == "tcp":
		proto = 6
	case protos[j] == "udp":
		proto, sp, dp = 17, fUDPSrc, fUDPDst
	default:
		return 0, netip.AddrPort{}, netip.AddrPort{}
	}
	a, errA := netip.ParseAddr(r.at(src, 0))
	b, errB := netip.ParseAddr(r.at(dst, 0))
	if errA != nil || errB != nil {
		return 0, netip.AddrPort{}, netip.AddrPort{}
	}
	return proto, netip.AddrPortFrom(a, uint16(r.uint(sp, 0))), netip.AddrPortFrom(b, uint16(r.uint(dp, 0)))
}

// stun splits the frame's STUN messages (several when STUN over TCP packs
// them into one segment) and reads the ERROR-CODE of a lone message.
func (r row) stun() ([]STUNMessage, int) {
	var ms []STUNMessage
	for i := range r[fSTUNType] {
		ms = append(ms, STUNMessage{Type: uint16(r.uint(fSTUNType, i)), ID: r.at(fSTUNID, i)})
	}
	for i := range r[fClassicType] {
		id := r.at(fClassicID, i) // 16 bytes; RFC 8489's cookie took the first 4
		ms = append(ms, STUNMessage{Type: uint16(r.uint(fClassicType, i)), ID: id[max(len(id)-24, 0):], Classic: true})
	}
	code := 0
	if len(ms) == 1 && len(r[fSTUNErrClass]) == 1 && len(r[fSTUNErrNum]) == 1 {
		code = int(r.uint(fSTUNErrClass, 0)*100 + r.uint(fSTUNErrNum, 0))
	}
	return ms, code
}

// dns splits the frame's DNS messages (several when DNS over TCP packs
// them into one segment). tshark prints rcode only for responses and a
// name per decoded question, so those are consumed in order.
func (r row) dns() []DNSMessage {
	var ms []DNSMessage
	names, rcodes := 0, 0
	for i, resp := range r[fDNSResp] {
		m := DNSMessage{Response: resp == "1", Opcode: r.at(fDNSOpcode, i), ID: uint16(r.uint(fDNSID, i))}
		if qd := int(r.uint(fDNSQd, i)); qd > 0 && names < len(r[fDNSName]) {
			m.Question, m.Name, m.Type = true, r.at(fDNSName, names), uint16(r.uint(fDNSType, names))
			names += qd
		}
		if m.Response && rcodes < len(r[fDNSRcode]) {
			m.Rcode = uint8(r.uint(fDNSRcode, rcodes))
			rcodes++
		}
		ms = append(ms, m)
	}
	return ms
}
