package redact

import (
	"bytes"
	"encoding/binary"
)

// tcpPayload redacts one segment's payload by what its first bytes are:
// TLS records, an HTTP/1.x message, DNS over TCP, STUN/TURN framing. A
// segment that continues a TLS stream (it starts inside a record, on a port
// that carried TLS, and is binary) keeps its bytes, ciphertext or the rest
// of a certificate chain, with known names swept out; anything else (an
// HTTP body continued on a proxy port, any other protocol) becomes zeros.
func (r *Redactor) tcpPayload(p []byte, sport, dport uint16) {
	switch {
	case len(p) == 0:
	case isTLSRecord(p):
		r.tlsRecords(p)
		r.sweep(p)
	case isHTTP(p):
		// A client may send its ClientHello right after its CONNECT.
		if body := r.httpMessage(p); isTLSRecord(body) {
			r.tlsRecords(body)
		} else {
			clear(body)
		}
		r.sweep(p)
	case sport == 53 || dport == 53:
		r.dnsTCP(p)
	case isSTUN(p, false) || isChannelData(p) && relayPort(sport, dport):
		r.stunStream(p)
	case (r.tlsPorts[sport] || r.tlsPorts[dport]) && !textual(p):
		r.sweep(p)
	default:
		clear(p)
	}
}

// udpPayload redacts one datagram: DNS, mDNS and LLMNR messages, STUN and
// TURN messages, ChannelData headers; anything else (QUIC, whose Initial
// packets carry a ClientHello any reader can decrypt, media) becomes zeros.
func (r *Redactor) udpPayload(p []byte, sport, dport uint16) {
	dnsPort := func(p uint16) bool { return p == 53 || p == 5353 || p == 5355 }
	turn := turnPort(sport) || turnPort(dport)
	switch {
	case len(p) == 0:
	case dnsPort(sport) || dnsPort(dport):
		r.dnsMessage(p)
	case isSTUN(p, turn):
		r.stunMessage(p)
	case isChannelData(p) && relayPort(sport, dport):
		clear(p[4:]) // TURN ChannelData (RFC 8656 12.4): the media or data it relays
	default:
		clear(p)
	}
}

func turnPort(p uint16) bool { return p >= 3478 && p <= 3481 || p == 5349 }

// relayPort reports whether a flow's ports can carry TURN ChannelData: the
// TURN ports, or 443 where relays also listen.
func relayPort(sport, dport uint16) bool {
	return turnPort(sport) || turnPort(dport) || sport == 443 || dport == 443
}

// isTLSRecord reports whether p starts with a TLS record header (RFC 8446
// 5.1): a known content type, major version 3, a length within bounds.
func isTLSRecord(p []byte) bool {
	return len(p) >= 5 && p[0] >= 20 && p[0] <= 24 && p[1] == 3 && p[2] <= 4 && be16(p[3:]) <= 1<<14+2048
}

// tlsRecords walks the records that start in this segment and rewrites
// the server names of each ClientHello found in one.
func (r *Redactor) tlsRecords(p []byte) {
	for off := 0; off+5 <= len(p) && isTLSRecord(p[off:]); {
		n := int(be16(p[off+3:]))
		body := p[off+5 : min(off+5+n, len(p))]
		if p[off] == 22 {
			r.handshake(body)
		}
		off += 5 + n
	}
}

// handshake finds ClientHello messages (RFC 8446 4) in a handshake
// record.
func (r *Redactor) handshake(b []byte) {
	for off := 0; off+4 <= len(b); {
		n := int(b[off+1])<<16 | int(be16(b[off+2:]))
		if b[off] == 1 {
			r.clientHello(b[off+4 : min(off+4+n, len(b))])
		}
		off += 4 + n
	}
}

// clientHello rewrites the host names of the server_name extension (RFC
// 6066 3) of a ClientHello (RFC 8446 4.1.2), as far as it was captured.
func (r *Redactor) clientHello(m []byte) {
	off := 34 // legacy_version, random
	if off >= len(m) {
		return
	}
	off += 1 + int(m[off]) // legacy_session_id
	if off+2 > len(m) {
		return
	}
	off += 2 + int(be16(m[off:])) // cipher_suites
	if off >= len(m) {
		return
	}
	off += 1 + int(m[off]) // legacy_compression_methods
	off += 2               // extensions length
	for off+4 <= len(m) {
		typ, n := be16(m[off:]), int(be16(m[off+2:]))
		if typ == 0 {
			r.serverNames(m[off+4 : min(off+4+n, len(m))])
		}
		off += 4 + n
	}
}

