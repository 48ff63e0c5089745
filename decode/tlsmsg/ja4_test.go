package tlsmsg

import (
	"encoding/hex"
	"testing"
)

// FoxIO's worked example (FoxIO-LLC/ja4 technical_details/JA4.md,
// "Cipher hash", "Extension hash", "Example"): cipher suites, extensions
// and signature algorithms in wire order, and the fingerprint they give.
var (
	specCiphers = []uint16{
		0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014,
		0x009c, 0x009d, 0x002f, 0x0035,
	}
	specSigAlgs = []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}
)

const (
	specJA4    = "t13d1516h2_8daaf6152771_e5627efa2ab1"
	specJA4Raw = "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_" +
		"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_" +
		"0403,0804,0401,0503,0805,0501,0806,0601"
)

// specExtensions returns JA4.md's extension list
// (001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015)
// with plausible bodies, GREASE added at the given positions.
func specExtensions(grease bool) []ext {
	exts := []ext{
		{0x001b, []byte{2, 0, 2}},
		sniExt("content-autofill.googleapis.com"),
		keyShareExt(0x001d),
		alpnExt("h2", "http/1.1"),
		{0x4469, []byte{0, 3, 2, 'h', '2'}},
		{0x0017, nil},
		{0x002d, []byte{1, 1}},
		u16List(extSignatureAlgorithms, 2, specSigAlgs...),
		{0x0005, []byte{1, 0, 0, 0, 0}},
		{0x0023, nil},
		{0x0012, nil},
		u16List(extSupportedVersions, 1, 0x0304, 0x0303),
		{0xff01, []byte{0}},
		{0x000b, []byte{1, 0}},
		u16List(extSupportedGroups, 2, 0x001d, 0x0017, 0x0018),
		{0x0015, make([]byte, 20)},
	}
	if !grease {
		return exts
	}
	exts[2] = keyShareExt(0x3a3a, 0x001d)
	exts[7] = u16List(extSignatureAlgorithms, 2, append([]uint16{0x5a5a}, specSigAlgs...)...)
	exts[11] = u16List(extSupportedVersions, 1, 0x8a8a, 0x0304, 0x0303)
	exts[14] = u16List(extSupportedGroups, 2, 0x3a3a, 0x001d, 0x0017, 0x0018)
	return append(append([]ext{{0x0a0a, nil}}, exts...), ext{0x1a1a, []byte{0}})
}

// chromeHello is a Chrome ClientHello record (SNI
// content-autofill.googleapis.com) with GREASE cipher, extensions, group
// and version. Its non-GREASE ciphers, extensions and signature algorithms
// are exactly those of JA4.md's example, so its JA4 is specJA4.
const chromeHello = "1603010200010001fc0303b2c03e7ba990ef540c316a665d4d925f8e9079ac4b15687e587dc99016e75a6c20d0b0099243c9296a0c" +
	"84153ea4ada7d87ad017f4211c2ea1350b0b3cc5514d5f00205a5a130113021303c02bc02fc02cc030cca9cca8c013c014009c009d" +
	"002f003501000193fafa000000000024002200001f636f6e74656e742d6175746f66696c6c2e676f6f676c65617069732e636f6d00" +
	"33002b00293a3a000100001d0020fb2cd8ef3d605b96ab03119ec4f30a6e2088cb1af86c41a81feace8706068c50000d0012001004" +
	"03080404010503080505010806060100230000000b00020100ff01000100000a000a00083a3a001d00170018001b00030200024469" +
	"0005000302683200120000002d000201010010000e000c02683208687474702f312e31000500050100000000002b0007060a0a0304" +
	"0303001700001a1a000100001500b80000000000000000000000000000000000000000000000000000000000000000000000000000" +
	"0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
	"0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000" +
	"00000000000000000000000000000000000000000000000000000000000000000000000000000000"

func chromeHelloRecord(t testing.TB) []byte {
	t.Helper()
	b, err := hex.DecodeString(chromeHello)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestJA4(t *testing.T) {
	chrome := chromeHelloRecord(t)
	parse := func(body []byte) *ClientHello {
		t.Helper()
		c, err := ParseClientHello(body)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	many := make([]uint16, 120)
	for i := range many {
		many[i] = uint16(0xc000 + i)
	}
	tests := []struct {
		name   string
		hello  *ClientHello
		ja4    string
		ja4Raw string
	}{
		{
			name:   "JA4.md example",
			hello:  parse(buildClientHello(specCiphers, specExtensions(false))),
			ja4:    specJA4,
			ja4Raw: specJA4Raw,
		},
		{
			name:   "JA4.md example with GREASE",
			hello:  parse(buildClientHello(append([]uint16{0x2a2a}, specCiphers...), specExtensions(true))),
			ja4:    specJA4,
			ja4Raw: specJA4Raw,
		},
		{
			name:   "Chrome record with GREASE",
			hello:  parse(chrome[9:]),
			ja4:    specJA4,
			ja4Raw: specJA4Raw,
		},
		{
			name:   "no SNI, no ALPN, no signature algorithms, TLS 1.2",
			hello:  parse(buildClientHello([]uint16{0xc02f, 0x0a0a}, []ext{{0x0017, nil}})),
			ja4:    "t12i010100_" + hash12("c02f") + "_" + hash12("0017"),
			ja4Raw: "t12i010100_c02f_0017",
		},
		{
			name:   "no cipher suites, no extensions",
			hello:  &ClientHello{LegacyVersion: 0x0301},
			ja4:    "t10i000000_000000000000_000000000000",
			ja4Raw: "t10i000000__",
		},
		{
			name:  "counts capped at 99",
			hello: &ClientHello{LegacyVersion: 0x0303, CipherSuites: many, Extensions: many},
			ja4:   "t12i9999",
		},
		{
			name:  "unknown version",
			hello: &ClientHello{LegacyVersion: 0x0303, SupportedVersions: []uint16{0x7f1c}},
			ja4:   "t00i000000",
		},
		{
			name:  "SSL 3.0",
			hello: &ClientHello{LegacyVersion: 0x0300},
			ja4:   "ts3i000000",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.hello.JA4()
			if len(tt.ja4) < 36 {
				got = got[:len(tt.ja4)]
			}
			if got != tt.ja4 {
				t.Errorf("JA4() = %q, want %q", got, tt.ja4)
			}
			if tt.ja4Raw != "" && tt.hello.JA4Raw() != tt.ja4Raw {
				t.Errorf("JA4Raw() = %q, want %q", tt.hello.JA4Raw(), tt.ja4Raw)
			}
		})
	}
}

// TestJA4Hash checks the hash against JA4.md's stated values.
func TestJA4Hash(t *testing.T) {
	tests := []struct{ in, want string }{
		{"002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9", "8daaf6152771"},
		{"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601", "e5627efa2ab1"},
		{"0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01", "6d807ffa2a79"},
		{"", "000000000000"},
	}
	for _, tt := range tests {
		if got := hash12(tt.in); got != tt.want {
			t.Errorf("hash12(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestJA4ALPN checks JA4.md's "ALPN Extension Value" rules and examples.
func TestJA4ALPN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"h2", "h2"},
		{"http/1.1", "h1"},
		{"", "00"},
		{"x", "xx"}, // JA4.md: one character is both first and last
		{"\xab", "ab"},
		{"\xab\xcd", "ad"},
		{"\x30\xab", "3b"},
		{"\x30\x31\xab\xcd", "3d"},
		{"\x30\xab\xcd\x31", "01"},
	}
	for _, tt := range tests {
		if got := ja4ALPN(tt.in); got != tt.want {
			t.Errorf("ja4ALPN(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
