package tlskeys

import (
	"bytes"
	"crypto/tls"
	"errors"
	"testing"
)

// direction12 decrypts what one side of a TLS 1.2 connection sent after its
// change_cipher_spec: every later record is protected.
func direction12(t *testing.T, d *Decrypter, recs []record) []opened {
	t.Helper()
	var out []opened
	ccs := false
	for _, r := range recs {
		if !ccs {
			ccs = r.hdr[0] == TypeChangeCipherSpec
			continue
		}
		pt, typ, err := d.Open(r.hdr, r.payload)
		if err != nil {
			t.Fatalf("open record %d: %v", d.Seq(), err)
		}
		out = append(out, opened{typ, pt})
	}
	return out
}

// checkTLS12 checks a direction: Finished first (RFC 5246 7.4.9: 12 bytes
// of verify_data), then data, then close_notify.
func checkTLS12(t *testing.T, side string, got []opened, data string) {
	t.Helper()
	if len(got) == 0 || got[0].typ != TypeHandshake || len(got[0].data) != 16 || got[0].data[0] != 20 {
		t.Fatalf("%s: first protected record is not a Finished: %+v", side, got)
	}
	checkApp(t, side, got[1:], data)
}

func TestTLS12(t *testing.T) {
	ec, rc := certs(t)
	tests := []struct {
		name  string
		suite uint16
		cert  testCert
	}{
		{"ecdhe-ecdsa-aes128-gcm", tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256, ec},
		{"ecdhe-ecdsa-aes256-gcm", tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384, ec},
		{"ecdhe-ecdsa-chacha20", tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, ec},
		{"ecdhe-rsa-aes128-gcm", tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, rc},
		{"ecdhe-rsa-aes256-gcm", tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, rc},
		{"ecdhe-rsa-chacha20", tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, rc},
		{"rsa-aes128-gcm", tls.TLS_RSA_WITH_AES_128_GCM_SHA256, rc},
		{"rsa-aes256-gcm", tls.TLS_RSA_WITH_AES_256_GCM_SHA384, rc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testTLS12Session(t, tt.suite, tt.cert) })
	}
}

// testTLS12Session records a TLS 1.2 connection with one suite and
// decrypts both directions with the master secret from the key log.
func testTLS12Session(t *testing.T, suite uint16, cert testCert) {
	t.Helper()
	s := runSession(t, sessionConfig{cert: cert, maxVersion: tls.VersionTLS12, suites: []uint16{suite}})
	if s.clientErr != nil || s.serverErr != nil {
		t.Fatalf("session failed: client %v, server %v", s.clientErr, s.serverErr)
	}
	sec, crecs, srecs := keysFor(t, s)
	if got := serverSuite(t, srecs[0]); got != suite {
		t.Fatalf("server chose %s", suiteName(got))
	}
	if len(sec.MasterSecret) != 48 {
		t.Fatalf("no master secret in the key log")
	}
	cr, sr := helloRandom(t, crecs[0]), helloRandom(t, srecs[0])
	for _, server := range []bool{false, true} {
		d, err := NewTLS12(suite, sec.MasterSecret, cr, sr, server)
		if err != nil {
			t.Fatal(err)
		}
		if server {
			checkTLS12(t, "server", direction12(t, d, srecs), "pong")
		} else {
			checkTLS12(t, "client", direction12(t, d, crecs), "ping")
		}
	}
}

// TestTLS12WrongSide checks that the client's keys do not open the
// server's records.
func TestTLS12WrongSide(t *testing.T) {
	ec, _ := certs(t)
	suite := tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
	s := runSession(t, sessionConfig{cert: ec, maxVersion: tls.VersionTLS12, suites: []uint16{suite}})
	sec, crecs, srecs := keysFor(t, s)
	d, err := NewTLS12(suite, sec.MasterSecret, helloRandom(t, crecs[0]), helloRandom(t, srecs[0]), false)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range srecs {
		if r.hdr[0] == TypeChangeCipherSpec {
			next := srecs[i+1]
			if _, _, err := d.Open(next.hdr, next.payload); !errors.Is(err, ErrAuth) {
				t.Fatalf("Open with the client's keys: %v, want ErrAuth", err)
			}
			return
		}
	}
	t.Fatal("no change_cipher_spec from the server")
}

func TestNewErrors(t *testing.T) {
	var r [32]byte
	tests := []struct {
		name string
		new  func() error
		want error
	}{
		{"tls12 rc4", func() error {
			_, err := NewTLS12(tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, make([]byte, 48), r, r, false)
			return err
		}, ErrUnsupportedSuite},
		{"tls12 cbc short master", func() error {
			_, err := NewTLS12(tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, make([]byte, 47), r, r, false)
			return err
		}, ErrSecretLength},
		{"tls12 short master", func() error {
			_, err := NewTLS12(tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, make([]byte, 47), r, r, false)
			return err
		}, ErrSecretLength},
		{"tls13 suite in tls12", func() error {
			_, err := NewTLS12(TLS_AES_128_GCM_SHA256, make([]byte, 48), r, r, false)
			return err
		}, ErrUnsupportedSuite},
		{"tls13 ccm", func() error { _, err := NewTLS13(0x1304, make([]byte, 32)); return err }, ErrUnsupportedSuite},
		{"tls13 sha384 with 32 bytes", func() error { _, err := NewTLS13(TLS_AES_256_GCM_SHA384, make([]byte, 32)); return err }, ErrSecretLength},
		{"tls13 sha256 with 48 bytes", func() error { _, err := NewTLS13(TLS_AES_128_GCM_SHA256, make([]byte, 48)); return err }, ErrSecretLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.new(); !errors.Is(err, tt.want) {
				t.Errorf("error %v, want %v", err, tt.want)
			}
		})
	}
	_, err := NewTLS12(tls.TLS_ECDHE_RSA_WITH_RC4_128_SHA, make([]byte, 48), r, r, false)
	if want := "TLS_ECDHE_RSA_WITH_RC4_128_SHA"; err == nil || !bytes.Contains([]byte(err.Error()), []byte(want)) {
		t.Errorf("error %v does not name %s", err, want)
	}
}
