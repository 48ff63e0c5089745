package tlskeys

import (
	"bytes"
	"crypto/cipher"
	"crypto/tls"
	"errors"
	"testing"
)

func TestTLS12CBC(t *testing.T) {
	ec, rc := certs(t)
	tests := []struct {
		name  string
		suite uint16
		cert  testCert
	}{
		{"rsa-aes128-sha", tls.TLS_RSA_WITH_AES_128_CBC_SHA, rc},
		{"rsa-aes256-sha", tls.TLS_RSA_WITH_AES_256_CBC_SHA, rc},
		{"rsa-aes128-sha256", tls.TLS_RSA_WITH_AES_128_CBC_SHA256, rc},
		{"rsa-3des-sha", tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA, rc},
		{"ecdhe-ecdsa-aes128-sha", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA, ec},
		{"ecdhe-ecdsa-aes256-sha", tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA, ec},
		{"ecdhe-ecdsa-aes128-sha256", tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, ec},
		{"ecdhe-rsa-aes128-sha", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, rc},
		{"ecdhe-rsa-aes256-sha", tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA, rc},
		{"ecdhe-rsa-aes128-sha256", tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256, rc},
		{"ecdhe-rsa-3des-sha", tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA, rc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testTLS12Session(t, tt.suite, tt.cert) })
	}
}

// TestTLS12CBCWrongKey opens the server's Finished with the client's keys
// and with the wrong sequence number: both fail with ErrAuth and leave the
// sequence number alone; the right keys then open it.
func TestTLS12CBCWrongKey(t *testing.T) {
	_, rc := certs(t)
	suite := tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
	s := runSession(t, sessionConfig{cert: rc, maxVersion: tls.VersionTLS12, suites: []uint16{suite}})
	sec, crecs, srecs := keysFor(t, s)
	cr, sr := helloRandom(t, crecs[0]), helloRandom(t, srecs[0])
	var fin record
	for i, r := range srecs {
		if r.hdr[0] == TypeChangeCipherSpec && i+1 < len(srecs) {
			fin = srecs[i+1]
		}
	}
	wrong, err := NewTLS12(suite, sec.MasterSecret, cr, sr, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := wrong.Open(fin.hdr, fin.payload); !errors.Is(err, ErrAuth) || wrong.Seq() != 0 {
		t.Errorf("client keys: error %v, seq %d; want ErrAuth, seq 0", err, wrong.Seq())
	}
	d, err := NewTLS12(suite, sec.MasterSecret, cr, sr, true)
	if err != nil {
		t.Fatal(err)
	}
	d.SetSeq(1)
	if _, _, err := d.Open(fin.hdr, fin.payload); !errors.Is(err, ErrAuth) || d.Seq() != 1 {
		t.Errorf("seq 1: error %v, seq %d; want ErrAuth, seq 1", err, d.Seq())
	}
	d.SetSeq(0)
	if _, typ, err := d.Open(fin.hdr, fin.payload); err != nil || typ != TypeHandshake || d.Seq() != 1 {
		t.Errorf("server keys: type %d, error %v, seq %d; want 22, nil, 1", typ, err, d.Seq())
	}
}

// sealCBC builds a record payload as RFC 5246 6.2.3.2 describes: pad
// padding bytes of value pad, then the padding_length byte lenByte (equal
// to pad in a valid record) and, if badMAC, one MAC bit flipped.
func sealCBC(d *Decrypter, hdr [5]byte, content []byte, pad int, lenByte byte, badMAC bool) []byte {
	k := d.cbc
	bs := k.block.BlockSize()
	mac := k.sum(d.seq, hdr, content)
	if badMAC {
		mac[0] ^= 1
	}
	pt := append(append(bytes.Clone(content), mac...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	pt = append(pt, lenByte)
	iv := bytes.Repeat([]byte{7}, bs)
	out := append(bytes.Clone(iv), make([]byte, len(pt))...)
	cipher.NewCBCEncrypter(k.block, iv).CryptBlocks(out[bs:], pt)
	return out
}

func TestOpenCBCRecords(t *testing.T) {
	var r [32]byte
	hdr := [5]byte{TypeApplicationData, 3, 3, 0, 0}
	content := []byte("hello, world") // 12 bytes + 20 MAC = 32
	tests := []struct {
		name    string
		payload func(d *Decrypter) []byte
		want    error
	}{
		{"ok one-byte padding", func(d *Decrypter) []byte { return sealCBC(d, hdr, content, 15, 15, false) }, nil},
		{"ok multi-block padding", func(d *Decrypter) []byte { return sealCBC(d, hdr, content, 47, 47, false) }, nil},
		{"bad mac", func(d *Decrypter) []byte { return sealCBC(d, hdr, content, 15, 15, true) }, ErrAuth},
		{"bad padding byte", func(d *Decrypter) []byte { return sealCBC(d, hdr, content, 15, 14, false) }, ErrAuth},
		{"padding longer than record", func(d *Decrypter) []byte { return sealCBC(d, hdr, nil, 27, 200, false) }, ErrAuth},
		{"not whole blocks", func(d *Decrypter) []byte { return sealCBC(d, hdr, content, 15, 15, false)[:63] }, ErrAuth},
		{"short", func(*Decrypter) []byte { return make([]byte, 36) }, ErrShortRecord},
		{"empty", func(*Decrypter) []byte { return nil }, ErrShortRecord},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewTLS12(tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA, make([]byte, 48), r, r, true)
			if err != nil {
				t.Fatal(err)
			}
			d.SetSeq(9)
			pt, typ, err := d.Open(hdr, tt.payload(d))
			if !errors.Is(err, tt.want) {
				t.Fatalf("error %v, want %v", err, tt.want)
			}
			switch {
			case err != nil && d.Seq() != 9:
				t.Errorf("Seq %d after a failure, want 9", d.Seq())
			case err == nil && (!bytes.Equal(pt, content) || typ != TypeApplicationData || d.Seq() != 10):
				t.Errorf("got %q type %d seq %d", pt, typ, d.Seq())
			}
		})
	}
}
