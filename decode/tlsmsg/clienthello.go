package tlsmsg

import (
	"golang.org/x/crypto/cryptobyte"
)

// Extension types this package reads (IANA TLS ExtensionType Values).
const (
	extServerName          uint16 = 0      // RFC 6066 3
	extSupportedGroups     uint16 = 10     // RFC 8446 4.2.7
	extSignatureAlgorithms uint16 = 13     // RFC 8446 4.2.3
	extALPN                uint16 = 16     // RFC 7301 3.1
	extSupportedVersions   uint16 = 43     // RFC 8446 4.2.1
	extKeyShare            uint16 = 51     // RFC 8446 4.2.8
	extECH                 uint16 = 0xfe0d // draft-ietf-tls-esni 5
)

// ClientHello is the first message of a TLS handshake (RFC 8446 4.1.2,
// RFC 5246 7.4.1.2). Lists keep wire order and GREASE values (RFC 8701).
type ClientHello struct {
	// LegacyVersion is client_version: the highest version for TLS 1.2 and
	// earlier, 0x0303 for TLS 1.3 clients (which list versions in
	// SupportedVersions).
	LegacyVersion uint16
	// Random is the client's 32 random bytes.
	Random [32]byte
	// SessionIDLen is the length of legacy_session_id (0 to 32).
	SessionIDLen int
	// CipherSuites lists the offered cipher suites.
	CipherSuites []uint16
	// CompressionMethods lists the offered compression methods.
	CompressionMethods []uint8
	// Extensions lists the extension types present.
	Extensions []uint16
	// SNI is the host_name of the server_name extension (RFC 6066 3), as
	// sent (not validated); empty when absent.
	SNI string
	// ALPN lists the offered application protocols (RFC 7301 3.1).
	ALPN []string
	// SupportedVersions lists the supported_versions extension (RFC 8446
	// 4.2.1); nil when absent.
	SupportedVersions []uint16
	// SignatureAlgorithms lists the signature_algorithms extension (RFC 8446
	// 4.2.3).
	SignatureAlgorithms []uint16
	// SupportedGroups lists the supported_groups extension (RFC 8446 4.2.7).
	SupportedGroups []uint16
	// KeyShareGroups lists the groups of the key_share entries (RFC 8446
	// 4.2.8), e.g. X25519MLKEM768 and x25519 for a post-quantum client;
	// empty but not nil when the extension is present with no entries.
	KeyShareGroups []uint16
	// ECH reports whether the encrypted_client_hello extension (0xfe0d) is
	// present.
	ECH bool

	// store keeps the lists' storage when a Stream parses hello after
	// hello into one value (see parse).
	store helloStore
}

type helloStore struct {
	arena []uint16
	exts  []uint16
	alpn  []string
	comp  []uint8
}

// ParseClientHello parses a ClientHello body: the handshake message without
// its 4-byte header. The result does not alias body.
func ParseClientHello(body []byte) (*ClientHello, error) {
	c := &ClientHello{}
	if err := c.parse(body, nil); err != nil {
		return nil, err
	}
	return c, nil
}

