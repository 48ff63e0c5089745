package dnsmsg

import (
	"encoding/binary"
	"github.com/qadiag/qadiag/decode/decodetest"
	"net/netip"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// cmpOpts compares netip values with == and treats nil and empty slices
// alike.
var cmpOpts = []cmp.Option{cmpopts.EquateComparable(netip.Addr{}), cmpopts.EquateEmpty()}

// fixture reads testdata/<name>.hex (decodetest.HexFixture's format).
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	return decodetest.HexFixture(tb, "testdata", name)
}

// fixtureNames lists the fixtures in testdata, without the .hex suffix.
func fixtureNames(tb testing.TB) []string {
	tb.Helper()
	return decodetest.HexFixtureNames(tb, "testdata")
}

// wireName encodes a dotted name as RFC 1035 3.1 labels.
func wireName(name string) []byte {
	var b []byte
	if name != "" {
		for _, l := range strings.Split(name, ".") {
			b = append(b, byte(len(l)))
			b = append(b, l...)
		}
	}
	return append(b, 0)
}

// rr is a resource record for msg; rdata is raw.
type rr struct {
	name  string
	typ   uint16
	ttl   uint32
	rdata []byte
}

// msg builds a DNS message with one question and the given answers. The
// header counts can be overridden by qd and an when they are >= 0.
func msg(id, flags uint16, qname string, qtype uint16, answers []rr, qd, an int) []byte {
	b := make([]byte, 12)
	binary.BigEndian.PutUint16(b[0:], id)
	binary.BigEndian.PutUint16(b[2:], flags)
	if qd < 0 {
		qd = 1
	}
	if an < 0 {
		an = len(answers)
	}
	binary.BigEndian.PutUint16(b[4:], uint16(qd))
	binary.BigEndian.PutUint16(b[6:], uint16(an))
	b = append(b, wireName(qname)...)
	b = binary.BigEndian.AppendUint16(b, qtype)
	b = binary.BigEndian.AppendUint16(b, 1)
	for _, r := range answers {
		b = append(b, wireName(r.name)...)
		b = binary.BigEndian.AppendUint16(b, r.typ)
		b = binary.BigEndian.AppendUint16(b, 1)
		b = binary.BigEndian.AppendUint32(b, r.ttl)
		b = binary.BigEndian.AppendUint16(b, uint16(len(r.rdata)))
		b = append(b, r.rdata...)
	}
	return b
}

// svcb builds SVCB/HTTPS RDATA (RFC 9460 2.2) with an "alpn=h2" parameter
// when alpn is set.
func svcb(priority uint16, target string, alpn bool) []byte {
	b := binary.BigEndian.AppendUint16(nil, priority)
	b = append(b, wireName(target)...)
	if alpn {
		b = append(b, 0, 1, 0, 3, 2, 'h', '2')
	}
	return b
}
