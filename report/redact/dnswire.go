package redact

import (
	"net/netip"
	"slices"
	"strings"
)

// dnsTCP redacts DNS messages over TCP, each after its 2-byte length (RFC
// 1035 4.2.2); a message cut by the segment's end becomes zeros.
func (r *Redactor) dnsTCP(p []byte) {
	off := 0
	for off+2 <= len(p) {
		n := int(be16(p[off:]))
		if off+2+n > len(p) {
			break
		}
		r.dnsMessage(p[off+2 : off+2+n])
		off += 2 + n
	}
	clear(p[min(off+2, len(p)):])
}

// dnsMessage rewrites a DNS message in place (RFC 1035 4.1): every name,
// label by label with labels of the same length, so that compression
// pointers (4.1.4) still point where they did; A and AAAA addresses; names
// in NS, CNAME, PTR, DNAME, MX, SRV, SOA, SVCB and HTTPS data and SVCB
// address hints. Data of other types (TXT, EDNS options with the client
// subnet) becomes zeros, as does everything after a part that does not
// parse. Answers to a catalog name are Microsoft's addresses and stay.
func (r *Redactor) dnsMessage(b []byte) {
	if len(b) < 12 {
		clear(b)
		return
	}
	orig := slices.Clone(b)
	off, catalogQ := 12, false
	for range be16(b[4:]) {
		name, end, ok := r.dnsName(orig, b, off)
		if !ok || end+4 > len(b) {
			clear(b[off:])
			return
		}
		catalogQ = catalogQ || r.catalogName(name)
		off = end + 4
	}
	records := int(be16(b[6:])) + int(be16(b[8:])) + int(be16(b[10:]))
	for range records {
		name, end, ok := r.dnsName(orig, b, off)
		if !ok || end+10 > len(b) {
			clear(b[off:])
			return
		}
		typ, n := be16(orig[end:]), int(be16(orig[end+8:]))
		rd := end + 10
		if rd+n > len(b) {
			clear(b[rd:])
			return
		}
		r.rdata(orig, b, rd, n, typ, catalogQ || r.catalogName(name))
		off = rd + n
	}
	clear(b[off:])
}

// rdata rewrites one record's data at b[rd:rd+n].
func (r *Redactor) rdata(orig, b []byte, rd, n int, typ uint16, microsoft bool) {
	switch typ {
	case 1, 28: // A, AAAA
		if n != 4 && n != 16 {
			clear(b[rd : rd+n])
			return
		}
		a, _ := netip.AddrFromSlice(orig[rd : rd+n])
		if microsoft {
			r.keepAddr(a)
		}
		copy(b[rd:], r.addr(a).AsSlice())
	case 2, 5, 12, 39: // NS, CNAME, PTR, DNAME
		r.dnsName(orig, b, rd)
	case 15: // MX: preference, exchange
		r.dnsName(orig, b, rd+2)
	case 33: // SRV: priority, weight, port, target
		r.dnsName(orig, b, rd+6)
	case 6: // SOA: mname, rname, then numbers
		if _, end, ok := r.dnsName(orig, b, rd); ok {
			r.dnsName(orig, b, end)
		}
	case 64, 65: // SVCB, HTTPS (RFC 9460 2.2): priority, target, params
		if _, end, ok := r.dnsName(orig, b, rd+2); ok && end <= rd+n {
			r.svcParams(b[end:rd+n], microsoft)
		}
	default:
		clear(b[rd : rd+n])
	}
}

// svcParams maps the ipv4hint and ipv6hint parameters (RFC 9460 7.3).
func (r *Redactor) svcParams(p []byte, microsoft bool) {
	for off := 0; off+4 <= len(p); {
		key, n := be16(p[off:]), int(be16(p[off+2:]))
		v := p[off+4 : min(off+4+n, len(p))]
		size := 0
		switch key {
		case 4: // ipv4hint
			size = 4
		case 6: // ipv6hint
			size = 16
		}
		for i := 0; size > 0 && i+size <= len(v); i += size {
			a, _ := netip.AddrFromSlice(v[i : i+size])
			if microsoft {
				r.keepAddr(a)
			}
			copy(v[i:], r.addr(a).AsSlice())
		}
		off += 4 + n
	}
}

// dnsName reads the name at off in orig, following compression pointers
// backwards only (which bounds the walk), and writes each label's
// pseudonym at the label's own position in b. It returns the name and the
// offset after it where it starts.
func (r *Redactor) dnsName(orig, b []byte, off int) (string, int, bool) {
	var pos []int
	var labels []string
	end, at := -1, off
	for {
		if at >= len(orig) {
			return "", 0, false
		}
		c := int(orig[at])
		switch {
		case c == 0:
			if end < 0 {
				end = at + 1
			}
			r.writeLabels(b, pos, labels)
			return strings.Join(labels, "."), end, true
		case c&0xc0 == 0xc0:
			if at+1 >= len(orig) {
				return "", 0, false
			}
			ptr := (c&0x3f)<<8 | int(orig[at+1])
			if end < 0 {
				end = at + 2
			}
			if ptr >= at {
				return "", 0, false
			}
			at = ptr
		case c&0xc0 != 0 || at+1+c > len(orig) || len(labels) >= 127:
			return "", 0, false
		default:
			// A dot inside a label would split it when the name is
			// joined; it maps as any other character.
			label := strings.ReplaceAll(string(orig[at+1:at+1+c]), ".", "_")
			pos, labels = append(pos, at), append(labels, label)
			at += 1 + c
		}
	}
}

// writeLabels writes the pseudonym of each label: the first label of the
// pseudonym of the name from that label on, which pseudoName makes the
// same wherever the suffix occurs.
func (r *Redactor) writeLabels(b []byte, pos []int, labels []string) {
	for i, p := range pos {
		m := r.sameLenName(strings.Join(labels[i:], "."))
		first, _, _ := strings.Cut(m, ".")
		if len(first) == len(labels[i]) && first != labels[i] {
			copy(b[p+1:], first)
		}
	}
}
