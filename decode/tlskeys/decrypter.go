package tlskeys

import (
	"crypto/cipher"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
)

// Sentinel errors, for use with errors.Is.
var (
	// ErrUnsupportedSuite reports a cipher suite this package cannot
	// decrypt (RC4, NULL, CCM, Camellia, ARIA and unknown suites).
	ErrUnsupportedSuite = errors.New("unsupported cipher suite")
	// ErrSecretLength reports a secret of the wrong length for the suite.
	ErrSecretLength = errors.New("wrong secret length")
	// ErrShortRecord reports a record too short to hold the explicit nonce
	// and the authentication tag (for CBC suites: the IV, the MAC and the
	// padding length byte).
	ErrShortRecord = errors.New("record too short")
	// ErrRecordType reports a TLS 1.3 record whose outer content type is not
	// application_data (23): it is not protected (RFC 8446 5.2).
	ErrRecordType = errors.New("record is not protected")
	// ErrAuth reports that the record did not authenticate: a wrong key,
	// the wrong sequence number (a lost or skipped record), or corruption.
	// For CBC suites a bad padding, a bad MAC and a length that is not a
	// whole number of blocks are all ErrAuth.
	ErrAuth = errors.New("record authentication failed")
	// ErrNoContentType reports a TLS 1.3 plaintext of only zero bytes
	// (RFC 8446 5.4).
	ErrNoContentType = errors.New("no inner content type")
)

// Record content types (RFC 8446 5.1).
const (
	TypeChangeCipherSpec uint8 = 20
	TypeAlert            uint8 = 21
	TypeHandshake        uint8 = 22
	TypeApplicationData  uint8 = 23
)

// Decrypter opens the protected records of one direction of one connection,
// in order. It tracks the 64-bit record sequence number (RFC 8446 5.3,
// RFC 5246 6.1), which starts at 0 and advances only when a record
// authenticates. A record that fails leaves the number unchanged, unlike a
// TLS endpoint (for which the failure is fatal): the caller may retry the
// record with another Decrypter, such as the application traffic keys after
// the handshake keys, or call SetSeq after a capture gap.
type Decrypter struct {
	suite    uint16
	aead     cipher.AEAD
	iv       [12]byte // TLS 1.3 and ChaCha20: the full IV; TLS 1.2 GCM: 4-byte salt
	tls13    bool
	explicit bool     // TLS 1.2 GCM: 8-byte explicit nonce before the ciphertext (RFC 5288 3)
	cbc      *cbcKeys // TLS 1.2 CBC suites (RFC 5246 6.2.3.2); aead is nil
	seq      uint64
}

// CipherSuite returns the suite the Decrypter was made for.
func (d *Decrypter) CipherSuite() uint16 { return d.suite }

// Seq returns the sequence number of the next record.
func (d *Decrypter) Seq() uint64 { return d.seq }

// SetSeq sets the sequence number of the next record, for a caller that
// knows how many records were lost.
func (d *Decrypter) SetSeq(seq uint64) { d.seq = seq }

// Open decrypts one record: header is its 5-byte header (type, version,
// length) and ciphertext its payload. It returns the plaintext and the
// content type: for TLS 1.3 the inner type with the zero padding removed
// (RFC 8446 5.2, 5.4), for TLS 1.2 the header's type. The plaintext is a
// new slice; ciphertext is not modified.
func (d *Decrypter) Open(header [5]byte, ciphertext []byte) (plaintext []byte, innerType uint8, err error) {
	switch {
	case d.tls13:
		plaintext, innerType, err = d.open13(header, ciphertext)
	case d.cbc != nil:
		plaintext, innerType, err = d.openCBC(header, ciphertext)
	default:
		plaintext, innerType, err = d.open12(header, ciphertext)
	}
	if err != nil {
		return nil, 0, fmt.Errorf("tlskeys: %s record %d: %w", suiteName(d.suite), d.seq, err)
	}
	d.seq++
	return plaintext, innerType, nil
}

// open13 follows RFC 8446 5.2 and 5.3: the additional data is the record
// header, the nonce the IV XOR the left-padded sequence number.
func (d *Decrypter) open13(header [5]byte, ciphertext []byte) ([]byte, uint8, error) {
	if header[0] != TypeApplicationData {
		return nil, 0, fmt.Errorf("%w: content type %d", ErrRecordType, header[0])
	}
	if len(ciphertext) < d.aead.Overhead() {
		return nil, 0, fmt.Errorf("%w: %d bytes", ErrShortRecord, len(ciphertext))
	}
	nonce := d.xorNonce()
	pt, err := d.aead.Open(nil, nonce[:], ciphertext, header[:])
	if err != nil {
		return nil, 0, ErrAuth
	}
	i := len(pt) - 1
	for i >= 0 && pt[i] == 0 {
		i--
	}
	if i < 0 {
		return nil, 0, ErrNoContentType
	}
	return pt[:i], pt[i], nil
}

// open12 follows RFC 5246 6.2.3.3: the additional data is seq_num, type,
// version and the plaintext length. GCM's nonce is the 4-byte salt and the
// record's 8-byte explicit nonce (RFC 5288 3); ChaCha20-Poly1305's is
// built as in TLS 1.3 (RFC 7905 2).
func (d *Decrypter) open12(header [5]byte, ciphertext []byte) ([]byte, uint8, error) {
	var nonce [12]byte
	if d.explicit {
		if len(ciphertext) < 8+d.aead.Overhead() {
			return nil, 0, fmt.Errorf("%w: %d bytes", ErrShortRecord, len(ciphertext))
		}
		copy(nonce[:4], d.iv[:4])
		copy(nonce[4:], ciphertext[:8])
		ciphertext = ciphertext[8:]
	} else {
		if len(ciphertext) < d.aead.Overhead() {
			return nil, 0, fmt.Errorf("%w: %d bytes", ErrShortRecord, len(ciphertext))
		}
		nonce = d.xorNonce()
	}
	var ad [13]byte
	binary.BigEndian.PutUint64(ad[:], d.seq)
	copy(ad[8:11], header[:3])
	binary.BigEndian.PutUint16(ad[11:], uint16(len(ciphertext)-d.aead.Overhead()))
	pt, err := d.aead.Open(nil, nonce[:], ciphertext, ad[:])
	if err != nil {
		return nil, 0, ErrAuth
	}
	return pt, header[0], nil
}

// xorNonce returns the IV XOR the sequence number in its last 8 bytes
// (RFC 8446 5.3).
func (d *Decrypter) xorNonce() [12]byte {
	nonce := d.iv
	var seq [8]byte
	binary.BigEndian.PutUint64(seq[:], d.seq)
	for i, b := range seq {
		nonce[4+i] ^= b
	}
	return nonce
}

// suiteName names a suite as crypto/tls does, or "0x%04x" when unknown.
func suiteName(id uint16) string {
	return tls.CipherSuiteName(id)
}