func (r *Redactor) serverNames(b []byte) {
	for off := 2; off+3 <= len(b); { // after the ServerNameList length
		n := int(be16(b[off+1:]))
		end := off + 3 + n
		if b[off] == 0 { // host_name
			r.nameBytes(b[off+3:min(end, len(b))], end <= len(b))
		}
		off = end
	}
}

// nameBytes replaces a host name in place by its pseudonym of the same
// length. A name cut by the end of the capture gets a pseudonym that is
// not registered, since the whole name is unknown.
func (r *Redactor) nameBytes(b []byte, whole bool) {
	if len(b) == 0 {
		return
	}
	var m string
	if whole {
		m = r.sameLenName(string(b))
	} else {
		m = r.flatName(string(bytes.ToLower(b)))
	}
	copy(b, m)
}

// sameLenName maps a name to a pseudonym with the same label lengths: the
// report's pseudonym, or, where that differs in shape (an IP literal), the
// label-wise one.
func (r *Redactor) sameLenName(s string) string {
	m := r.name(s)
	if len(m) == len(s) && sameShape(m, s) {
		return m
	}
	lower := string(bytes.ToLower([]byte(s)))
	switch {
	case r.keepName(lower):
		return s
	case len(lower) > maxName:
		return r.flatName(lower)
	}
	return r.pseudoName(lower)
}

func sameShape(a, b string) bool {
	for i := 0; i < len(a); i++ {
		if (a[i] == '.') != (b[i] == '.') {
			return false
		}
	}
	return true
}

// sweep replaces, anywhere in a cleartext payload, the names the reports
// pseudonymised (a TLS certificate continued from an earlier segment, an
// HTTP header), the subject attributes of certificates for non-catalog
// names, and host names in certificates (certNames).
func (r *Redactor) sweep(p []byte) {
	r.certNames(p)
	for i := 0; i < len(p); {
		if !hostByte(p[i]) {
			i++
			continue
		}
		j := i
		for j < len(p) && hostByte(p[j]) {
			j++
		}
		if j-i >= 4 && bytes.IndexByte(p[i:j], '.') >= 0 {
			r.sweepRun(p[i:j])
		}
		i = j
	}
	for _, s := range r.secrets {
		for off := 0; ; {
			k := bytes.Index(p[off:], []byte(s))
			if k < 0 {
				break
			}
			fill(p[off+k : off+k+len(s)])
			off += k + len(s)
		}
	}
}

// textual reports whether p looks like text (an HTTP body or header
// continued from an earlier segment) rather than TLS: ciphertext and DER
// are mostly bytes outside printable ASCII, text has almost none.
func textual(p []byte) bool {
	binary := 0
	for _, c := range p {
		if (c < 0x20 || c > 0x7e) && c != '\r' && c != '\n' && c != '\t' {
			binary++
		}
	}
	return binary*20 < len(p)
}

func hostByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_'
}

// sweepRun looks for a pseudonymised name in a run of host-name bytes. In
// binary structures a length or tag byte next to a name can itself be a
// name character (a 46-byte name is preceded by '.'), so up to two bytes
// before and four after the name are tried off.
func (r *Redactor) sweepRun(run []byte) {
	lower := bytes.ToLower(run)
	for s := 0; s <= 2 && s < len(run); s++ {
		for e := len(run); e >= len(run)-4 && e > s+3; e-- {
			if m, ok := r.named[string(lower[s:e])]; ok && len(m) == e-s {
				copy(run[s:e], m)
				return
			}
		}
	}
}

// fill overwrites a value with 'x', keeping its length.
func fill(b []byte) {
	for i := range b {
		b[i] = 'x'
	}
}

func be32(b []byte) uint32 { return binary.BigEndian.Uint32(b) }
