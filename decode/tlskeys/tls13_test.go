package tlskeys

import (
	"bytes"
	"errors"
	"testing"

	"golang.org/x/crypto/cryptobyte"
)

// opened is one decrypted record.
type opened struct {
	typ  uint8
	data []byte
}

// direction13 decrypts the records one side of a TLS 1.3 connection sent,
// as a caller of this package would: protected records (type 23) go to the
// handshake-secret Decrypter until the Finished message (type 20) has been
// read, then to the application-secret Decrypter (nil: stop there). Other
// record types (plaintext hellos and alerts, the compatibility
// change_cipher_spec) are not protected and are skipped. It returns the
// handshake bytes and the records opened with the application secret.
func direction13(t *testing.T, recs []record, suite uint16, hsSecret, appSecret []byte) (hs []byte, app []opened) {
	t.Helper()
	d, err := NewTLS13(suite, hsSecret)
	if err != nil {
		t.Fatal(err)
	}
	handshake := true
	for _, r := range recs {
		if r.hdr[0] != TypeApplicationData {
			continue
		}
		pt, typ, err := d.Open(r.hdr, r.payload)
		if err != nil {
			t.Fatalf("open record %d: %v", d.Seq(), err)
		}
		if !handshake {
			app = append(app, opened{typ, pt})
			continue
		}
		if typ == TypeHandshake {
			hs = append(hs, pt...)
		} else {
			app = append(app, opened{typ, pt})
		}
		if typ == TypeHandshake && hasFinished(hs) {
			if appSecret == nil {
				break
			}
			handshake = false
			if d, err = NewTLS13(suite, appSecret); err != nil {
				t.Fatal(err)
			}
		}
	}
	return hs, app
}

// hasFinished reports whether the handshake bytes hold a whole Finished.
func hasFinished(b []byte) bool {
	for len(b) >= 4 {
		n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if len(b) < 4+n {
			return false
		}
		if b[0] == 20 {
			return true
		}
		b = b[4+n:]
	}
	return false
}

// firstCertificate returns the first certificate's DER in a TLS 1.3
// Certificate message body (RFC 8446 4.4.2).
func firstCertificate(t *testing.T, body []byte) []byte {
	t.Helper()
	s := cryptobyte.String(body)
	var ctx, list, der cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&ctx) || !s.ReadUint24LengthPrefixed(&list) ||
		!list.ReadUint24LengthPrefixed(&der) {
		t.Fatalf("malformed Certificate message")
	}
	return der
}

func msgTypes(msgs []handshakeMsg) []uint8 {
	var types []uint8
	for _, m := range msgs {
		types = append(types, m.typ)
	}
	return types
}

func keysFor(t *testing.T, s session) (Secrets, []record, []record) {
	t.Helper()
	kl, warns := ParseKeyLog(bytes.NewReader(s.keyLog))
	if len(warns) > 0 {
		t.Fatalf("key log warnings: %v", warns)
	}
	crecs, srecs := splitRecords(s.client), splitRecords(s.server)
	if len(crecs) == 0 || len(srecs) == 0 {
		t.Fatalf("no records: client %d bytes, server %d bytes", len(s.client), len(s.server))
	}
	sec, ok := kl.Lookup(helloRandom(t, crecs[0]))
	if !ok {
		t.Fatalf("client random not in the key log")
	}
	return sec, crecs, srecs
}

// TestTLS13Full decrypts both directions of a complete TLS 1.3 connection
// (the suite crypto/tls picks: TLS_AES_128_GCM_SHA256 on hardware with
// AES-GCM support, else TLS_CHACHA20_POLY1305_SHA256).
func TestTLS13Full(t *testing.T) {
	for _, name := range []string{"ecdsa", "rsa"} {
		t.Run(name, func(t *testing.T) {
			ec, rc := certs(t)
			cert := ec
			if name == "rsa" {
				cert = rc
			}
			s := runSession(t, sessionConfig{cert: cert})
			if s.clientErr != nil || s.serverErr != nil {
				t.Fatalf("session failed: client %v, server %v", s.clientErr, s.serverErr)
			}
			sec, crecs, srecs := keysFor(t, s)
			suite := serverSuite(t, srecs[0])
			t.Logf("suite %s", suiteName(suite))

			hs, app := direction13(t, srecs, suite, sec.ServerHandshake, sec.ServerTraffic0)
			msgs := splitHandshake(t, hs)
			if got, want := msgTypes(msgs), []uint8{8, 11, 15, 20}; !bytes.Equal(got, want) {
				t.Fatalf("server handshake messages %v, want %v", got, want)
			}
			if der := firstCertificate(t, msgs[1].body); !bytes.Equal(der, cert.der) {
				t.Errorf("Certificate DER differs from the server certificate")
			}
			checkApp(t, "server", app, "pong")

			hs, app = direction13(t, crecs, suite, sec.ClientHandshake, sec.ClientTraffic0)
			if got, want := msgTypes(splitHandshake(t, hs)), []uint8{20}; !bytes.Equal(got, want) {
				t.Fatalf("client handshake messages %v, want %v", got, want)
			}
			checkApp(t, "client", app, "ping")
		})
	}
}

