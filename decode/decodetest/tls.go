package decodetest

import (
	"encoding/binary"
	"math/rand/v2"
)

// TLS record content types (RFC 8446 5.1).
const (
	RecordChangeCipherSpec uint8 = 20
	RecordAlert            uint8 = 21
	RecordHandshake        uint8 = 22
	RecordApplicationData  uint8 = 23
)

// TLS handshake message types (RFC 8446 4, RFC 5246 7.4).
const (
	HandshakeClientHello       uint8 = 1
	HandshakeServerHello       uint8 = 2
	HandshakeNewSessionTicket  uint8 = 4
	HandshakeCertificate       uint8 = 11
	HandshakeServerKeyExchange uint8 = 12
	HandshakeServerHelloDone   uint8 = 14
	HandshakeClientKeyExchange uint8 = 16
	HandshakeFinished          uint8 = 20
)

// Protocol versions (RFC 8446 4.2.1).
const (
	VersionTLS10 uint16 = 0x0301
	VersionTLS12 uint16 = 0x0303
	VersionTLS13 uint16 = 0x0304
)

// Alert levels and the descriptions tests use most (RFC 8446 6).
const (
	AlertWarning             uint8 = 1
	AlertFatal               uint8 = 2
	AlertCloseNotify         uint8 = 0
	AlertHandshakeFailure    uint8 = 40
	AlertBadCertificate      uint8 = 42
	AlertCertificateUnknown  uint8 = 46
	AlertUnknownCA           uint8 = 48
	AlertAccessDenied        uint8 = 49
	AlertProtocolVersion     uint8 = 70
	AlertInternalError       uint8 = 80
	AlertUnrecognizedName    uint8 = 112
	AlertCertificateRequired uint8 = 116
)

// MaxRecordBody is the largest record body the builders write: the TLS
// plaintext limit of 2^14 bytes (RFC 8446 5.1).
const MaxRecordBody = 1 << 14

// AppendRecord appends one TLS record of type typ around body. body must
// not exceed 2^14+256 bytes (RFC 8446 5.2).
func AppendRecord(dst []byte, typ uint8, version uint16, body []byte) []byte {
	dst = append(dst, typ)
	dst = binary.BigEndian.AppendUint16(dst, version)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(body)))
	return append(dst, body...)
}

// AppendHandshake appends one handshake message (type and 24-bit length,
// RFC 8446 4) in as many TLS 1.2 records as its length needs: a message
// longer than MaxRecordBody is fragmented across records, as servers send
// long Certificate messages.
func AppendHandshake(dst []byte, msgType uint8, body []byte) []byte {
	var hdr [4]byte
	hdr[0] = msgType
	hdr[1], hdr[2], hdr[3] = byte(len(body)>>16), byte(len(body)>>8), byte(len(body))
	msg := append(hdr[:], body...)
	for len(msg) > 0 {
		n := min(len(msg), MaxRecordBody)
		dst = AppendRecord(dst, RecordHandshake, VersionTLS12, msg[:n])
		msg = msg[n:]
	}
	return dst
}

// ChangeCipherSpec returns a change_cipher_spec record (RFC 5246 7.1; sent
// in TLS 1.3 for middlebox compatibility, RFC 8446 D.4).
func ChangeCipherSpec() []byte {
	return []byte{RecordChangeCipherSpec, 3, 3, 0, 1, 1}
}

// Alert returns an alert record (RFC 8446 6).
func Alert(level, desc uint8) []byte {
	return []byte{RecordAlert, 3, 3, 0, 2, level, desc}
}

// filler is the fixed pseudo-random content of encrypted records and key
// shares: it looks like ciphertext and never changes between runs.
var filler = func() []byte {
	b := make([]byte, MaxRecordBody+256)
	r := rand.New(rand.NewPCG(0x6465636f, 0x64657465))
	for i := 0; i < len(b); i += 8 {
		binary.LittleEndian.PutUint64(b[i:], r.Uint64())
	}
	return b
}()

// AppendApplicationData appends n bytes of application_data records: the
// body split into records of at most MaxRecordBody bytes, each with a 5-byte
// header, so the result is n plus 5 bytes per record long.
func AppendApplicationData(dst []byte, n int) []byte {
	return AppendApplicationDataRange(dst, n, 0, ApplicationDataLen(n))
}

// ApplicationData returns AppendApplicationData(nil, n).
func ApplicationData(n int) []byte {
	return AppendApplicationData(make([]byte, 0, ApplicationDataLen(n)), n)
}

// ApplicationDataLen returns the length of AppendApplicationData's output
// for a body of n bytes.
func ApplicationDataLen(n int) int {
	if n <= 0 {
		return 0
	}
	return n + 5*((n+MaxRecordBody-1)/MaxRecordBody)
}

// AppendApplicationDataRange appends bytes [off, off+length) of the output
// AppendApplicationData(nil, n) would give, without building the rest: a
// generator cuts long responses into TCP segments with it.
func AppendApplicationDataRange(dst []byte, n, off, length int) []byte {
	const rec = MaxRecordBody + 5
	end := min(off+length, ApplicationDataLen(n))
	for off < end {
		k, p := off/rec, off%rec
		body := min(MaxRecordBody, n-k*MaxRecordBody)
		if p < 5 {
			var hdr [5]byte
			hdr[0], hdr[1], hdr[2] = RecordApplicationData, 3, 3
			binary.BigEndian.PutUint16(hdr[3:], uint16(body))
			take := min(5-p, end-off)
			dst = append(dst, hdr[p:p+take]...)
			off += take
			continue
		}
		take := min(body-(p-5), end-off)
		dst = append(dst, filler[p-5:p-5+take]...)
		off += take
	}
	return dst
}

// AppendEncryptedHandshake appends a handshake record of n opaque bytes, as
// a TLS 1.2 Finished looks after ChangeCipherSpec (RFC 5246 7.4.9).
func AppendEncryptedHandshake(dst []byte, n int) []byte {
	return AppendRecord(dst, RecordHandshake, VersionTLS12, filler[:n])
}
