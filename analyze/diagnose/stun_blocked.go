package diagnose

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"github.com/qadiag/qadiag/decode"
)

// stunRetriesMin is how often one request (one transaction ID) must be sent
// without any response before it counts as lost rather than slow. Section 4
// of research/heuristics.md says to detect loss by transaction-ID repetition,
// not by an exact schedule: RFC 8489 6.2.1 retransmits from 500 ms (sends at
// 0, 0.5, 1.5 s ...), libwebrtc from 250 ms with 8 retransmissions, and
// three sends span at least 0.75 s under either, well past any relay's RTT.
const stunRetriesMin = 3

// The ports of ACS media processors and TURN relays: UDP 3478-3481 on
// 20.202.0.0/16 (research/heuristics.md sections 0 and 4, ACS network
// requirements); TURN also runs over TCP/TLS 443.
const (
	mediaPortLo = 3478
	mediaPortHi = 3481
)

// detectSTUNBlocked finds UDP to the Quick Assist / ACS media relays being
// dropped (research/heuristics.md section 4):
//
//   - the same STUN/TURN transaction sent ≥ stunRetriesMin times with no
//     response of any kind on its flow, for every media relay the client
//     tried (strong with two relays or more, medium for a single one, which
//     may simply be down); a relay that answers anything, even an error,
//     shows that UDP gets through, and one dead relay next to a live one is
//     a dead ICE pair, not a fault;
//   - a TCP/TLS 443 connection to the same relay that works afterwards
//     (medium: the relay is up, only UDP is lost; "degraded but working");
//   - an explicit TURN refusal on Allocate (a second 401, a 438 loop, 403,
//     437, 441, 442, 486, 508: strong, RFC 8656 7 and 14) when no allocation
//     succeeded anywhere and no TCP fallback works, so media is blocked.
//
// The first 401 (the normal challenge), a single 438 followed by success,
// and requests answered by ICMP (icmp_unreachable's evidence) are not
// blamed. A capture without any inbound UDP may be one-sided (section 12):
// the finding then stays weak.
func detectSTUNBlocked(c *Context) []Finding {
	var out []Finding
	if fd, ok := stunDropFinding(c); ok {
		out = append(out, fd)
	}
	if fd, ok := turnRefusalFinding(c); ok {
		out = append(out, fd)
	}
	return out
}

// stunMediaTarget reports whether f carries STUN to a Quick Assist or ACS
// media relay, and the name to show for it: a catalog name the flow's
// address was resolved from, used on a media port, or a catalog media range
// listing the port.
func (c *Context) stunMediaTarget(f *analyze.Flow) (string, bool) {
	if f.STUN == nil {
		return "", false
	}
	proto, port := "udp", f.Server.Port()
	media := port >= mediaPortLo && port <= mediaPortHi
	if f.Proto == decode.ProtoTCP {
		proto, media = "tcp", media || port == 443
	}
	for _, n := range f.Names() {
		if m, ok := c.Cat.MatchHost(n.Name); ok && (media || m.Role == catalog.RoleMedia && m.HasPort(proto, port)) {
			return strings.ToLower(strings.TrimSuffix(n.Name, ".")), true
		}
	}
	if m, ok := c.Cat.MatchAddrPort(proto, f.Server); ok && m.Role == catalog.RoleMedia && m.HasPort(proto, port) {
		return f.Server.Addr().String(), true
	}
	if q := c.QA(f); q != nil && media {
		return q.Host, true
	}
	return "", false
}

// stunDest is one media relay address and what its UDP flows showed.
type stunDest struct {
	addr     netip.Addr
	host     string
	dead     []*analyze.Flow // flows whose requests went unanswered
	answered bool            // the relay sent something on some flow
}

// stunDeadTransaction returns the flow's most repeated transaction when the
// relay sent nothing at all on it and no ICMP error quotes it.
func stunDeadTransaction(f *analyze.Flow) *analyze.STUNTransaction {
	if f.Dir[analyze.FromServer].Packets > 0 || f.ICMPCount > 0 {
		return nil
	}
	var best *analyze.STUNTransaction
	for i := range f.STUN.Transactions {
		tx := &f.STUN.Transactions[i]
		if tx.ResponseFrame == 0 && tx.Requests >= stunRetriesMin && (best == nil || tx.Requests > best.Requests) {
			best = tx
		}
	}
	return best
}

