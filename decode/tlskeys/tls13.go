package tlskeys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/cryptobyte"
)

// TLS 1.3 cipher suites (RFC 8446 B.4).
const (
	TLS_AES_128_GCM_SHA256       uint16 = 0x1301
	TLS_AES_256_GCM_SHA384       uint16 = 0x1302
	TLS_CHACHA20_POLY1305_SHA256 uint16 = 0x1303
)

// aeadSuite describes the AEAD and hash of a suite.
type aeadSuite struct {
	keyLen  int
	ivLen   int // TLS 1.2: fixed IV length (4 for GCM, RFC 5288 3; 12 for ChaCha20, RFC 7905 2)
	hash    func() hash.Hash
	newAEAD func(key []byte) (cipher.AEAD, error)
	gcm     bool
}

var suites13 = map[uint16]aeadSuite{
	TLS_AES_128_GCM_SHA256:       {keyLen: 16, ivLen: 12, hash: sha256.New, newAEAD: newGCM, gcm: true},
	TLS_AES_256_GCM_SHA384:       {keyLen: 32, ivLen: 12, hash: sha512.New384, newAEAD: newGCM, gcm: true},
	TLS_CHACHA20_POLY1305_SHA256: {keyLen: 32, ivLen: 12, hash: sha256.New, newAEAD: chacha20poly1305.New},
}

func newGCM(key []byte) (cipher.AEAD, error) {
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}

// NewTLS13 returns a Decrypter for the records protected with a TLS 1.3
// traffic secret (one of a key log's handshake or application secrets),
// for TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384 or
// TLS_CHACHA20_POLY1305_SHA256. The key and IV are derived as RFC 8446 7.3
// defines; the secret must be as long as the suite's hash (32 or 48 bytes).
func NewTLS13(cipherSuite uint16, trafficSecret []byte) (*Decrypter, error) {
	s, ok := suites13[cipherSuite]
	if !ok {
		return nil, fmt.Errorf("tlskeys: TLS 1.3 %s: %w", suiteName(cipherSuite), ErrUnsupportedSuite)
	}
	if n := s.hash().Size(); len(trafficSecret) != n {
		return nil, fmt.Errorf("tlskeys: %s: %w: %d bytes, want %d", suiteName(cipherSuite), ErrSecretLength, len(trafficSecret), n)
	}
	key, err := expandLabel(s.hash, trafficSecret, "key", s.keyLen)
	if err != nil {
		return nil, fmt.Errorf("tlskeys: %s: %w", suiteName(cipherSuite), err)
	}
	iv, err := expandLabel(s.hash, trafficSecret, "iv", s.ivLen)
	if err != nil {
		return nil, fmt.Errorf("tlskeys: %s: %w", suiteName(cipherSuite), err)
	}
	aead, err := s.newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("tlskeys: %s: %w", suiteName(cipherSuite), err)
	}
	d := &Decrypter{suite: cipherSuite, aead: aead, tls13: true}
	copy(d.iv[:], iv)
	return d, nil
}

// expandLabel is HKDF-Expand-Label with an empty context (RFC 8446 7.1):
// the info is the HkdfLabel struct with the label prefixed by "tls13 ".
func expandLabel(h func() hash.Hash, secret []byte, label string, length int) ([]byte, error) {
	var b cryptobyte.Builder
	b.AddUint16(uint16(length))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddBytes([]byte("tls13 "))
		b.AddBytes([]byte(label))
	})
	b.AddUint8LengthPrefixed(func(*cryptobyte.Builder) {})
	info, err := b.Bytes()
	if err != nil {
		return nil, err
	}
	return hkdf.Expand(h, secret, string(info), length)
}
