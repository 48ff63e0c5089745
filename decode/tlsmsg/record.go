package tlsmsg

// Record content types (RFC 8446 5.1; heartbeat RFC 6520 3).
const (
	recordChangeCipherSpec uint8 = 20
	recordAlert            uint8 = 21
	recordHandshake        uint8 = 22
	recordApplicationData  uint8 = 23
	recordHeartbeat        uint8 = 24
)

// Handshake message types the Stream reads (RFC 8446 4, RFC 5246 7.4).
const (
	typeClientHello     uint8 = 1
	typeServerHello     uint8 = 2
	typeCertificate     uint8 = 11
	typeServerHelloDone uint8 = 14
)

const (
	recordHeaderLen = 5 // type, legacy_record_version, length (RFC 8446 5.1)
	handshakeHdrLen = 4 // msg_type, uint24 length (RFC 8446 4)

	// MaxRecordLen is the largest record payload accepted: 2^14 plus 2048
	// bytes of expansion, the TLSCiphertext limit of RFC 5246 6.2.3 (RFC 8446
	// 5.2 allows only 2^14+256, so this covers every version).
	MaxRecordLen = 1<<14 + 2048

	// MaxBuffer bounds the bytes a Stream copies and holds: a handshake
	// message that spans records or Feed calls, header included. Larger
	// messages (only certificate chains are legitimately larger) mark the
	// summary Truncated. A partial record header adds at most 5 bytes.
	MaxBuffer = 64 << 10

	// MaxAlerts bounds the alerts a Summary lists; AlertRecords counts all.
	MaxAlerts = 16

	// maxHandshake and maxHandshakeCertificate are crypto/tls's limits on a
	// handshake message (common.go): 64 KiB, and 256 KiB for Certificate.
	maxHandshake            = 65536
	maxHandshakeCertificate = 262144
)

// LooksLikeTLS reports whether b, the first bytes of one direction of a TCP
// connection, starts a TLS record: content type handshake (22) or alert
// (21), record version 0x0300 to 0x0304, a length from 1 to MaxRecordLen
// and, for a handshake record, a ClientHello (1) or ServerHello (2) type
// when that byte is present. It needs at least the 5-byte record header, so
// TLS is recognised by content on any port. Record versions are those real
// stacks send: TLS 1.3 hellos use 0x0301 or 0x0303 (RFC 8446 5.1).
func LooksLikeTLS(b []byte) bool {
	if len(b) < recordHeaderLen {
		return false
	}
	typ, n := b[0], int(b[3])<<8|int(b[4])
	if typ != recordHandshake && typ != recordAlert {
		return false
	}
	if b[1] != 3 || b[2] > 4 || n == 0 || n > MaxRecordLen {
		return false
	}
	if typ == recordHandshake && len(b) > recordHeaderLen {
		return b[5] == typeClientHello || b[5] == typeServerHello
	}
	return true
}

// plausibleHeader reports whether h (5 bytes) could be a record header, to
// find the next record after a gap: a known content type, version 0x0300 to
// 0x0304, a length from 1 to MaxRecordLen, and exactly 1 byte for
// change_cipher_spec (RFC 5246 7.1). In encrypted data a random position
// passes with a probability near 10^-6, so a false match is possible; the
// first record after a gap is therefore tentative (see Stream.Gap).
func plausibleHeader(h []byte) bool {
	typ, n := h[0], int(h[3])<<8|int(h[4])
	if typ < recordChangeCipherSpec || typ > recordHeartbeat || h[1] != 3 || h[2] > 4 {
		return false
	}
	if typ == recordChangeCipherSpec {
		return n == 1
	}
	return n > 0 && n <= MaxRecordLen
}

func isContentType(b byte) bool {
	return b >= recordChangeCipherSpec && b <= recordHeartbeat
}

// Alert is one alert record (RFC 8446 6).
type Alert struct {
	// Level is 1 (warning) or 2 (fatal); 0 when Encrypted.
	Level uint8
	// Description is the AlertDescription; 0 when Encrypted (0 is also
	// close_notify: check Encrypted first).
	Description uint8
	// Encrypted reports that the record is not a 2-byte plaintext alert, so
	// level and description cannot be read.
	Encrypted bool
	// Decrypted reports the alert was read by decrypting its record with
	// keys from a key log.
	Decrypted bool
	// Frame is the capture frame that carried the record's last byte.
	Frame uint64
}

// String returns "fatal handshake_failure", "warning close_notify" or
// "encrypted".
func (a Alert) String() string {
	if a.Encrypted {
		return "encrypted"
	}
	return AlertLevelName(a.Level) + " " + AlertDescriptionName(a.Description)
}
