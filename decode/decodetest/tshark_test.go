package decodetest

import (
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/pion/stun/v3"
)

// scenarioSNIs are the server names scenarioFrames puts in ClientHellos.
var scenarioSNIs = []string{
	"remoteassistance.support.services.microsoft.com",
	"login.microsoftonline.com",
	"rdprelayv3eastusprod-4.support.services.microsoft.com",
}

// scenarioFrames builds a small capture touching every builder: a TLS 1.2
// session with a two-segment Chromium hello and a certificate chain, a TLS
// 1.3 session over IPv6 with a Schannel hello, a forged reset, DNS, a TURN
// allocation with media, an ICMP error, a proxy CONNECT, and a VLAN tag.
func scenarioFrames() [][]byte {
	var frames [][]byte
	add := func(f []byte) { frames = append(frames, slices.Clone(f)) }
	r := rand.New(rand.NewPCG(9, 9))

	s := NewSession(client4, server4)
	for _, f := range s.Handshake() {
		add(f)
	}
	s.Segments(ClientToServer, ClientHello(ChromiumHello(scenarioSNIs[0], r)), add)
	add(s.ACK(nil, ServerToClient))
	flight := AppendServerHello(nil, &ServerHelloOpts{Version: VersionTLS12, CipherSuite: SuiteECDHEECDSAAES256GCMSHA384, ALPN: "h2", Downgrade: true})
	flight = AppendCertificate(flight, CertChain(scenarioSNIs[0], "Microsoft Azure RSA TLS Issuing CA 03", "Microsoft Corporation"))
	flight = AppendServerKeyExchange(flight, GroupX25519, 32, 0x0807, 64)
	flight = append(flight, ServerHelloDone()...)
	s.Segments(ServerToClient, flight, add)
	fin := AppendClientKeyExchange(nil, 32)
	fin = append(fin, ChangeCipherSpec()...)
	s.Segments(ClientToServer, AppendEncryptedHandshake(fin, 40), add)
	s.Segments(ServerToClient, AppendEncryptedHandshake(ChangeCipherSpec(), 40), add)
	s.Segments(ClientToServer, ApplicationData(300), add)
	s.Segments(ServerToClient, ApplicationData(20000), add)
	add(s.ACK(nil, ClientToServer))
	add(s.FIN(nil, ClientToServer))
	add(s.FIN(nil, ServerToClient))
	add(s.ACK(nil, ClientToServer))

	s6 := NewSession(client6, server6)
	for _, f := range s6.Handshake() {
		add(f)
	}
	s6.Segments(ClientToServer, ClientHello(SchannelHello(scenarioSNIs[1], r)), add)
	sh := AppendServerHello(nil, &ServerHelloOpts{Version: VersionTLS13, CipherSuite: SuiteAES256GCMSHA384, SessionID: make([]byte, 32)})
	sh = append(sh, ChangeCipherSpec()...)
	s6.Segments(ServerToClient, AppendApplicationData(sh, 3000), add)
	s6.Segments(ClientToServer, Alert(AlertFatal, AlertUnknownCA), add)
	add(s6.RST(nil, ClientToServer))

	s3 := NewSession(netip.AddrPortFrom(client4.Addr(), 50002), netip.AddrPortFrom(server4.Addr(), 443))
	for _, f := range s3.Handshake() {
		add(f)
	}
	s3.Segments(ClientToServer, ClientHello(ChromiumHello(scenarioSNIs[2], r)), add)
	rst := s3.TCP(ServerToClient, FlagRST|FlagACK, nil)
	rst.TTL, rst.IPID, rst.DF = 64, 0, false
	add(rst.Frame())

	resolver := netip.MustParseAddrPort("10.20.30.1:53")
	dnsClient := netip.AddrPortFrom(client4.Addr(), 53001)
	add(UDP{Src: dnsClient, Dst: resolver, Payload: DNSQuery(77, scenarioSNIs[0], DNSTypeA)}.Frame())
	add(UDP{Link: Link{Pad: true}, Src: resolver, Dst: dnsClient, Payload: DNSResponse(77, scenarioSNIs[0], DNSTypeA, 0, []DNSAnswer{
		{TTL: 300, CNAME: "rasvc.trafficmanager.net"}, {Name: "rasvc.trafficmanager.net", TTL: 60, Addr: server4.Addr()},
	})}.Frame())

	turn := netip.MustParseAddrPort("20.202.1.2:3478")
	udpClient := netip.AddrPortFrom(client4.Addr(), 61000)
	mapped := netip.MustParseAddrPort("203.0.113.7:61000")
	peer := netip.MustParseAddrPort("20.202.3.4:49152")
	auth := &STUNAuth{Username: "u", Realm: "azure.com", Nonce: "n", Password: "p"}
	up := func(b []byte) { add(UDP{Src: udpClient, Dst: turn, Payload: b}.Frame()) }
	down := func(b []byte) { add(UDP{Link: Link{Pad: true}, Src: turn, Dst: udpClient, Payload: b}.Frame()) }
	id := STUNTxID(r)
	up(BindingRequest(id))
	down(BindingSuccess(id, mapped))
	id = STUNTxID(r)
	up(AllocateRequest(id, nil))
	down(AllocateUnauthorized(id, auth.Realm, auth.Nonce))
	id = STUNTxID(r)
	up(AllocateRequest(id, auth))
	down(AllocateSuccess(id, netip.MustParseAddrPort("20.202.1.2:52000"), mapped, 10*time.Minute, auth))
	id = STUNTxID(r)
	up(ChannelBindRequest(id, 0x4000, peer, auth))
	down(STUNSuccess(stun.MethodChannelBind, id, auth))
	up(ChannelData(0x4000, make([]byte, 160)))
	down(ChannelData(0x4000, make([]byte, 3)))
	id = STUNTxID(r)
	up(RefreshRequest(id, 0, auth))
	down(RefreshSuccess(id, 0, auth))

	add(ICMPUnreachable{Link: Link{Pad: true}, Src: netip.MustParseAddr("10.20.30.1"), Dst: client4.Addr(),
		Code: ICMPv4AdminProhibited, Quote: TCP{Src: client4, Dst: server4, Flags: FlagSYN, MSS: 1460}.AppendPacket(nil)}.Frame())

	proxy := netip.MustParseAddrPort("10.20.30.2:8080")
	p := NewSession(netip.AddrPortFrom(client4.Addr(), 50003), proxy)
	p.Client.Link.VLAN, p.Server.Link.VLAN = 30, 30
	for _, f := range p.Handshake() {
		add(f)
	}
	p.Segments(ClientToServer, ConnectRequest(scenarioSNIs[0]+":443", true), add)
	p.Segments(ServerToClient, ProxyAuthRequired("NTLM", "Negotiate"), add)
	return frames
}

