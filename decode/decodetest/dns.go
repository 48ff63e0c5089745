package decodetest

import (
	"encoding/binary"
	"net/netip"
	"strings"
)

// DNS record types (RFC 1035 3.2.2, RFC 3596, RFC 9460).
const (
	DNSTypeA     uint16 = 1
	DNSTypeCNAME uint16 = 5
	DNSTypeAAAA  uint16 = 28
	DNSTypeHTTPS uint16 = 65
)

// DNS response codes (RFC 1035 4.1.1).
const (
	DNSRcodeNoError  uint8 = 0
	DNSRcodeServFail uint8 = 2
	DNSRcodeNXDomain uint8 = 3
	DNSRcodeRefused  uint8 = 5
)

// DNSAnswer is one answer record: a CNAME when CNAME is set, else an A or
// AAAA record for Addr. An empty Name is the question name.
type DNSAnswer struct {
	Name  string
	TTL   uint32
	CNAME string
	Addr  netip.Addr
}

// dnsNames remembers where names were written, for compression pointers
// (RFC 1035 4.1.4).
type dnsNames struct {
	name [8]string
	off  [8]int
	n    int
}

func (d *dnsNames) find(name string) (int, bool) {
	for i := range d.n {
		if strings.EqualFold(d.name[i], name) {
			return d.off[i], true
		}
	}
	return 0, false
}

// appendName writes name at msg offset off (relative to the message start
// at base), as a pointer when it was written before.
func (d *dnsNames) appendName(dst []byte, base int, name string) []byte {
	name = strings.TrimSuffix(name, ".")
	if off, ok := d.find(name); ok {
		return binary.BigEndian.AppendUint16(dst, 0xc000|uint16(off))
	}
	if d.n < len(d.name) && len(dst)-base < 0x3fff {
		d.name[d.n], d.off[d.n] = name, len(dst)-base
		d.n++
	}
	for name != "" {
		label, rest, _ := strings.Cut(name, ".")
		dst = append(dst, byte(len(label)))
		dst = append(dst, label...)
		name = rest
	}
	return append(dst, 0)
}

// appendDNSHeader writes the header (RFC 1035 4.1.1) and question.
func appendDNSHeader(dst []byte, names *dnsNames, id, flags uint16, name string, qtype uint16, answers int) []byte {
	base := len(dst)
	dst = binary.BigEndian.AppendUint16(dst, id)
	dst = binary.BigEndian.AppendUint16(dst, flags)
	dst = append(dst, 0, 1) // QDCOUNT
	dst = binary.BigEndian.AppendUint16(dst, uint16(answers))
	dst = append(dst, 0, 0, 0, 0) // NSCOUNT, ARCOUNT
	dst = names.appendName(dst, base, name)
	dst = binary.BigEndian.AppendUint16(dst, qtype)
	return append(dst, 0, 1) // class IN
}

// AppendDNSQuery appends a recursive query (RD set) for name and qtype.
func AppendDNSQuery(dst []byte, id uint16, name string, qtype uint16) []byte {
	var names dnsNames
	return appendDNSHeader(dst, &names, id, 0x0100, name, qtype, 0)
}

// DNSQuery returns AppendDNSQuery(nil, ...).
func DNSQuery(id uint16, name string, qtype uint16) []byte {
	return AppendDNSQuery(make([]byte, 0, 64), id, name, qtype)
}

// AppendDNSResponse appends a response (QR, RD, RA set) to the query for
// name and qtype with rcode and answers in order. Owner names already
// written are compressed.
func AppendDNSResponse(dst []byte, id uint16, name string, qtype uint16, rcode uint8, answers []DNSAnswer) []byte {
	var names dnsNames
	base := len(dst)
	dst = appendDNSHeader(dst, &names, id, 0x8180|uint16(rcode&0xf), name, qtype, len(answers))
	for _, a := range answers {
		owner := a.Name
		if owner == "" {
			owner = name
		}
		dst = names.appendName(dst, base, owner)
		typ := DNSTypeAAAA
		switch {
		case a.CNAME != "":
			typ = DNSTypeCNAME
		case a.Addr.Unmap().Is4():
			typ = DNSTypeA
		}
		dst = binary.BigEndian.AppendUint16(dst, typ)
		dst = append(dst, 0, 1)
		dst = binary.BigEndian.AppendUint32(dst, a.TTL)
		lenAt := len(dst)
		dst = append(dst, 0, 0)
		switch typ {
		case DNSTypeCNAME:
			dst = names.appendName(dst, base, a.CNAME)
		case DNSTypeA:
			v := a.Addr.Unmap().As4()
			dst = append(dst, v[:]...)
		default:
			v := a.Addr.As16()
			dst = append(dst, v[:]...)
		}
		binary.BigEndian.PutUint16(dst[lenAt:], uint16(len(dst)-lenAt-2))
	}
	return dst
}

// DNSResponse returns AppendDNSResponse(nil, ...).
func DNSResponse(id uint16, name string, qtype uint16, rcode uint8, answers []DNSAnswer) []byte {
	return AppendDNSResponse(make([]byte, 0, 128), id, name, qtype, rcode, answers)
}
