package tlsmsg

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
)

// JA4 returns the FoxIO JA4 fingerprint of the ClientHello for TLS over TCP
// ("t" prefix), as specified in FoxIO-LLC/ja4 technical_details/JA4.md
// (JA4 is BSD-3-Clause; the JA4+ family is not implemented here):
//
//	t 13 d 15 16 h2 _ 8daaf6152771 _ e5627efa2ab1
//
// that is: transport; version (highest non-GREASE supported_versions entry,
// else legacy_version); "d" if the server_name extension is present, else
// "i"; the number of cipher suites and of extensions, GREASE excluded,
// capped at 99; the first and last characters of the first ALPN value;
// then the first 12 hex digits of the SHA-256 of the sorted cipher list, and
// of the sorted extension list without server_name and ALPN followed by the
// signature algorithms in wire order. GREASE values are ignored everywhere.
func (c *ClientHello) JA4() string {
	a, ciphers, exts := c.ja4Parts()
	return a + "_" + hash12(ciphers) + "_" + hash12(exts)
}

// JA4Raw returns the unhashed form of JA4 (FoxIO's "JA4_r"): the same first
// part followed by the sorted cipher list and the extension and signature
// algorithm lists themselves.
func (c *ClientHello) JA4Raw() string {
	a, ciphers, exts := c.ja4Parts()
	return a + "_" + ciphers + "_" + exts
}

func (c *ClientHello) ja4Parts() (a, ciphers, exts string) {
	suites := withoutGREASE(c.CipherSuites)
	all := withoutGREASE(c.Extensions)
	b := make([]byte, 0, 10)
	b = append(b, 't')
	b = append(b, ja4Version(c.MaxVersion())...)
	if slices.Contains(all, extServerName) {
		b = append(b, 'd')
	} else {
		b = append(b, 'i')
	}
	b = appendCount(b, len(suites))
	b = appendCount(b, len(all))
	first := ""
	if len(c.ALPN) > 0 {
		first = c.ALPN[0]
	}
	b = append(b, ja4ALPN(first)...)

	slices.Sort(suites)
	ext := slices.DeleteFunc(all, func(t uint16) bool { return t == extServerName || t == extALPN })
	slices.Sort(ext)
	x := appendHexList(nil, ext)
	if sigs := withoutGREASE(c.SignatureAlgorithms); len(x) > 0 && len(sigs) > 0 {
		x = append(x, '_')
		x = appendHexList(x, sigs)
	}
	return string(b), string(appendHexList(nil, suites)), string(x)
}

// ja4Version maps a version to JA4's two characters; unknown is "00".
func ja4Version(v uint16) string {
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// ja4ALPN returns the first and last characters of the first ALPN value:
// "00" if it is absent or empty; the characters themselves when both are
// ASCII alphanumerics (one character counts as both, as the specification
// says; FoxIO's Rust and Python tools print "x0" for a lone "x" instead);
// else the first and last digits of the value's hex encoding.
func ja4ALPN(p string) string {
	if p == "" {
		return "00"
	}
	first, last := p[0], p[len(p)-1]
	if isAlnum(first) && isAlnum(last) {
		return string([]byte{first, last})
	}
	h := hex.EncodeToString([]byte(p))
	return string([]byte{h[0], h[len(h)-1]})
}

func isAlnum(c byte) bool {
	return '0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z'
}

// hash12 returns the first 12 hex digits of the SHA-256 of s, or twelve
// zeros for an empty list (JA4.md "Cipher hash", "Extension hash").
func hash12(s string) string {
	if s == "" {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}

func withoutGREASE(vs []uint16) []uint16 {
	out := make([]uint16, 0, len(vs))
	for _, v := range vs {
		if !IsGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

// appendCount appends n as two decimal digits, capped at 99.
func appendCount(b []byte, n int) []byte {
	n = min(n, 99)
	if n < 10 {
		b = append(b, '0')
	}
	return strconv.AppendInt(b, int64(n), 10)
}

// appendHexList appends vs as comma-separated 4-digit lower-case hex.
func appendHexList(b []byte, vs []uint16) []byte {
	for i, v := range vs {
		if i > 0 {
			b = append(b, ',')
		}
		b = hex.AppendEncode(b, []byte{byte(v >> 8), byte(v)})
	}
	return b
}
