package diagnose

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode"
)

// detectICMPUnreachable finds ICMP and ICMPv6 destination unreachable errors
// that quote a Quick Assist connection (research/heuristics.md section 8;
// RFC 792, RFC 1812 5.2.7.1, RFC 4443 3.1):
//
//   - administratively prohibited (ICMP 3/9, 3/10, 3/13; ICMPv6 1/1,
//     1/5, 1/6): a filter's reject action, strong;
//   - net, host or port unreachable (ICMP 3/0, 3/1, 3/3; ICMPv6 1/0, 1/3,
//     1/4): a routing failure or a REJECT rule, medium;
//   - the same refusal on two or more packets or connections: medium more.
//
// The error's source address is the router or firewall that refused, and
// locates the filter. Errors followed by packets from the server are not
// blamed (RFC 1122 4.2.3.9 treats net and host unreachable as soft: the
// connection went on), nor are attempts to a name or address that another
// connection reached. Fragmentation needed (3/4) and Packet Too Big
// (ICMPv6 2) are path MTU signals, read by mtu_blackhole. The rule is wrong
// when the ICMP is forged; rate limiting makes absence prove nothing.
func detectICMPUnreachable(c *Context) []Finding {
	var order []string
	groups := map[string]*icmpGroup{}
	for q, f := range c.quickAssist {
		if len(f.ICMP()) == 0 {
			continue
		}
		var errs []analyze.ICMPError
		srvLast := f.Dir[analyze.FromServer].LastFrame
		served := c.addrAnswered(f)
		for _, e := range f.ICMP() {
			k, ok := unreachableKind(e)
			if !ok || !e.ToServer || e.Frame <= srvLast {
				continue
			}
			if k.port && served {
				continue // the address answers on another port: ICE and fallbacks try ports nobody serves
			}
			errs = append(errs, e)
		}
		if len(errs) == 0 {
			continue
		}
		nq := c.namedQA(f, q)
		if Established(f) || c.reachedElsewhere(f, nq.Host) {
			continue
		}
		g := groups[nq.Host]
		if g == nil {
			g = &icmpGroup{q: nq}
			groups[nq.Host] = g
			order = append(order, nq.Host)
		}
		g.flows = append(g.flows, f)
		g.errs = append(g.errs, errs)
	}
	var fs []Finding
	for _, h := range order {
		fs = append(fs, c.icmpFinding(groups[h]))
	}
	return fs
}

// icmpGroup is the refused connections to one Quick Assist name and the
// errors that refused them, per flow.
type icmpGroup struct {
	q     *QAFlow
	flows []*analyze.Flow
	errs  [][]analyze.ICMPError
}

// icmpKind names one unreachable code and says whether it is a policy
// refusal or a closed port.
type icmpKind struct {
	name   string
	policy bool
	port   bool // port unreachable: nothing listens there
}

// unreachableKind classifies a destination unreachable error; false for
// any other type or code, fragmentation needed and Packet Too Big among
// them.
func unreachableKind(e analyze.ICMPError) (icmpKind, bool) {
	if e.V6 {
		if e.Type != 1 { // RFC 4443 3.1
			return icmpKind{}, false
		}
		switch e.Code {
		case 0:
			return icmpKind{name: "no route to destination"}, true
		case 1:
			return icmpKind{name: "communication with destination administratively prohibited", policy: true}, true
		case 3:
			return icmpKind{name: "address unreachable"}, true
		case 4:
			return icmpKind{name: "port unreachable", port: true}, true
		case 5:
			return icmpKind{name: "source address failed ingress/egress policy", policy: true}, true
		case 6:
			return icmpKind{name: "reject route to destination", policy: true}, true
		}
		return icmpKind{}, false
	}
	if e.Type != 3 { // RFC 792
		return icmpKind{}, false
	}
	switch e.Code {
	case 0:
		return icmpKind{name: "net unreachable"}, true
	case 1:
		return icmpKind{name: "host unreachable"}, true
	case 3:
		return icmpKind{name: "port unreachable", port: true}, true
	case 9:
		return icmpKind{name: "network administratively prohibited", policy: true}, true
	case 10:
		return icmpKind{name: "host administratively prohibited", policy: true}, true
	case 13:
		return icmpKind{name: "communication administratively prohibited", policy: true}, true
	}
	return icmpKind{}, false
}

func icmpTypeCode(e analyze.ICMPError) string {
	if e.V6 {
		return fmt.Sprintf("ICMPv6 type %d code %d", e.Type, e.Code)
	}
	return fmt.Sprintf("ICMP type %d code %d", e.Type, e.Code)
}

