package benchgen

import (
	"math/rand/v2"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// Record overheads of the AEAD suites the servers pick: TLS 1.3 adds the
// content type byte and a 16-byte tag (RFC 8446 5.2); TLS 1.2 GCM an
// 8-byte explicit nonce and the tag (RFC 5288 3).
const (
	overhead13 = 17
	overhead12 = 24
)

// tlsTemplates holds the handshake bytes every connection shares, built
// once: certificate messages per site and variant, and fixed messages.
type tlsTemplates struct {
	certs    map[certKey][]byte
	ske      []byte // ServerKeyExchange and ServerHelloDone
	client12 []byte // ClientKeyExchange, ChangeCipherSpec, Finished
	server12 []byte // ChangeCipherSpec, Finished
	ccs      []byte
}

type certKey struct {
	site int
	v    certVariant
}

// Validity of the expired chains: a year that ended before the capture.
var (
	expiredNotBefore = time.Date(2024, 10, 1, 0, 0, 0, 0, time.UTC)
	expiredNotAfter  = time.Date(2025, 10, 1, 0, 0, 0, 0, time.UTC)
)

func newTLSTemplates() *tlsTemplates {
	t := &tlsTemplates{certs: make(map[certKey][]byte), ccs: decodetest.ChangeCipherSpec()}
	t.ske = decodetest.AppendServerKeyExchange(nil, decodetest.GroupX25519, decodetest.X25519KeyLen, 0x0807, 64)
	t.ske = append(t.ske, decodetest.ServerHelloDone()...)
	t.client12 = decodetest.AppendClientKeyExchange(nil, decodetest.X25519KeyLen)
	t.client12 = append(t.client12, t.ccs...)
	t.client12 = decodetest.AppendEncryptedHandshake(t.client12, 40)
	t.server12 = decodetest.AppendEncryptedHandshake(append([]byte(nil), t.ccs...), 40)
	return t
}

// certificate returns the Certificate record of a site's chain, built on
// first use: Ed25519 chains keep the Certificate message near 1 kB.
func (t *tlsTemplates) certificate(site int, v certVariant) []byte {
	k := certKey{site, v}
	if c, ok := t.certs[k]; ok {
		return c
	}
	s := &sites[site]
	var chain [][]byte
	switch v {
	case certExpired:
		chain = decodetest.CertChainValidity(s.name, s.issuer, s.org, expiredNotBefore, expiredNotAfter)
	case certProxy:
		chain = decodetest.CertChain(s.name, proxyCA, proxyOrg)
	default:
		chain = decodetest.CertChain(s.name, s.issuer, s.org)
	}
	c := decodetest.AppendCertificate(nil, chain)
	t.certs[k] = c
	return c
}

// clientHello appends the connection's ClientHello record and returns
// the legacy session ID it carries.
func clientHello(dst []byte, p *plan, r *rand.Rand) ([]byte, []byte) {
	var o decodetest.ClientHelloOpts
	if p.chromium {
		o = decodetest.ChromiumHello(sites[p.site].name, r)
	} else {
		o = decodetest.SchannelHello(sites[p.site].name, r)
	}
	o.PSK = p.resumed
	return decodetest.AppendClientHello(dst, &o), o.SessionID
}

// serverFlight appends the server's first flight to dst and returns it
// with the length of the encrypted part that follows it: for TLS 1.3 a
// ServerHello and ChangeCipherSpec, then EncryptedExtensions to Finished
// as one application_data record; for TLS 1.2 ServerHello, Certificate,
// ServerKeyExchange and ServerHelloDone in the clear.
func (t *tlsTemplates) serverFlight(dst []byte, p *plan, sid []byte, r *rand.Rand) ([]byte, int) {
	o := decodetest.ServerHelloOpts{Version: decodetest.VersionTLS13, SessionID: sid, Rand: r}
	fill(r, o.Random[:])
	if !p.tls13 {
		o.Version, o.CipherSuite, o.ALPN = decodetest.VersionTLS12, decodetest.SuiteECDHEECDSAAES256GCMSHA384, "h2"
		o.SessionID = make([]byte, 32) // a fresh session ID (RFC 5246 7.4.1.3)
		fill(r, o.SessionID)
		dst = decodetest.AppendServerHello(dst, &o)
		dst = append(dst, t.certificate(p.site, p.cert)...)
		return append(dst, t.ske...), 0
	}
	o.CipherSuite, o.PSK = decodetest.SuiteAES128GCMSHA256, p.resumed
	if !p.chromium {
		o.CipherSuite = decodetest.SuiteAES256GCMSHA384
	}
	if p.chromium && chance(r, 0.5) {
		o.Group, o.KeyShareLen = decodetest.GroupX25519MLKEM768, decodetest.X25519MLKEM768ServerKeyLen
	}
	dst = decodetest.AppendServerHello(dst, &o)
	dst = append(dst, t.ccs...)
	if p.resumed {
		return dst, 60 + r.IntN(60) // EncryptedExtensions, Finished
	}
	return dst, int(min(max(logNormal(r, 3000, 0.25), 1800), 9000)) // with Certificate, CertificateVerify
}

// fill fills b from r.
func fill(r *rand.Rand, b []byte) {
	for i := range b {
		if i%8 == 0 {
			v := r.Uint64()
			for j := i; j < min(len(b), i+8); j++ {
				b[j] = byte(v)
				v >>= 8
			}
		}
	}
}