// parse parses body into c, reusing the storage of c's lists (which must
// no longer be in use) and taking the server name from names when set: a
// Stream parses a capture's hundred thousand hellos with few allocations.
func (c *ClientHello) parse(body []byte, names *Names) error {
	st := c.store
	// The uint16 lists of a hello (ciphers, versions, signature algorithms,
	// groups: about 40 values from a browser) share one allocation, where
	// one per list made hello parsing the most allocating step of a
	// capture; a list that does not fit gets its own.
	if cap(st.arena) == 0 {
		st.arena = make([]uint16, 0, min(len(body)/2, 64))
	}
	*c = ClientHello{store: st}
	arena := st.arena[:0]
	defer func() {
		// A list that did not fit started a larger arena: keep that one.
		if cap(arena) > cap(st.arena) {
			c.store.arena = arena
		}
	}()
	s := cryptobyte.String(body)
	var random []byte
	var sessionID, suites, compression cryptobyte.String
	if !s.ReadUint16(&c.LegacyVersion) || !s.ReadBytes(&random, 32) {
		return errorf(ErrMalformed, "client hello: truncated before legacy_session_id")
	}
	copy(c.Random[:], random)
	// RFC 8446 4.1.2: opaque legacy_session_id<0..32>.
	if !s.ReadUint8LengthPrefixed(&sessionID) || len(sessionID) > 32 {
		return errorf(ErrMalformed, "client hello: bad legacy_session_id")
	}
	c.SessionIDLen = len(sessionID)
	if !s.ReadUint16LengthPrefixed(&suites) || !readUint16s(suites, &c.CipherSuites, &arena) {
		return errorf(ErrMalformed, "client hello: bad cipher_suites")
	}
	if !s.ReadUint8LengthPrefixed(&compression) {
		return errorf(ErrMalformed, "client hello: bad legacy_compression_methods")
	}
	if st.comp == nil {
		st.comp = make([]uint8, 0, len(compression))
	}
	c.CompressionMethods = append(st.comp[:0], compression...)
	c.store.comp = c.CompressionMethods
	if s.Empty() {
		// RFC 5246 7.4.1.2: the extensions block is optional.
		return nil
	}
	var exts cryptobyte.String
	if !s.ReadUint16LengthPrefixed(&exts) {
		return errorf(ErrMalformed, "client hello: extensions length exceeds message")
	}
	if !s.Empty() {
		return errorf(ErrMalformed, "client hello: %d bytes after extensions", len(s))
	}
	c.Extensions = st.exts[:0]
	if n := countExtensions(exts); c.Extensions == nil || cap(c.Extensions) < n {
		c.Extensions = make([]uint16, 0, n)
	}
	err := eachExtension(exts, "client hello", func(typ uint16, data cryptobyte.String) bool {
		c.Extensions = append(c.Extensions, typ)
		return c.extension(typ, data, &arena, names)
	})
	c.store.exts = c.Extensions
	return err
}

// extension reads one extension's body; unknown extensions are skipped.
// Each known body must be consumed exactly, as crypto/tls requires.
func (c *ClientHello) extension(typ uint16, d cryptobyte.String, arena *[]uint16, names *Names) bool {
	switch typ {
	case extServerName:
		return c.readSNI(d, names)
	case extALPN:
		return c.readALPN(d)
	case extSupportedVersions:
		// RFC 8446 4.2.1: ProtocolVersion versions<2..254>.
		var l cryptobyte.String
		return d.ReadUint8LengthPrefixed(&l) && !l.Empty() &&
			readUint16s(l, &c.SupportedVersions, arena) && d.Empty()
	case extSignatureAlgorithms:
		// RFC 8446 4.2.3: SignatureScheme supported_signature_algorithms<2..2^16-2>.
		var l cryptobyte.String
		return d.ReadUint16LengthPrefixed(&l) && !l.Empty() &&
			readUint16s(l, &c.SignatureAlgorithms, arena) && d.Empty()
	case extSupportedGroups:
		// RFC 8446 4.2.7: NamedGroup named_group_list<2..2^16-1>.
		var l cryptobyte.String
		return d.ReadUint16LengthPrefixed(&l) && !l.Empty() &&
			readUint16s(l, &c.SupportedGroups, arena) && d.Empty()
	case extKeyShare:
		return c.readKeyShare(d, arena)
	case extECH:
		// The outer or inner ECH extension; its contents are opaque here.
		c.ECH = true
	}
	return true
}

// readSNI reads a ServerNameList (RFC 6066 3). Like crypto/tls it rejects a
// second host_name; other name types are skipped.
func (c *ClientHello) readSNI(d cryptobyte.String, names *Names) bool {
	var list cryptobyte.String
	if !d.ReadUint16LengthPrefixed(&list) || list.Empty() || !d.Empty() {
		return false
	}
	seen := false
	for !list.Empty() {
		var nameType uint8
		var name cryptobyte.String
		if !list.ReadUint8(&nameType) || !list.ReadUint16LengthPrefixed(&name) {
			return false
		}
		if nameType != 0 {
			continue
		}
		if seen {
			return false
		}
		seen = true
		c.SNI = names.String(name)
	}
	return true
}

// readALPN reads a ProtocolNameList (RFC 7301 3.1). Empty names, which the
// RFC forbids, are kept: JA4 defines how to print them.
func (c *ClientHello) readALPN(d cryptobyte.String) bool {
	var list cryptobyte.String
	if !d.ReadUint16LengthPrefixed(&list) || list.Empty() || !d.Empty() {
		return false
	}
	c.ALPN = c.store.alpn[:0]
	for !list.Empty() {
		var proto cryptobyte.String
		if !list.ReadUint8LengthPrefixed(&proto) {
			return false
		}
		c.ALPN = append(c.ALPN, alpnString(proto))
	}
	c.store.alpn = c.ALPN
	return true
}

