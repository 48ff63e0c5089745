package decodetest

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/crypto/cryptobyte"
)

// parsedHello is what crypto/tls reports about a ClientHello.
type parsedHello struct {
	ServerName string
	Protos     []string
	Versions   []uint16
	Extensions []uint16
}

// parseWithCryptoTLS hands record to a crypto/tls server and returns what
// its GetConfigForClient callback saw: an independent parser.
func parseWithCryptoTLS(t *testing.T, record []byte) parsedHello {
	t.Helper()
	c, s := net.Pipe()
	defer c.Close()
	go func() {
		c.Write(record)
		c.Close()
	}()
	var got *parsedHello
	stop := errors.New("stop")
	srv := tls.Server(s, &tls.Config{GetConfigForClient: func(chi *tls.ClientHelloInfo) (*tls.Config, error) {
		got = &parsedHello{chi.ServerName, chi.SupportedProtos, chi.SupportedVersions, chi.Extensions}
		return nil, stop
	}})
	srv.SetDeadline(time.Now().Add(5 * time.Second))
	if err := srv.Handshake(); !errors.Is(err, stop) {
		t.Fatalf("crypto/tls rejected the ClientHello: %v", err)
	}
	return *got
}

// helloExtensions walks a ClientHello record with cryptobyte and returns
// its extensions in order.
func helloExtensions(t *testing.T, record []byte) []Extension {
	t.Helper()
	s := cryptobyte.String(record)
	var typ, hsType uint8
	var vers uint16
	var body, hello, sid, suites, comp, exts cryptobyte.String
	var random []byte
	if !s.ReadUint8(&typ) || !s.ReadUint16(&vers) || !s.ReadUint16LengthPrefixed(&body) || !s.Empty() ||
		!body.ReadUint8(&hsType) || !body.ReadUint24LengthPrefixed(&hello) || !body.Empty() ||
		!hello.ReadUint16(&vers) || !hello.ReadBytes(&random, 32) || !hello.ReadUint8LengthPrefixed(&sid) ||
		!hello.ReadUint16LengthPrefixed(&suites) || !hello.ReadUint8LengthPrefixed(&comp) ||
		!hello.ReadUint16LengthPrefixed(&exts) || !hello.Empty() {
		t.Fatalf("malformed ClientHello record %x", record)
	}
	if typ != RecordHandshake || hsType != HandshakeClientHello {
		t.Fatalf("record type %d, handshake type %d", typ, hsType)
	}
	var out []Extension
	for !exts.Empty() {
		var e Extension
		var data cryptobyte.String
		if !exts.ReadUint16(&e.Type) || !exts.ReadUint16LengthPrefixed(&data) {
			t.Fatal("malformed extension list")
		}
		e.Data = data
		out = append(out, e)
	}
	return out
}

func isGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

func TestClientHelloPresets(t *testing.T) {
	tests := []struct {
		name     string
		opts     ClientHelloOpts
		min, max int
		grease   bool
	}{
		{"chromium", ChromiumHello("remoteassistance.support.services.microsoft.com", rand.New(rand.NewPCG(1, 2))), 1700, 2000, true},
		{"chromium nil rand", ChromiumHello("a.example", nil), 1700, 2000, true},
		{"schannel", SchannelHello("login.microsoftonline.com", rand.New(rand.NewPCG(3, 4))), 250, 400, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := ClientHello(tt.opts)
			if len(rec) < tt.min || len(rec) > tt.max {
				t.Errorf("record is %d bytes, want %d to %d", len(rec), tt.min, tt.max)
			}
			got := parseWithCryptoTLS(t, rec)
			got.Versions = slices.DeleteFunc(got.Versions, isGREASE)
			want := parsedHello{
				ServerName: tt.opts.SNI, Protos: []string{"h2", "http/1.1"},
				Versions: []uint16{VersionTLS13, VersionTLS12}, Extensions: got.Extensions,
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("crypto/tls view (-want +got):\n%s", diff)
			}
			exts := helloExtensions(t, rec)
			if g := isGREASE(exts[0].Type) && isGREASE(exts[len(exts)-1].Type); g != tt.grease {
				t.Errorf("GREASE first and last = %v, want %v", g, tt.grease)
			}
		})
	}
}

func TestClientHelloKeyShares(t *testing.T) {
	rec := ClientHello(ChromiumHello("x.example", rand.New(rand.NewPCG(5, 6))))
	for _, e := range helloExtensions(t, rec) {
		if e.Type != ExtKeyShare {
			continue
		}
		s := cryptobyte.String(e.Data)
		var list cryptobyte.String
		s.ReadUint16LengthPrefixed(&list)
		var lens []int
		for !list.Empty() {
			var g uint16
			var key cryptobyte.String
			if !list.ReadUint16(&g) || !list.ReadUint16LengthPrefixed(&key) {
				t.Fatal("malformed key_share")
			}
			lens = append(lens, len(key))
		}
		if diff := cmp.Diff([]int{1, 1216, 32}, lens); diff != "" {
			t.Errorf("key share lengths (-want +got):\n%s", diff)
		}
		return
	}
	t.Error("no key_share")
}

func TestClientHelloShuffleAndPSK(t *testing.T) {
	order := func(seed uint64) []uint16 {
		o := ChromiumHello("x.example", rand.New(rand.NewPCG(seed, 0)))
		o.PSK = true
		rec := ClientHello(o)
		parseWithCryptoTLS(t, rec) // crypto/tls insists pre_shared_key is last
		var types []uint16
		for _, e := range helloExtensions(t, rec) {
			types = append(types, e.Type)
		}
		if types[len(types)-1] != ExtPreSharedKey {
			t.Errorf("last extension %#x, want pre_shared_key", types[len(types)-1])
		}
		return types
	}
	a, b, a2 := order(1), order(2), order(1)
	if slices.Equal(a, b) {
		t.Error("seeds 1 and 2 gave the same extension order")
	}
	if !slices.Equal(a, a2) {
		t.Error("seed 1 gave two different orders")
	}
}

