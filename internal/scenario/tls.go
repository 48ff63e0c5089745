package scenario

import (
	"fmt"
	"strings"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// hello is a ClientHello record and the options it was built from; the
// server echoes the session ID (RFC 8446 4.1.3).
type hello struct {
	opts   decodetest.ClientHelloOpts
	record []byte
}

// chromium returns the ClientHello of WebView2, the engine of the Quick
// Assist app (about 1.8 kB: two segments).
func (c *capture) chromium(sni string) hello {
	o := decodetest.ChromiumHello(sni, c.r)
	return hello{o, decodetest.ClientHello(o)}
}

// schannel returns the ClientHello of Windows' own TLS stack, as native
// code such as the RDP relay client sends it (about 300 bytes).
func (c *capture) schannel(sni string) hello {
	o := decodetest.SchannelHello(sni, c.r)
	return hello{o, decodetest.ClientHello(o)}
}

// handshake is what a TLS exchange captured: the frames of the
// ClientHello and of the server's first flight.
type handshake struct {
	hello  []handle
	server []handle
}

// serverThink is how long a Microsoft front end takes from ClientHello to
// ServerHello beyond the round trip.
const serverThink = 2 * time.Millisecond

// clientHello captures the ClientHello just after the handshake's ACK.
func (k *conn) clientHello(h hello) []handle {
	return k.send(k.c.jitter(300*time.Microsecond), c2s, h.record)
}

// tls13 captures a TLS 1.3 handshake (RFC 8446 2): ClientHello; ServerHello,
// change_cipher_spec and the encrypted rest of the server's flight; the
// client's change_cipher_spec and Finished; two NewSessionTickets.
func (k *conn) tls13(h hello) handshake {
	return k.tls13n(h, 3900+k.c.r.IntN(900))
}

// tls13n is tls13 with n bytes of encrypted server handshake messages.
func (k *conn) tls13n(h hello, n int) handshake {
	hs := handshake{hello: k.clientHello(h)}
	o := decodetest.ServerHelloOpts{
		Version: decodetest.VersionTLS13, CipherSuite: decodetest.SuiteAES128GCMSHA256,
		SessionID: h.opts.SessionID, Rand: k.c.r,
	}
	k.c.fill(o.Random[:])
	flight := decodetest.AppendServerHello(nil, &o)
	flight = append(flight, decodetest.ChangeCipherSpec()...)
	// EncryptedExtensions, Certificate, CertificateVerify, Finished.
	flight = decodetest.AppendApplicationData(flight, n)
	hs.server = k.send(k.reply()+k.c.jitter(serverThink), s2c, flight)
	fin := append(decodetest.ChangeCipherSpec(), decodetest.ApplicationData(53)...)
	k.send(k.c.jitter(900*time.Microsecond), c2s, fin)
	tickets := decodetest.AppendApplicationData(decodetest.ApplicationData(250), 250)
	k.send(k.reply(), s2c, tickets)
	return hs
}

// tls12 captures a TLS 1.2 handshake (RFC 5246 7.3) with an ECDHE key
// exchange and the server's certificate chain in clear.
func (k *conn) tls12(h hello, chain [][]byte) handshake {
	hs := handshake{hello: k.clientHello(h)}
	hs.server = k.send(k.reply()+k.c.jitter(serverThink), s2c, k.c.serverFlight12(h, chain))
	fin := decodetest.AppendClientKeyExchange(nil, decodetest.X25519KeyLen)
	fin = append(fin, decodetest.ChangeCipherSpec()...)
	fin = decodetest.AppendEncryptedHandshake(fin, 40)
	k.send(k.c.jitter(1200*time.Microsecond), c2s, fin)
	srv := append(decodetest.ChangeCipherSpec(), decodetest.AppendEncryptedHandshake(nil, 40)...)
	k.send(k.reply(), s2c, srv)
	return hs
}

// serverFlight12 is a TLS 1.2 server's first flight: ServerHello,
// Certificate, ServerKeyExchange (X25519, Ed25519 signature, matching the
// chain's keys) and ServerHelloDone.
func (c *capture) serverFlight12(h hello, chain [][]byte) []byte {
	o := decodetest.ServerHelloOpts{
		Version: decodetest.VersionTLS12, CipherSuite: decodetest.SuiteECDHERSAAES128GCMSHA256,
		ALPN: "http/1.1",
	}
	c.fill(o.Random[:])
	o.SessionID = make([]byte, 32)
	c.fill(o.SessionID)
	b := decodetest.AppendServerHello(nil, &o)
	b = decodetest.AppendCertificate(b, chain)
	b = decodetest.AppendServerKeyExchange(b, decodetest.GroupX25519, decodetest.X25519KeyLen, 0x0807, 64)
	return append(b, decodetest.ServerHelloDone()...)
}

// msChain returns srv's certificate chain as Microsoft serves it: leaf,
// then the Microsoft issuing CA signed by DigiCert Global Root G2. The
// relay's leaf names every regional relay, as Microsoft's certificates
// carry many names, so its chain takes several segments.
func msChain(srv *server) [][]byte {
	var extra []string
	if strings.HasPrefix(srv.name, "rdprelay") {
		for _, region := range relayRegions {
			for n := range 4 {
				extra = append(extra, fmt.Sprintf("rdprelayv3%sprod-%d.support.services.microsoft.com", region, n))
			}
		}
	}
	return certChain(srv.name, srv.issuer, srv.org, "DigiCert Global Root G2", digicert, extra...)
}

// relayRegions are Azure regions that host Quick Assist relays (the
// names follow the pattern of shared/research/quickassist.md section 1a).
var relayRegions = []string{
	"eastus", "eastus2", "westus2", "centralus", "southcentralus", "westeurope",
	"northeurope", "uksouth", "francecentral", "southeastasia", "australiaeast", "japaneast",
}

// alert captures a TLS alert record from d.
func (k *conn) alert(dt time.Duration, d decodetest.Dir, desc uint8) handle {
	return k.send(dt, d, decodetest.Alert(decodetest.AlertFatal, desc))[0]
}

// appData captures n bytes of application data records from d as one
// write, and returns its frames.
func (k *conn) appData(dt time.Duration, d decodetest.Dir, n int) []handle {
	return k.send(dt, d, decodetest.ApplicationData(n))
}

// fill draws random bytes into b.
func (c *capture) fill(b []byte) {
	for i := range b {
		b[i] = byte(c.r.Uint32())
	}
}

// https captures a whole working HTTPS connection to srv starting at at:
// handshake, TLS 1.3 with a WebView2 hello, a few requests, and the
// connection left open. It returns the connection for more.
func (c *capture) https(at time.Duration, srv *server, v6 bool, requests int) *conn {
	k := c.dial(at, srv, v6, 443)
	k.open()
	k.tls13(c.chromium(srv.name))
	for range requests {
		k.exchange(k.c.jitter(3*time.Millisecond), 180+c.r.IntN(600), 600+c.r.IntN(6000), c.jitter(4*time.Millisecond))
	}
	return k
}
