package decodetest

import (
	"math/rand/v2"

	"golang.org/x/crypto/cryptobyte"
)

// Cipher suites a server picks in tests (IANA "TLS Cipher Suites").
const (
	SuiteAES128GCMSHA256           uint16 = 0x1301 // TLS 1.3 (RFC 8446 B.4)
	SuiteAES256GCMSHA384           uint16 = 0x1302 // TLS 1.3
	SuiteECDHEECDSAAES256GCMSHA384 uint16 = 0xc02c // TLS 1.2 (RFC 5289)
	SuiteECDHERSAAES128GCMSHA256   uint16 = 0xc02f // TLS 1.2 (RFC 5289)
)

// Cipher suites and signature schemes offered by the presets.
const (
	suiteAES128GCMSHA256                 uint16 = 0x1301
	suiteAES256GCMSHA384                 uint16 = 0x1302
	suiteCHACHA20POLY1305SHA256          uint16 = 0x1303
	suiteECDHEECDSAWithAES128GCMSHA256   uint16 = 0xc02b
	suiteECDHEECDSAWithAES256GCMSHA384   uint16 = 0xc02c
	suiteECDHERSAWithAES128GCMSHA256     uint16 = 0xc02f
	suiteECDHERSAWithAES256GCMSHA384     uint16 = 0xc030
	suiteECDHEECDSAWithCHACHA20POLY1305  uint16 = 0xcca9
	suiteECDHERSAWithCHACHA20POLY1305    uint16 = 0xcca8
	suiteECDHERSAWithAES128CBCSHA        uint16 = 0xc013
	suiteECDHERSAWithAES256CBCSHA        uint16 = 0xc014
	suiteRSAWithAES128GCMSHA256          uint16 = 0x009c
	suiteRSAWithAES256GCMSHA384          uint16 = 0x009d
	suiteRSAWithAES128CBCSHA             uint16 = 0x002f
	suiteRSAWithAES256CBCSHA             uint16 = 0x0035
	suiteECDHEECDSAWithAES256CBCSHA384   uint16 = 0xc024
	suiteECDHEECDSAWithAES128CBCSHA256   uint16 = 0xc023
	suiteECDHERSAWithAES256CBCSHA384     uint16 = 0xc028
	suiteECDHERSAWithAES128CBCSHA256     uint16 = 0xc027
	suiteRSAWithAES256CBCSHA256          uint16 = 0x003d
	suiteRSAWithAES128CBCSHA256          uint16 = 0x003c
	suiteECDHEECDSAWithAES256CBCSHA      uint16 = 0xc00a
	suiteECDHEECDSAWithAES128CBCSHA      uint16 = 0xc009
	signatureEd25519                     uint16 = 0x0807
	signatureECDSAWithP256AndSHA256      uint16 = 0x0403
	signaturePSSWithSHA256               uint16 = 0x0804
	signaturePKCS1WithSHA256             uint16 = 0x0401
	signatureECDSAWithP384AndSHA384      uint16 = 0x0503
	signaturePSSWithSHA384               uint16 = 0x0805
	signaturePKCS1WithSHA384             uint16 = 0x0501
	signaturePSSWithSHA512               uint16 = 0x0806
	signaturePKCS1WithSHA512             uint16 = 0x0601
	signaturePKCS1WithSHA1               uint16 = 0x0201
	signatureECDSAWithSHA1               uint16 = 0x0203
	signatureECDSAWithP521AndSHA512      uint16 = 0x0603
	signatureDSAWithSHA1AndPKCS1Fallback uint16 = 0x0202
)

// ChromiumHello returns the options of a Chromium 131+ ClientHello (the
// engine of Edge and WebView2, hence of Quick Assist): GREASE, an
// X25519MLKEM768 key share of 1216 bytes beside an X25519 one, an ECH
// GREASE extension, and the extension order shuffled with r. The record is
// about 1.8 kB, so it needs two TCP segments. r draws the random, session
// ID, key shares and order; nil gives fixed values.
func ChromiumHello(sni string, r *rand.Rand) ClientHelloOpts {
	o := ClientHelloOpts{
		SessionID: randomBytes(r, 32),
		CipherSuites: []uint16{
			suiteAES128GCMSHA256, suiteAES256GCMSHA384, suiteCHACHA20POLY1305SHA256,
			suiteECDHEECDSAWithAES128GCMSHA256, suiteECDHERSAWithAES128GCMSHA256,
			suiteECDHEECDSAWithAES256GCMSHA384, suiteECDHERSAWithAES256GCMSHA384,
			suiteECDHEECDSAWithCHACHA20POLY1305, suiteECDHERSAWithCHACHA20POLY1305,
			suiteECDHERSAWithAES128CBCSHA, suiteECDHERSAWithAES256CBCSHA,
			suiteRSAWithAES128GCMSHA256, suiteRSAWithAES256GCMSHA384,
			suiteRSAWithAES128CBCSHA, suiteRSAWithAES256CBCSHA,
		},
		SNI:               sni,
		ALPN:              []string{"h2", "http/1.1"},
		SupportedVersions: []uint16{VersionTLS13, VersionTLS12},
		SignatureAlgorithms: []uint16{
			signatureECDSAWithP256AndSHA256, signaturePSSWithSHA256, signaturePKCS1WithSHA256,
			signatureECDSAWithP384AndSHA384, signaturePSSWithSHA384, signaturePKCS1WithSHA384,
			signaturePSSWithSHA512, signaturePKCS1WithSHA512,
		},
		SupportedGroups: []uint16{GroupX25519MLKEM768, GroupX25519, GroupSecp256r1, GroupSecp384r1},
		KeyShares: []KeyShare{
			{GroupX25519MLKEM768, X25519MLKEM768ClientKeyLen},
			{GroupX25519, X25519KeyLen},
		},
		GREASE: true,
		Extensions: []Extension{
			{ExtExtendedMasterSecret, nil},
			{ExtRenegotiationInfo, []byte{0}},
			{ExtECPointFormats, []byte{1, 0}},
			{ExtSessionTicket, nil},
			{ExtStatusRequest, []byte{1, 0, 0, 0, 0}},
			{ExtSCT, nil},
			{ExtPSKModes, []byte{1, 1}},               // psk_dhe_ke
			{ExtCompressCertificate, []byte{2, 0, 2}}, // brotli
			{ExtALPS, []byte{0, 3, 2, 'h', '2'}},      // h2
			{ExtECH, echGREASE(r, len(sni))},
		},
		Shuffle: true,
		Rand:    r,
	}
	copy(o.Random[:], randomBytes(r, 32))
	return o
}