// checkApp checks that data appears as application data and that the
// direction ends with a close_notify alert.
func checkApp(t *testing.T, side string, app []opened, data string) {
	t.Helper()
	var sawData bool
	for _, o := range app {
		if o.typ == TypeApplicationData && string(o.data) == data {
			sawData = true
		}
	}
	if !sawData {
		t.Errorf("%s: application data %q not found", side, data)
	}
	if len(app) == 0 || app[len(app)-1].typ != TypeAlert || !bytes.Equal(app[len(app)-1].data, []byte{1, 0}) {
		t.Errorf("%s: last record is not a close_notify alert", side)
	}
}

// TestTLS13Suites decrypts the server's encrypted handshake for each TLS 1.3
// suite. crypto/tls does not let a Config choose TLS 1.3 suites, so the
// client's ClientHello is rewritten on the wire to offer only one; the
// transcripts then differ and the client aborts, but the server's flight is
// protected with the secrets the server logged.
func TestTLS13Suites(t *testing.T) {
	ec, _ := certs(t)
	for _, suite := range []uint16{TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256} {
		t.Run(suiteName(suite), func(t *testing.T) {
			s := runSession(t, sessionConfig{cert: ec, only13: suite})
			sec, _, srecs := keysFor(t, s)
			if got := serverSuite(t, srecs[0]); got != suite {
				t.Fatalf("server chose %s", suiteName(got))
			}
			hs, _ := direction13(t, srecs, suite, sec.ServerHandshake, nil)
			msgs := splitHandshake(t, hs)
			if got, want := msgTypes(msgs), []uint8{8, 11, 15, 20}; !bytes.Equal(got, want) {
				t.Fatalf("server handshake messages %v, want %v", got, want)
			}
			if der := firstCertificate(t, msgs[1].body); !bytes.Equal(der, ec.der) {
				t.Errorf("Certificate DER differs from the server certificate")
			}
		})
	}
}

// TestTLS13ClientAlert makes the client reject the server's certificate:
// crypto/tls then sends a fatal bad_certificate alert (42) protected with
// the client handshake traffic secret.
func TestTLS13ClientAlert(t *testing.T) {
	ec, _ := certs(t)
	s := runSession(t, sessionConfig{cert: ec, untrusted: true})
	if s.clientErr == nil {
		t.Fatal("client accepted an untrusted certificate")
	}
	sec, crecs, srecs := keysFor(t, s)
	suite := serverSuite(t, srecs[0])
	hs, app := direction13(t, crecs, suite, sec.ClientHandshake, nil)
	if len(hs) != 0 {
		t.Errorf("client sent %d handshake bytes, want none", len(hs))
	}
	if len(app) != 1 || app[0].typ != TypeAlert || !bytes.Equal(app[0].data, []byte{2, 42}) {
		t.Fatalf("client records %+v, want one fatal bad_certificate alert", app)
	}
}

// TestTLS13WrongKey checks that the handshake secret of the other
// direction does not open a record and leaves the sequence number alone.
func TestTLS13WrongKey(t *testing.T) {
	ec, _ := certs(t)
	s := runSession(t, sessionConfig{cert: ec})
	sec, _, srecs := keysFor(t, s)
	suite := serverSuite(t, srecs[0])
	d, err := NewTLS13(suite, sec.ClientHandshake)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range srecs {
		if r.hdr[0] != TypeApplicationData {
			continue
		}
		if _, _, err := d.Open(r.hdr, r.payload); !errors.Is(err, ErrAuth) {
			t.Fatalf("Open with the wrong secret: %v, want ErrAuth", err)
		}
		if d.Seq() != 0 {
			t.Fatalf("Seq %d after a failure, want 0", d.Seq())
		}
		return
	}
	t.Fatal("no protected server record")
}
