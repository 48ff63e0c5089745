package scenario

import (
	"slices"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// tlsInterception: a proxy terminates TLS with its own certificate
// (heuristics.md section 2b).
func tlsInterception() []Scenario {
	return []Scenario{{
		Name: "tls_interception-zscaler", Cause: "tls_interception", Format: pcap, Link: eth,
		Description: "Sign-in to login.microsoftonline.com is not inspected and works; remoteassistance.support.services.microsoft.com gets a TLS 1.2 " +
			"chain issued by \"Zscaler Intermediate Root CA (zscaler.net) (t)\" (O=Zscaler Inc.) from a peer with TTL 55 and RTT 8 ms; " +
			"the client sends a fatal unknown_ca alert and closes.",
		build: buildInterceptZscaler,
	}, {
		Name: "tls_interception-fortinet-near", Cause: "tls_interception", Format: pcapng, Link: eth,
		Description: "A FortiGate one hop away answers the SYN in 1 ms with TTL 64, then takes 50 ms to send a certificate issued by Fortinet_CA_SSL (O=Fortinet) " +
			"for remoteassistance.support.services.microsoft.com; the client alerts bad_certificate.",
		build: buildInterceptFortinet,
	}, {
		Name: "tls_interception-paloalto-ipv6", Cause: "tls_interception", Format: pcap, Link: sll2,
		Description: "IPv6, Linux cooked capture: remoteassistanceprodacs.communication.azure.com gets a chain from a customer forward-trust CA " +
			"(\"Contoso Forward Trust CA\", O=Contoso Ltd); hop limit 63 and RTT 2.5 ms; the client alerts certificate_unknown.",
		build: buildInterceptPaloAlto,
	}}
}

// interceptor is a TLS-inspecting proxy: the peer the client really
// talks to, and the CA it signs its forged certificates with.
type interceptor struct {
	ttl             uint8
	rtt, upstream   time.Duration
	issuer, org     string
	rootCN, rootOrg string
	alert           uint8
}

// intercepted captures a connection to srv answered by p: a TLS 1.2 flight
// with p's certificate, the client's fatal alert and its close.
func (c *capture) intercepted(at time.Duration, srv *server, v6 bool, p interceptor) {
	k := c.dial(at, srv, v6, 443)
	k.s.Server.IP.TTL, k.rtt, k.upstream = p.ttl, p.rtt, p.upstream
	k.s.Server.WScale, k.s.Server.SYNWindow, k.s.Server.Window = 7, 64240, 502
	_, synack, _ := k.open()
	h := c.chromium(srv.name)
	ch := k.clientHello(h)
	chain := certChain(srv.name, p.issuer, p.org, p.rootCN, p.rootOrg)
	flight := k.send(k.reply()+c.jitter(serverThink), s2c, c.serverFlight12(h, chain))
	alert := k.alert(c.jitter(1500*time.Microsecond), c2s, p.alert)
	fin, _ := k.closeFrom(c.jitter(100*time.Microsecond), c2s)
	c.key(synack, alert, fin)
	c.key(ch...)
	c.key(flight...)
}

func buildInterceptZscaler(c *capture) {
	end, _ := c.resolve(100*time.Millisecond, &qaLogin)
	c.https(end+time.Millisecond, &qaLogin, false, 3)
	end, _ = c.resolve(2*time.Second, &qaService)
	c.intercepted(end+c.jitter(time.Millisecond), &qaService, false, interceptor{
		ttl: 55, rtt: 8 * time.Millisecond, upstream: 24 * time.Millisecond,
		issuer: "Zscaler Intermediate Root CA (zscaler.net) (t)", org: "Zscaler Inc.",
		rootCN: "Zscaler Root CA", rootOrg: "Zscaler Inc.", alert: decodetest.AlertUnknownCA,
	})
}

func buildInterceptFortinet(c *capture) {
	end, _ := c.resolve(100*time.Millisecond, &qaService)
	for i := range 2 {
		c.intercepted(end+c.jitter(time.Millisecond)+time.Duration(i)*1500*time.Millisecond, &qaService, false, interceptor{
			ttl: 64, rtt: time.Millisecond, upstream: 48 * time.Millisecond,
			issuer: "Fortinet_CA_SSL", org: "Fortinet", rootCN: "Fortinet_CA_SSL", rootOrg: "Fortinet",
			alert: decodetest.AlertBadCertificate,
		})
	}
}

func buildInterceptPaloAlto(c *capture) {
	c.host = &dual
	end, _ := c.resolve(100*time.Millisecond, &qaService)
	k := c.https(end+time.Millisecond, &qaService, true, 2)
	k.closeFrom(c.jitter(2*time.Second), c2s)
	end, _ = c.resolve(3*time.Second, &qaACS)
	c.intercepted(end+c.jitter(time.Millisecond), &qaACS, true, interceptor{
		ttl: 63, rtt: 2500 * time.Microsecond, upstream: 30 * time.Millisecond,
		issuer: "Contoso Forward Trust CA", org: "Contoso Ltd", rootCN: "Contoso Root CA 2024", rootOrg: "Contoso Ltd",
		alert: decodetest.AlertCertificateUnknown,
	})
}

// tlsFailure: the server refuses the handshake for a reason of its own
// (heuristics.md section 10).
func tlsFailure() []Scenario {
	return []Scenario{{
		Name: "tls_failure-handshake-failure", Cause: "tls_failure", Format: pcap, Link: eth,
		Description: "The service and sign-in work over WebView2; the RDP relay connection's Schannel ClientHello, restricted by policy to TLS 1.2 RSA CBC suites, " +
			"is answered after one RTT by the server (TTL 113, as its SYN-ACK) with a fatal handshake_failure alert and a FIN.",
		build: buildTLSHandshakeFailure,
	}, {
		Name: "tls_failure-protocol-version", Cause: "tls_failure", Format: pcapng, Link: eth,
		Description: "The relay connection's ClientHello offers at most TLS 1.1 (TLS 1.2 disabled in the registry); the server answers with a fatal " +
			"protocol_version alert and closes, twice.",
		build: buildTLSProtocolVersion,
	}}
}

// serverAlert captures a connection to the relay whose ClientHello the
// genuine server refuses with a fatal alert, then a FIN.
func (c *capture) serverAlert(at time.Duration, h hello, desc uint8) {
	k := c.dial(at, &qaRelay, false, 443)
	_, synack, _ := k.open()
	ch := k.clientHello(h)
	al := k.alert(k.reply()+c.jitter(serverThink), s2c, desc)
	fin, _ := k.closeFrom(c.jitter(50*time.Microsecond), s2c)
	c.key(synack, al, fin)
	c.key(ch...)
}

// qaUntilRelay captures the stages before the relay: service, sign-in and
// signaling, all working. It returns the time the relay is looked up.
func (c *capture) qaUntilRelay(at time.Duration, v6 bool) time.Duration {
	end, _ := c.resolve(at, &qaService)
	svc := c.https(end+time.Millisecond, &qaService, v6, 3)
	end, _ = c.resolve(svc.t+400*time.Millisecond, &qaLogin)
	login := c.https(end+time.Millisecond, &qaLogin, v6, 2)
	end, _ = c.resolve(login.t+700*time.Millisecond, &qaACS)
	acs := c.https(end+time.Millisecond, &qaACS, v6, 2)
	return acs.t + 900*time.Millisecond
}

func buildTLSHandshakeFailure(c *capture) {
	at := c.qaUntilRelay(100*time.Millisecond, false)
	end, _ := c.resolve(at, &qaRelay)
	h := c.legacyHello(qaRelay.name, decodetest.VersionTLS12, []uint16{0x002f, 0x0035, 0x003c, 0x003d}) // RSA key exchange, AES-CBC
	c.serverAlert(end+c.jitter(time.Millisecond), h, decodetest.AlertHandshakeFailure)
}

func buildTLSProtocolVersion(c *capture) {
	at := c.qaUntilRelay(100*time.Millisecond, false)
	end, _ := c.resolve(at, &qaRelay)
	for i := range 2 {
		h := c.legacyHello(qaRelay.name, 0x0302, nil)
		c.serverAlert(end+c.jitter(time.Millisecond)+time.Duration(i)*2*time.Second, h, decodetest.AlertProtocolVersion)
	}
}

// legacyHello is a Schannel ClientHello with TLS 1.3 switched off by
// policy: legacy_version is the highest version offered, there is no
// supported_versions, key_share or psk_key_exchange_modes, and suites
// replaces the offered cipher suites when not nil.
func (c *capture) legacyHello(sni string, version uint16, suites []uint16) hello {
	h := c.schannel(sni)
	o := &h.opts
	o.RecordVersion, o.Version = decodetest.VersionTLS10, version
	o.SupportedVersions, o.KeyShares = nil, nil
	o.Extensions = slices.DeleteFunc(o.Extensions, func(e decodetest.Extension) bool { return e.Type == decodetest.ExtPSKModes })
	if suites != nil {
		o.CipherSuites = suites
	}
	h.record = decodetest.ClientHello(*o)
	return h
}
