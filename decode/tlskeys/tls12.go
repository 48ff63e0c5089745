package tlskeys

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"fmt"
	"hash"

	"golang.org/x/crypto/chacha20poly1305"
)

// suites12 lists the TLS 1.2 AEAD suites: AES-GCM (RFC 5288, RFC 5289) and
// ChaCha20-Poly1305 (RFC 7905). The PRF hash is SHA-384 for the suites
// named _SHA384, SHA-256 otherwise (RFC 5246 5, RFC 5288 3).
var suites12 = map[uint16]aeadSuite{
	0x009c: gcm12(16, sha256.New),    // TLS_RSA_WITH_AES_128_GCM_SHA256
	0x009d: gcm12(32, sha512.New384), // TLS_RSA_WITH_AES_256_GCM_SHA384
	0x009e: gcm12(16, sha256.New),    // TLS_DHE_RSA_WITH_AES_128_GCM_SHA256
	0x009f: gcm12(32, sha512.New384), // TLS_DHE_RSA_WITH_AES_256_GCM_SHA384
	0xc02b: gcm12(16, sha256.New),    // TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256
	0xc02c: gcm12(32, sha512.New384), // TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384
	0xc02f: gcm12(16, sha256.New),    // TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256
	0xc030: gcm12(32, sha512.New384), // TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384
	0xcca8: chacha12,                 // TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256
	0xcca9: chacha12,                 // TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256
	0xccaa: chacha12,                 // TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256
}

func gcm12(keyLen int, h func() hash.Hash) aeadSuite {
	return aeadSuite{keyLen: keyLen, ivLen: 4, hash: h, newAEAD: newGCM, gcm: true}
}

var chacha12 = aeadSuite{keyLen: 32, ivLen: 12, hash: sha256.New, newAEAD: chacha20poly1305.New}

// masterSecretLen is the length of a TLS 1.2 master secret (RFC 5246 8.1).
const masterSecretLen = 48

// NewTLS12 returns a Decrypter for the records one side of a TLS 1.2
// connection sends after its change_cipher_spec: the server's if server is
// true, else the client's. The key block is PRF(master_secret, "key
// expansion", server_random + client_random) (RFC 5246 6.3), split into
// client and server write keys and IVs for AEAD suites, and into MAC keys
// and write keys for CBC suites (whose IV is explicit in every record).
// The suites are those of suites12 and suites12CBC; others give an error
// naming the suite.
func NewTLS12(cipherSuite uint16, masterSecret []byte, clientRandom, serverRandom [32]byte, server bool) (*Decrypter, error) {
	s, ok := suites12[cipherSuite]
	cs, isCBC := suites12CBC[cipherSuite]
	if !ok && !isCBC {
		return nil, fmt.Errorf("tlskeys: TLS 1.2 %s: %w", suiteName(cipherSuite), ErrUnsupportedSuite)
	}
	if len(masterSecret) != masterSecretLen {
		return nil, fmt.Errorf("tlskeys: %s: %w: master secret is %d bytes, want %d", suiteName(cipherSuite), ErrSecretLength, len(masterSecret), masterSecretLen)
	}
	seed := make([]byte, 0, 64)
	seed = append(append(seed, serverRandom[:]...), clientRandom[:]...)
	if isCBC {
		return newTLS12CBC(cipherSuite, cs, masterSecret, seed, server)
	}
	kb := prf(s.hash, masterSecret, "key expansion", seed, 2*(s.keyLen+s.ivLen))
	clientKey, kb := kb[:s.keyLen], kb[s.keyLen:]
	serverKey, kb := kb[:s.keyLen], kb[s.keyLen:]
	clientIV, serverIV := kb[:s.ivLen], kb[s.ivLen:]
	key, iv := clientKey, clientIV
	if server {
		key, iv = serverKey, serverIV
	}
	aead, err := s.newAEAD(key)
	if err != nil {
		return nil, fmt.Errorf("tlskeys: %s: %w", suiteName(cipherSuite), err)
	}
	d := &Decrypter{suite: cipherSuite, aead: aead, explicit: s.gcm}
	copy(d.iv[:], iv)
	return d, nil
}

// prf is the TLS 1.2 PRF, P_hash(secret, label + seed) truncated to n bytes
// (RFC 5246 5).
func prf(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	labelSeed := append([]byte(label), seed...)
	mac := hmac.New(h, secret)
	out := make([]byte, 0, n+mac.Size())
	a := labelSeed // A(0)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(nil) // A(i) = HMAC(secret, A(i-1))
		mac.Reset()
		mac.Write(a)
		mac.Write(labelSeed)
		out = mac.Sum(out)
	}
	return out[:n]
}
