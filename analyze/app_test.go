package analyze

import (
	"bytes"
	"context"
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"
	"github.com/pion/stun/v3"
	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/decode/decodetest"
	"github.com/qadiag/qadiag/decode/dnsmsg"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// Endpoints of the test captures: a Windows client behind a proxy, the Quick
// Assist front end, a resolver and a TURN relay.
var (
	testClient   = netip.MustParseAddrPort("10.20.30.11:50000")
	testServer   = netip.MustParseAddrPort("20.42.65.90:443")
	testProxy    = netip.MustParseAddrPort("10.20.0.5:8080")
	testResolver = netip.MustParseAddrPort("10.20.0.53:53")
	testClientNS = netip.MustParseAddrPort("10.20.30.11:53001")
	testTURN     = netip.MustParseAddrPort("20.202.0.10:3478")
	testMapped   = netip.MustParseAddrPort("198.51.100.7:61000")
	testRelayed  = netip.MustParseAddrPort("20.202.0.10:49170")
	captureStart = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
)

const testSNI = "remoteassistance.support.services.microsoft.com"

// cmpAddrs compares netip values, whose fields are unexported, with ==.
var cmpAddrs = cmp.Options{
	cmp.Comparer(func(a, b netip.Addr) bool { return a == b }),
	cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b }),
}

// capture is a test capture built frame by frame: frames are numbered from
// 1 in the order added, each 1 ms after the previous unless placed later.
type capture struct {
	frames [][]byte
	times  []time.Time
	now    time.Time
	pcapng bool // write pcapng instead of pcap
}

func newCapture() *capture { return &capture{now: captureStart} }

// add appends frames 1 ms apart and returns the number of the last.
func (c *capture) add(frames ...[]byte) uint64 {
	for _, f := range frames {
		c.after(time.Millisecond, f)
	}
	return uint64(len(c.frames))
}

// after appends one frame d after the previous and returns its number.
func (c *capture) after(d time.Duration, frame []byte) uint64 {
	c.now = c.now.Add(d)
	c.frames = append(c.frames, slices.Clone(frame))
	c.times = append(c.times, c.now)
	return uint64(len(c.frames))
}

// time returns the capture time of frame n.
func (c *capture) time(n uint64) time.Time { return c.times[n-1] }

