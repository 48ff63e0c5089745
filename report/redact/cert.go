package redact

import (
	"bytes"
	"net/netip"
	"strings"
)

// DER encodings of the X.509 attribute and extension identifiers certNames
// looks for (RFC 5280 4.1.2.4 and 4.2.1.6).
var (
	oidCommonName = []byte{0x06, 0x03, 0x55, 0x04, 0x03} // 2.5.4.3
	oidSAN        = []byte{0x06, 0x03, 0x55, 0x1d, 0x11} // 2.5.29.17
)

// certNames finds host names in X.509 certificates anywhere in p (a TLS
// 1.2 Certificate message, whole or the part this segment holds) without
// parsing the chain, which spans segments: a common name that is a host
// name, and the dNSName, iPAddress and rfc822Name entries of a
// subjectAltName extension. Names become their same-length pseudonyms
// (catalog names stay), addresses are mapped, e-mail addresses filled.
// The signature no longer verifies; Wireshark does not check it.
func (r *Redactor) certNames(p []byte) {
	for off := 0; ; {
		k := bytes.Index(p[off:], oidCommonName)
		if k < 0 {
			break
		}
		off += k + len(oidCommonName)
		if v, ok := derString(p, off); ok && looksHost(string(v)) {
			copy(v, r.sameLenSAN(string(v)))
		}
	}
	for off := 0; ; {
		k := bytes.Index(p[off:], oidSAN)
		if k < 0 {
			break
		}
		off += k + len(oidSAN)
		r.sanExtension(p[off:])
	}
}

// derString returns the value of the string that follows at off (UTF8,
// Printable, T61, IA5), if it was captured whole.
func derString(p []byte, off int) ([]byte, bool) {
	if off+2 > len(p) {
		return nil, false
	}
	switch p[off] {
	case 0x0c, 0x13, 0x14, 0x16:
	default:
		return nil, false
	}
	n, hdr, ok := derLen(p[off+1:])
	if !ok || off+1+hdr+n > len(p) {
		return nil, false
	}
	return p[off+1+hdr : off+1+hdr+n], true
}

// derLen reads a DER length (X.690 8.1.3): the length and the bytes it took.
func derLen(b []byte) (n, size int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if b[0] < 0x80 {
		return int(b[0]), 1, true
	}
	k := int(b[0] & 0x7f)
	if k == 0 || k > 3 || len(b) < 1+k {
		return 0, 0, false
	}
	for _, c := range b[1 : 1+k] {
		n = n<<8 | int(c)
	}
	return n, 1 + k, true
}

// sanExtension rewrites the GeneralNames of a subjectAltName extension
// whose identifier was just read: [critical BOOLEAN] OCTET STRING {
// SEQUENCE { GeneralName... } }.
func (r *Redactor) sanExtension(b []byte) {
	off := 0
	if len(b) >= 3 && b[0] == 0x01 && b[1] == 0x01 {
		off = 3
	}
	for _, tag := range []byte{0x04, 0x30} {
		if off >= len(b) || b[off] != tag {
			return
		}
		_, size, ok := derLen(b[off+1:])
		if !ok {
			return
		}
		off += 1 + size
	}
	for off+2 <= len(b) {
		tag := b[off]
		n, size, ok := derLen(b[off+1:])
		if !ok {
			return
		}
		v := b[off+1+size : min(off+1+size+n, len(b))]
		whole := len(v) == n
		switch tag {
		case 0x82: // dNSName
			if whole {
				copy(v, r.sameLenSAN(string(v)))
			} else {
				r.nameBytes(v, false)
			}
		case 0x87: // iPAddress
			switch {
			case n == 4 && whole:
				r.ip4At(v)
			case n == 16 && whole:
				r.ip6At(v)
			default:
				clear(v)
			}
		case 0x81: // rfc822Name
			fill(v)
		}
		if !whole || tag&0x80 == 0 {
			return // past the names, or cut
		}
		off += 1 + size + n
	}
}

// sameLenSAN is san with the length kept: a wildcard keeps its "*.".
func (r *Redactor) sameLenSAN(s string) string {
	if rest, ok := strings.CutPrefix(s, "*."); ok {
		if r.catalogSAN(s) {
			return s
		}
		return "*." + r.sameLenName(rest)
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if m := r.addr(a).String(); len(m) == len(s) {
			return m
		}
		return string(bytes.Repeat([]byte{'x'}, len(s)))
	}
	return r.sameLenName(s)
}
