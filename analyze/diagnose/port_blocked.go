package diagnose

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode"
)

// detectPortBlocked finds connections to Quick Assist that never got past
// the SYN (research/heuristics.md section 7):
//
//   - SYNs retransmitted (at least two, RFC 6298 backoff) with no SYN-ACK,
//     reset or ICMP: Zeek S0, a silent drop. Strong when other servers in
//     the same capture answer SYNs (the differential of row 2: the capture
//     does see inbound packets, so the silence is the network's); medium
//     without, because a capture missing inbound traffic looks the same
//     (section 12);
//   - a SYN answered by a reset: Zeek REJ, a closed port or a firewall's
//     reset action (row 3, medium); the reset's hop count against the same
//     server's SYN-ACK on another port (medium) or against the other
//     servers (weak) says whether a middlebox sent it.
//
// Attempts are not blamed when the same address and port, or the same name
// on the same port, answered on another connection: that is Happy Eyeballs
// abandoning IPv6 once IPv4 works (RFC 8305, row 4) or an ordinary lost SYN.
// The signal is wrong when the server itself is down, which the capture
// cannot tell from a drop; the Conclusive text says what can.
func detectPortBlocked(c *Context) []Finding {
	var order []string
	groups := map[string]*synGroup{}
	for q, f := range c.quickAssist {
		if f.Proto != decode.ProtoTCP {
			continue
		}
		out := synOutcome(f)
		if out == synAnswered {
			continue
		}
		nq := c.namedQA(f, q)
		if c.reachedElsewhere(f, nq.Host) {
			continue
		}
		g := groups[nq.Host]
		if g == nil {
			g = &synGroup{q: nq}
			groups[nq.Host] = g
			order = append(order, nq.Host)
		}
		if out == synDropped {
			g.dropped = append(g.dropped, f)
		} else {
			g.rejected = append(g.rejected, f)
		}
	}
	var fs []Finding
	for _, h := range order {
		fs = append(fs, c.portBlockedFinding(groups[h]))
	}
	return fs
}

// synGroup is the failed connection attempts to one Quick Assist name.
type synGroup struct {
	q                 *QAFlow
	dropped, rejected []*analyze.Flow
}

// How a TCP connection attempt ended, seen from the client.
const (
	synAnswered = iota // a SYN-ACK, an ICMP error, or too little to tell
	synDropped         // Zeek S0 with retransmitted SYNs
	synRejected        // Zeek REJ: the SYN got a reset
)

// minSYNs is how many SYNs make a silent drop: the first retransmission
// comes after the 1 s initial RTO (RFC 6298; research/heuristics.md
// section 7), so a capture that ends sooner has not waited for an answer.
const minSYNs = 2

func synOutcome(f *analyze.Flow) int {
	cl, srv := &f.Dir[analyze.FromClient], &f.Dir[analyze.FromServer]
	if f.SYNFrame == 0 || f.SYNACKFrame != 0 || f.ICMPCount > 0 {
		return synAnswered // an ICMP error is icmp_unreachable's evidence
	}
	switch {
	case srv.Packets == 0 && cl.SYNs >= minSYNs:
		return synDropped
	case srv.RSTs > 0 && srv.Packets == uint64(srv.RSTs):
		return synRejected
	}
	return synAnswered
}

// reachedElsewhere reports whether another connection to f's server address
// and port, or to host on the same port, was answered: a SYN-ACK for TCP,
// any packet from the server for UDP.
func (c *Context) reachedElsewhere(f *analyze.Flow, host string) bool {
	for _, list := range [2][]*analyze.Flow{c.FlowsTo(f.Server.Addr()), c.FlowsNamed(host)} {
		for _, g := range list {
			if g == f || g.Proto != f.Proto || !answered(g) || g.Server.Port() != f.Server.Port() {
				continue
			}
			if g.Server == f.Server || flowNamed(g, host) {
				return true
			}
		}
	}
	return false
}

// answered reports whether the server of a flow answered at all: a SYN-ACK
// for TCP, any packet for UDP.
func answered(f *analyze.Flow) bool {
	if f.Proto == decode.ProtoTCP {
		return f.SYNACKFrame != 0
	}
	return f.Dir[analyze.FromServer].Packets > 0
}

// flowNamed reports whether a flow's SNI or DNS names include host.
func flowNamed(f *analyze.Flow, host string) bool {
	if f.TLS != nil && strings.EqualFold(strings.TrimSuffix(f.TLS.SNI, "."), host) {
		return true
	}
	for _, n := range f.Names() {
		if strings.EqualFold(strings.TrimSuffix(n.Name, "."), host) {
			return true
		}
	}
	return false
}