// tsharkFields runs tshark over file with checksum validation on and
// returns one row of the named fields per frame.
func tsharkFields(t *testing.T, path, file string, fields ...string) [][]string {
	t.Helper()
	args := []string{"-r", file, "-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
		"-o", "udp.check_checksum:TRUE", "-T", "fields", "-E", "separator=/t"}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	var rows [][]string
	for line := range strings.Lines(runTshark(t, path, args...)) {
		rows = append(rows, strings.Split(strings.TrimSuffix(line, "\n"), "\t"))
	}
	return rows
}

// Expert severity and checksum status values of Wireshark's epan.
const (
	expertError  = "8388608" // PI_ERROR
	checksumBad  = "0"       // PROTO_CHECKSUM_E_BAD
	fieldMissing = ""
)

func TestTsharkAcceptsScenario(t *testing.T) {
	path := tshark(t)
	frames := scenarioFrames()
	fields := []string{
		"_ws.malformed", "_ws.expert.severity", "ip.checksum.status", "tcp.checksum.status",
		"udp.checksum.status", "icmp.checksum.status", "tls.handshake.extensions_server_name",
	}
	for _, opts := range []WriterOptions{
		{Format: FormatPcap, LinkType: layers.LinkTypeEthernet},
		{Format: FormatPcapng, LinkType: layers.LinkTypeEthernet, Nanos: true},
	} {
		file := writeCapture(t, "scenario.cap", opts, frames)
		rows := tsharkFields(t, path, file, fields...)
		if len(rows) != len(frames) {
			t.Errorf("format %d: tshark read %d frames, want %d", opts.Format, len(rows), len(frames))
		}
		var snis []string
		for i, row := range rows {
			if len(row) != len(fields) {
				t.Fatalf("frame %d: %d fields, want %d: %q", i+1, len(row), len(fields), row)
			}
			if row[0] != fieldMissing || slices.Contains(strings.Split(row[1], ","), expertError) {
				t.Errorf("format %d: frame %d is malformed or has an expert error: %q", opts.Format, i+1, row)
			}
			for _, st := range row[2:6] {
				if slices.Contains(strings.Split(st, ","), checksumBad) {
					t.Errorf("format %d: frame %d has a bad checksum: %q", opts.Format, i+1, row)
				}
			}
			if row[6] != "" {
				snis = append(snis, row[6])
			}
		}
		if !slices.Equal(snis, scenarioSNIs) {
			t.Errorf("format %d: tshark found SNIs %q, want %q", opts.Format, snis, scenarioSNIs)
		}
	}
}

func TestTsharkDissects(t *testing.T) {
	path := tshark(t)
	file := writeCapture(t, "scenario.pcap", WriterOptions{LinkType: layers.LinkTypeEthernet}, scenarioFrames())
	tests := []struct{ field, want string }{
		{"x509sat.printableString", "Microsoft Azure RSA TLS Issuing CA 03"},
		{"stun.att.lifetime", "600"},
		{"dns.a", "20.42.65.90"},
		{"http.proxy_authenticate", "NTLM"},
		{"ntlmssp.messagetype", "0x00000001"},
		{"icmp.code", "13"},
		{"vlan.id", "30"},
	}
	var fields []string
	for _, tt := range tests {
		fields = append(fields, tt.field)
	}
	rows := tsharkFields(t, path, file, fields...)
	for i, tt := range tests {
		found := false
		for _, row := range rows {
			found = found || strings.Contains(row[i], tt.want)
		}
		if !found {
			t.Errorf("no frame has %s containing %q", tt.field, tt.want)
		}
	}
}
