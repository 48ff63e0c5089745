package decodetest

import (
	"math/rand/v2"
	"slices"

	"golang.org/x/crypto/cryptobyte"
)

// TLS extension types (IANA "TLS ExtensionType Values").
const (
	ExtServerName           uint16 = 0      // RFC 6066 3
	ExtStatusRequest        uint16 = 5      // RFC 6066 8
	ExtSupportedGroups      uint16 = 10     // RFC 8446 4.2.7
	ExtECPointFormats       uint16 = 11     // RFC 8422 5.1.2
	ExtSignatureAlgorithms  uint16 = 13     // RFC 8446 4.2.3
	ExtALPN                 uint16 = 16     // RFC 7301 3.1
	ExtSCT                  uint16 = 18     // RFC 6962 3.3.1
	ExtPadding              uint16 = 21     // RFC 7685
	ExtExtendedMasterSecret uint16 = 23     // RFC 7627
	ExtCompressCertificate  uint16 = 27     // RFC 8879
	ExtSessionTicket        uint16 = 35     // RFC 5077
	ExtPreSharedKey         uint16 = 41     // RFC 8446 4.2.11
	ExtSupportedVersions    uint16 = 43     // RFC 8446 4.2.1
	ExtPSKModes             uint16 = 45     // RFC 8446 4.2.9
	ExtKeyShare             uint16 = 51     // RFC 8446 4.2.8
	ExtALPS                 uint16 = 0x44cd // application_settings, draft-vvv-tls-alps
	ExtECH                  uint16 = 0xfe0d // encrypted_client_hello, draft-ietf-tls-esni
	ExtRenegotiationInfo    uint16 = 0xff01 // RFC 5746 3.2
)

// Named groups (RFC 8446 4.2.7, draft-ietf-tls-ecdhe-mlkem).
const (
	GroupSecp256r1      uint16 = 0x0017
	GroupSecp384r1      uint16 = 0x0018
	GroupX25519         uint16 = 0x001d
	GroupX25519MLKEM768 uint16 = 0x11ec
)

// Key share lengths: X25519 public key, X25519MLKEM768 client share (ML-KEM
// encapsulation key 1184 + X25519 32) and server share (ciphertext 1088 + 32).
const (
	X25519KeyLen               = 32
	X25519MLKEM768ClientKeyLen = 1216
	X25519MLKEM768ServerKeyLen = 1120
)

// Extension is one TLS extension as raw type and body.
type Extension struct {
	Type uint16
	Data []byte
}

// KeyShare is one key_share entry (RFC 8446 4.2.8); the key bytes are
// pseudo-random, Len of them.
type KeyShare struct {
	Group uint16
	Len   int
}

// ClientHelloOpts chooses the content of a ClientHello (RFC 8446 4.1.2).
// Extensions come in this order: server_name, supported_groups,
// signature_algorithms, ALPN, supported_versions, key_share, then
// Extensions, unless Order or Shuffle say otherwise; pre_shared_key is
// always last (RFC 8446 4.2.11). Empty fields write no extension.
type ClientHelloOpts struct {
	// RecordVersion is the record layer version; 0 writes 0x0301 as
	// browsers do.
	RecordVersion uint16
	// Version is legacy_version; 0 writes 0x0303.
	Version uint16
	// Random and SessionID are written as given.
	Random    [32]byte
	SessionID []byte
	// CipherSuites lists the offered suites.
	CipherSuites []uint16
	// SNI is the host_name of server_name (RFC 6066 3).
	SNI string
	// ALPN lists the protocols of application_layer_protocol_negotiation.
	ALPN []string
	// SupportedVersions, SignatureAlgorithms and SupportedGroups fill the
	// extensions of the same names.
	SupportedVersions   []uint16
	SignatureAlgorithms []uint16
	SupportedGroups     []uint16
	// KeyShares fills key_share.
	KeyShares []KeyShare
	// PSK adds pre_shared_key with one ticket identity and binder, as a
	// resuming TLS 1.3 client sends.
	PSK bool
	// GREASE adds RFC 8701 values: a cipher suite, a group, a key share, a
	// version, and empty first and one-byte last extensions, as Chromium does.
	GREASE bool
	// Extensions are added as given.
	Extensions []Extension
	// Order lists extension types in the order to write them; types not
	// listed follow in their default order.
	Order []uint16
	// Shuffle writes the extensions (except GREASE and pre_shared_key) in
	// a random order drawn from Rand, as Chromium does since version 110.
	Shuffle bool
	// Rand draws GREASE values, key share bytes and the shuffle; nil uses
	// fixed values.
	Rand *rand.Rand
}

// greaseValue returns the i-th of the 16 GREASE values (RFC 8701 2).
func greaseValue(i int) uint16 {
	v := uint16(i&15)<<4 | 0x0a
	return v<<8 | v
}

// AppendClientHello appends a handshake record holding the ClientHello o
// describes.
func AppendClientHello(dst []byte, o *ClientHelloOpts) []byte {
	var g [4]uint16 // cipher, group, first extension, last extension
	for i := range g {
		g[i] = greaseValue(i * 5)
		if o.Rand != nil {
			g[i] = greaseValue(o.Rand.IntN(16))
		}
	}
	if g[3] == g[2] {
		g[3] ^= 0x1010
	}
	rv := o.RecordVersion
	if rv == 0 {
		rv = VersionTLS10
	}
	b := cryptobyte.NewBuilder(dst)
	b.AddUint8(RecordHandshake)
	b.AddUint16(rv)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(HandshakeClientHello)
		b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
			o.body(b, g)
		})
	})
	return b.BytesOrPanic()
}

