package tlskeys

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"testing"
)

// TestExpandLabelRFC8448 checks HKDF-Expand-Label against the traffic keys
// of RFC 8448 3 (simple 1-RTT handshake, TLS_AES_128_GCM_SHA256).
func TestExpandLabelRFC8448(t *testing.T) {
	tests := []struct {
		name, secret, key, iv string
	}{
		{"server handshake", "b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38",
			"3fce516009c21727d0f2e4e86ee403bc", "5d313eb2671276ee13000b30"},
		{"client handshake", "b3eddb126e067f35a780b3abf45e2d8f3b1a950738f52e9600746a0e27a55a21",
			"dbfaa693d1762c5b666af5d950258d01", "5bd3c71b836e0b76bb73265f"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			secret := unhex(tt.secret)
			key, err := expandLabel(sha256.New, secret, "key", 16)
			if err != nil {
				t.Fatal(err)
			}
			iv, err := expandLabel(sha256.New, secret, "iv", 12)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(key); got != tt.key {
				t.Errorf("key %s, want %s", got, tt.key)
			}
			if got := hex.EncodeToString(iv); got != tt.iv {
				t.Errorf("iv %s, want %s", got, tt.iv)
			}
			d, err := NewTLS13(TLS_AES_128_GCM_SHA256, secret)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(d.iv[:]); got != tt.iv {
				t.Errorf("Decrypter iv %s, want %s", got, tt.iv)
			}
		})
	}
}

// seal13 protects plaintext+innerType+padding as a TLS 1.3 record with d's
// key and current sequence number, without advancing it.
func seal13(d *Decrypter, inner []byte) ([5]byte, []byte) {
	n := len(inner) + d.aead.Overhead()
	hdr := [5]byte{TypeApplicationData, 3, 3, byte(n >> 8), byte(n)}
	nonce := d.xorNonce()
	return hdr, d.aead.Seal(nil, nonce[:], inner, hdr[:])
}

func TestOpen13InnerPlaintext(t *testing.T) {
	tests := []struct {
		name    string
		inner   []byte
		outer   uint8
		want    string
		typ     uint8
		wantErr error
	}{
		{"alert", []byte{2, 42, 21}, 23, "\x02\x2a", TypeAlert, nil},
		{"padded", []byte{'h', 'i', 23, 0, 0, 0, 0}, 23, "hi", TypeApplicationData, nil},
		{"empty handshake", []byte{22}, 23, "", TypeHandshake, nil},
		{"only padding", []byte{0, 0, 0}, 23, "", 0, ErrNoContentType},
		{"empty", nil, 23, "", 0, ErrNoContentType},
		{"outer type handshake", []byte{1, 22}, 22, "", 0, ErrRecordType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := NewTLS13(TLS_CHACHA20_POLY1305_SHA256, make([]byte, 32))
			if err != nil {
				t.Fatal(err)
			}
			d.SetSeq(7)
			hdr, ct := seal13(d, tt.inner)
			hdr[0] = tt.outer
			pt, typ, err := d.Open(hdr, ct)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("error %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				if d.Seq() != 7 {
					t.Errorf("Seq %d after a failure, want 7", d.Seq())
				}
				return
			}
			if string(pt) != tt.want || typ != tt.typ || d.Seq() != 8 {
				t.Errorf("got %q type %d seq %d, want %q type %d seq 8", pt, typ, d.Seq(), tt.want, tt.typ)
			}
		})
	}
	d, _ := NewTLS13(TLS_AES_128_GCM_SHA256, make([]byte, 32))
	if _, _, err := d.Open([5]byte{23, 3, 3, 0, 15}, make([]byte, 15)); !errors.Is(err, ErrShortRecord) {
		t.Errorf("15-byte record: %v, want ErrShortRecord", err)
	}
}