func TestClientHelloOrder(t *testing.T) {
	o := SchannelHello("x.example", nil)
	var got []uint16
	for _, e := range helloExtensions(t, ClientHello(o)) {
		got = append(got, e.Type)
	}
	if diff := cmp.Diff(o.Order, got); diff != "" {
		t.Errorf("extension order (-want +got):\n%s", diff)
	}
}

func TestServerMessages(t *testing.T) {
	chain := CertChain("remoteassistance.support.services.microsoft.com", "Microsoft Azure RSA TLS Issuing CA 03", "Microsoft Corporation")
	tests := []struct {
		name    string
		rec     []byte
		typ     uint8
		hsType  int // -1: not a handshake
		bodyLen int // -1: any
	}{
		{"server hello 1.3", ServerHello(VersionTLS13, SuiteAES128GCMSHA256, false), RecordHandshake, 2, -1},
		{"hello retry", ServerHello(VersionTLS13, SuiteAES128GCMSHA256, true), RecordHandshake, 2, -1},
		{"server hello 1.2", ServerHello(VersionTLS12, SuiteECDHEECDSAAES256GCMSHA384, false), RecordHandshake, 2, -1},
		{"certificate", Certificate(chain), RecordHandshake, 11, -1},
		{"server hello done", ServerHelloDone(), RecordHandshake, 14, 4},
		{"server key exchange", AppendServerKeyExchange(nil, GroupX25519, 32, 0x0807, 64), RecordHandshake, 12, 4 + 4 + 32 + 4 + 64},
		{"client key exchange", AppendClientKeyExchange(nil, 32), RecordHandshake, 16, 4 + 33},
		{"alert", Alert(AlertFatal, AlertHandshakeFailure), RecordAlert, -1, 2},
		{"ccs", ChangeCipherSpec(), RecordChangeCipherSpec, -1, 1},
		{"app data", ApplicationData(100), RecordApplicationData, -1, 100},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := cryptobyte.String(tt.rec)
			var typ uint8
			var vers uint16
			var body cryptobyte.String
			if !s.ReadUint8(&typ) || !s.ReadUint16(&vers) || !s.ReadUint16LengthPrefixed(&body) || !s.Empty() {
				t.Fatalf("malformed record %x", tt.rec)
			}
			if typ != tt.typ || vers != VersionTLS12 {
				t.Errorf("type %d version %#x, want %d 0x0303", typ, vers, tt.typ)
			}
			if tt.bodyLen >= 0 && len(body) != tt.bodyLen {
				t.Errorf("body is %d bytes, want %d", len(body), tt.bodyLen)
			}
			if tt.hsType >= 0 {
				var h uint8
				var msg cryptobyte.String
				if !body.ReadUint8(&h) || !body.ReadUint24LengthPrefixed(&msg) || !body.Empty() || int(h) != tt.hsType {
					t.Errorf("handshake type %d, want %d, or bad length", h, tt.hsType)
				}
			}
		})
	}
}

func TestApplicationDataRange(t *testing.T) {
	for _, n := range []int{1, 100, MaxRecordBody, MaxRecordBody + 1, 3*MaxRecordBody + 77} {
		whole := ApplicationData(n)
		if len(whole) != ApplicationDataLen(n) {
			t.Fatalf("n=%d: %d bytes, want %d", n, len(whole), ApplicationDataLen(n))
		}
		var parts []byte
		for off := 0; off < len(whole); off += 1460 {
			parts = AppendApplicationDataRange(parts, n, off, 1460)
		}
		if !slices.Equal(whole, parts) {
			t.Errorf("n=%d: segments differ from the whole", n)
		}
	}
}

func TestCertChain(t *testing.T) {
	chain := CertChain("teams.microsoft.com", "Microsoft Azure ECC TLS Issuing CA 03", "Microsoft Corporation")
	again := CertChain("teams.microsoft.com", "Microsoft Azure ECC TLS Issuing CA 03", "Microsoft Corporation")
	if !slices.EqualFunc(chain, again, slices.Equal) {
		t.Error("CertChain is not reproducible")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(chain[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.CheckSignatureFrom(ca); err != nil {
		t.Errorf("leaf not signed by its CA: %v", err)
	}
	got := []string{leaf.Subject.CommonName, leaf.Issuer.CommonName, ca.Subject.Organization[0], leaf.DNSNames[0]}
	want := []string{"teams.microsoft.com", "Microsoft Azure ECC TLS Issuing CA 03", "Microsoft Corporation", "teams.microsoft.com"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	if !leaf.NotAfter.Equal(DefaultNotAfter) {
		t.Errorf("NotAfter %v, want %v", leaf.NotAfter, DefaultNotAfter)
	}

	nb, na := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC)
	self, err := x509.ParseCertificate(SelfSignedCert("proxy.corp.example", "proxy.corp.example", nb, na))
	if err != nil {
		t.Fatal(err)
	}
	if err := self.CheckSignature(self.SignatureAlgorithm, self.RawTBSCertificate, self.Signature); err != nil {
		t.Errorf("self-signed certificate does not verify: %v", err)
	}
	if !self.NotAfter.Equal(na) {
		t.Errorf("NotAfter %v, want %v", self.NotAfter, na)
	}
}
