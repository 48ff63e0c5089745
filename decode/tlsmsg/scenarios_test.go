package tlsmsg

import (
	"crypto/tls"
	"slices"
	"testing"
)

const qaHost = "remoteassistance.support.services.microsoft.com"

// scenario is a recorded crypto/tls handshake and what each direction's
// Summary must show.
type scenario struct {
	name       string
	ccfg, scfg *tls.Config
	check      func(t *testing.T, c, s Summary)
}

func scenarios(t testing.TB) []scenario {
	cert, _ := testCert(t)
	server := func(f func(*tls.Config)) *tls.Config {
		c := &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"h2", "http/1.1"}}
		if f != nil {
			f(c)
		}
		return c
	}
	client := func(f func(*tls.Config)) *tls.Config {
		c := &tls.Config{ServerName: qaHost, NextProtos: []string{"h2", "http/1.1"}, InsecureSkipVerify: true}
		if f != nil {
			f(c)
		}
		return c
	}
	tls12 := func(c *tls.Config) { c.MaxVersion = tls.VersionTLS12 }
	return []scenario{
		{
			name: "Client-TLSv13-SNI-ALPN",
			ccfg: client(nil),
			scfg: server(nil),
			check: func(t *testing.T, c, s Summary) {
				ch := c.ClientHello
				want(t, "client hello frame", c.ClientHelloFrame, 1)
				want(t, "SNI", ch.SNI, qaHost)
				want(t, "ALPN", ch.ALPN, []string{"h2", "http/1.1"})
				want(t, "max version", ch.MaxVersion(), 0x0304)
				want(t, "post-quantum key share", slices.Contains(ch.KeyShareGroups, 0x11ec), true)
				want(t, "server hello frame", s.ServerHelloFrame, 2)
				want(t, "selected version", s.ServerHello.SelectedVersion, 0x0304)
				want(t, "ALPN is in EncryptedExtensions", s.ServerHello.ALPN, "")
				want(t, "server certificates (encrypted)", len(s.Certificates), 0)
				want(t, "server CCS frame", s.ChangeCipherSpecFrame, 2)
				want(t, "server first app data frame", s.FirstAppDataFrame, 2)
				want(t, "client alerts", len(c.Alerts), 0)
				want(t, "server alerts", len(s.Alerts), 0)
			},
		},
		{
			name: "Client-TLSv12-SelfSigned",
			ccfg: client(tls12),
			scfg: server(nil),
			check: func(t *testing.T, c, s Summary) {
				want(t, "max version", c.ClientHello.MaxVersion(), 0x0303)
				want(t, "selected version", s.ServerHello.SelectedVersion, 0x0303)
				want(t, "selected ALPN", s.ServerHello.ALPN, "h2")
				want(t, "certificate frame", s.CertificateFrame, s.ServerHelloFrame)
				want(t, "server hello done frame", s.ServerHelloDoneFrame, s.ServerHelloFrame)
				if len(s.Certificates) != 1 {
					t.Fatalf("got %d certificates, want 1", len(s.Certificates))
				}
				cert := s.Certificates[0]
				want(t, "subject CN", cert.SubjectCN, qaHost)
				want(t, "issuer org", cert.IssuerOrg, "qadiag test")
				want(t, "SANs", cert.SANs, []string{qaHost, "*.support.services.microsoft.com", "127.0.0.1"})
				want(t, "self-signed", cert.SelfSigned, true)
				want(t, "parser", cert.Parser, "x509")
				want(t, "client CCS after server hello done", c.ChangeCipherSpecFrame > s.ServerHelloDoneFrame, true)
				want(t, "server CCS after client CCS", s.ChangeCipherSpecFrame > c.ChangeCipherSpecFrame, true)
			},
		},
		{
			name: "Client-TLSv13-HelloRetryRequest",
			ccfg: client(func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.X25519, tls.CurveP256} }),
			scfg: server(func(c *tls.Config) { c.CurvePreferences = []tls.CurveID{tls.CurveP256} }),
			check: func(t *testing.T, c, s Summary) {
				want(t, "client key shares", c.ClientHello.KeyShareGroups, []uint16{0x001d})
				if s.HelloRetryRequest == nil {
					t.Fatal("no HelloRetryRequest")
				}
				want(t, "HRR group", s.HelloRetryRequest.KeyShareGroup, 0x0017)
				want(t, "HRR before server hello", s.HelloRetryRequestFrame < s.ServerHelloFrame, true)
				want(t, "server hello group", s.ServerHello.KeyShareGroup, 0x0017)
				want(t, "client CCS before second hello", c.ChangeCipherSpecFrame < s.ServerHelloFrame, true)
			},
		},
		{
			name: "Alert-ProtocolVersion",
			ccfg: client(tls12),
			scfg: server(func(c *tls.Config) { c.MinVersion = tls.VersionTLS13 }),
			check: func(t *testing.T, c, s Summary) {
				want(t, "server hello", s.ServerHello == nil, true)
				want(t, "server alerts", s.Alerts, []Alert{{Level: 2, Description: 70, Frame: 2}})
			},
		},
		{
			name: "Alert-HandshakeFailure",
			ccfg: client(func(c *tls.Config) {
				tls12(c)
				c.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
			}),
			scfg: server(nil),
			check: func(t *testing.T, c, s Summary) {
				want(t, "client cipher suites", c.ClientHello.CipherSuites, []uint16{0xc02f})
				want(t, "server alerts", s.Alerts, []Alert{{Level: 2, Description: 40, Frame: 2}})
			},
		},
		{
			name: "Alert-UnknownCA",
			ccfg: client(func(c *tls.Config) {
				tls12(c)
				c.InsecureSkipVerify = false
			}),
			scfg: server(nil),
			check: func(t *testing.T, c, s Summary) {
				want(t, "certificates", len(s.Certificates), 1)
				if len(c.Alerts) != 1 || c.Alerts[0].Level != 2 || c.Alerts[0].Encrypted {
					t.Fatalf("client alerts = %v, want one fatal plaintext alert", c.Alerts)
				}
			},
		},
	}
}

func want[T any](t *testing.T, what string, got, wantV T) {
	t.Helper()
	if diff := cmpDiff(wantV, got); diff != "" {
		t.Errorf("%s: (-want +got)\n%s", what, diff)
	}
}
