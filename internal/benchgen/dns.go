package benchgen

import (
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// lookup holds every choice about one DNS exchange.
type lookup struct {
	host       int
	v6         bool // over IPv6 to the resolver
	site       int  // catalog site asked for; -1 for a name that does not exist
	name       string
	qtype      uint16
	rcode      uint8
	unanswered bool
	rtt        int64
}

// nxNames are names that do not resolve: WPAD and ISATAP probes, search
// suffix leftovers and typos, as Windows hosts ask for them.
var nxNames = []string{
	"wpad.corp.contoso.com", "isatap.corp.contoso.com", "wpad.contoso.local",
	"login.microsoftonline.com.corp.contoso.com", "remoteasistance.support.services.microsoft.com",
	"fileserver01.contoso.local", "printer-3f.corp.contoso.com",
}

// randomLookup draws a lookup of the benchmark mix: 2 % NXDOMAIN, 1 %
// SERVFAIL, 1 % unanswered; 65 % A, 25 % AAAA, 10 % HTTPS queries.
func (g *gen) randomLookup(r *rand.Rand) lookup {
	l := lookup{host: r.IntN(numHosts), v6: chance(r, g.cfg.IPv6Fraction), site: g.picker.pick(r, false)}
	l.name = sites[l.site].name
	switch x := r.Float64(); {
	case x < 0.02:
		l.rcode, l.site = decodetest.DNSRcodeNXDomain, -1
		l.name = nxNames[r.IntN(len(nxNames))]
	case x < 0.03:
		l.rcode = decodetest.DNSRcodeServFail
	case x < 0.04:
		l.unanswered = true
	}
	switch x := r.Float64(); {
	case x < 0.65:
		l.qtype = decodetest.DNSTypeA
	case x < 0.90:
		l.qtype = decodetest.DNSTypeAAAA
	default:
		l.qtype = decodetest.DNSTypeHTTPS
	}
	l.rtt = dur(r, 4*time.Millisecond, 1.0, 300*time.Microsecond, 300*time.Millisecond)
	return l
}

// answers returns the answer records of l: the site's CNAME, then its
// address when the query type has one (HTTPS and missing AAAA get NODATA).
func (l *lookup) answers() []decodetest.DNSAnswer {
	if l.site < 0 || l.rcode != decodetest.DNSRcodeNoError {
		return nil
	}
	s := &sites[l.site]
	var ans []decodetest.DNSAnswer
	owner := s.name
	if s.cname != "" {
		ans = append(ans, decodetest.DNSAnswer{TTL: 300, CNAME: s.cname})
		owner = s.cname
	}
	switch {
	case l.qtype == decodetest.DNSTypeA:
		ans = append(ans, decodetest.DNSAnswer{Name: owner, TTL: 60, Addr: s.v4})
	case l.qtype == decodetest.DNSTypeAAAA && s.v6.IsValid():
		ans = append(ans, decodetest.DNSAnswer{Name: owner, TTL: 60, Addr: s.v6})
	}
	return ans
}

// startDNS starts lookup l at time at: a query, then the answer after the
// resolver's round trip, or for an unanswered query one retry after 1 s
// (the Windows DNS client's first timeout).
func (g *gen) startDNS(l lookup, r *rand.Rand, at int64) {
	f := &flow{v6: l.v6, udp: true}
	h := &g.hosts[l.host]
	client, server := netip.AddrPortFrom(h.v4, uint16(49152+r.IntN(16384))), resolver4
	if l.v6 {
		client, server = netip.AddrPortFrom(h.v6, client.Port()), resolver6
	}
	id := uint16(r.Uint32())
	q := decodetest.UDP{
		Link: decodetest.Link{SrcMAC: h.mac, DstMAC: gatewayMAC},
		IP:   decodetest.IP{TTL: 128, IPID: uint16(r.Uint32())},
		Src:  client, Dst: server,
	}
	resp := decodetest.UDP{
		Link: decodetest.Link{SrcMAC: gatewayMAC, DstMAC: h.mac, Pad: true},
		IP:   decodetest.IP{TTL: 64, IPID: uint16(r.Uint32())},
		Src:  server, Dst: client,
	}
	s := &script{f: f, r: r, t: at}
	var buf, msg []byte
	g.start(f, func(yield func(int64) bool) {
		s.yield = yield
		msg = decodetest.AppendDNSQuery(msg[:0], id, l.name, l.qtype)
		q.Payload = msg
		if buf = q.AppendFrame(buf[:0]); !s.emit(buf) {
			return
		}
		if l.unanswered {
			s.t += int64(time.Second)
			q.IPID++
			buf = q.AppendFrame(buf[:0])
			s.emit(buf)
			return
		}
		s.t += l.rtt
		resp.Payload = decodetest.AppendDNSResponse(msg[:0], id, l.name, l.qtype, l.rcode, l.answers())
		buf = resp.AppendFrame(buf[:0])
		s.emit(buf)
	})
}
