// Package tlsmsg parses TLS records and handshake messages from the
// reassembled bytes of one direction of a TCP connection.
//
// It follows the TLS 1.2 and 1.3 wire formats (RFC 5246, RFC 8446) and reads
// every length through golang.org/x/crypto/cryptobyte, as crypto/tls does, so
// a length can never reach past its parent. It turns bytes into typed values
// and decides nothing: the ClientHello's SNI, ALPN, versions and JA4
// fingerprint, the ServerHello's choices, the server's certificates, the
// alerts and the frames in which each of them was seen.
//
// Parsers are strict on structure and lenient on the unknown: a length that
// does not fit, a list of odd length, bytes left over or a repeated extension
// is an error wrapping ErrMalformed; unknown extensions, handshake types and
// cipher suites are skipped. No input makes them panic, and nothing is
// allocated from a length field before that length has been checked against
// the bytes present or a fixed ceiling.
//
// Values returned never alias the input: the caller may reuse its buffers.
package tlsmsg
