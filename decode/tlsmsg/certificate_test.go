package tlsmsg

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"net"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// makeCert returns a DER certificate issued by an "Inspection CA" (not
// self-signed) unless selfSigned.
func makeCert(t testing.TB, notAfter time.Time, dns []string, selfSigned bool) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1234),
		Subject:      pkix.Name{CommonName: "remoteassistance.support.services.microsoft.com"},
		NotBefore:    time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC),
		NotAfter:     notAfter,
		DNSNames:     dns,
		IPAddresses:  []net.IP{net.ParseIP("2001:db8::1")},
	}
	parent := tmpl
	if !selfSigned {
		parent = &x509.Certificate{
			SerialNumber: big.NewInt(1),
			Subject:      pkix.Name{CommonName: "Inspection CA", Organization: []string{"Contoso Proxy"}},
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// withNegativeSerial re-encodes der with serialNumber -1, which crypto/x509
// rejects since Go 1.23 (GODEBUG x509negativeserial). The signature no
// longer matches; parsing does not check it.
func withNegativeSerial(t testing.TB, der []byte) []byte {
	t.Helper()
	in := cryptobyte.String(der)
	var cert, tbs, version, rest cryptobyte.String
	var hasVersion bool
	if !in.ReadASN1(&cert, asn1.SEQUENCE) || !cert.ReadASN1(&tbs, asn1.SEQUENCE) ||
		!tbs.ReadOptionalASN1(&version, &hasVersion, asn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.SkipASN1(asn1.INTEGER) {
		t.Fatal("cannot take the certificate apart")
	}
	rest = cert
	var b cryptobyte.Builder
	b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddASN1(asn1.SEQUENCE, func(b *cryptobyte.Builder) {
			if hasVersion {
				b.AddASN1(asn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) { b.AddBytes(version) })
			}
			b.AddASN1Int64(-1)
			b.AddBytes(tbs)
		})
		b.AddBytes(rest)
	})
	return b.BytesOrPanic()
}

func TestParseCertificate(t *testing.T) {
	notAfter := time.Date(2027, 3, 1, 12, 0, 0, 0, time.UTC)
	far := time.Date(2051, 1, 2, 3, 4, 5, 0, time.UTC) // GeneralizedTime (RFC 5280 4.1.2.5)
	dns := []string{"remoteassistance.support.services.microsoft.com", "*.support.services.microsoft.com"}
	issued := makeCert(t, notAfter, dns, false)
	self := makeCert(t, far, nil, true)
	tests := []struct {
		name string
		der  []byte
		want Certificate
	}{
		{
			name: "issued by an inspection CA",
			der:  issued,
			want: Certificate{
				Subject:   "CN=remoteassistance.support.services.microsoft.com",
				Issuer:    "CN=Inspection CA,O=Contoso Proxy",
				SubjectCN: "remoteassistance.support.services.microsoft.com",
				IssuerCN:  "Inspection CA", IssuerOrg: "Contoso Proxy",
				SANs:      append(dns, "2001:db8::1"),
				NotBefore: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), NotAfter: notAfter,
				Parser: "x509",
			},
		},
		{
			name: "negative serial falls back to the ASN.1 walk",
			der:  withNegativeSerial(t, issued),
			want: Certificate{
				Subject:   "CN=remoteassistance.support.services.microsoft.com",
				Issuer:    "CN=Inspection CA,O=Contoso Proxy",
				SubjectCN: "remoteassistance.support.services.microsoft.com",
				IssuerCN:  "Inspection CA", IssuerOrg: "Contoso Proxy",
				SANs:      append(dns, "2001:db8::1"),
				NotBefore: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), NotAfter: notAfter,
				Parser: "asn1",
			},
		},
		{
			name: "self-signed, GeneralizedTime, negative serial",
			der:  withNegativeSerial(t, self),
			want: Certificate{
				Subject:   "CN=remoteassistance.support.services.microsoft.com",
				Issuer:    "CN=remoteassistance.support.services.microsoft.com",
				SubjectCN: "remoteassistance.support.services.microsoft.com",
				IssuerCN:  "remoteassistance.support.services.microsoft.com",
				SANs:      []string{"2001:db8::1"},
				NotBefore: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), NotAfter: far,
				SelfSigned: true, Parser: "asn1",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseCertificate(tt.der)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmpDiff(tt.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
	if _, err := x509.ParseCertificate(withNegativeSerial(t, issued)); err == nil {
		t.Error("crypto/x509 accepted a negative serial; the fallback test proves nothing")
	}
}

func TestParseCertificateErrors(t *testing.T) {
	der := makeCert(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), nil, true)
	tests := []struct {
		name string
		der  []byte
	}{
		{"empty", nil},
		{"not a sequence", []byte{0x02, 0x01, 0x01}},
		{"truncated", der[:len(der)/2]},
		{"tbs only a serial", []byte{0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x01}},
		{"issuer not a name", []byte{0x30, 0x0c, 0x30, 0x0a, 0x02, 0x01, 0x01, 0x30, 0x00, 0x30, 0x03, 0x02, 0x01, 0x05, 0x30, 0x00, 0x30, 0x00}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ParseCertificate(tt.der)
			if err == nil {
				t.Fatalf("parsed: %+v", c)
			}
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("%v is not ErrMalformed", err)
			}
		})
	}
}

func certMessage(tls13 bool, ders ...[]byte) []byte {
	var b cryptobyte.Builder
	if tls13 {
		b.AddUint8LengthPrefixed(func(*cryptobyte.Builder) {})
	}
	b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, d := range ders {
			b.AddUint24LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(d) })
			if tls13 {
				b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte{0, 5, 0, 0}) })
			}
		}
	})
	return b.BytesOrPanic()
}

func TestParseCertificateMessage(t *testing.T) {
	leaf := makeCert(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), []string{"a.example"}, false)
	root := makeCert(t, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), nil, true)
	tests := []struct {
		name  string
		parse func([]byte) ([]Certificate, error)
		body  []byte
		n     int  // certificates returned
		ok    bool // no error
	}{
		{"TLS 1.2 chain", ParseCertificateMessage, certMessage(false, leaf, root), 2, true},
		{"TLS 1.2 empty", ParseCertificateMessage, certMessage(false), 0, true},
		{"TLS 1.3 chain", ParseCertificateMessageTLS13, certMessage(true, leaf, root), 2, true},
		{"TLS 1.2 trailing byte", ParseCertificateMessage, append(certMessage(false, leaf), 0), 0, false},
		{"TLS 1.2 empty entry", ParseCertificateMessage, []byte{0, 0, 3, 0, 0, 0}, 0, false},
		{"TLS 1.2 second cert garbage", ParseCertificateMessage, certMessage(false, leaf, []byte{1, 2, 3}), 1, false},
		{"TLS 1.3 missing extensions", ParseCertificateMessageTLS13, certMessage(false, leaf)[:len(leaf)+6], 0, false},
		{"TLS 1.3 truncated", ParseCertificateMessageTLS13, certMessage(true, leaf)[:100], 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certs, err := tt.parse(tt.body)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok %v", err, tt.ok)
			}
			if len(certs) != tt.n {
				t.Fatalf("%d certificates, want %d", len(certs), tt.n)
			}
			if tt.n > 0 && certs[0].SANs[0] != "a.example" {
				t.Errorf("first certificate %+v", certs[0])
			}
		})
	}
}