// namedQA returns q, or, for a flow known by DNS, the same flow under the
// most specific Quick Assist name its addresses were resolved from: a CNAME
// chain ends in a provider's name (…cloudapp.azure.com) that only a broad
// catalog entry matches, while the name the client asked for is the one a
// firewall rule must allow.
func (c *Context) namedQA(f *analyze.Flow, q *QAFlow) *QAFlow {
	if q.By != ByDNS {
		return q
	}
	best := *q
	rank := func(required, broad bool) int {
		r := 0
		if required {
			r += 2
		}
		if !broad {
			r++
		}
		return r
	}
	for _, n := range f.Names() {
		m, ok := c.Cat.MatchHost(n.Name)
		if ok && rank(m.Required, m.Broad) > rank(best.Required, best.Broad) {
			best = QAFlow{ID: q.ID, Host: strings.ToLower(strings.TrimSuffix(n.Name, ".")), Role: m.Role.String(), By: ByDNS,
				Pattern: m.Pattern, Required: m.Required, Broad: m.Broad}
		}
	}
	return &best
}

func (c *Context) portBlockedFinding(g *synGroup) Finding {
	fd := Finding{Hosts: []string{g.q.Host}}
	var weights []float64
	var addrs []string
	for _, f := range append(slices.Clone(g.dropped), g.rejected...) {
		fd.Flows = append(fd.Flows, f.ID)
		if a := f.Server.String(); !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	where := strings.Join(addrs, ", ")
	other := c.answeringFlow(g)
	if len(g.dropped) > 0 {
		ev, w := c.dropEvidence(g, other)
		fd.Evidence = append(fd.Evidence, ev...)
		weights = append(weights, w...)
	}
	if len(g.rejected) > 0 {
		ev, w := c.rejectEvidence(g)
		fd.Evidence = append(fd.Evidence, ev...)
		weights = append(weights, w...)
	}
	if len(fd.Evidence) > maxEvidence {
		fd.Evidence = fd.Evidence[:maxEvidence]
	}
	fd.Score = Combine(weights...)
	fd.Remediation = []string{c.allowRule(g.q),
		fmt.Sprintf("On the perimeter firewall, allow outbound TCP to %s; where rules list addresses rather than names, add the addresses %s resolves to (they change: prefer an FQDN rule)", where, g.q.Host)}
	switch {
	case len(g.dropped) > 0:
		fd.Explanation = fmt.Sprintf("The connections to %s (%s) never got an answer: the SYNs were retransmitted with no SYN-ACK, reset or ICMP error, so a firewall or filter on the path silently drops them.", g.q.Host, where)
		fd.Conclusive = fmt.Sprintf("the firewall's deny log for %s, or a capture on its outside interface that lacks these SYNs, would settle it", where)
		if other == nil {
			fd.Conclusive = "no server in this capture answered a SYN, so the capture may miss inbound traffic (a filter, a mirror port or the wrong interface); a capture that shows other servers answering, or " + fd.Conclusive
		}
	default:
		fd.Explanation = fmt.Sprintf("The connections to %s (%s) were refused: each SYN got a TCP reset and no SYN-ACK, from a firewall's reset action or a closed port.", g.q.Host, where)
		fd.Conclusive = fmt.Sprintf("the firewall's log of reset or deny actions for %s, or a capture outside the firewall that shows the server's own SYN-ACK, would settle it", where)
	}
	return fd
}

// answeringFlow is the first connection to another server address whose SYN
// was answered, preferring one to the same address on another port (a port
// filter) and then one of the same address family: the differential that
// shows the capture sees answers.
func (c *Context) answeringFlow(g *synGroup) *analyze.Flow {
	blocked := map[netip.Addr]bool{}
	var v6 bool
	for _, f := range append(slices.Clone(g.dropped), g.rejected...) {
		blocked[f.Server.Addr()] = true
		v6 = v6 || f.Server.Addr().Is6()
	}
	var best *analyze.Flow
	score := -1
	for _, f := range c.Flows {
		if f.Proto != decode.ProtoTCP || f.SYNACKFrame == 0 || f.SYNFrame == 0 {
			continue
		}
		s := 0
		switch {
		case blocked[f.Server.Addr()]:
			s = 2
		case f.Server.Addr().Is6() == v6:
			s = 1
		}
		if s > score {
			best, score = f, s
		}
	}
	return best
}

// maxDropLines bounds the connections described one by one, so that the
// differential still fits in maxEvidence.
const maxDropLines = 4

func (c *Context) dropEvidence(g *synGroup, answered *analyze.Flow) ([]Evidence, []float64) {
	var ev []Evidence
	for i, f := range g.dropped {
		cl := &f.Dir[analyze.FromClient]
		if i == maxDropLines {
			var frames []uint64
			for _, f := range g.dropped[i:] {
				frames = append(frames, f.SYNFrame)
			}
			ev = append(ev, Evidence{Text: fmt.Sprintf("%d more connections to %s got no answer either", len(frames), g.q.Host), Frames: frames})
			break
		}
		frames := []uint64{f.SYNFrame, cl.LastFrame}
		ev = append(ev, Evidence{
			Text: fmt.Sprintf("%d SYNs to %s over %s (frames %d to %d) got no SYN-ACK, reset or ICMP error (Zeek %s)",
				cl.SYNs, f.Server, cl.Last().Sub(cl.First()).Round(time.Millisecond), f.SYNFrame, cl.LastFrame, f.ConnState()),
			Frames: frames, Filter: AndFrames(FlowFilter(f), frames...),
			Values: []Value{{Name: "syns", Num: float64(cl.SYNs)}, {Name: "wait", Num: ms(cl.Last().Sub(cl.First())), Unit: "ms"}},
		})
	}
	// A silent drop is strong only when the capture shows that answers do
	// come in (research/heuristics.md section 7 row 2, section 12).
	w := []float64{Medium}
	if answered != nil {
		w[0] = Strong
		what := "another server answered a SYN"
		if slices.ContainsFunc(g.dropped, func(f *analyze.Flow) bool { return f.Server.Addr() == answered.Server.Addr() }) {
			what = "the same address answered on another port: a port filter"
		}
		frames := []uint64{answered.SYNFrame, answered.SYNACKFrame}
		ev = append(ev, Evidence{
			Text: fmt.Sprintf("meanwhile %s: %s sent a SYN-ACK in frame %d after %.1f ms, so the capture does see inbound packets",
				what, answered.Server, answered.SYNACKFrame, ms(answered.RTT)),
			Frames: frames, Filter: AndFrames(FlowFilter(answered), frames...),
		})
	} else {
		ev = append(ev, Evidence{Text: "no server in the capture answered any SYN: the capture may be missing inbound traffic, so the silence is weaker evidence"})
	}
	if len(g.dropped) >= 2 {
		// Every attempt failed alike: not one lost SYN (section 7 row 1).
		w = append(w, Weak)
	}
	return ev, w
}

func (c *Context) rejectEvidence(g *synGroup) ([]Evidence, []float64) {
	var ev []Evidence
	w := []float64{Medium} // section 7 row 3: a closed port looks the same
	near := c.nearestServerHops(g)
	for i, f := range g.rejected {
		r := firstServerReset(f)
		if r == nil {
			continue
		}
		frames := []uint64{f.SYNFrame, r.Frame}
		text := fmt.Sprintf("the SYN to %s (frame %d) was answered by a reset in frame %d, TTL %d (%d hops away), and no SYN-ACK (Zeek REJ)",
			f.Server, f.SYNFrame, r.Frame, r.TTL, hops(r.TTL))
		values := []Value{{Name: "reset_ttl", Num: float64(r.TTL)}}
		if i == 0 {
			var extra float64
			text, values, extra = rejectTTL(text, values, r.TTL, near, c.sameServerTTL(f))
			if extra > 0 {
				w = append(w, extra)
			}
		}
		ev = append(ev, Evidence{Text: text, Frames: frames, Filter: AndFrames(FlowFilter(f), frames...), Values: values})
	}
	return ev, w
}

func firstServerReset(f *analyze.Flow) *analyze.Reset {
	rs := f.Resets()
	for i := range rs {
		if rs[i].From == analyze.FromServer {
			return &rs[i]
		}
	}
	return nil
}

// rejectTTL compares a reset's hop count with the same server's SYN-ACK on
// another port (base, 0 when none) or else with the nearest server that
// answered (near, -1 when none), as for injected resets: three or more hops
// apart is another box (section 1 row 7, section 7 row 3). It returns the
// text and values extended and the weight the comparison adds.
func rejectTTL(text string, values []Value, ttl uint8, near int, base uint8) (string, []Value, float64) {
	switch {
	case base != 0 && absInt(hops(ttl)-hops(base)) >= 3:
		text += fmt.Sprintf("; the same server's SYN-ACK on another port came with TTL %d (%d hops): a firewall sent the reset", base, hops(base))
		return text, append(values, Value{Name: "server_ttl", Num: float64(base)}), Medium
	case base != 0:
		text += fmt.Sprintf("; the same server's SYN-ACK on another port came from as far (TTL %d): the server itself refused, the port is closed there", base)
		return text, append(values, Value{Name: "server_ttl", Num: float64(base)}), 0
	case near >= 0 && hops(ttl)+3 <= near:
		text += fmt.Sprintf("; every server that answered is at least %d hops away, so a nearer box, likely a firewall, sent it", near)
		return text, append(values, Value{Name: "nearest_server_hops", Num: float64(near)}), Weak
	case near >= 0:
		text += fmt.Sprintf("; servers that answered are %d or more hops away, so the reset may be the server's own (a closed port)", near)
	}
	return text, values, 0
}

// sameServerTTL is the TTL of a SYN-ACK from f's server address on another
// connection, 0 when there is none.
func (c *Context) sameServerTTL(f *analyze.Flow) uint8 {
	for _, g := range c.FlowsTo(f.Server.Addr()) {
		if g != f && g.SYNACKFrame != 0 && g.Server.Addr() == f.Server.Addr() {
			return g.Dir[analyze.FromServer].TTLFirst
		}
	}
	return 0
}

// nearestServerHops is the smallest hop count of a SYN-ACK from a public
// server outside the group, or -1 when none answered.
func (c *Context) nearestServerHops(g *synGroup) int {
	near := -1
	for _, f := range c.Flows {
		if f.SYNACKFrame == 0 || isBogon(f.Server.Addr()) || slices.Contains(g.rejected, f) {
			continue
		}
		if h := hops(f.Dir[analyze.FromServer].TTLFirst); near < 0 || h < near {
			near = h
		}
	}
	return near
}

func absInt(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
