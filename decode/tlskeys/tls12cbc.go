package tlskeys

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"fmt"
	"hash"
)

// cbcSuite describes a MAC-then-encrypt block cipher suite (RFC 5246
// 6.2.3.2): the cipher, its key length, the record MAC hash (whose size is
// also the MAC key length, RFC 5246 6.3) and the TLS 1.2 PRF hash.
type cbcSuite struct {
	keyLen   int
	newBlock func(key []byte) (cipher.Block, error)
	mac      func() hash.Hash
	prf      func() hash.Hash
}

// suites12CBC lists the CBC suites. The PRF hash is SHA-256 except for the
// suites named _SHA384 (RFC 5246 5, RFC 5289 3.2), and the MAC is HMAC
// with the hash the name ends in (RFC 5246 C, RFC 5289 3.2, RFC 4492 6).
// crypto/tls implements, and the tests cover, all but the DHE suites,
// 0x003d, 0xc024 and 0xc028, which differ from the covered ones only in
// their table entries.
var suites12CBC = map[uint16]cbcSuite{
	0x000a: cbc(24, des.NewTripleDESCipher, sha1.New), // TLS_RSA_WITH_3DES_EDE_CBC_SHA
	0x002f: cbc(16, aes.NewCipher, sha1.New),          // TLS_RSA_WITH_AES_128_CBC_SHA
	0x0033: cbc(16, aes.NewCipher, sha1.New),          // TLS_DHE_RSA_WITH_AES_128_CBC_SHA
	0x0035: cbc(32, aes.NewCipher, sha1.New),          // TLS_RSA_WITH_AES_256_CBC_SHA
	0x0039: cbc(32, aes.NewCipher, sha1.New),          // TLS_DHE_RSA_WITH_AES_256_CBC_SHA
	0x003c: cbc(16, aes.NewCipher, sha256.New),        // TLS_RSA_WITH_AES_128_CBC_SHA256
	0x003d: cbc(32, aes.NewCipher, sha256.New),        // TLS_RSA_WITH_AES_256_CBC_SHA256
	0x0067: cbc(16, aes.NewCipher, sha256.New),        // TLS_DHE_RSA_WITH_AES_128_CBC_SHA256
	0x006b: cbc(32, aes.NewCipher, sha256.New),        // TLS_DHE_RSA_WITH_AES_256_CBC_SHA256
	0xc009: cbc(16, aes.NewCipher, sha1.New),          // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA
	0xc00a: cbc(32, aes.NewCipher, sha1.New),          // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA
	0xc012: cbc(24, des.NewTripleDESCipher, sha1.New), // TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA
	0xc013: cbc(16, aes.NewCipher, sha1.New),          // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA
	0xc014: cbc(32, aes.NewCipher, sha1.New),          // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA
	0xc023: cbc(16, aes.NewCipher, sha256.New),        // TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256
	0xc024: cbc(32, aes.NewCipher, sha512.New384),     // TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384
	0xc027: cbc(16, aes.NewCipher, sha256.New),        // TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256
	0xc028: cbc(32, aes.NewCipher, sha512.New384),     // TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384
}

func cbc(keyLen int, newBlock func([]byte) (cipher.Block, error), mac func() hash.Hash) cbcSuite {
	prf := sha256.New
	if mac().Size() == sha512.Size384 {
		prf = sha512.New384
	}
	return cbcSuite{keyLen: keyLen, newBlock: newBlock, mac: mac, prf: prf}
}

// cbcKeys is the state of one direction of a CBC suite.
type cbcKeys struct {
	block  cipher.Block
	mac    func() hash.Hash
	macKey []byte // as long as the MAC (RFC 5246 6.3)
}

// newTLS12CBC splits the key block (RFC 5246 6.3) into
// client_write_MAC_key, server_write_MAC_key, client_write_key and
// server_write_key. TLS 1.1 and later send an explicit IV in every record
// (RFC 5246 6.2.3.2), so the key block's IVs are not needed.
func newTLS12CBC(id uint16, s cbcSuite, masterSecret, seed []byte, server bool) (*Decrypter, error) {
	macLen := s.mac().Size()
	kb := prf(s.prf, masterSecret, "key expansion", seed, 2*(macLen+s.keyLen))
	clientMAC, kb := kb[:macLen], kb[macLen:]
	serverMAC, kb := kb[:macLen], kb[macLen:]
	clientKey, serverKey := kb[:s.keyLen], kb[s.keyLen:]
	macKey, key := clientMAC, clientKey
	if server {
		macKey, key = serverMAC, serverKey
	}
	block, err := s.newBlock(key)
	if err != nil {
		return nil, fmt.Errorf("tlskeys: %s: %w", suiteName(id), err)
	}
	return &Decrypter{suite: id, cbc: &cbcKeys{block: block, mac: s.mac, macKey: macKey}}, nil
}

// openCBC follows RFC 5246 6.2.3.2: the payload is the IV and then
// CBC(content + MAC + padding + padding_length), and the MAC is
// HMAC(MAC_write_key, seq_num + type + version + length + content)
// (RFC 5246 6.2.3.1). Any padding byte may be up to 255, so the padding
// can span several blocks. A bad padding or MAC is ErrAuth; this is offline
// analysis, so the checks need not run in constant time (Lucky13).
func (d *Decrypter) openCBC(header [5]byte, ciphertext []byte) ([]byte, uint8, error) {
	k := d.cbc
	bs, macLen := k.block.BlockSize(), len(k.macKey)
	if len(ciphertext) < bs+macLen+1 {
		return nil, 0, fmt.Errorf("%w: %d bytes", ErrShortRecord, len(ciphertext))
	}
	iv, body := ciphertext[:bs], ciphertext[bs:]
	if len(body)%bs != 0 {
		return nil, 0, fmt.Errorf("%w: %d bytes after the IV are not whole %d-byte blocks", ErrAuth, len(body), bs)
	}
	pt := make([]byte, len(body))
	cipher.NewCBCDecrypter(k.block, iv).CryptBlocks(pt, body)
	padLen := int(pt[len(pt)-1])
	if padLen+1+macLen > len(pt) {
		return nil, 0, ErrAuth
	}
	for _, b := range pt[len(pt)-1-padLen:] {
		if int(b) != padLen {
			return nil, 0, ErrAuth
		}
	}
	n := len(pt) - 1 - padLen - macLen
	content, got := pt[:n:n], pt[n:n+macLen]
	if !hmac.Equal(got, k.sum(d.seq, header, content)) {
		return nil, 0, ErrAuth
	}
	return content, header[0], nil
}

// sum returns the record MAC of RFC 5246 6.2.3.1.
func (k *cbcKeys) sum(seq uint64, header [5]byte, content []byte) []byte {
	var ad [13]byte
	binary.BigEndian.PutUint64(ad[:], seq)
	copy(ad[8:11], header[:3])
	binary.BigEndian.PutUint16(ad[11:], uint16(len(content)))
	m := hmac.New(k.mac, k.macKey)
	m.Write(ad[:])
	m.Write(content)
	return m.Sum(nil)
}
