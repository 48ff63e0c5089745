package decodetest

import (
	"math/rand/v2"

	"golang.org/x/crypto/cryptobyte"
)

// helloRetryRandom is the Random of a HelloRetryRequest, SHA-256 of
// "HelloRetryRequest" (RFC 8446 4.1.3).
var helloRetryRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// downgradeTLS12 ends the Random of a TLS 1.3 capable server that
// negotiates TLS 1.2 (RFC 8446 4.1.3).
var downgradeTLS12 = []byte("DOWNGRD\x01")

// ServerHelloOpts chooses the content of a ServerHello (RFC 8446 4.1.3,
// RFC 5246 7.4.1.3).
type ServerHelloOpts struct {
	// Version is the negotiated version: VersionTLS13 writes
	// supported_versions and key_share, anything else a TLS 1.2 hello.
	Version uint16
	// CipherSuite is the selected suite.
	CipherSuite uint16
	// Random is written as given, except for HelloRetry and Downgrade.
	Random [32]byte
	// SessionID is legacy_session_id_echo or the TLS 1.2 session ID.
	SessionID []byte
	// HelloRetry makes a HelloRetryRequest asking for Group (TLS 1.3).
	HelloRetry bool
	// Group and KeyShareLen describe the server's key_share (TLS 1.3); 0
	// means X25519 with 32 bytes.
	Group       uint16
	KeyShareLen int
	// PSK selects the client's first pre_shared_key identity: a resumed
	// TLS 1.3 session.
	PSK bool
	// ALPN is the selected protocol of a TLS 1.2 hello (TLS 1.3 sends it
	// encrypted).
	ALPN string
	// Downgrade puts the RFC 8446 4.1.3 downgrade sentinel into a TLS 1.2 Random.
	Downgrade bool
	// Rand draws the key share; nil uses fixed bytes.
	Rand *rand.Rand
}

// AppendServerHello appends a handshake record holding the ServerHello o
// describes.
func AppendServerHello(dst []byte, o *ServerHelloOpts) []byte {
	random := o.Random
	switch {
	case o.HelloRetry:
		random = helloRetryRandom
	case o.Downgrade && o.Version != VersionTLS13:
		copy(random[24:], downgradeTLS12)
	}
	body := buildBytes(func(b *cryptobyte.Builder) {
		b.AddUint16(VersionTLS12)
		b.AddBytes(random[:])
		addBytes8(b, o.SessionID)
		b.AddUint16(o.CipherSuite)
		b.AddUint8(0)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			if o.Version == VersionTLS13 {
				o.tls13Extensions(b)
			} else {
				o.tls12Extensions(b)
			}
		})
	})
	return AppendHandshake(dst, HandshakeServerHello, body)
}

func (o *ServerHelloOpts) tls13Extensions(b *cryptobyte.Builder) {
	group, n := o.Group, o.KeyShareLen
	if group == 0 {
		group = GroupX25519
	}
	if n == 0 {
		n = X25519KeyLen
	}
	addExt(b, ExtSupportedVersions, func(b *cryptobyte.Builder) { b.AddUint16(VersionTLS13) })
	addExt(b, ExtKeyShare, func(b *cryptobyte.Builder) {
		b.AddUint16(group)
		if !o.HelloRetry {
			addBytes16(b, randomBytes(o.Rand, n))
		}
	})
	if o.PSK && !o.HelloRetry {
		addExt(b, ExtPreSharedKey, func(b *cryptobyte.Builder) { b.AddUint16(0) })
	}
}

func (o *ServerHelloOpts) tls12Extensions(b *cryptobyte.Builder) {
	addExt(b, ExtRenegotiationInfo, func(b *cryptobyte.Builder) { b.AddUint8(0) })
	addExt(b, ExtExtendedMasterSecret, func(*cryptobyte.Builder) {})
	addExt(b, ExtECPointFormats, func(b *cryptobyte.Builder) { addBytes8(b, []byte{0}) })
	if o.ALPN != "" {
		addExt(b, ExtALPN, func(b *cryptobyte.Builder) { addALPN(b, []string{o.ALPN}) })
	}
}

func addExt(b *cryptobyte.Builder, typ uint16, body func(b *cryptobyte.Builder)) {
	b.AddUint16(typ)
	b.AddUint16LengthPrefixed(body)
}

// ServerHello returns a ServerHello record for version and cipher with
// fixed random and key share; hrr makes it a HelloRetryRequest for
// X25519 (TLS 1.3 only).
func ServerHello(version, cipher uint16, hrr bool) []byte {
	o := ServerHelloOpts{Version: version, CipherSuite: cipher, HelloRetry: hrr}
	copy(o.Random[:], filler[64:])
	o.SessionID = filler[128:160]
	return AppendServerHello(nil, &o)
}

// AppendCertificate appends a TLS 1.2 Certificate message (RFC 5246
// 7.4.2) carrying the DER certificates in order, leaf first.
func AppendCertificate(dst []byte, ders [][]byte) []byte {
	body := buildBytes(func(b *cryptobyte.Builder) {
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, d := range ders {
				b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(d) })
			}
		})
	})
	return AppendHandshake(dst, HandshakeCertificate, body)
}

// Certificate returns AppendCertificate(nil, ders).
func Certificate(ders [][]byte) []byte { return AppendCertificate(nil, ders) }

// ServerHelloDone returns a ServerHelloDone record (RFC 5246 7.4.5).
func ServerHelloDone() []byte {
	return AppendHandshake(nil, HandshakeServerHelloDone, nil)
}

// AppendServerKeyExchange appends an ECDHE ServerKeyExchange (RFC 8422
// 5.4): a named curve, a public key of keyLen bytes and a signature of
// sigLen bytes with scheme sigAlg (Ed25519: 0x0807 and 64 bytes).
func AppendServerKeyExchange(dst []byte, group uint16, keyLen int, sigAlg uint16, sigLen int) []byte {
	body := buildBytes(func(b *cryptobyte.Builder) {
		b.AddUint8(3) // named_curve
		b.AddUint16(group)
		addBytes8(b, filler[256:256+keyLen])
		b.AddUint16(sigAlg)
		addBytes16(b, filler[512:512+sigLen])
	})
	return AppendHandshake(dst, HandshakeServerKeyExchange, body)
}

// AppendClientKeyExchange appends an ECDHE ClientKeyExchange (RFC 8422
// 5.7) with a public key of keyLen bytes.
func AppendClientKeyExchange(dst []byte, keyLen int) []byte {
	body := buildBytes(func(b *cryptobyte.Builder) { addBytes8(b, filler[1024:1024+keyLen]) })
	return AppendHandshake(dst, HandshakeClientKeyExchange, body)
}