// file returns the capture as a pcap or pcapng file.
func (c *capture) file(t testing.TB) []byte {
	t.Helper()
	var buf bytes.Buffer
	format := decodetest.FormatPcap
	if c.pcapng {
		format = decodetest.FormatPcapng
	}
	w, err := decodetest.NewWriter(&buf, decodetest.WriterOptions{Format: format, LinkType: layers.LinkTypeEthernet, Nanos: true})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range c.frames {
		if err := w.WritePacket(c.times[i], f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// read runs Read on the capture and checks that every frame was read.
func (c *capture) read(t testing.TB) *Result {
	t.Helper()
	res, err := Read(context.Background(), bytes.NewReader(c.file(t)), "test.pcap")
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	if res.Capture.Packets != uint64(len(c.frames)) {
		t.Fatalf("Read saw %d frames, want %d", res.Capture.Packets, len(c.frames))
	}
	return res
}

// flowTo returns the only flow whose server is server.
func flowTo(t testing.TB, res *Result, server netip.AddrPort) *Flow {
	t.Helper()
	var found *Flow
	for _, f := range res.Flows {
		if f.Server == server {
			if found != nil {
				t.Fatalf("two flows to %v", server)
			}
			found = f
		}
	}
	if found == nil {
		t.Fatalf("no flow to %v among %d flows", server, len(res.Flows))
	}
	return found
}

// pieces builds the frames that carry payload from direction d, cut after
// each of sizes bytes and the rest in a last frame, and advances the
// session as if they were sent in that order.
func pieces(s *decodetest.Session, d decodetest.Dir, payload []byte, sizes ...int) [][]byte {
	var out [][]byte
	for _, n := range sizes {
		out = append(out, s.Data(nil, d, payload[:n]))
		payload = payload[n:]
	}
	if len(payload) > 0 {
		out = append(out, s.Data(nil, d, payload))
	}
	return out
}

// udpFrame builds one UDP datagram from src to dst.
func udpFrame(src, dst netip.AddrPort, payload []byte) []byte {
	return decodetest.UDP{IP: decodetest.IP{TTL: 128}, Src: src, Dst: dst, Payload: payload}.Frame()
}

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// lengthPrefixed puts the 2-byte length of DNS over TCP (RFC 1035 4.2.2)
// and of RFC 4571 2 framing before m.
func lengthPrefixed(m []byte) []byte { return concat([]byte{byte(len(m) >> 8), byte(len(m))}, m) }

// Handshake records the TLS tests share.
var (
	chromiumHello = decodetest.ClientHello(decodetest.ChromiumHello(testSNI, nil))
	schannelHello = decodetest.ClientHello(decodetest.SchannelHello(testSNI, nil))
	testChain     = decodetest.CertChain(testSNI, "Contoso TLS Inspection CA", "Contoso")
)

// wantChromium is what the Chromium preset's ClientHello (nil source: the
// GREASE values are 0x0a0a, 0x5a5a and 0x8a8a) shows in the summary.
func wantChromium(frame uint64) TLSInfo {
	return TLSInfo{
		SNI: testSNI, ClientFrame: frame, Offer: &TLSOffer{
			ALPN:            []string{"h2", "http/1.1"},
			OfferedVersions: []uint16{0x0304, 0x0303}, // GREASE 0x8a8a left out
			Ciphers:         16,                       // 15 and a GREASE suite
			KeyShareGroups:  []uint16{0x5a5a, decodetest.GroupX25519MLKEM768, decodetest.GroupX25519},
			JA4:             "t13d1516h2_", ECH: true,
		},
	}
}

func wantSchannel(frame uint64) TLSInfo {
	return TLSInfo{
		SNI: testSNI, ClientFrame: frame, Offer: &TLSOffer{
			ALPN:            []string{"h2", "http/1.1"},
			OfferedVersions: []uint16{0x0304, 0x0303}, Ciphers: 20,
			KeyShareGroups: []uint16{decodetest.GroupX25519},
			JA4:            "t13d2012h2_",
		},
	}
}

// diffTLS compares TLS summaries. want.JA4 holds only the JA4_a part and
// its separator, which follows from the hello by hand; the hashed parts are
// tlsmsg's to test.
func diffTLS(t *testing.T, want TLSInfo, got *TLSInfo) {
	t.Helper()
	if got == nil {
		t.Fatal("no TLS summary")
	}
	g := *got
	if !strings.HasPrefix(g.Offered().JA4, want.Offered().JA4) {
		t.Errorf("JA4 %q, want prefix %q", g.Offered().JA4, want.Offered().JA4)
	}
	if g.Offer != nil {
		o := *g.Offer
		o.JA4 = want.Offered().JA4
		g.Offer = &o
	}
	if diff := cmp.Diff(want, g, cmpAddrs, cmp.AllowUnexported(TLSInfo{})); diff != "" {
		t.Errorf("TLS summary (-want +got):\n%s", diff)
	}
}

// appData sets what one application_data record per direction shows: the
// client's in frame cf, clen bytes long, and the server's.
func appData(w *TLSInfo, cf uint64, clen uint16, sf uint64, slen uint16) {
	w.AppDataFrame, w.AppData = [2]uint64{cf, sf}, [2]int32{1, 1}
	w.setFirstAppData(FromClient, [4]tlsmsg.AppRecord{{Frame: cf, Len: clen}})
	w.setFirstAppData(FromServer, [4]tlsmsg.AppRecord{{Frame: sf, Len: slen}})
}

func parsedChain(t *testing.T, ders [][]byte) []tlsmsg.Certificate {
	t.Helper()
	var certs []tlsmsg.Certificate
	for _, d := range ders {
		c, err := tlsmsg.ParseCertificate(d)
		if err != nil {
			t.Fatal(err)
		}
		certs = append(certs, c)
	}
	return certs
}

// tls13Flight appends the server's TLS 1.3 answer (ServerHello,
// change_cipher_spec, encrypted handshake of 900 bytes) and the client's
// (change_cipher_spec, Finished as 53 bytes of application_data) and returns
// their frames.
func tls13Flight(c *capture, s *decodetest.Session) (server, client uint64) {
	server = c.add(s.Data(nil, decodetest.ServerToClient, concat(
		decodetest.ServerHello(decodetest.VersionTLS13, decodetest.SuiteAES128GCMSHA256, false),
		decodetest.ChangeCipherSpec(), decodetest.ApplicationData(900))))
	client = c.add(s.Data(nil, decodetest.ClientToServer, concat(decodetest.ChangeCipherSpec(), decodetest.ApplicationData(53))))
	return server, client
}

// withTLS13Flight completes w with what tls13Flight shows.
func withTLS13Flight(w TLSInfo, sh, cf uint64) TLSInfo {
	w.Version, w.Cipher, w.ServerFrame = 0x0304, 0x1301, sh
	w.CCSFrame, w.Records[0], w.Records[1] = [2]uint64{cf, sh}, w.Records[0]+2, 3
	appData(&w, cf, 53, sh, 900)
	return w
}

func TestAppTLS(t *testing.T) {
	tests := []struct {
		name  string
		build func(t *testing.T, c *capture) TLSInfo
	}{
		{"chromium post-quantum hello in two segments", func(t *testing.T, c *capture) TLSInfo {
			s := decodetest.NewSession(testClient, testServer)
			c.add(s.Handshake()...)
			ch := c.add(pieces(s, decodetest.ClientToServer, chromiumHello, 1440)...)
			sh, cf := tls13Flight(c, s)
			w := wantChromium(ch)
			w.Records[0] = 1
			return withTLS13Flight(w, sh, cf)
		}},
		{"chromium hello out of order", func(t *testing.T, c *capture) TLSInfo {
			s := decodetest.NewSession(testClient, testServer)
			c.add(s.Handshake()...)
			segs := pieces(s, decodetest.ClientToServer, chromiumHello, 1440)
			c.add(segs[1])
			ch := c.add(segs[0]) // completes the record: Wireshark shows the hello here
			sh, cf := tls13Flight(c, s)
			w := wantChromium(ch)
			w.Records[0] = 1
			return withTLS13Flight(w, sh, cf)
		}},
		{"chromium hello with a retransmitted segment", func(t *testing.T, c *capture) TLSInfo {
			s := decodetest.NewSession(testClient, testServer)
			c.add(s.Handshake()...)
			segs := pieces(s, decodetest.ClientToServer, chromiumHello, 1000)
			c.add(segs[0], segs[0])
			ch := c.add(segs[1])
			sh, cf := tls13Flight(c, s)
			w := wantChromium(ch)
			w.Records[0] = 1
			return withTLS13Flight(w, sh, cf)
		}},
		{"only GREASE in supported_versions", func(t *testing.T, c *capture) TLSInfo {
			s := decodetest.NewSession(testClient, testServer)
			c.add(s.Handshake()...)
			o := decodetest.ClientHelloOpts{CipherSuites: []uint16{0xc02f}, SNI: testSNI, GREASE: true,
				SupportedGroups: []uint16{decodetest.GroupX25519}}
			ch := c.add(s.Data(nil, decodetest.ClientToServer, decodetest.ClientHello(o)))
			return TLSInfo{SNI: testSNI, Offer: &TLSOffer{OfferedVersions: []uint16{0x0303}, Ciphers: 2, JA4: "t12d010300_"},
				ClientFrame: ch, Records: [2]int32{1, 0}}
		}},
		{"TLS 1.3 with HelloRetryRequest", func(t *testing.T, c *capture) TLSInfo {
			s := decodetest.NewSession(testClient, testServer)
			c.add(s.Handshake()...)
			ch := c.add(s.Data(nil, decodetest.ClientToServer, schannelHello))
			hrr := c.add(s.Data(nil, decodetest.ServerToClient, concat(
				decodetest.ServerHello(decodetest.VersionTLS13, decodetest.SuiteAES128GCMSHA256, true), decodetest.ChangeCipherSpec())))
			// RFC 8446 D.4: the client's compatibility change_cipher_spec,
			// then the second hello with the key share the server asked for.
			o := decodetest.SchannelHello(testSNI, nil)
			o.KeyShares = []decodetest.KeyShare{{Group: decodetest.GroupSecp256r1, Len: 65}}
			ch2 := c.add(s.Data(nil, decodetest.ClientToServer, concat(decodetest.ChangeCipherSpec(), decodetest.ClientHello(o))))
			sh := c.add(s.Data(nil, decodetest.ServerToClient, concat(
				decodetest.AppendServerHello(nil, &decodetest.ServerHelloOpts{Version: decodetest.VersionTLS13,
					CipherSuite: decodetest.SuiteAES128GCMSHA256, Group: decodetest.GroupSecp256r1, KeyShareLen: 65}),
				decodetest.ApplicationData(900))))
			cf := c.add(s.Data(nil, decodetest.ClientToServer, decodetest.ApplicationData(53)))
			w := wantSchannel(ch)
			w.Version, w.Cipher, w.HelloRetry, w.detail().HRRFrame, w.ServerFrame = 0x0304, 0x1301, true, hrr, sh
			w.CCSFrame, w.Records = [2]uint64{ch2, hrr}, [2]int32{4, 4}
			appData(&w, cf, 53, sh, 900)
			return w
		}},
		{"TLS 1.2 with a certificate chain", func(t *testing.T, c *capture) TLSInfo {
			s := decodetest.NewSession(testClient, testServer)
			c.add(s.Handshake()...)
			ch := c.add(s.Data(nil, decodetest.ClientToServer, schannelHello))
			sh := c.add(s.Data(nil, decodetest.ServerToClient, concat(
				decodetest.ServerHello(decodetest.VersionTLS12, decodetest.SuiteECDHERSAAES128GCMSHA256, false),
				decodetest.Certificate(testChain))))
			done := c.add(s.Data(nil, decodetest.ServerToClient, concat(
				decodetest.AppendServerKeyExchange(nil, decodetest.GroupX25519, 32, 0x0807, 64), decodetest.ServerHelloDone())))
			ccs := c.add(s.Data(nil, decodetest.ClientToServer, concat(decodetest.AppendClientKeyExchange(nil, 32),
				decodetest.ChangeCipherSpec(), decodetest.AppendEncryptedHandshake(nil, 40))))
			sccs := c.add(s.Data(nil, decodetest.ServerToClient, concat(decodetest.ChangeCipherSpec(), decodetest.AppendEncryptedHandshake(nil, 40))))
			app := c.add(s.Data(nil, decodetest.ClientToServer, decodetest.ApplicationData(300)))
			sapp := c.add(s.Data(nil, decodetest.ServerToClient, decodetest.ApplicationData(3000)))
			w := wantSchannel(ch)
			w.Version, w.Cipher, w.ServerFrame, w.CertFrame, w.detail().DoneFrame = 0x0303, 0xc02f, sh, sh, done
			w.detail().Certificates = parsedChain(t, testChain)
			w.CCSFrame, w.Records = [2]uint64{ccs, sccs}, [2]int32{5, 7}
			appData(&w, app, 300, sapp, 3000)
			if w.Details().Certificates[0].IssuerCN != "Contoso TLS Inspection CA" {
				t.Fatalf("chain issuer %q", w.Details().Certificates[0].IssuerCN)
			}
			return w
		}},
		{"client alert unknown_ca", func(t *testing.T, c *capture) TLSInfo {
			s := decodetest.NewSession(testClient, testServer)
			c.add(s.Handshake()...)
			ch := c.add(s.Data(nil, decodetest.ClientToServer, schannelHello))
			sh := c.add(s.Data(nil, decodetest.ServerToClient, concat(
				decodetest.ServerHello(decodetest.VersionTLS12, decodetest.SuiteECDHERSAAES128GCMSHA256, false),
				decodetest.Certificate(testChain), decodetest.ServerHelloDone())))
			al := c.add(s.Data(nil, decodetest.ClientToServer, decodetest.Alert(decodetest.AlertFatal, decodetest.AlertUnknownCA)))
			c.add(s.RST(nil, decodetest.ClientToServer))
			w := wantSchannel(ch)
			w.Version, w.Cipher, w.ServerFrame, w.CertFrame, w.detail().DoneFrame = 0x0303, 0xc02f, sh, sh, sh
			w.detail().Certificates = parsedChain(t, testChain)
			w.Records = [2]int32{2, 3}
			w.detail().Alerts = []TLSAlert{{Alert: tlsmsg.Alert{Level: 2, Description: 48, Frame: al}, From: FromClient}}
			w.detail().AlertRecords = 1
			return w
		}},
		{"server alert handshake_failure", func(t *testing.T, c *capture) TLSInfo {
			s := decodetest.NewSession(testClient, testServer)
			c.add(s.Handshake()...)
			ch := c.add(pieces(s, decodetest.ClientToServer, chromiumHello, 1440)...)
			al := c.add(s.Data(nil, decodetest.ServerToClient, decodetest.Alert(decodetest.AlertFatal, decodetest.AlertHandshakeFailure)))
			c.add(s.FIN(nil, decodetest.ServerToClient))
			w := wantChromium(ch)
			w.Records = [2]int32{1, 1}
			w.detail().Alerts = []TLSAlert{{Alert: tlsmsg.Alert{Level: 2, Description: 40, Frame: al}, From: FromServer}}
			w.detail().AlertRecords = 1
			return w
		}},
		{"TCP Fast Open: the hello on the SYN", func(t *testing.T, c *capture) TLSInfo {
			// RFC 7413: the SYN carries the hello; the server acknowledges
			// only the SYN (cookie refused) and the client sends it again.
			s := decodetest.NewSession(testClient, testServer)
			isn := s.Client.Next
			ch := c.add(s.Segment(nil, decodetest.ClientToServer, decodetest.FlagSYN, schannelHello))
			s.Client.Next = isn + 1
			c.add(s.SYNACK(nil), s.Data(nil, decodetest.ClientToServer, schannelHello))
			sh, cf := tls13Flight(c, s)
			w := wantSchannel(ch)
			w.Records[0] = 1
			return withTLS13Flight(w, sh, cf)
		}},
		{"mid-flow: capture starts inside the hello", func(t *testing.T, c *capture) TLSInfo {
			s := decodetest.NewSession(testClient, testServer)
			s.Handshake()
			segs := pieces(s, decodetest.ClientToServer, chromiumHello, 1440)
			c.add(segs[1]) // the capture began after the hello's first segment
			sh, cf := tls13Flight(c, s)
			w := withTLS13Flight(TLSInfo{}, sh, cf)
			w.Gaps[0] = 1 // the hello's tail was dropped
			return w
		}},
		{"mid-flow: capture starts at the ServerHello", func(t *testing.T, c *capture) TLSInfo {
			s := decodetest.NewSession(testClient, testServer)
			s.Handshake()
			pieces(s, decodetest.ClientToServer, chromiumHello, 1440)
			sh, cf := tls13Flight(c, s)
			return withTLS13Flight(TLSInfo{}, sh, cf)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture()
			want := tt.build(t, c)
			f := flowTo(t, c.read(t), testServer)
			if f.App() != AppTLS {
				t.Errorf("App %q, want %q", f.App(), AppTLS)
			}
			diffTLS(t, want, f.TLS)
		})
	}
}

// edgeUA is the User-Agent of decodetest.ConnectRequest.
const edgeUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0"

// connectExchange is the request half of a CONNECT to the Quick Assist
// front end in frame.
func connectExchange(frame uint64, auth bool) HTTPExchange {
	return HTTPExchange{Frame: frame, Method: "CONNECT", Target: testSNI + ":443", Host: testSNI + ":443",
		UserAgent: edgeUA, ProxyAuthorization: auth}
}

// proxyAuth is a 407 as an NTLM-capable proxy sends it: two challenges, a
// kept-alive connection and a 40-byte HTML body.
var proxyAuth = concat(decodetest.HTTPResponse(407,
	[2]string{"Proxy-Authenticate", "NTLM"}, [2]string{"Proxy-Authenticate", "Negotiate"},
	[2]string{"Proxy-Connection", "Keep-Alive"}, [2]string{"Content-Type", "text/html"},
	[2]string{"Content-Length", "40"}), []byte(strings.Repeat("<p>", 13)+"\n"))

// proxyAuthExchange is the first exchange of an NTLM proxy's challenge.
func proxyAuthExchange(req, resp uint64) HTTPExchange {
	ex := connectExchange(req, false)
	ex.ResponseFrame, ex.Status, ex.Reason = resp, 407, "Proxy Authentication Required"
	ex.ProxyAuthenticate, ex.ContentType = []string{"NTLM", "Negotiate"}, "text/html"
	return ex
}

// establishedExchange is a CONNECT answered with 200.
func establishedExchange(req, resp uint64, auth bool) HTTPExchange {
	ex := connectExchange(req, auth)
	ex.ResponseFrame, ex.Status, ex.Reason = resp, 200, "Connection established"
	return ex
}

func TestAppHTTP(t *testing.T) {
	const host = testSNI + ":443"
	tests := []struct {
		name  string
		build func(t *testing.T, c *capture) (HTTPInfo, *TLSInfo)
	}{
		{"CONNECT, 200, TLS in the tunnel", func(t *testing.T, c *capture) (HTTPInfo, *TLSInfo) {
			s := decodetest.NewSession(testClient, testProxy)
			c.add(s.Handshake()...)
			req := c.add(s.Data(nil, decodetest.ClientToServer, decodetest.ConnectRequest(host, false)))
			resp := c.add(s.Data(nil, decodetest.ServerToClient, decodetest.ConnectEstablished()))
			ch := c.add(pieces(s, decodetest.ClientToServer, chromiumHello, 1440)...)
			sh, cf := tls13Flight(c, s)
			w := wantChromium(ch)
			w.InTunnel, w.Records[0] = true, 1
			w = withTLS13Flight(w, sh, cf)
			return HTTPInfo{Exchanges: []HTTPExchange{establishedExchange(req, resp, false)}, Requests: 1, Tunnel: 0}, &w
		}},
		{"CONNECT, 200, the hello in pieces of 1 and 4 bytes", func(t *testing.T, c *capture) (HTTPInfo, *TLSInfo) {
			// Tools that get past DPI cut the ClientHello before the SNI;
			// the first piece is shorter than a record header.
			s := decodetest.NewSession(testClient, testProxy)
			c.add(s.Handshake()...)
			req := c.add(s.Data(nil, decodetest.ClientToServer, decodetest.ConnectRequest(host, false)))
			resp := c.add(s.Data(nil, decodetest.ServerToClient, decodetest.ConnectEstablished()))
			ch := c.add(pieces(s, decodetest.ClientToServer, schannelHello, 1, 4)...)
			sh, cf := tls13Flight(c, s)
			w := wantSchannel(ch)
			w.InTunnel, w.Records[0] = true, 1
			w = withTLS13Flight(w, sh, cf)
			return HTTPInfo{Exchanges: []HTTPExchange{establishedExchange(req, resp, false)}, Requests: 1, Tunnel: 0}, &w
		}},
		{"CONNECT, 407 NTLM and Negotiate, CONNECT with credentials, 200", func(t *testing.T, c *capture) (HTTPInfo, *TLSInfo) {
			s := decodetest.NewSession(testClient, testProxy)
			c.add(s.Handshake()...)
			req1 := c.add(s.Data(nil, decodetest.ClientToServer, decodetest.ConnectRequest(host, false)))
			resp1 := c.add(s.Data(nil, decodetest.ServerToClient, proxyAuth))
			req2 := c.add(s.Data(nil, decodetest.ClientToServer, decodetest.ConnectRequest(host, true)))
			resp2 := c.add(s.Data(nil, decodetest.ServerToClient, decodetest.ConnectEstablished()))
			ch := c.add(s.Data(nil, decodetest.ClientToServer, schannelHello))
			sh, cf := tls13Flight(c, s)
			w := wantSchannel(ch)
			w.InTunnel, w.Records[0] = true, 1
			w = withTLS13Flight(w, sh, cf)
			return HTTPInfo{Exchanges: []HTTPExchange{proxyAuthExchange(req1, resp1), establishedExchange(req2, resp2, true)},
				Requests: 2, Tunnel: 1}, &w
		}},
		{"CONNECT, 403 with Via and Server", func(t *testing.T, c *capture) (HTTPInfo, *TLSInfo) {
			s := decodetest.NewSession(testClient, testProxy)
			c.add(s.Handshake()...)
			req := c.add(s.Data(nil, decodetest.ClientToServer, decodetest.ConnectRequest(host, false)))
			resp := c.add(s.Data(nil, decodetest.ServerToClient, concat(decodetest.HTTPResponse(403,
				[2]string{"Server", "squid/6.6"}, [2]string{"Via", "1.1 proxy.contoso.com (squid/6.6)"},
				[2]string{"Content-Type", "text/html;charset=utf-8"}, [2]string{"Content-Length", "5"}), []byte("deny\n"))))
			c.add(s.FIN(nil, decodetest.ServerToClient), s.FIN(nil, decodetest.ClientToServer))
			ex := connectExchange(req, false)
			ex.ResponseFrame, ex.Status, ex.Reason = resp, 403, "Forbidden"
			ex.Via, ex.Server, ex.ContentType = "1.1 proxy.contoso.com (squid/6.6)", "squid/6.6", "text/html;charset=utf-8"
			return HTTPInfo{Exchanges: []HTTPExchange{ex}, Requests: 1, Tunnel: -1}, nil
		}},
		{"407 body with a segment not captured", func(t *testing.T, c *capture) (HTTPInfo, *TLSInfo) {
			s := decodetest.NewSession(testClient, testProxy)
			c.add(s.Handshake()...)
			req1 := c.add(s.Data(nil, decodetest.ClientToServer, decodetest.ConnectRequest(host, false)))
			n := len(proxyAuth) - 40 // the header block; then 40 body bytes
			segs := pieces(s, decodetest.ServerToClient, proxyAuth, n+10, 20)
			resp1 := c.add(segs[0])
			c.add(segs[2]) // segs[1], 20 body bytes, was lost before the capture point
			req2 := c.add(s.Data(nil, decodetest.ClientToServer, decodetest.ConnectRequest(host, true)))
			resp2 := c.add(s.Data(nil, decodetest.ServerToClient, decodetest.ConnectEstablished()))
			return HTTPInfo{Exchanges: []HTTPExchange{proxyAuthExchange(req1, resp1), establishedExchange(req2, resp2, true)},
				Requests: 2, Tunnel: 1}, nil
		}},
		{"more requests than kept", func(t *testing.T, c *capture) (HTTPInfo, *TLSInfo) {
			s := decodetest.NewSession(testClient, netip.MustParseAddrPort("20.42.65.91:80"))
			c.add(s.Handshake()...)
			var w HTTPInfo
			for i := range maxExchanges + 4 {
				req := c.add(s.Data(nil, decodetest.ClientToServer, []byte("GET /poll HTTP/1.1\r\nHost: a.example\r\n\r\n")))
				resp := c.add(s.Data(nil, decodetest.ServerToClient, decodetest.HTTPResponse(204)))
				if i < maxExchanges {
					w.Exchanges = append(w.Exchanges, HTTPExchange{Frame: req, Method: "GET", Target: "/poll", Host: "a.example",
						ResponseFrame: resp, Status: 204, Reason: "No Content"})
				}
			}
			w.Requests, w.Tunnel = maxExchanges+4, -1
			return w, nil
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture()
			want, wantTLS := tt.build(t, c)
			res := c.read(t)
			if len(res.Flows) != 1 {
				t.Fatalf("%d flows, want 1", len(res.Flows))
			}
			f := res.Flows[0]
			if f.App() != AppHTTP || f.HTTP == nil {
				t.Fatalf("App %q, HTTP %v; want an HTTP flow", f.App(), f.HTTP)
			}
			if diff := cmp.Diff(want, *f.HTTP); diff != "" {
				t.Errorf("HTTP summary (-want +got):\n%s", diff)
			}
			if wantTLS == nil {
				if f.TLS != nil {
					t.Errorf("TLS summary %+v, want none", f.TLS)
				}
				return
			}
			diffTLS(t, *wantTLS, f.TLS)
		})
	}
}

// stunTx is the hex transaction ID STUNInfo shows.
func stunTx(id [12]byte) string { return hex.EncodeToString(id[:]) }

// turnAuth is the long-term credential of the TURN tests.
var turnAuth = &decodetest.STUNAuth{Username: "1732438800:qa", Realm: "turn.contoso.example", Nonce: "n0nce-1", Password: "secret"}

// answered is a transaction of one request in frame q answered in frame a.
func answered(c *capture, id [12]byte, method string, q, a uint64, class string, code int) STUNTransaction {
	return STUNTransaction{ID: stunTx(id), Method: method, RequestFrames: []uint64{q}, Requests: 1,
		FirstRequest: c.time(q), LastRequest: c.time(q), ResponseFrame: a, Class: class, ErrorCode: code,
		RTT: c.time(a).Sub(c.time(q))}
}

// bareBinding is a Binding request without attributes: 20 bytes.
func bareBinding(id [12]byte) []byte {
	b := decodetest.BindingRequest(id)[:20]
	b[2], b[3] = 0, 0
	return b
}

func TestAppSTUN(t *testing.T) {
	tests := []struct {
		name  string
		proto uint8
		build func(t *testing.T, c *capture, r *rand.Rand) STUNInfo
	}{
		{"binding retransmitted on the RFC 8489 schedule, unanswered", decode.ProtoUDP, func(t *testing.T, c *capture, r *rand.Rand) STUNInfo {
			// RFC 8489 6.2.1: RTO 500 ms doubled each time, Rc = 7
			// transmissions, at 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s.
			id := decodetest.STUNTxID(r)
			req := decodetest.BindingRequest(id)
			var frames []uint64
			for _, at := range []time.Duration{1, 500, 1000, 2000, 4000, 8000, 16000} {
				frames = append(frames, c.after(at*time.Millisecond, udpFrame(testClient, testTURN, req)))
			}
			return STUNInfo{Messages: 7, TransactionCount: 1, Unanswered: 1, Retransmissions: 6,
				Transactions: []STUNTransaction{{ID: stunTx(id), Method: "binding", RequestFrames: frames, Requests: 7,
					FirstRequest: c.time(frames[0]), LastRequest: c.time(frames[6])}}}
		}},
		{"TURN Allocate, 401, Allocate with integrity, success", decode.ProtoUDP, func(t *testing.T, c *capture, r *rand.Rand) STUNInfo {
			id1, id2 := decodetest.STUNTxID(r), decodetest.STUNTxID(r)
			q1 := c.add(udpFrame(testClient, testTURN, decodetest.AllocateRequest(id1, nil)))
			a1 := c.after(30*time.Millisecond, udpFrame(testTURN, testClient, decodetest.AllocateUnauthorized(id1, turnAuth.Realm, turnAuth.Nonce)))
			q2 := c.add(udpFrame(testClient, testTURN, decodetest.AllocateRequest(id2, turnAuth)))
			a2 := c.after(25*time.Millisecond, udpFrame(testTURN, testClient, decodetest.AllocateSuccess(id2, testRelayed, testMapped, 10*time.Minute, turnAuth)))
			t2 := answered(c, id2, "allocate", q2, a2, "success", 0)
			t2.Lifetime, t2.Mapped, t2.Relayed = 600, testMapped, testRelayed
			return STUNInfo{Messages: 4, TransactionCount: 2,
				Transactions:    []STUNTransaction{answered(c, id1, "allocate", q1, a1, "error", 401), t2},
				MappedAddresses: []netip.AddrPort{testMapped}, RelayedAddresses: []netip.AddrPort{testRelayed},
				ErrorCodes: []int{401}, Realm: turnAuth.Realm}
		}},
		{"Refresh, 438 Stale Nonce, Refresh with the new nonce", decode.ProtoUDP, func(t *testing.T, c *capture, r *rand.Rand) STUNInfo {
			id1, id2 := decodetest.STUNTxID(r), decodetest.STUNTxID(r)
			q1 := c.add(udpFrame(testClient, testTURN, decodetest.RefreshRequest(id1, 10*time.Minute, turnAuth)))
			a1 := c.add(udpFrame(testTURN, testClient, decodetest.STUNError(stun.MethodRefresh, id1, decodetest.STUNStaleNonce, turnAuth.Realm, "n0nce-2")))
			auth2 := *turnAuth
			auth2.Nonce = "n0nce-2"
			q2 := c.add(udpFrame(testClient, testTURN, decodetest.RefreshRequest(id2, 10*time.Minute, &auth2)))
			a2 := c.add(udpFrame(testTURN, testClient, decodetest.RefreshSuccess(id2, 10*time.Minute, &auth2)))
			t2 := answered(c, id2, "refresh", q2, a2, "success", 0)
			t2.Lifetime = 600
			return STUNInfo{Messages: 4, TransactionCount: 2,
				Transactions: []STUNTransaction{answered(c, id1, "refresh", q1, a1, "error", 438), t2},
				ErrorCodes:   []int{438}, Realm: turnAuth.Realm}
		}},
		{"ChannelData counted per channel", decode.ProtoUDP, func(t *testing.T, c *capture, r *rand.Rand) STUNInfo {
			id := decodetest.STUNTxID(r)
			peer := netip.MustParseAddrPort("203.0.113.9:50100")
			q := c.add(udpFrame(testClient, testTURN, decodetest.ChannelBindRequest(id, 0x4001, peer, turnAuth)))
			a := c.add(udpFrame(testTURN, testClient, decodetest.STUNSuccess(stun.MethodChannelBind, id, turnAuth)))
			for _, d := range []struct {
				ch       uint16
				fromTURN bool
				n        int
			}{{0x4001, false, 100}, {0x4001, true, 200}, {0x4000, false, 50}, {0x4001, false, 100}, {0x4001, true, 201}, {0x4001, false, 100}} {
				src, dst := testClient, testTURN
				if d.fromTURN {
					src, dst = dst, src
				}
				c.add(udpFrame(src, dst, decodetest.ChannelData(d.ch, make([]byte, d.n))))
			}
			return STUNInfo{Messages: 2, ChannelData: 6, ChannelBytes: 751, TransactionCount: 1,
				Channels: []STUNChannel{{Number: 0x4000, Packets: [2]int{1, 0}, Bytes: [2]int{50, 0}},
					{Number: 0x4001, Packets: [2]int{3, 2}, Bytes: [2]int{300, 401}}},
				Transactions: []STUNTransaction{answered(c, id, "channel_bind", q, a, "success", 0)},
				Realm:        turnAuth.Realm}
		}},
		{"ChannelData alone on the TURN port", decode.ProtoUDP, func(t *testing.T, c *capture, r *rand.Rand) STUNInfo {
			c.add(udpFrame(testClient, testTURN, decodetest.ChannelData(0x4000, make([]byte, 64))))
			c.add(udpFrame(testTURN, testClient, decodetest.ChannelData(0x4000, make([]byte, 63))))
			return STUNInfo{ChannelData: 2, ChannelBytes: 127,
				Channels: []STUNChannel{{Number: 0x4000, Packets: [2]int{1, 1}, Bytes: [2]int{64, 63}}}}
		}},
		{"TURN over TCP, a header split across segments", decode.ProtoTCP, func(t *testing.T, c *capture, r *rand.Rand) STUNInfo {
			s := decodetest.NewSession(testClient, testTURN)
			c.add(s.Handshake()...)
			id1, id2, id3 := decodetest.STUNTxID(r), decodetest.STUNTxID(r), decodetest.STUNTxID(r)
			q1 := c.add(s.Data(nil, decodetest.ClientToServer, decodetest.AllocateRequest(id1, nil)))
			a1 := c.add(s.Data(nil, decodetest.ServerToClient, decodetest.AllocateUnauthorized(id1, turnAuth.Realm, turnAuth.Nonce)))
			// The second request and the first 6 bytes of the third in one
			// segment: too few to tell STUN from anything else yet.
			q3msg := decodetest.CreatePermissionRequest(id3, netip.MustParseAddr("203.0.113.9"), turnAuth)
			q2 := c.add(s.Data(nil, decodetest.ClientToServer, concat(decodetest.AllocateRequest(id2, turnAuth), q3msg[:6])))
			q3 := c.add(s.Data(nil, decodetest.ClientToServer, q3msg[6:]))
			a2 := c.add(s.Data(nil, decodetest.ServerToClient, concat(
				decodetest.AllocateSuccess(id2, testRelayed, testMapped, 10*time.Minute, turnAuth),
				decodetest.STUNSuccess(stun.MethodCreatePermission, id3, turnAuth))))
			// ChannelData over TCP is padded to four bytes (RFC 8656 12.5).
			c.add(s.Data(nil, decodetest.ClientToServer, concat(decodetest.ChannelData(0x4000, []byte("hello")), []byte{0, 0, 0})))
			t2 := answered(c, id2, "allocate", q2, a2, "success", 0)
			t2.Lifetime, t2.Mapped, t2.Relayed = 600, testMapped, testRelayed
			return STUNInfo{Messages: 6, TransactionCount: 3, ChannelData: 1, ChannelBytes: 5,
				Channels: []STUNChannel{{Number: 0x4000, Packets: [2]int{1, 0}, Bytes: [2]int{5, 0}}},
				Transactions: []STUNTransaction{answered(c, id1, "allocate", q1, a1, "error", 401), t2,
					answered(c, id3, "create_permission", q3, a2, "success", 0)},
				MappedAddresses:  []netip.AddrPort{testMapped},
				RelayedAddresses: []netip.AddrPort{testRelayed}, ErrorCodes: []int{401}, Realm: turnAuth.Realm}
		}},
		{"ICE-TCP: RFC 4571 framing", decode.ProtoTCP, func(t *testing.T, c *capture, r *rand.Rand) STUNInfo {
			s := decodetest.NewSession(testClient, testTURN)
			c.add(s.Handshake()...)
			id := decodetest.STUNTxID(r)
			q := c.add(s.Data(nil, decodetest.ClientToServer, lengthPrefixed(decodetest.BindingRequest(id))))
			a := c.add(s.Data(nil, decodetest.ServerToClient, lengthPrefixed(decodetest.BindingSuccess(id, testMapped))))
			tx := answered(c, id, "binding", q, a, "success", 0)
			tx.Mapped = testMapped
			return STUNInfo{Messages: 2, TransactionCount: 1, Transactions: []STUNTransaction{tx},
				MappedAddresses: []netip.AddrPort{testMapped}}
		}},
		{"STUN over TCP: a bare 20-byte request, then the answer", decode.ProtoTCP, func(t *testing.T, c *capture, r *rand.Rand) STUNInfo {
			// The request alone is shorter than what deciding a protocol
			// waits for; the answer decides.
			s := decodetest.NewSession(testClient, testTURN)
			c.add(s.Handshake()...)
			id := decodetest.STUNTxID(r)
			q := c.add(s.Data(nil, decodetest.ClientToServer, bareBinding(id)))
			a := c.add(s.Data(nil, decodetest.ServerToClient, decodetest.BindingSuccess(id, testMapped)))
			tx := answered(c, id, "binding", q, a, "success", 0)
			tx.Mapped = testMapped
			return STUNInfo{Messages: 2, TransactionCount: 1, Transactions: []STUNTransaction{tx},
				MappedAddresses: []netip.AddrPort{testMapped}}
		}},
		{"STUN over TCP: a bare 20-byte request, unanswered", decode.ProtoTCP, func(t *testing.T, c *capture, r *rand.Rand) STUNInfo {
			s := decodetest.NewSession(testClient, testTURN)
			c.add(s.Handshake()...)
			id := decodetest.STUNTxID(r)
			q := c.add(s.Data(nil, decodetest.ClientToServer, bareBinding(id)))
			c.after(39*time.Second, s.FIN(nil, decodetest.ClientToServer))
			return STUNInfo{Messages: 1, TransactionCount: 1, Unanswered: 1, Transactions: []STUNTransaction{{ID: stunTx(id),
				Method: "binding", RequestFrames: []uint64{q}, Requests: 1, FirstRequest: c.time(q), LastRequest: c.time(q)}}}
		}},
		{"more transactions than kept", decode.ProtoUDP, func(t *testing.T, c *capture, r *rand.Rand) STUNInfo {
			var w STUNInfo
			var ids [][12]byte
			for range maxTransactions + 6 {
				id := decodetest.STUNTxID(r)
				ids = append(ids, id)
				f := c.add(udpFrame(testClient, testTURN, decodetest.BindingRequest(id)))
				if len(w.Transactions) < maxTransactions {
					w.Transactions = append(w.Transactions, STUNTransaction{ID: stunTx(id), Method: "binding",
						RequestFrames: []uint64{f}, Requests: 1, FirstRequest: c.time(f), LastRequest: c.time(f)})
				}
			}
			// A retransmission of a kept transaction and of one past the
			// bound, and the answer to that one.
			last := ids[len(ids)-1]
			f := c.add(udpFrame(testClient, testTURN, decodetest.BindingRequest(ids[0])))
			w.Transactions[0].RequestFrames = append(w.Transactions[0].RequestFrames, f)
			w.Transactions[0].Requests, w.Transactions[0].LastRequest = 2, c.time(f)
			c.add(udpFrame(testClient, testTURN, decodetest.BindingRequest(last)))
			c.add(udpFrame(testTURN, testClient, decodetest.BindingSuccess(last, testMapped)))
			// A transaction past the bound sent more often than a kept one
			// keeps frames: each copy is a retransmission, not a new one.
			id := decodetest.STUNTxID(r)
			for range maxRetransmitFrames + 2 {
				c.add(udpFrame(testClient, testTURN, decodetest.BindingRequest(id)))
			}
			w.Messages = maxTransactions + 6 + 3 + maxRetransmitFrames + 2
			w.TransactionCount, w.Retransmissions, w.Unanswered = maxTransactions+7, 2+maxRetransmitFrames+1, maxTransactions
			w.MappedAddresses = []netip.AddrPort{testMapped}
			return w
		}},
		{"one request sent more often than its frames are kept", decode.ProtoUDP, func(t *testing.T, c *capture, r *rand.Rand) STUNInfo {
			id := decodetest.STUNTxID(r)
			var frames []uint64
			for range maxRetransmitFrames + 3 {
				frames = append(frames, c.add(udpFrame(testClient, testTURN, decodetest.BindingRequest(id))))
			}
			return STUNInfo{Messages: maxRetransmitFrames + 3, TransactionCount: 1, Unanswered: 1, Retransmissions: maxRetransmitFrames + 2,
				Transactions: []STUNTransaction{{ID: stunTx(id), Method: "binding", RequestFrames: frames[:maxRetransmitFrames],
					Requests: maxRetransmitFrames + 3, FirstRequest: c.time(frames[0]), LastRequest: c.time(frames[len(frames)-1])}}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture()
			want := tt.build(t, c, rand.New(rand.NewPCG(7, 8)))
			f := flowTo(t, c.read(t), testTURN)
			if f.Proto != tt.proto || f.App() != AppSTUN || f.STUN == nil {
				t.Fatalf("proto %d, App %q, STUN %v; want a STUN flow over %d", f.Proto, f.App(), f.STUN, tt.proto)
			}
			if diff := cmp.Diff(want, *f.STUN, cmpAddrs); diff != "" {
				t.Errorf("STUN summary (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAppDNS(t *testing.T) {
	const alias = "qa-prod.trafficmanager.net"
	server := testServer.Addr()
	answers := []decodetest.DNSAnswer{{TTL: 300, CNAME: alias}, {Name: alias, TTL: 60, Addr: server}}
	parsed := []dnsmsg.Answer{{Name: testSNI, Type: dnsmsg.TypeCNAME, TTL: 300, Target: alias},
		{Name: alias, Type: dnsmsg.TypeA, TTL: 60, Addr: server}}
	tests := []struct {
		name  string
		build func(t *testing.T, c *capture) (DNSInfo, []NameSource)
	}{
		{"A query answered, names on the later TLS flow", func(t *testing.T, c *capture) (DNSInfo, []NameSource) {
			q := c.add(udpFrame(testClientNS, testResolver, decodetest.DNSQuery(0x1234, testSNI, decodetest.DNSTypeA)))
			a := c.after(23*time.Millisecond, udpFrame(testResolver, testClientNS,
				decodetest.DNSResponse(0x1234, testSNI, decodetest.DNSTypeA, decodetest.DNSRcodeNoError, answers)))
			s := decodetest.NewSession(testClient, testServer)
			c.add(s.Handshake()...)
			c.add(s.Data(nil, decodetest.ClientToServer, schannelHello))
			return DNSInfo{QueryCount: 1, Responses: 1, Queries: []DNSQuery{{ID: 0x1234, Name: testSNI, Type: 1,
					Frame: q, Frames: []uint64{q}, Count: 1, First: c.time(q),
					ResponseFrame: a, RTT: 23 * time.Millisecond, Answers: parsed}}},
				[]NameSource{{Name: alias, Frame: a}, {Name: testSNI, Frame: a}}
		}},
		{"NXDOMAIN after an answer", func(t *testing.T, c *capture) (DNSInfo, []NameSource) {
			const name = "remoteassistance.support.services.microsoft.com.contoso.local"
			q1 := c.add(udpFrame(testClientNS, testResolver, decodetest.DNSQuery(6, testSNI, decodetest.DNSTypeA)))
			a1 := c.add(udpFrame(testResolver, testClientNS, decodetest.DNSResponse(6, testSNI, decodetest.DNSTypeA, 0, answers)))
			q := c.add(udpFrame(testClientNS, testResolver, decodetest.DNSQuery(7, name, decodetest.DNSTypeAAAA)))
			a := c.add(udpFrame(testResolver, testClientNS, decodetest.DNSResponse(7, name, decodetest.DNSTypeAAAA, decodetest.DNSRcodeNXDomain, nil)))
			return DNSInfo{QueryCount: 2, Responses: 2, Queries: []DNSQuery{
				{ID: 6, Name: testSNI, Type: 1, Frame: q1, Frames: []uint64{q1}, Count: 1, First: c.time(q1),
					ResponseFrame: a1, RTT: time.Millisecond, Answers: parsed},
				{ID: 7, Name: name, Type: 28, Frame: q, Frames: []uint64{q}, Count: 1, First: c.time(q),
					ResponseFrame: a, Rcode: 3, RTT: time.Millisecond}}}, nil
		}},
		{"NXDOMAIN with a damaged authority section", func(t *testing.T, c *capture) (DNSInfo, []NameSource) {
			q := c.add(udpFrame(testClientNS, testResolver, decodetest.DNSQuery(8, testSNI, decodetest.DNSTypeA)))
			resp := decodetest.DNSResponse(8, testSNI, decodetest.DNSTypeA, decodetest.DNSRcodeNXDomain, nil)
			resp[9] = 1                                             // NSCOUNT
			resp = append(resp, 0xc0, 0x0c, 0, 6, 0, 1, 0, 0, 1, 0) // an SOA cut after its TTL
			a := c.add(udpFrame(testResolver, testClientNS, resp))
			return DNSInfo{QueryCount: 1, Responses: 1, Malformed: 1, Queries: []DNSQuery{{ID: 8, Name: testSNI, Type: 1,
				Frame: q, Frames: []uint64{q}, Count: 1, First: c.time(q), ResponseFrame: a, Rcode: 3, RTT: time.Millisecond}}}, nil
		}},
		{"unanswered query retransmitted", func(t *testing.T, c *capture) (DNSInfo, []NameSource) {
			query := decodetest.DNSQuery(9, testSNI, decodetest.DNSTypeA)
			f1 := c.add(udpFrame(testClientNS, testResolver, query))
			f2 := c.after(time.Second, udpFrame(testClientNS, testResolver, query))
			f3 := c.after(2*time.Second, udpFrame(testClientNS, testResolver, query))
			return DNSInfo{QueryCount: 1, Unanswered: 1, Queries: []DNSQuery{{ID: 9, Name: testSNI, Type: 1,
				Frame: f1, Frames: []uint64{f1, f2, f3}, Count: 3, First: c.time(f1)}}}, nil
		}},
		{"DNS over TCP", func(t *testing.T, c *capture) (DNSInfo, []NameSource) {
			s := decodetest.NewSession(testClient, testResolver)
			c.add(s.Handshake()...)
			q := c.add(s.Data(nil, decodetest.ClientToServer, concat(
				lengthPrefixed(decodetest.DNSQuery(1, testSNI, decodetest.DNSTypeA)),
				lengthPrefixed(decodetest.DNSQuery(2, testSNI, decodetest.DNSTypeHTTPS)))))
			resp := concat(lengthPrefixed(decodetest.DNSResponse(1, testSNI, decodetest.DNSTypeA, 0, answers)),
				lengthPrefixed(decodetest.DNSResponse(2, testSNI, decodetest.DNSTypeHTTPS, 0, nil)))
			c.after(5*time.Millisecond, s.Data(nil, decodetest.ServerToClient, resp[:40]))
			a := c.after(5*time.Millisecond, s.Data(nil, decodetest.ServerToClient, resp[40:]))
			return DNSInfo{QueryCount: 2, Responses: 2, Queries: []DNSQuery{
				{ID: 1, Name: testSNI, Type: 1, Frame: q, Frames: []uint64{q}, Count: 1, First: c.time(q),
					ResponseFrame: a, RTT: 10 * time.Millisecond, Answers: parsed},
				{ID: 2, Name: testSNI, Type: 65, Frame: q, Frames: []uint64{q}, Count: 1, First: c.time(q),
					ResponseFrame: a, RTT: 10 * time.Millisecond},
			}}, nil
		}},
		{"more queries than kept", func(t *testing.T, c *capture) (DNSInfo, []NameSource) {
			var w DNSInfo
			for i := range maxQueries + 3 {
				f := c.add(udpFrame(testClientNS, testResolver, decodetest.DNSQuery(uint16(i), testSNI, decodetest.DNSTypeA)))
				if i < maxQueries {
					w.Queries = append(w.Queries, DNSQuery{ID: uint16(i), Name: testSNI, Type: 1, Frame: f,
						Frames: []uint64{f}, Count: 1, First: c.time(f)})
				}
			}
			// A query past the bound retransmitted and answered: one
			// query, one response, nothing kept but the names.
			q := decodetest.DNSQuery(maxQueries+2, testSNI, decodetest.DNSTypeA)
			c.add(udpFrame(testClientNS, testResolver, q), udpFrame(testClientNS, testResolver, q))
			a := c.add(udpFrame(testResolver, testClientNS, decodetest.DNSResponse(maxQueries+2, testSNI, decodetest.DNSTypeA, 0, answers)))
			s := decodetest.NewSession(testClient, testServer)
			c.add(s.Handshake()...)
			w.QueryCount, w.Responses, w.Unanswered = maxQueries+3, 1, maxQueries
			return w, []NameSource{{Name: alias, Frame: a}, {Name: testSNI, Frame: a}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture()
			want, names := tt.build(t, c)
			res := c.read(t)
			f := flowTo(t, res, testResolver)
			if f.App() != AppDNS || f.DNS == nil {
				t.Fatalf("App %q, DNS %v; want a DNS flow", f.App(), f.DNS)
			}
			if diff := cmp.Diff(want, *f.DNS, cmpAddrs); diff != "" {
				t.Errorf("DNS summary (-want +got):\n%s", diff)
			}
			if names == nil {
				return
			}
			tf := flowTo(t, res, testServer)
			if diff := cmp.Diff(names, tf.Names()); diff != "" {
				t.Errorf("names of the TLS flow (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAppNone checks that flows carrying none of the protocols qadiag reads
// keep no summary.
func TestAppNone(t *testing.T) {
	tests := []struct {
		name  string
		build func(c *capture)
	}{
		{"SSH banners", func(c *capture) {
			// "SS" is a TURN channel number, and "H-" a length.
			s := decodetest.NewSession(testClient, netip.MustParseAddrPort("20.42.65.92:22"))
			c.add(s.Handshake()...)
			c.add(s.Data(nil, decodetest.ServerToClient, []byte("SSH-2.0-OpenSSH_9.6p1 Ubuntu-3ubuntu13\r\n")))
			c.add(s.Data(nil, decodetest.ClientToServer, []byte("SSH-2.0-OpenSSH_for_Windows_9.5\r\n")))
		}},
		{"short TCP payload", func(c *capture) {
			s := decodetest.NewSession(testClient, netip.MustParseAddrPort("20.42.65.92:8443"))
			c.add(s.Handshake()...)
			c.add(s.Data(nil, decodetest.ClientToServer, []byte{1, 2, 3}))
			c.add(s.FIN(nil, decodetest.ClientToServer))
		}},
		{"RTP on a TURN port", func(c *capture) {
			for i := range 5 {
				p := make([]byte, 172)
				p[0], p[1], p[3] = 0x80, 0x6f, byte(i)
				c.add(udpFrame(testClient, netip.MustParseAddrPort("20.202.0.10:3479"), p))
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCapture()
			tt.build(c)
			res := c.read(t)
			if len(res.Flows) != 1 {
				t.Fatalf("%d flows, want 1", len(res.Flows))
			}
			f := res.Flows[0]
			if f.App() != "" || f.TLS != nil || f.HTTP != nil || f.STUN != nil || f.DNS != nil {
				t.Errorf("App %q TLS %v HTTP %v STUN %v DNS %v; want none", f.App(), f.TLS, f.HTTP, f.STUN, f.DNS)
			}
		})
	}
}

// TestJA4CacheIgnoresOrderAndGREASE checks that the JA4 cache serves one
// client's shuffled, re-GREASEd hellos from one entry and never serves a
// different fingerprint.
func TestJA4CacheIgnoresOrderAndGREASE(t *testing.T) {
	c := newJA4Cache()
	base := &tlsmsg.ClientHello{LegacyVersion: 0x0303, CipherSuites: []uint16{0x0a0a, 0x1301, 0x1302},
		Extensions: []uint16{0x1a1a, 0x0000, 0x0010, 0x002b, 0x000d}, SignatureAlgorithms: []uint16{0x0403, 0x0804},
		SupportedVersions: []uint16{0x2a2a, 0x0304, 0x0303}, ALPN: []string{"h2"}}
	shuffled := *base
	shuffled.CipherSuites = []uint16{0x1302, 0xfafa, 0x1301}
	shuffled.Extensions = []uint16{0x000d, 0x002b, 0x3a3a, 0x0010, 0x0000}
	other := *base
	other.SignatureAlgorithms = []uint16{0x0804, 0x0403}
	for _, ch := range []*tlsmsg.ClientHello{base, &shuffled, &other} {
		if got, want := c.get(ch), ch.JA4(); got != want {
			t.Errorf("cached JA4 %s, want %s", got, want)
		}
	}
	if len(c.m) != 2 {
		t.Errorf("%d cache entries, want 2 (the shuffled hello shares the first)", len(c.m))
	}
}

// TestAppTLSReusedParserState reads two TLS connections one after the
// other: the first stops being parsed after its first application records,
// so its parser state (streams, hello storage) goes back to the pool and
// parses the second. The first flow's summary must not change with it, and
// each must read as it does alone.
func TestAppTLSReusedParserState(t *testing.T) {
	other := netip.MustParseAddrPort("10.20.30.11:50001")
	first := func(c *capture) {
		s := decodetest.NewSession(testClient, testServer)
		c.add(s.Handshake()...)
		c.add(pieces(s, decodetest.ClientToServer, chromiumHello, 1440)...)
		tls13Flight(c, s)
		for range 3 { // past tlsFollowRecords both ways: parsing stops
			c.add(s.Data(nil, decodetest.ServerToClient, decodetest.ApplicationData(300)))
			c.add(s.Data(nil, decodetest.ClientToServer, decodetest.ApplicationData(200)))
		}
	}
	second := func(c *capture) {
		s := decodetest.NewSession(other, testServer)
		c.add(s.Handshake()...)
		o := decodetest.SchannelHello("other.example", nil)
		o.ALPN = []string{"acme-tls/1"}
		c.add(s.Data(nil, decodetest.ClientToServer, decodetest.ClientHello(o)))
		tls13Flight(c, s)
	}
	both, alone1, alone2 := newCapture(), newCapture(), newCapture()
	first(both)
	second(both)
	first(alone1)
	second(alone2)
	resBoth, res1, res2 := both.read(t), alone1.read(t), alone2.read(t)
	for _, tc := range []struct {
		server     netip.AddrPort
		client     netip.AddrPort
		alone      *Result
		wantSNI    string
		wantALPN   []string
		wantGroups int
	}{
		{testServer, testClient, res1, testSNI, []string{"h2", "http/1.1"}, 3},
		{testServer, other, res2, "other.example", []string{"acme-tls/1"}, 1},
	} {
		var got, want *Flow
		for _, f := range resBoth.Flows {
			if f.Client == tc.client {
				got = f
			}
		}
		want = tc.alone.Flows[0]
		if got == nil || got.TLS == nil || want.TLS == nil {
			t.Fatalf("client %v: no TLS summary", tc.client)
		}
		g, w := *got.TLS, *want.TLS
		if g.SNI != tc.wantSNI || !slices.Equal(g.Offered().ALPN, tc.wantALPN) || len(g.Offered().KeyShareGroups) != tc.wantGroups {
			t.Errorf("client %v: SNI %q ALPN %q groups %v, want %q %q and %d groups", tc.client, g.SNI, g.Offered().ALPN, g.Offered().KeyShareGroups, tc.wantSNI, tc.wantALPN, tc.wantGroups)
		}
		if g.SNI != w.SNI || !slices.Equal(g.Offered().ALPN, w.Offered().ALPN) || !slices.Equal(g.Offered().KeyShareGroups, w.Offered().KeyShareGroups) ||
			!slices.Equal(g.Offered().OfferedVersions, w.Offered().OfferedVersions) || g.Offered().JA4 != w.Offered().JA4 || g.Offered().Ciphers != w.Offered().Ciphers {
			t.Errorf("client %v: after another connection %+v\nalone %+v", tc.client, g, w)
		}
	}
}
