package tlsmsg

import (
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

func TestParseClientHello(t *testing.T) {
	chrome := chromeHelloRecord(t)
	chromeRandom := [32]byte(chrome[11:43])
	tests := []struct {
		name string
		body []byte
		want *ClientHello
	}{
		{
			name: "GREASE kept in wire order",
			body: buildClientHello(append([]uint16{0x2a2a}, specCiphers...), specExtensions(true)),
			want: &ClientHello{
				LegacyVersion:      0x0303,
				SessionIDLen:       32,
				CipherSuites:       append([]uint16{0x2a2a}, specCiphers...),
				CompressionMethods: []uint8{0},
				Extensions: []uint16{
					0x0a0a, 0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d,
					0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015, 0x1a1a,
				},
				SNI:                 "content-autofill.googleapis.com",
				ALPN:                []string{"h2", "http/1.1"},
				SupportedVersions:   []uint16{0x8a8a, 0x0304, 0x0303},
				SignatureAlgorithms: append([]uint16{0x5a5a}, specSigAlgs...),
				SupportedGroups:     []uint16{0x3a3a, 0x001d, 0x0017, 0x0018},
				KeyShareGroups:      []uint16{0x3a3a, 0x001d},
			},
		},
		{
			name: "Chrome record",
			body: chrome[9:],
			want: &ClientHello{
				LegacyVersion:      0x0303,
				Random:             chromeRandom,
				SessionIDLen:       32,
				CipherSuites:       append([]uint16{0x5a5a}, specCiphers...),
				CompressionMethods: []uint8{0},
				Extensions: []uint16{
					0xfafa, 0x0000, 0x0033, 0x000d, 0x0023, 0x000b, 0xff01, 0x000a, 0x001b,
					0x4469, 0x0012, 0x002d, 0x0010, 0x0005, 0x002b, 0x0017, 0x1a1a, 0x0015,
				},
				SNI:                 "content-autofill.googleapis.com",
				ALPN:                []string{"h2", "http/1.1"},
				SupportedVersions:   []uint16{0x0a0a, 0x0304, 0x0303},
				SignatureAlgorithms: specSigAlgs,
				SupportedGroups:     []uint16{0x3a3a, 0x001d, 0x0017, 0x0018},
				KeyShareGroups:      []uint16{0x3a3a, 0x001d},
			},
		},
		{
			name: "no extensions",
			body: buildClientHello([]uint16{0x002f}, nil)[:2+32+1+32+2+2+2],
			want: &ClientHello{
				LegacyVersion: 0x0303, SessionIDLen: 32, CipherSuites: []uint16{0x002f},
				CompressionMethods: []uint8{0},
			},
		},
		{
			name: "ECH, empty key_share, other name types",
			body: buildClientHello([]uint16{0x1301}, []ext{
				{extECH, []byte{0, 1, 2, 3}},
				{extKeyShare, []byte{0, 0}},
				{extServerName, []byte{0, 13, 1, 0, 2, 'x', 'y', 0, 0, 5, 'a', '.', 'b', '.', 'c'}},
			}),
			want: &ClientHello{
				LegacyVersion: 0x0303, SessionIDLen: 32, CipherSuites: []uint16{0x1301},
				CompressionMethods: []uint8{0}, Extensions: []uint16{extECH, extKeyShare, extServerName},
				KeyShareGroups: []uint16{}, ECH: true, SNI: "a.b.c",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseClientHello(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmpDiff(tt.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

// TestClientHelloNoAlias checks that the result shares no memory with the
// input, which the caller reuses.
func TestClientHelloNoAlias(t *testing.T) {
	body := buildClientHello(specCiphers, specExtensions(false))
	c, err := ParseClientHello(body)
	if err != nil {
		t.Fatal(err)
	}
	want := c.JA4() + c.SNI + c.ALPN[0]
	for i := range body {
		body[i] = 0xff
	}
	if got := c.JA4() + c.SNI + c.ALPN[0]; got != want {
		t.Errorf("after overwriting the input: %q, want %q", got, want)
	}
}

// TestClientHelloPrefixes checks, as crypto/tls's tests do, that no strict
// prefix of a hello parses, except the one that ends where the optional
// extensions block begins.
func TestClientHelloPrefixes(t *testing.T) {
	bodies := map[string][]byte{
		"spec":   buildClientHello(specCiphers, specExtensions(true)),
		"chrome": chromeHelloRecord(t)[9:],
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			sid := int(body[34])
			suites := int(body[35+sid])<<8 | int(body[36+sid])
			noExt := 35 + sid + 2 + suites + 1 + int(body[37+sid+suites])
			for n := range len(body) {
				_, err := ParseClientHello(body[:n])
				if n == noExt {
					if err != nil {
						t.Errorf("prefix %d (no extensions): %v", n, err)
					}
					continue
				}
				if err == nil {
					t.Fatalf("prefix %d of %d parsed", n, len(body))
				}
				if !errors.Is(err, ErrMalformed) {
					t.Fatalf("prefix %d: %v is not ErrMalformed", n, err)
				}
			}
		})
	}
}

func TestParseClientHelloErrors(t *testing.T) {
	hello := func(exts ...ext) []byte { return buildClientHello([]uint16{0x1301}, exts) }
	many := make([]ext, 40)
	for i := range many {
		many[i] = ext{uint16(0x1000 + i), nil}
	}
	var longSID cryptobyte.Builder
	longSID.AddUint16(0x0303)
	longSID.AddBytes(make([]byte, 32))
	longSID.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 33)) })
	longSID.AddBytes([]byte{0, 2, 0x13, 0x01, 1, 0})
	tests := []struct {
		name string
		body []byte
		msg  string
	}{
		{"empty", nil, "client hello: truncated before legacy_session_id"},
		{"session id of 33 bytes", longSID.BytesOrPanic(), "client hello: bad legacy_session_id"},
		{"odd cipher suites", patch(hello(), 2+32+1+32, []byte{0, 3}), "client hello: bad cipher_suites"},
		{"trailing byte", append(hello(), 0), "client hello: 1 bytes after extensions"},
		{"extension length beyond block", patch(hello(sniExt("a")), 2+32+1+32+4+2+2+2, []byte{0xff}), "client hello: extension list truncated"},
		{"duplicate server_name", hello(sniExt("a"), sniExt("b")), "client hello: duplicate extension server_name (0x0000)"},
		{"duplicate unknown", hello(ext{0x1234, nil}, ext{0x1234, []byte{1}}), "client hello: duplicate extension 0x1234 (0x1234)"},
		{"duplicate after 32 extensions", hello(append(many, many[35])...), "client hello: duplicate extension 0x1023 (0x1023)"},
		{"two host names", hello(ext{extServerName, []byte{0, 8, 0, 0, 1, 'a', 0, 0, 1, 'b'}}), "client hello: bad server_name extension (0x0000)"},
		{"empty server name list", hello(ext{extServerName, []byte{0, 0}}), "client hello: bad server_name extension (0x0000)"},
		{"empty ALPN list", hello(ext{extALPN, []byte{0, 0}}), "client hello: bad application_layer_protocol_negotiation extension (0x0010)"},
		{"ALPN name past list", hello(ext{extALPN, []byte{0, 2, 5, 'h'}}), "client hello: bad application_layer_protocol_negotiation extension (0x0010)"},
		{"odd supported_versions", hello(ext{extSupportedVersions, []byte{3, 3, 4, 3}}), "client hello: bad supported_versions extension (0x002b)"},
		{"signature_algorithms with a trailing byte", hello(ext{extSignatureAlgorithms, []byte{0, 2, 4, 3, 0}}), "client hello: bad signature_algorithms extension (0x000d)"},
		{"empty supported_groups", hello(ext{extSupportedGroups, []byte{0, 0}}), "client hello: bad supported_groups extension (0x000a)"},
		{"key share without key", hello(ext{extKeyShare, []byte{0, 4, 0, 0x1d, 0, 0}}), "client hello: bad key_share extension (0x0033)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseClientHello(tt.body)
			if err == nil {
				t.Fatalf("parsed: %+v", c)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%v is not ErrMalformed", err)
			}
			if got := err.Error(); got != "tls: "+tt.msg {
				t.Errorf("error %q, want %q", got, "tls: "+tt.msg)
			}
		})
	}
}

// patch returns a copy of b with p written at off.
func patch(b []byte, off int, p []byte) []byte {
	b = append([]byte(nil), b...)
	copy(b[off:], p)
	return b
}

func TestMaxVersion(t *testing.T) {
	tests := []struct {
		name string
		c    ClientHello
		want uint16
	}{
		{"legacy only", ClientHello{LegacyVersion: 0x0301}, 0x0301},
		{"supported_versions", ClientHello{LegacyVersion: 0x0303, SupportedVersions: []uint16{0x0303, 0x0304}}, 0x0304},
		{"GREASE ignored", ClientHello{LegacyVersion: 0x0303, SupportedVersions: []uint16{0xfafa, 0x0304}}, 0x0304},
		{"only GREASE", ClientHello{LegacyVersion: 0x0303, SupportedVersions: []uint16{0xfafa}}, 0x0303},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.c.MaxVersion(); got != tt.want {
				t.Errorf("MaxVersion() = %#04x, want %#04x", got, tt.want)
			}
		})
	}
}
