package tlsmsg

import (
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

func buildServerHello(random [32]byte, suite uint16, exts []ext) []byte {
	var b cryptobyte.Builder
	b.AddUint16(0x0303)
	b.AddBytes(random[:])
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
	b.AddUint16(suite)
	b.AddUint8(0)
	if exts != nil {
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
			for _, e := range exts {
				b.AddUint16(e.typ)
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.data) })
			}
		})
	}
	return b.BytesOrPanic()
}

var (
	tls13Version = ext{extSupportedVersions, []byte{3, 4}}
	x25519Share  = ext{extKeyShare, append([]byte{0, 0x1d, 0, 32}, make([]byte, 32)...)}
)

func TestParseServerHello(t *testing.T) {
	var downgrade [32]byte
	copy(downgrade[24:], "DOWNGRD\x01")
	tests := []struct {
		name string
		body []byte
		want *ServerHello
	}{
		{
			name: "TLS 1.3",
			body: buildServerHello([32]byte{1}, 0x1301, []ext{tls13Version, x25519Share}),
			want: &ServerHello{
				LegacyVersion: 0x0303, Random: [32]byte{1}, SessionIDLen: 32, CipherSuite: 0x1301,
				Extensions: []uint16{extSupportedVersions, extKeyShare}, SelectedVersion: 0x0304,
				KeyShareGroup: 0x001d,
			},
		},
		{
			name: "HelloRetryRequest",
			body: buildServerHello(helloRetryRequestRandom, 0x1301, []ext{tls13Version, {extKeyShare, []byte{0, 0x17}}}),
			want: &ServerHello{
				LegacyVersion: 0x0303, Random: helloRetryRequestRandom, SessionIDLen: 32, CipherSuite: 0x1301,
				Extensions: []uint16{extSupportedVersions, extKeyShare}, SelectedVersion: 0x0304,
				HelloRetryRequest: true, KeyShareGroup: 0x0017,
			},
		},
		{
			name: "TLS 1.2 with ALPN and downgrade sentinel",
			body: buildServerHello(downgrade, 0xc02f, []ext{alpnExt("h2"), {0xff01, []byte{0}}}),
			want: &ServerHello{
				LegacyVersion: 0x0303, Random: downgrade, SessionIDLen: 32, CipherSuite: 0xc02f,
				Extensions: []uint16{extALPN, 0xff01}, SelectedVersion: 0x0303,
				DowngradeSentinel: true, ALPN: "h2",
			},
		},
		{
			name: "no extensions",
			body: buildServerHello([32]byte{}, 0x002f, nil),
			want: &ServerHello{LegacyVersion: 0x0303, SessionIDLen: 32, CipherSuite: 0x002f, SelectedVersion: 0x0303},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseServerHello(tt.body)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmpDiff(tt.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func TestServerHelloPrefixes(t *testing.T) {
	body := buildServerHello([32]byte{1}, 0x1301, []ext{tls13Version, x25519Share})
	noExt := 2 + 32 + 1 + 32 + 2 + 1
	for n := range len(body) {
		_, err := ParseServerHello(body[:n])
		if (err == nil) != (n == noExt) {
			t.Fatalf("prefix %d of %d: err %v", n, len(body), err)
		}
	}
}

func TestParseServerHelloErrors(t *testing.T) {
	sh := func(exts ...ext) []byte { return buildServerHello([32]byte{}, 0x1301, exts) }
	tests := []struct {
		name string
		body []byte
		msg  string
	}{
		{"short", sh()[:40], "server hello: truncated or bad legacy_session_id_echo"},
		{"trailing bytes", append(sh(tls13Version), 1, 2), "server hello: 2 bytes after extensions"},
		{"two ALPN names", sh(alpnExt("h2", "http/1.1")), "server hello: bad application_layer_protocol_negotiation extension (0x0010)"},
		{"supported_versions of 3 bytes", sh(ext{extSupportedVersions, []byte{3, 4, 0}}), "server hello: bad supported_versions extension (0x002b)"},
		{"key share without key", sh(ext{extKeyShare, []byte{0, 0x1d}}), "server hello: bad key_share extension (0x0033)"},
		{"duplicate key_share", sh(x25519Share, x25519Share), "server hello: duplicate extension key_share (0x0033)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := ParseServerHello(tt.body)
			if err == nil {
				t.Fatalf("parsed: %+v", h)
			}
			if !errors.Is(err, ErrMalformed) || err.Error() != "tls: "+tt.msg {
				t.Errorf("error %q, want %q wrapping ErrMalformed", err, "tls: "+tt.msg)
			}
		})
	}
}