// stunDests groups the UDP STUN flows to media relays by relay address, in
// order of first flow.
func (c *Context) stunDests() []*stunDest {
	var dests []*stunDest
	byAddr := map[netip.Addr]*stunDest{}
	for _, f := range c.Flows {
		if f.Proto != decode.ProtoUDP {
			continue
		}
		host, ok := c.stunMediaTarget(f)
		if !ok {
			continue
		}
		d := byAddr[f.Server.Addr()]
		if d == nil {
			d = &stunDest{addr: f.Server.Addr(), host: host}
			byAddr[d.addr] = d
			dests = append(dests, d)
		}
		switch {
		case f.Dir[analyze.FromServer].Packets > 0:
			d.answered = true
		case stunDeadTransaction(f) != nil:
			d.dead = append(d.dead, f)
		}
	}
	return dests
}

func stunDropFinding(c *Context) (Finding, bool) {
	var dead []*stunDest
	for _, d := range c.stunDests() {
		if d.answered {
			return Finding{}, false // UDP reaches a relay: a dead one beside it is a dead pair, not a block
		}
		if len(d.dead) > 0 {
			dead = append(dead, d)
		}
	}
	if len(dead) == 0 {
		return Finding{}, false
	}
	fd := Finding{}
	drops := stunDropEvidence(&fd, dead)
	// Section 4: strong when every relay tried is silent, medium for a
	// single relay, which may just be down.
	weights := []float64{Medium}
	if len(dead) >= 2 {
		weights[0] = Strong
	}
	inbound := c.stunInboundUDP()
	if inbound == nil {
		// Section 12: no UDP came in at all, so the capture may miss the
		// inbound direction (filter, interface).
		weights[0] = Weak
	} else {
		fd.Evidence = append(fd.Evidence, Evidence{
			Text:   fmt.Sprintf("other UDP answers do arrive (from %s in frame %d): the capture sees inbound UDP", inbound.Server, inbound.Dir[analyze.FromServer].FirstFrame),
			Frames: []uint64{inbound.Dir[analyze.FromServer].FirstFrame},
		})
	}
	fb, failed := c.stunTCPFallback(drops.addrs, drops.hosts, drops.first)
	if fb != nil {
		fd.Evidence = append(fd.Evidence, stunFallbackEvidence(fb, c.QA(fb)))
		fd.Flows = append(fd.Flows, fb.ID)
		if inbound != nil {
			weights = append(weights, Medium) // section 4: the relay is up over TCP, only UDP is lost
		}
	}
	fd.Score = Combine(weights...)
	onPorts := "UDP " + strings.Join(drops.ports, ", ")
	fd.Explanation = stunDropExplanation(fd.Hosts, onPorts, fb, failed)
	fd.Remediation = stunRemediation(c, dead, onPorts, fb != nil)
	if fd.Score < 0.85 {
		fd.Conclusive = "the firewall's drop log for UDP 3478-3481, or a capture outside the firewall that shows the requests leaving and no answer returning, would settle it; so would the same requests answered from another network"
	}
	return fd, true
}

// stunDrops is what the silent relays have in common: their addresses and
// names (to find a TCP fallback to them), the first lost request and the
// ports.
type stunDrops struct {
	addrs map[netip.Addr]bool
	hosts map[string]bool
	first uint64
	ports []string
}

// stunDropEvidence adds one piece of evidence per silent flow to fd.
func stunDropEvidence(fd *Finding, dead []*stunDest) stunDrops {
	drops := stunDrops{addrs: map[netip.Addr]bool{}, hosts: map[string]bool{}}
	for _, d := range dead {
		drops.addrs[d.addr], drops.hosts[d.host] = true, true
		fd.Hosts = append(fd.Hosts, d.host)
		for _, f := range d.dead {
			tx := stunDeadTransaction(f)
			fd.Flows = append(fd.Flows, f.ID)
			if drops.first == 0 || tx.RequestFrames[0] < drops.first {
				drops.first = tx.RequestFrames[0]
			}
			if p := fmt.Sprint(f.Server.Port()); !slices.Contains(drops.ports, p) {
				drops.ports = append(drops.ports, p)
			}
			span := tx.LastRequest.Sub(tx.FirstRequest).Seconds()
			fd.Evidence = append(fd.Evidence, Evidence{
				Text: fmt.Sprintf("the %s request to %s (%s) was sent %d times over %.1f s under one transaction ID and got no response of any kind",
					stunMethodName(tx.Method), f.Server, d.host, tx.Requests, span),
				Frames: slices.Clone(tx.RequestFrames), Filter: AndFrames(FlowFilter(f), tx.RequestFrames...),
				Values: []Value{{Name: "requests", Num: float64(tx.Requests)}, {Name: "span", Num: round3(span), Unit: "s"}},
			})
		}
	}
	return drops
}

