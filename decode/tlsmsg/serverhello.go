package tlsmsg

import (
	"bytes"

	"golang.org/x/crypto/cryptobyte"
)

// helloRetryRequestRandom is the Random value that marks a ServerHello as a
// HelloRetryRequest: SHA-256("HelloRetryRequest") (RFC 8446 4.1.3).
var helloRetryRequestRandom = [32]byte{
	0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11,
	0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
	0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e,
	0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
}

// downgradePrefix starts the last 8 bytes of a TLS 1.3 server's Random when
// it negotiates TLS 1.2 or below (RFC 8446 4.1.3).
var downgradePrefix = []byte("DOWNGRD")

// ServerHello is the server's answer to a ClientHello (RFC 8446 4.1.3,
// RFC 5246 7.4.1.3); a HelloRetryRequest has the same layout.
type ServerHello struct {
	// LegacyVersion is server_version: the negotiated version up to TLS 1.2,
	// 0x0303 for TLS 1.3.
	LegacyVersion uint16
	// Random is the server's 32 random bytes.
	Random [32]byte
	// SessionIDLen is the length of legacy_session_id_echo.
	SessionIDLen int
	// CipherSuite is the selected cipher suite.
	CipherSuite uint16
	// CompressionMethod is the selected compression method (0 = none).
	CompressionMethod uint8
	// Extensions lists the extension types present, in wire order.
	Extensions []uint16
	// SelectedVersion is the supported_versions extension's selected_version
	// (RFC 8446 4.2.1) if present, else LegacyVersion.
	SelectedVersion uint16
	// HelloRetryRequest reports whether Random is the special HelloRetryRequest
	// value (RFC 8446 4.1.3).
	HelloRetryRequest bool
	// DowngradeSentinel reports whether the last 8 bytes of Random are
	// "DOWNGRD" followed by 0x00 or 0x01 (RFC 8446 4.1.3): a TLS 1.3 capable
	// server negotiating an older version.
	DowngradeSentinel bool
	// ALPN is the selected application protocol (RFC 7301 3.1), or empty.
	ALPN string
	// KeyShareGroup is the group of the key_share extension (RFC 8446
	// 4.2.8): the server's share, or in a HelloRetryRequest the group it asks
	// the client to use. Zero when absent.
	KeyShareGroup uint16
}

// ParseServerHello parses a ServerHello body: the handshake message without
// its 4-byte header. The result does not alias body.
func ParseServerHello(body []byte) (*ServerHello, error) {
	h := &ServerHello{}
	if err := h.parse(body, nil); err != nil {
		return nil, err
	}
	return h, nil
}

// parse reads a ServerHello body into h, reusing the storage of h's
// Extensions (a Stream parses every server's hello into the same one) and
// taking the selected protocol's name from names when set.
func (h *ServerHello) parse(body []byte, names *Names) error {
	s := cryptobyte.String(body)
	*h = ServerHello{Extensions: h.Extensions[:0]}
	var random []byte
	var sessionID cryptobyte.String
	if !s.ReadUint16(&h.LegacyVersion) || !s.ReadBytes(&random, 32) ||
		!s.ReadUint8LengthPrefixed(&sessionID) || len(sessionID) > 32 ||
		!s.ReadUint16(&h.CipherSuite) || !s.ReadUint8(&h.CompressionMethod) {
		return errorf(ErrMalformed, "server hello: truncated or bad legacy_session_id_echo")
	}
	copy(h.Random[:], random)
	h.SessionIDLen = len(sessionID)
	h.HelloRetryRequest = h.Random == helloRetryRequestRandom
	tail := h.Random[24:]
	h.DowngradeSentinel = bytes.HasPrefix(tail, downgradePrefix) && tail[7] <= 1
	h.SelectedVersion = h.LegacyVersion
	if s.Empty() {
		return nil
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return errorf(ErrMalformed, "server hello: extensions length exceeds message")
	}
	if !s.Empty() {
		return errorf(ErrMalformed, "server hello: %d bytes after extensions", len(s))
	}
	err := eachExtension(exts, "server hello", func(typ uint16, data cryptobyte.String) bool {
		h.Extensions = append(h.Extensions, typ)
		return h.extension(typ, data, names)
	})
	return err
}

// extension reads one extension's body; unknown extensions are skipped.
func (h *ServerHello) extension(typ uint16, d cryptobyte.String, names *Names) bool {
	switch typ {
	case extSupportedVersions:
		// RFC 8446 4.2.1: ProtocolVersion selected_version.
		return d.ReadUint16(&h.SelectedVersion) && d.Empty()
	case extALPN:
		// RFC 7301 3.1: the server's list holds exactly one name.
		var list, proto cryptobyte.String
		if !d.ReadUint16LengthPrefixed(&list) || !list.ReadUint8LengthPrefixed(&proto) ||
			!list.Empty() || !d.Empty() {
			return false
		}
		h.ALPN = names.String(proto)
	case extKeyShare:
		// RFC 8446 4.2.8: KeyShareHelloRetryRequest holds only the
		// selected_group; KeyShareServerHello holds one KeyShareEntry.
		if !d.ReadUint16(&h.KeyShareGroup) {
			return false
		}
		if !h.HelloRetryRequest {
			var key cryptobyte.String
			if !d.ReadUint16LengthPrefixed(&key) || key.Empty() {
				return false
			}
		}
		return d.Empty()
	}
	return true
}
