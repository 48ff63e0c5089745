package scenario

import (
	"net/netip"
	"time"

	"github.com/pion/stun/v3"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// udp captures one UDP datagram; from the client it carries TTL 128 and
// the given IP ID, towards the client the peer's TTL.
func (c *capture) udp(at time.Duration, src, dst netip.AddrPort, ttl uint8, ipid uint16, payload []byte) handle {
	fromClient := src.Addr() == c.host.v4 || src.Addr() == c.host.v6
	u := decodetest.UDP{Link: c.linkFrom(fromClient), IP: decodetest.IP{TTL: ttl, IPID: ipid}, Src: src, Dst: dst, Payload: payload}
	return c.add(at, u.Frame())
}

// dnsResolverRTT is how long the resolver on the LAN takes to answer from
// its cache or upstream.
const dnsResolverRTT = 9 * time.Millisecond

// dnsRTT is the time the resolver takes to answer one query.
func (c *capture) dnsRTT() time.Duration { return c.jitter(dnsResolverRTT + c.slow) }

// query is one DNS question the client asks: the question, its transaction
// ID and the source port it goes from.
type query struct {
	name  string
	qtype uint16
	id    uint16
	src   netip.AddrPort
	dst   netip.AddrPort
}

// newQuery prepares a question to the client's resolver; v6 sends it over
// IPv6 when the client has an IPv6 resolver.
func (c *capture) newQuery(name string, qtype uint16, v6 bool) query {
	resolver, self := c.host.dns4, c.host.v4
	if v6 && c.host.dns6.IsValid() {
		resolver, self = c.host.dns6, c.host.v6
	}
	return query{
		name: name, qtype: qtype, id: uint16(c.r.Uint32()),
		src: netip.AddrPortFrom(self, c.randomPort()),
		dst: netip.AddrPortFrom(resolver, 53),
	}
}

// ask captures the query at.
func (c *capture) ask(at time.Duration, q query) handle {
	return c.udp(at, q.src, q.dst, 128, uint16(c.r.Uint32()), decodetest.DNSQuery(q.id, q.name, q.qtype))
}

// answer captures the resolver's response to q at.
func (c *capture) answer(at time.Duration, q query, rcode uint8, answers []decodetest.DNSAnswer) handle {
	msg := decodetest.DNSResponse(q.id, q.name, q.qtype, rcode, answers)
	return c.udp(at, q.dst, q.src, resolverTTL, uint16(c.r.Uint32()), msg)
}

// lookup captures a query at and its answer one resolver RTT later.
func (c *capture) lookup(at time.Duration, name string, qtype uint16, rcode uint8, answers []decodetest.DNSAnswer) (q, r handle) {
	qq := c.newQuery(name, qtype, false)
	return c.ask(at, qq), c.answer(at+c.dnsRTT(), qq, rcode, answers)
}

// chain returns srv's DNS answer: its CNAME chain, then the address of the
// family of qtype.
func (srv *server) chain(qtype uint16) []decodetest.DNSAnswer {
	var out []decodetest.DNSAnswer
	owner := srv.name
	for _, cn := range srv.cnames {
		out = append(out, decodetest.DNSAnswer{Name: owner, TTL: 300, CNAME: cn})
		owner = cn
	}
	addr := srv.v4
	if qtype == decodetest.DNSTypeAAAA {
		addr = srv.v6
	}
	if addr.IsValid() {
		out = append(out, decodetest.DNSAnswer{Name: owner, TTL: 60, Addr: addr})
	}
	return out
}

// resolve captures the lookups of srv's name the client makes before it
// connects at: A only on an IPv4-only client, A and AAAA on a dual-stack
// one. It returns the time the last answer arrived and the handles of the
// query and answer frames.
func (c *capture) resolve(at time.Duration, srv *server) (time.Duration, []handle) {
	types := []uint16{decodetest.DNSTypeA}
	if c.host.v6.IsValid() {
		types = append(types, decodetest.DNSTypeAAAA)
	}
	var hs []handle
	at += c.between(0, 800*time.Microsecond)
	end := at
	for i, t := range types {
		q := c.newQuery(srv.name, t, c.host.dns6.IsValid())
		qt := at + time.Duration(i)*c.jitter(150*time.Microsecond)
		rt := qt + c.dnsRTT()
		hs = append(hs, c.ask(qt, q), c.answer(rt, q, decodetest.DNSRcodeNoError, srv.chain(t)))
		end = max(end, rt)
	}
	return end, hs
}

// stunFlow is one UDP socket of the client talking STUN or TURN to a
// relay; its IP IDs count up.
type stunFlow struct {
	c         *capture
	local     netip.AddrPort
	remote    netip.AddrPort
	ipid      uint16
	serverTTL uint8
	rtt       time.Duration
}

// stunTo opens a client socket towards srv's port.
func (c *capture) stunTo(srv *server, port uint16) *stunFlow {
	dst := netip.AddrPortFrom(srv.v4, port)
	return &stunFlow{
		c: c, local: netip.AddrPortFrom(c.clientAddr(dst.Addr()), c.ephemeral()), remote: dst,
		ipid: uint16(c.r.Uint32()), serverTTL: srv.ttl, rtt: srv.rtt + c.slow,
	}
}

// out captures a datagram from the client at.
func (f *stunFlow) out(at time.Duration, msg []byte) handle {
	f.ipid++
	return f.c.udp(at, f.local, f.remote, 128, f.ipid, msg)
}

// in captures a datagram from the relay at.
func (f *stunFlow) in(at time.Duration, msg []byte) handle {
	return f.c.udp(at, f.remote, f.local, f.serverTTL, uint16(f.c.r.Uint32()), msg)
}

// stunSchedule is when a STUN client over UDP sends a request and its
// retransmissions: RTO 500 ms doubling, Rc = 7 (RFC 8489 6.2.1), so at
// 0, 0.5, 1.5, 3.5, 7.5, 15.5 and 31.5 s.
var stunSchedule = []time.Duration{
	0, 500 * time.Millisecond, 1500 * time.Millisecond, 3500 * time.Millisecond,
	7500 * time.Millisecond, 15500 * time.Millisecond, 31500 * time.Millisecond,
}

// unanswered captures msg sent at and retransmitted on stunSchedule, with
// no answer.
func (f *stunFlow) unanswered(at time.Duration, msg []byte) []handle {
	hs := make([]handle, 0, len(stunSchedule))
	for _, d := range stunSchedule {
		hs = append(hs, f.out(at+d+f.c.between(0, 2*time.Millisecond), msg))
	}
	return hs
}

// txID draws a STUN transaction ID.
func (c *capture) txID() [stun.TransactionIDSize]byte {
	return decodetest.STUNTxID(c.r)
}