func stunDropExplanation(hosts []string, ports string, fb, failed *analyze.Flow) string {
	s := fmt.Sprintf("UDP from the client to the media relays (%s, %s) is dropped: every STUN/TURN request was retransmitted and none got an answer.",
		strings.Join(hosts, ", "), ports)
	switch {
	case fb != nil:
		s += fmt.Sprintf(" The client fell back to TCP 443 to %s, which works: media is degraded (TCP adds latency and stalls on loss) but not broken.", fb.Server.Addr())
	case failed != nil:
		s += fmt.Sprintf(" Its TCP 443 fallback to %s failed too (flow %d): see the other findings.", failed.Server.Addr(), failed.ID)
	default:
		s += " No TCP 443 fallback to the relays was seen."
	}
	// research/quickassist.md section 3: the screen goes through the RDP
	// relay on TCP 443; UDP media is ACS's (calls, Remote Help).
	return s + " Quick Assist's own screen sharing uses the RDP relay over TCP 443, so this mainly affects ACS media (calls, Remote Help)."
}

// stunInboundUDP returns a UDP flow on which something came back (a DNS answer,
// a STUN response), or nil when the capture holds no inbound UDP.
func (c *Context) stunInboundUDP() *analyze.Flow {
	for _, f := range c.Flows {
		if f.Proto == decode.ProtoUDP && f.Dir[analyze.FromServer].Packets > 0 && f.Dir[analyze.FromClient].Packets > 0 {
			return f
		}
	}
	return nil
}

// stunTCPFallback returns the first TCP connection to one of the relays (by
// address or name) opened after frame after that worked, or else the first
// one that failed. A connection opened before the UDP attempts runs in
// parallel by design and proves nothing (section 4).
func (c *Context) stunTCPFallback(addrs map[netip.Addr]bool, hosts map[string]bool, after uint64) (ok, failed *analyze.Flow) {
	for _, f := range c.Flows {
		if f.Proto != decode.ProtoTCP || f.FirstFrame() < after {
			continue
		}
		if p := f.Server.Port(); p != 443 && (p < mediaPortLo || p > mediaPortHi) {
			continue
		}
		match := addrs[f.Server.Addr()]
		for _, n := range f.Names() {
			match = match || hosts[strings.ToLower(strings.TrimSuffix(n.Name, "."))]
		}
		if f.TLS != nil && f.TLS.SNI != "" {
			match = match || hosts[strings.ToLower(f.TLS.SNI)]
		}
		switch {
		case !match:
		case Established(f):
			return f, nil
		case failed == nil:
			failed = f
		}
	}
	return nil, failed
}

func stunFallbackEvidence(f *analyze.Flow, q *QAFlow) Evidence {
	frames := nonZero([]uint64{f.SYNACKFrame, 0})
	what := "TCP"
	if f.TLS != nil && f.TLS.ServerFrame != 0 {
		frames = append(frames, f.TLS.ServerFrame)
		what = "TLS over TCP"
	}
	name := f.Server.Addr().String()
	if q != nil {
		name = q.Host
	}
	return Evidence{
		Text:   fmt.Sprintf("%s to the same relay %s (%s) worked afterwards: the relay is up and only UDP is lost", what, f.Server, name),
		Frames: frames, Filter: AndFrames(FlowFilter(f), frames...),
		Values: []Value{{Name: "server_bytes", Num: float64(f.Dir[analyze.FromServer].Payload), Unit: "bytes"}},
	}
}

func stunRemediation(c *Context, dead []*stunDest, ports string, fallback bool) []string {
	var ranges, seen []string
	for _, d := range dead {
		seen = append(seen, d.addr.String())
		if m, ok := c.Cat.MatchAddr(d.addr); ok && m.Role == catalog.RoleMedia && !slices.Contains(ranges, m.Pattern) {
			ranges = append(ranges, m.Pattern)
		}
	}
	if len(ranges) == 0 {
		ranges = []string{"20.202.0.0/16"}
	}
	rem := []string{fmt.Sprintf("Allow UDP 3478-3481 from the clients to %s (ACS media relays and TURN) on the firewall; dropped here: %s on %s",
		strings.Join(ranges, ", "), strings.Join(seen, ", "), ports)}
	if fallback {
		rem = append(rem, "Until then media uses TCP 443 to the relays: keep TCP 443 to "+strings.Join(ranges, ", ")+" allowed")
	} else {
		rem = append(rem, "Allow TCP 443 to "+strings.Join(ranges, ", ")+" as well, so the client can fall back to TURN over TCP/TLS when UDP is blocked")
	}
	return rem
}

func stunMethodName(m string) string {
	switch m {
	case "binding":
		return "STUN Binding"
	case "allocate":
		return "TURN Allocate"
	case "refresh":
		return "TURN Refresh"
	case "create_permission":
		return "TURN CreatePermission"
	case "channel_bind":
		return "TURN ChannelBind"
	}
	return "STUN " + m
}

