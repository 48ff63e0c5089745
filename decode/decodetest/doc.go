// Package decodetest builds wire bytes for tests: link, IP and transport
// headers with correct checksums, TLS records and handshake messages, STUN
// and TURN messages, DNS messages, HTTP proxy exchanges, and pcap or pcapng
// files that hold them.
//
// The builders are deterministic: the same arguments give the same bytes,
// and anything that looks random (TLS randoms, key shares, STUN transaction
// IDs, certificate keys) comes from a caller's seeded source or a fixed
// seed. Hot builders come in an append form, AppendX(dst []byte, ...) []byte,
// that writes into the caller's buffer without allocating, so the same code
// drives both small unit tests and the multi-gigabyte benchmark capture
// generator; convenience wrappers return a fresh slice.
//
// Builders panic on arguments that are programming errors (an IPv4 source
// with an IPv6 destination, a certificate template crypto/x509 rejects),
// as netip.MustParseAddr does: the package is for tests and generators,
// never for parsing untrusted input.
package decodetest