func (c *Context) icmpFinding(g *icmpGroup) Finding {
	fd := Finding{Hosts: []string{g.q.Host}}
	var reporters, targets []string
	policy, count := false, 0
	for i, f := range g.flows {
		fd.Flows = append(fd.Flows, f.ID)
		if t := f.Server.String(); !slices.Contains(targets, t) {
			targets = append(targets, t)
		}
		ev, pol := icmpEvidence(f, g.errs[i])
		fd.Evidence = append(fd.Evidence, ev)
		policy = policy || pol
		count += len(g.errs[i])
		for _, e := range g.errs[i] {
			if r := e.From.String(); !slices.Contains(reporters, r) {
				reporters = append(reporters, r)
			}
		}
	}
	if len(fd.Evidence) > maxEvidence {
		fd.Evidence = fd.Evidence[:maxEvidence]
	}
	// Admin prohibited is a policy decision, nearly conclusive alone;
	// unreachable codes also come from routing faults (section 8 table).
	// Section 8 sets no repetition rule: a second refusal (a retried SYN,
	// another connection) rules out a one-off route flap, medium.
	w := []float64{Medium}
	if policy {
		w[0] = Strong
	}
	if count >= 2 {
		w = append(w, Medium)
	}
	fd.Score = Combine(w...)
	by, to, svc := strings.Join(reporters, " and "), strings.Join(targets, ", "), transport(g.flows[0])
	if policy {
		fd.Explanation = fmt.Sprintf("A router or firewall (%s) refused the connections to %s (%s) with ICMP administratively prohibited: a filter rule rejects this destination.", by, g.q.Host, to)
		fd.Remediation = []string{
			fmt.Sprintf("On the device at %s, find the rule that rejects traffic to %s and allow %s to %s", by, to, svc, g.q.Host),
			c.allowRule(g.q),
		}
	} else {
		fd.Explanation = fmt.Sprintf("%s reported %s (%s) unreachable: no route, an ARP failure or a reject rule stopped the connections.", by, g.q.Host, to)
		fd.Remediation = []string{
			fmt.Sprintf("Check the routing table and any reject rules for %s on the device at %s", to, by),
			c.allowRule(g.q),
		}
	}
	if fd.Score < 0.85 {
		fd.Conclusive = fmt.Sprintf("the log of the device at %s for %s, or a traceroute to it over %s, would settle it", by, to, svc)
	}
	return fd
}

// icmpEvidence describes the errors that refused one connection and
// reports whether one of them is a policy refusal.
func icmpEvidence(f *analyze.Flow, errs []analyze.ICMPError) (Evidence, bool) {
	e := errs[0]
	k, _ := unreachableKind(e)
	policy := false
	frames := []uint64{}
	if f.SYNFrame != 0 && f.SYNFrame < e.Frame {
		frames = append(frames, f.SYNFrame)
	}
	for _, x := range errs {
		xk, _ := unreachableKind(x)
		policy = policy || xk.policy
		frames = append(frames, x.Frame)
	}
	text := fmt.Sprintf("%s (%s) from %s, %s, quoting the packet to %s",
		icmpTypeCode(e), k.name, e.From, reporterPlace(e.From, f), f.Server)
	if len(errs) > 1 {
		text += fmt.Sprintf("; %d such errors on this connection", len(errs))
	}
	return Evidence{Text: text, Frames: frames, Filter: AndFrames(FlowFilter(f), frames...),
		Values: []Value{{Name: "icmp_type", Num: float64(e.Type)}, {Name: "icmp_code", Num: float64(e.Code)}}}, policy
}

// transport names a flow's protocol and server port as firewall rules do:
// "TCP/443".
func transport(f *analyze.Flow) string {
	if f.Proto == decode.ProtoUDP {
		return fmt.Sprintf("UDP/%d", f.Server.Port())
	}
	return fmt.Sprintf("TCP/%d", f.Server.Port())
}

// addrAnswered reports whether f's server address answered another flow,
// on any port.
func (c *Context) addrAnswered(f *analyze.Flow) bool {
	for _, g := range c.FlowsTo(f.Server.Addr()) {
		if g != f && g.Server.Addr() == f.Server.Addr() && answered(g) {
			return true
		}
	}
	return false
}

// reporterPlace says where the reporting address sits: the server itself,
// the local network, or a router on the way.
func reporterPlace(from netip.Addr, f *analyze.Flow) string {
	switch {
	case from == f.Server.Addr():
		return "the destination itself"
	case isBogon(from):
		return "a router or firewall in the local network"
	}
	return "a router on the path"
}