// turnErrors are the Allocate error codes that end an allocation attempt
// (RFC 8656 7.4 and 18; research/heuristics.md section 4). 401 and 438
// count only when repeated: the first is the normal challenge.
var turnErrors = map[int]string{
	401: "Unauthenticated twice: the relay refused the client's credentials",
	403: "Forbidden: the relay's policy refuses this client",
	437: "Allocation Mismatch: the relay already holds an allocation for this address and port",
	438: "Stale Nonce in a loop: the client never got past the nonce",
	441: "Wrong Credentials: the relay refused the client's username",
	442: "Unsupported Transport Protocol",
	486: "Allocation Quota Reached: the relay's per-user limit",
	508: "Insufficient Capacity: the relay has no room",
}

// turnRefusal returns the Allocate that ended the flow's attempt with an
// explicit error, or nil when none did or an Allocate succeeded.
func turnRefusal(info *analyze.STUNInfo) *analyze.STUNTransaction {
	var n401, n438 int
	var refused *analyze.STUNTransaction
	for i := range info.Transactions {
		tx := &info.Transactions[i]
		if tx.Method != "allocate" {
			continue
		}
		if tx.Class == "success" {
			return nil
		}
		if tx.Class != "error" || refused != nil {
			continue
		}
		switch tx.ErrorCode {
		case 401:
			if n401++; n401 >= 2 {
				refused = tx
			}
		case 438:
			if n438++; n438 >= 2 {
				refused = tx
			}
		default:
			if _, ok := turnErrors[tx.ErrorCode]; ok {
				refused = tx
			}
		}
	}
	return refused
}

// turnRefusalFinding reports explicit TURN refusals on Allocate when they
// block media: no allocation succeeded on any media flow and no TCP 443
// fallback to the relay works.
func turnRefusalFinding(c *Context) (Finding, bool) {
	fd := Finding{Score: Combine(Strong)}
	addrs := map[netip.Addr]bool{}
	hosts := map[string]bool{}
	var first uint64
	var codes []string
	for _, f := range c.Flows {
		host, ok := c.stunMediaTarget(f)
		if !ok {
			continue
		}
		for _, tx := range f.STUN.Transactions {
			if tx.Method == "allocate" && tx.Class == "success" {
				return Finding{}, false // some allocation worked: media has a relay
			}
		}
		tx := turnRefusal(f.STUN)
		if tx == nil {
			continue
		}
		addrs[f.Server.Addr()], hosts[host] = true, true
		if first == 0 || tx.ResponseFrame < first {
			first = tx.ResponseFrame
		}
		why := turnErrors[tx.ErrorCode]
		if c := fmt.Sprintf("%d %s", tx.ErrorCode, strings.SplitN(why, ":", 2)[0]); !slices.Contains(codes, c) {
			codes = append(codes, c)
		}
		frames := append(slices.Clone(tx.RequestFrames), tx.ResponseFrame)
		fd.Flows = append(fd.Flows, f.ID)
		fd.Hosts = append(fd.Hosts, host)
		fd.Evidence = append(fd.Evidence, Evidence{
			Text: fmt.Sprintf("the relay %s (%s) answered the TURN Allocate in frame %d with error %d (%s)",
				f.Server, host, tx.ResponseFrame, tx.ErrorCode, why),
			Frames: frames, Filter: AndFrames(FlowFilter(f), frames...),
			Values: []Value{{Name: "error_code", Num: float64(tx.ErrorCode)}},
		})
	}
	if len(fd.Evidence) == 0 {
		return Finding{}, false
	}
	if fb, _ := c.stunTCPFallback(addrs, hosts, first); fb != nil {
		return Finding{}, false // media went over TCP 443 instead: not blocked
	}
	fd.Explanation = fmt.Sprintf("The media relay %s refused every TURN allocation (%s) and no allocation succeeded elsewhere, so media has no relay. This is the relay's explicit answer, not a network drop: UDP reaches it.",
		strings.Join(fd.Hosts, ", "), strings.Join(codes, "; "))
	fd.Remediation = []string{
		"Check the TURN credentials the client obtained over HTTPS (clock skew, expired token, a proxy rewriting the token request) for 401/441; for 403, 486 and 508 the limit is on Microsoft's relay: retry later or open a support case with the frames cited",
		"Make sure TCP 443 to " + strings.Join(fd.Hosts, ", ") + " is allowed so the client can use another relay transport",
	}
	fd.Conclusive = "the same allocation tried from another network, or the relay's error reason text, would tell a credential problem from a relay limit"
	return fd, true
}