// echGREASE returns an outer ECHClientHello (draft-ietf-tls-esni-22 5)
// with random content, as Chromium sends when it has no ECH config: its
// payload grows with the server name in steps of 32 bytes.
func echGREASE(r *rand.Rand, sniLen int) []byte {
	payload := 144 + 32*min(3, sniLen/32)
	return buildBytes(func(b *cryptobyte.Builder) {
		b.AddUint8(0)      // outer
		b.AddUint16(0x001) // HKDF-SHA256
		b.AddUint16(0x001) // AES-128-GCM
		cfg := randomBytes(r, 1)
		b.AddUint8(cfg[0])
		addBytes16(b, randomBytes(r, 32))
		addBytes16(b, randomBytes(r, payload))
	})
}

// SchannelHello returns the options of a Windows 11 Schannel ClientHello
// (about 300 bytes): TLS 1.3 and 1.2, an X25519 key share only, no
// GREASE, Schannel's fixed extension order. r draws the random, session ID
// and key share; nil gives fixed values.
func SchannelHello(sni string, r *rand.Rand) ClientHelloOpts {
	o := ClientHelloOpts{
		RecordVersion: VersionTLS12,
		SessionID:     randomBytes(r, 32),
		CipherSuites: []uint16{
			suiteAES256GCMSHA384, suiteAES128GCMSHA256,
			suiteECDHEECDSAWithAES256GCMSHA384, suiteECDHEECDSAWithAES128GCMSHA256,
			suiteECDHERSAWithAES256GCMSHA384, suiteECDHERSAWithAES128GCMSHA256,
			suiteECDHEECDSAWithAES256CBCSHA384, suiteECDHEECDSAWithAES128CBCSHA256,
			suiteECDHERSAWithAES256CBCSHA384, suiteECDHERSAWithAES128CBCSHA256,
			suiteECDHEECDSAWithAES256CBCSHA, suiteECDHEECDSAWithAES128CBCSHA,
			suiteECDHERSAWithAES256CBCSHA, suiteECDHERSAWithAES128CBCSHA,
			suiteRSAWithAES256GCMSHA384, suiteRSAWithAES128GCMSHA256,
			suiteRSAWithAES256CBCSHA256, suiteRSAWithAES128CBCSHA256,
			suiteRSAWithAES256CBCSHA, suiteRSAWithAES128CBCSHA,
		},
		SNI:               sni,
		ALPN:              []string{"h2", "http/1.1"},
		SupportedVersions: []uint16{VersionTLS13, VersionTLS12},
		SignatureAlgorithms: []uint16{
			signaturePSSWithSHA256, signaturePSSWithSHA384, signaturePSSWithSHA512,
			signaturePKCS1WithSHA256, signaturePKCS1WithSHA384, signaturePKCS1WithSHA512,
			signatureECDSAWithP256AndSHA256, signatureECDSAWithP384AndSHA384,
			signatureECDSAWithP521AndSHA512, signaturePKCS1WithSHA1, signatureECDSAWithSHA1,
		},
		SupportedGroups: []uint16{GroupX25519, GroupSecp256r1, GroupSecp384r1},
		KeyShares:       []KeyShare{{GroupX25519, X25519KeyLen}},
		Extensions: []Extension{
			{ExtStatusRequest, []byte{1, 0, 0, 0, 0}},
			{ExtECPointFormats, []byte{1, 0}},
			{ExtSessionTicket, nil},
			{ExtExtendedMasterSecret, nil},
			{ExtRenegotiationInfo, []byte{0}},
			{ExtPSKModes, []byte{1, 1}},
		},
		Order: []uint16{
			ExtServerName, ExtStatusRequest, ExtSupportedGroups, ExtECPointFormats,
			ExtSignatureAlgorithms, ExtSessionTicket, ExtALPN, ExtExtendedMasterSecret,
			ExtRenegotiationInfo, ExtSupportedVersions, ExtPSKModes, ExtKeyShare,
		},
		Rand: r,
	}
	copy(o.Random[:], randomBytes(r, 32))
	return o
}