// ClientHello returns the record AppendClientHello builds.
func ClientHello(o ClientHelloOpts) []byte {
	return AppendClientHello(make([]byte, 0, 2048), &o)
}

func (o *ClientHelloOpts) body(b *cryptobyte.Builder, g [4]uint16) {
	v := o.Version
	if v == 0 {
		v = VersionTLS12
	}
	b.AddUint16(v)
	b.AddBytes(o.Random[:])
	addBytes8(b, o.SessionID)
	suites := o.CipherSuites
	if o.GREASE {
		suites = append([]uint16{g[0]}, suites...)
	}
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { addUint16s(b, suites) })
	b.AddUint8(1) // legacy_compression_methods: null only
	b.AddUint8(0)
	exts := o.extensions(g)
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, e := range exts {
			b.AddUint16(e.Type)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.Data) })
		}
	})
}

// extensions returns the extensions in wire order.
func (o *ClientHelloOpts) extensions(g [4]uint16) []Extension {
	exts := make([]Extension, 0, 8+len(o.Extensions))
	add := func(typ uint16, ok bool, build func(b *cryptobyte.Builder)) {
		if ok {
			exts = append(exts, Extension{typ, buildBytes(build)})
		}
	}
	add(ExtServerName, o.SNI != "", func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			b.AddUint8(0) // host_name
			addBytes16(b, []byte(o.SNI))
		})
	})
	groups, versions := o.SupportedGroups, o.SupportedVersions
	if o.GREASE {
		groups = append([]uint16{g[1]}, groups...)
		versions = append([]uint16{g[2] ^ 0x2020}, versions...)
	}
	add(ExtSupportedGroups, len(groups) > 0, func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { addUint16s(b, groups) })
	})
	add(ExtSignatureAlgorithms, len(o.SignatureAlgorithms) > 0, func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { addUint16s(b, o.SignatureAlgorithms) })
	})
	add(ExtALPN, len(o.ALPN) > 0, func(b *cryptobyte.Builder) { addALPN(b, o.ALPN) })
	add(ExtSupportedVersions, len(versions) > 0, func(b *cryptobyte.Builder) {
		b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { addUint16s(b, versions) })
	})
	add(ExtKeyShare, len(o.KeyShares) > 0, func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			if o.GREASE {
				b.AddUint16(g[1])
				addBytes16(b, []byte{0})
			}
			for _, ks := range o.KeyShares {
				b.AddUint16(ks.Group)
				addBytes16(b, randomBytes(o.Rand, ks.Len))
			}
		})
	})
	exts = append(exts, o.Extensions...)
	o.order(exts)
	if o.GREASE {
		exts = slices.Insert(exts, 0, Extension{Type: g[2]})
		exts = append(exts, Extension{Type: g[3], Data: []byte{0}})
	}
	if o.PSK {
		exts = append(exts, Extension{ExtPreSharedKey, pskBody(o.Rand)})
	}
	return exts
}

// order sorts exts by o.Order or shuffles them.
func (o *ClientHelloOpts) order(exts []Extension) {
	if o.Shuffle {
		r := o.Rand
		if r == nil {
			r = rand.New(rand.NewPCG(1, 2))
		}
		r.Shuffle(len(exts), func(i, j int) { exts[i], exts[j] = exts[j], exts[i] })
		return
	}
	if len(o.Order) == 0 {
		return
	}
	rank := func(t uint16) int {
		if i := slices.Index(o.Order, t); i >= 0 {
			return i
		}
		return len(o.Order)
	}
	slices.SortStableFunc(exts, func(a, b Extension) int { return rank(a.Type) - rank(b.Type) })
}

// pskBody is a pre_shared_key extension (RFC 8446 4.2.11) with one
// 192-byte ticket identity and one SHA-256 binder.
func pskBody(r *rand.Rand) []byte {
	return buildBytes(func(b *cryptobyte.Builder) {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			addBytes16(b, randomBytes(r, 192))
			b.AddUint32(0x1a2b3c4d) // obfuscated_ticket_age
		})
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			addBytes8(b, randomBytes(r, 32))
		})
	})
}

// randomBytes returns n bytes drawn from r, or a fixed pattern if r is nil.
func randomBytes(r *rand.Rand, n int) []byte {
	b := make([]byte, n)
	if r == nil {
		for i := range b {
			b[i] = filler[i%len(filler)]
		}
		return b
	}
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := i; j < min(n, i+8); j++ {
			b[j] = byte(v)
			v >>= 8
		}
	}
	return b
}

func buildBytes(f func(b *cryptobyte.Builder)) []byte {
	var b cryptobyte.Builder
	f(&b)
	return b.BytesOrPanic()
}

func addUint16s(b *cryptobyte.Builder, vs []uint16) {
	for _, v := range vs {
		b.AddUint16(v)
	}
}

func addBytes8(b *cryptobyte.Builder, v []byte) {
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
}

func addBytes16(b *cryptobyte.Builder, v []byte) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(v) })
}

// addALPN writes a ProtocolNameList (RFC 7301 3.1).
func addALPN(b *cryptobyte.Builder, protos []string) {
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, p := range protos {
			addBytes8(b, []byte(p))
		}
	})
}