// alpnString returns the protocol name as a string, without allocating for
// the names browsers offer.
func alpnString(b []byte) string {
	switch string(b) {
	case "h2":
		return "h2"
	case "http/1.1":
		return "http/1.1"
	case "http/1.0":
		return "http/1.0"
	case "h3":
		return "h3"
	}
	return string(b)
}

// readKeyShare reads KeyShareClientHello (RFC 8446 4.2.8). The list may be
// empty (a client asking for a HelloRetryRequest); entries may not.
func (c *ClientHello) readKeyShare(d cryptobyte.String, arena *[]uint16) bool {
	var list cryptobyte.String
	if !d.ReadUint16LengthPrefixed(&list) || !d.Empty() {
		return false
	}
	a := *arena
	start := len(a)
	for !list.Empty() {
		var group uint16
		var key cryptobyte.String
		if !list.ReadUint16(&group) || !list.ReadUint16LengthPrefixed(&key) || key.Empty() {
			return false
		}
		a = append(a, group)
	}
	c.KeyShareGroups = a[start:len(a):len(a)]
	*arena = a
	return true
}

// MaxVersion returns the highest non-GREASE version of SupportedVersions,
// or LegacyVersion when there is none (RFC 8446 4.2.1: servers ignore
// legacy_version when supported_versions is present).
func (c *ClientHello) MaxVersion() uint16 {
	var max uint16
	for _, v := range c.SupportedVersions {
		if !IsGREASE(v) && v > max {
			max = v
		}
	}
	if max == 0 {
		return c.LegacyVersion
	}
	return max
}

// readUint16s reads a whole list of uint16 values. The list's length has
// already been checked against the input by cryptobyte, so it may size the
// allocation; an odd length fails.
// The values go into arena, shared by the lists of one hello.
func readUint16s(l cryptobyte.String, out *[]uint16, arena *[]uint16) bool {
	if len(l)%2 != 0 {
		return false
	}
	a := *arena
	if n := len(l) / 2; cap(a)-len(a) < n {
		a = make([]uint16, 0, n) // not within one hello; stay correct anyway
	}
	start := len(a)
	for !l.Empty() {
		var v uint16
		l.ReadUint16(&v)
		a = append(a, v)
	}
	*out = a[start:len(a):len(a)]
	*arena = a
	return true
}

// countExtensions counts the extensions of a block, to size the list once;
// a damaged block counts what can be read (eachExtension reports it).
func countExtensions(exts cryptobyte.String) int {
	n := 0
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			break
		}
		n++
	}
	return n
}

// eachExtension walks an extension block (RFC 8446 4.2), rejecting a
// repeated type as crypto/tls does, and calls f with each body. msg names
// the message in errors.
func eachExtension(exts cryptobyte.String, msg string, f func(uint16, cryptobyte.String) bool) error {
	var seen extSet
	for !exts.Empty() {
		var typ uint16
		var data cryptobyte.String
		if !exts.ReadUint16(&typ) || !exts.ReadUint16LengthPrefixed(&data) {
			return errorf(ErrMalformed, "%s: extension list truncated", msg)
		}
		if !seen.add(typ) {
			return errorf(ErrMalformed, "%s: duplicate extension %s (0x%04x)", msg, ExtensionName(typ), typ)
		}
		if !f(typ, data) {
			return errorf(ErrMalformed, "%s: bad %s extension (0x%04x)", msg, ExtensionName(typ), typ)
		}
	}
	return nil
}

// extSet records extension types seen. Hellos carry about twenty, so a
// linear scan of a small array serves; a hostile list of thousands spills
// into a map so the check stays linear in the input.
type extSet struct {
	small [32]uint16
	n     int
	big   map[uint16]struct{}
}

// add reports whether t was not yet in the set, and adds it.
func (s *extSet) add(t uint16) bool {
	for _, v := range s.small[:s.n] {
		if v == t {
			return false
		}
	}
	if s.big != nil {
		if _, ok := s.big[t]; ok {
			return false
		}
		s.big[t] = struct{}{}
		return true
	}
	if s.n < len(s.small) {
		s.small[s.n] = t
		s.n++
		return true
	}
	s.big = map[uint16]struct{}{t: {}}
	return true
}
