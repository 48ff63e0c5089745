package diagnose

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode"
)

// natTimer is a common idle timer and the devices that use it by default.
type natTimer struct {
	d   time.Duration
	who string
}

// natTCPTimers and natUDPTimers are the default idle timers of research/
// heuristics.md section 5 (vendor table), shortest first. The shortest TCP
// one, Azure's 4 minutes, is the least silence a TCP state expiry needs;
// 30 s is the shortest UDP one. Timers above an hour (IOS NAT 24 h, Linux
// conntrack and AWS security groups 5 days) outlast any capture worth
// diagnosing and are left out.
var (
	natTCPTimers = []natTimer{
		{240 * time.Second, "Azure Load Balancer and NAT Gateway"},
		{350 * time.Second, "AWS NAT Gateway and Network Firewall"},
		{1200 * time.Second, "Huawei USG and GCP Cloud NAT"},
		{3600 * time.Second, "Cisco ASA, Palo Alto, FortiGate and Check Point"},
	}
	natUDPTimers = []natTimer{
		{30 * time.Second, "Palo Alto, Linux conntrack, GCP Cloud NAT and AWS security groups"},
		{40 * time.Second, "Check Point"},
		{120 * time.Second, "Cisco ASA, Huawei USG and Linux conntrack streams"},
		{180 * time.Second, "FortiGate"},
		{240 * time.Second, "Azure NAT Gateway"},
		{300 * time.Second, "Cisco IOS NAT"},
	}
)

// natSecs prints a duration in whole seconds, the unit device timers are
// configured in.
func natSecs(d time.Duration) string {
	return fmt.Sprintf("%d s", int64(d.Round(time.Second)/time.Second))
}

// natReached returns the longest timer a silence of gap outlasts.
func natReached(timers []natTimer, gap time.Duration) (natTimer, bool) {
	var t natTimer
	for _, x := range timers {
		if gap >= x.d {
			t = x
		}
	}
	return t, t.d > 0
}

// natAtTimer reports a silence that ends within 5% after a known timer: an
// idle reset sent by the device when its timer fires (Azure LB "TCP reset
// on idle", ASA "idle ... reset"; section 5). The 5% is our allowance for
// the device's sweep interval, not a published figure.
func natAtTimer(timers []natTimer, gap time.Duration) bool {
	for _, x := range timers {
		if gap >= x.d && gap <= x.d+x.d/20 {
			return true
		}
	}
	return false
}

// natReconnectWindow is how soon after the dead connection a new one must
// start to count as "right after" (section 5: "a new connection to the same
// server works straight away"); two minutes covers Windows's retransmission
// back-off before the client gives up.
const natReconnectWindow = 2 * time.Minute

// detectNATTimeout finds a NAT or firewall that forgot an idle Quick Assist
// flow (research/heuristics.md section 5):
//
//   - TCP: a silence of at least the shortest common TCP timer (240 s),
//     after which the server never answers again, and either the client's
//     data is retransmitted unanswered (medium), or a reset answers the
//     client's first packet (medium; its TTL against the server's tells a
//     middlebox from the server's own side), or the silence ends with a
//     reset towards the client and no client packet (an idle reset: strong
//     within 5% after a known timer, medium otherwise); plus a new
//     connection from the same address to the same server that works right
//     after (medium: the server was up).
//   - UDP (STUN/TURN to the relays): after a silence of at least 30 s the
//     relay reports a different mapped address (strong: NAT rebinding), or
//     answers a Refresh, CreatePermission or ChannelBind with 437
//     Allocation Mismatch while the allocation had not expired (strong).
//
// Not blamed: a long silence after which the server answers (the state
// survived), a server that closed first (FIN), a new connection that fails
// too (the server or path is down), or a new connection from another local
// address (the client roamed).
func detectNATTimeout(c *Context) []Finding {
	var out []Finding
	for _, f := range c.Flows {
		var fd Finding
		var ok bool
		switch q := c.QA(f); {
		case f.Proto == decode.ProtoTCP && q != nil:
			fd, ok = natTCPFinding(c, f, q)
		case f.Proto == decode.ProtoUDP && f.STUN != nil:
			host, media := c.stunMediaTarget(f)
			if !media && q != nil {
				host, media = q.Host, true
			}
			if media {
				fd, ok = natUDPFinding(c, f, host)
			}
		}
		if ok {
			out = append(out, fd)
		}
	}
	return out
}

// natTCPFinding applies the TCP rules to one Quick Assist flow.
func natTCPFinding(c *Context, f *analyze.Flow, q *QAFlow) (Finding, bool) {
	g := f.Idle
	if g == nil || f.Dir[analyze.FromServer].FINs > 0 {
		return Finding{}, false // no long silence, or the server closed the connection itself
	}
	timer, ok := natReached(natTCPTimers, g.Gap)
	if !ok {
		return Finding{}, false
	}
	after, ok := natAfterGap(f, g, timer)
	if !ok {
		return Finding{}, false
	}
	ev := []Evidence{{
		Text: fmt.Sprintf("the connection to %s (%s) was idle for %s between frames %d and %d, longer than the %s idle timer of %s",
			q.Host, f.Server, natSecs(g.Gap), g.StartFrame, g.EndFrame, natSecs(timer.d), timer.who),
		Frames: []uint64{g.StartFrame, g.EndFrame}, Filter: AndFrames(FlowFilter(f), g.StartFrame, g.EndFrame),
		Values: []Value{{Name: "idle", Num: round3(g.Gap.Seconds()), Unit: "s"}, {Name: "timer", Num: timer.d.Seconds(), Unit: "s"}},
	}, after.ev}
	weights := []float64{after.w}
	again, failed, roamed := c.natReconnect(f, q, g.EndFrame)
	switch {
	case roamed:
		return Finding{}, false // the client's address changed: roaming, not a timeout
	case again != nil:
		ev = append(ev, natReconnectEvidence(f, again))
		weights = append(weights, Medium)
	case failed != nil:
		return Finding{}, false // a new connection fails too: the server or the path is down
	}
	fd := Finding{
		Score: Combine(weights...), Flows: []int{f.ID}, Hosts: []string{q.Host}, Evidence: ev,
		Explanation: fmt.Sprintf("The connection to %s sat idle for %s; %s.", q.Host, natSecs(g.Gap), after.what),
		Remediation: natTCPRemediation(f, q, g.Gap, timer, after.serverSide),
	}
	if again != nil {
		fd.Flows = append(fd.Flows, again.ID)
	}
	if fd.Score < 0.85 {
		fd.Conclusive = "the firewall's or NAT's session log (an idle-timeout teardown of this connection), or keepalives every minute making the problem disappear, would settle it"
	}
	return fd, true
}

// natOutcome is what followed a silence: the evidence, its weight, a
// phrase for the explanation, and whether the server's side reset.
type natOutcome struct {
	ev         Evidence
	w          float64
	what       string
	serverSide bool
}

// natAfterGap reads what followed the silence; false when the server
// answered (the state survived) or too little followed to tell.
func natAfterGap(f *analyze.Flow, g *analyze.IdleGap, timer natTimer) (natOutcome, bool) {
	var rst *analyze.Reset
	serverResets := 0
	rs := f.Resets()
	for i := range rs {
		if r := &rs[i]; r.From == analyze.FromServer && r.Frame >= g.EndFrame {
			serverResets++
			if rst == nil {
				rst = r
			}
		}
	}
	switch {
	case g.ServerAfter > serverResets:
		return natOutcome{}, false // the server answered after the silence: the state survived
	case rst != nil && rst.Frame == g.EndFrame:
		return natIdleReset(f, g, rst, timer), true
	case rst != nil:
		return natResetAfterIdle(f, g, rst), true
	case g.ClientRetransAfter < 2:
		// Section 5 wants the data "retransmitted with no ACK until the
		// client gives up": one retransmission may be one lost packet,
		// none means the capture ended.
		return natOutcome{}, false
	}
	frames := nonZero([]uint64{g.EndFrame, f.Dir[analyze.FromClient].LastFrame})
	text := fmt.Sprintf("after the silence the client's data (frame %d) was retransmitted %d times and nothing came back from the server", g.EndFrame, g.ClientRetransAfter)
	if g.ResetAfter != 0 && !g.ResetAfterFromServer {
		text += fmt.Sprintf("; the client gave up with a reset in frame %d", g.ResetAfter)
		frames = append(frames, g.ResetAfter)
	}
	return natOutcome{
		ev: Evidence{Text: text, Frames: frames, Filter: fmt.Sprintf("%s && frame.number >= %d", FlowFilter(f), g.EndFrame),
			Values: []Value{{Name: "retransmissions", Num: float64(g.ClientRetransAfter)}}},
		w:    Medium,
		what: "afterwards the client's packets went unanswered: a NAT or firewall on the path had dropped the idle connection's state and silently discards its packets",
	}, true
}

// natResetSide returns the TTL of the server's own packets before the
// reset and whether the reset fits it: within 2 hops it came from the
// server's side (the server or its load balancer), further off from a
// device on the path (section 5; rst_injection uses 3 hops the same way).
func natResetSide(f *analyze.Flow, rst *analyze.Reset) (base uint8, serverSide bool) {
	base = f.Dir[analyze.FromServer].TTLFirst
	if rst.HavePrev {
		base = rst.PrevTTL
	}
	d := int(rst.TTL) - int(base)
	return base, d < 3 && d > -3
}

// natTCPRemediation names the timeout to raise, or, when the server's own
// side reset the connection, the keepalive interval that avoids its timer.
func natTCPRemediation(f *analyze.Flow, q *QAFlow, gap time.Duration, timer natTimer, serverSide bool) []string {
	keep := fmt.Sprintf("keep the connection alive: TCP keepalives or application pings more often than every %s (Windows's default TCP keepalive, 2 h, is far too slow)", natSecs(timer.d/2))
	if serverSide {
		return []string{
			"The reset came from the server's side, whose idle timer the network team cannot change: " + keep,
			fmt.Sprintf("Check that no NAT or firewall between %s and %s drops idle TCP sooner than %s (%s use %s)", f.Client.Addr(), f.Server.Addr(), natSecs(gap), timer.who, natSecs(timer.d)),
		}
	}
	return []string{
		fmt.Sprintf("Raise the idle timeout for established TCP on the NAT or firewall between %s and %s above %s (the silence seen; %s drop idle flows after %s), at least for TCP 443 to %s",
			f.Client.Addr(), f.Server.Addr(), natSecs(gap), timer.who, natSecs(timer.d), q.Host),
		"Or " + keep,
	}
}

// natIdleReset is the evidence of a silence ended by a reset towards the
// client with no client packet: an idle timer firing (strong at a known
// timer).
func natIdleReset(f *analyze.Flow, g *analyze.IdleGap, rst *analyze.Reset, timer natTimer) natOutcome {
	w := Medium
	if natAtTimer(natTCPTimers, g.Gap) {
		w = Strong
	}
	base, server := natResetSide(f, rst)
	who := fmt.Sprintf("a device %d hops from the client (the server is %d)", hops(rst.TTL), hops(base))
	if server {
		who = "the server's side (its load balancer)"
	}
	return natOutcome{
		ev: Evidence{
			Text: fmt.Sprintf("the silence ended with a reset towards the client (frame %d) after %s, with no client packet to trigger it, from %s: an idle timer fired",
				rst.Frame, natSecs(g.Gap), who),
			Frames: []uint64{g.StartFrame, rst.Frame}, Filter: AndFrames(FlowFilter(f), g.StartFrame, rst.Frame),
			Values: []Value{{Name: "reset_ttl", Num: float64(rst.TTL)}, {Name: "server_ttl", Num: float64(base)}},
		},
		w:          w,
		what:       fmt.Sprintf("then %s reset it with no trigger from the client: an idle timer expired (%s use %s)", who, timer.who, natSecs(timer.d)),
		serverSide: server,
	}
}

// natResetAfterIdle is the evidence of a reset answering the client's first
// packets after the silence; the reset's TTL against the server's own says
// who sent it (section 5).
func natResetAfterIdle(f *analyze.Flow, g *analyze.IdleGap, rst *analyze.Reset) natOutcome {
	base, server := natResetSide(f, rst)
	who := fmt.Sprintf("the same TTL as the server's own packets (%d): the server's side (the server or its load balancer) had forgotten the connection", base)
	what := "the server's side answered the client's next packet with a reset: the server or its load balancer had dropped the idle connection"
	if !server {
		who = fmt.Sprintf("%d hops from the client, where the server is %d: a NAT or firewall on the path sent it", hops(rst.TTL), hops(base))
		what = fmt.Sprintf("a device %d hops from the client (not the server) answered the client's next packet with a reset: a NAT or firewall had dropped the idle connection's state", hops(rst.TTL))
	}
	trigger := g.EndFrame
	if rst.TriggerFrame != 0 {
		trigger = rst.TriggerFrame
	}
	return natOutcome{
		ev: Evidence{
			Text: fmt.Sprintf("the client's packet after the silence (frame %d) was answered by a reset (frame %d) with TTL %d, %s",
				trigger, rst.Frame, rst.TTL, who),
			Frames: []uint64{trigger, rst.Frame}, Filter: AndFrames(FlowFilter(f), trigger, rst.Frame),
			Values: []Value{{Name: "reset_ttl", Num: float64(rst.TTL)}, {Name: "server_ttl", Num: float64(base)}},
		},
		w: Medium, what: what, serverSide: server,
	}
}

// natReconnect finds a new TCP connection from the same client address to the
// same server (address or Quick Assist name) that started after frame after
// and within natReconnectWindow of f's end: the first that worked, else the
// first that failed. roamed reports that the only working one came from
// another local address.
func (c *Context) natReconnect(f *analyze.Flow, q *QAFlow, after uint64) (ok, failed *analyze.Flow, roamed bool) {
	cands := append(slices.Clone(c.FlowsTo(f.Server.Addr())), c.FlowsNamed(q.Host)...)
	slices.SortFunc(cands, func(a, b *analyze.Flow) int { return a.ID - b.ID })
	for _, n := range slices.Compact(cands) {
		if n == f || n.Proto != decode.ProtoTCP || n.FirstFrame() <= after || n.First().Sub(f.Last()) > natReconnectWindow {
			continue
		}
		nq := c.QA(n)
		if n.Server.Addr() != f.Server.Addr() && (nq == nil || nq.Host != q.Host) {
			continue
		}
		works := Established(n)
		switch {
		case n.Client.Addr() != f.Client.Addr():
			roamed = roamed || works
		case works && ok == nil:
			ok = n
		case !works && failed == nil:
			failed = n
		}
	}
	return ok, failed, roamed && ok == nil
}

func natReconnectEvidence(f, n *analyze.Flow) Evidence {
	frames := nonZero([]uint64{n.SYNACKFrame, 0})
	if n.TLS != nil && n.TLS.ServerFrame != 0 {
		frames = append(frames, n.TLS.ServerFrame)
	}
	return Evidence{
		Text: fmt.Sprintf("a new connection from the same client to %s (from frame %d, %s after the old one's last packet) worked at once: the server was up, only the old connection's state was gone",
			n.Server, n.FirstFrame(), max(n.First().Sub(f.Last()), 0).Round(time.Millisecond)),
		Frames: frames, Filter: AndFrames(FlowFilter(n), frames...),
	}
}

// turnAllocationDefault is TURN's default allocation lifetime (RFC 8656 2.2;
// research/heuristics.md section 14): silence past it expires the
// allocation on the relay without any NAT involved.
const turnAllocationDefault = 600 * time.Second

// natUDPFinding applies the UDP rules to one STUN flow to a relay.
func natUDPFinding(c *Context, f *analyze.Flow, host string) (Finding, bool) {
	g := f.Idle
	if g == nil {
		return Finding{}, false
	}
	timer, ok := natReached(natUDPTimers, g.Gap)
	if !ok {
		return Finding{}, false
	}
	var before, after, mismatch *analyze.STUNTransaction
	lifetime := turnAllocationDefault
	for i := range f.STUN.Transactions {
		tx := &f.STUN.Transactions[i]
		switch {
		case tx.ResponseFrame == 0:
		case tx.ResponseFrame <= g.StartFrame:
			if tx.Mapped.IsValid() {
				before = tx
			}
			if tx.Method == "allocate" && tx.Class == "success" && tx.Lifetime > 0 {
				lifetime = time.Duration(tx.Lifetime) * time.Second
			}
		case tx.ResponseFrame >= g.EndFrame:
			if tx.Mapped.IsValid() && after == nil {
				after = tx
			}
			if tx.ErrorCode == 437 && tx.Method != "allocate" && mismatch == nil {
				mismatch = tx
			}
		}
	}
	flt := FlowFilter(f)
	ev := []Evidence{{
		Text: fmt.Sprintf("UDP to the relay %s (%s) was silent for %s between frames %d and %d, longer than the %s UDP timer of %s",
			f.Server, host, natSecs(g.Gap), g.StartFrame, g.EndFrame, natSecs(timer.d), timer.who),
		Frames: []uint64{g.StartFrame, g.EndFrame}, Filter: AndFrames(flt, g.StartFrame, g.EndFrame),
		Values: []Value{{Name: "idle", Num: round3(g.Gap.Seconds()), Unit: "s"}, {Name: "timer", Num: timer.d.Seconds(), Unit: "s"}},
	}}
	var weights []float64
	var what []string
	if before != nil && after != nil && before.Mapped != after.Mapped {
		frames := []uint64{before.ResponseFrame, after.ResponseFrame}
		ev = append(ev, Evidence{
			Text: fmt.Sprintf("the relay saw the client as %s before the silence (frame %d) and as %s after it (frame %d): the NAT created a new mapping",
				before.Mapped, before.ResponseFrame, after.Mapped, after.ResponseFrame),
			Frames: frames, Filter: AndFrames(flt, frames...),
		})
		weights = append(weights, Strong)
		what = append(what, fmt.Sprintf("the client's public address changed from %s to %s", before.Mapped, after.Mapped))
	}
	if mismatch != nil && g.Gap < lifetime {
		frames := append(slices.Clone(mismatch.RequestFrames), mismatch.ResponseFrame)
		ev = append(ev, Evidence{
			Text: fmt.Sprintf("the relay answered the %s after the silence with 437 Allocation Mismatch (frame %d) although the %s allocation had not expired: the request came from a different address and port",
				stunMethodName(mismatch.Method), mismatch.ResponseFrame, natSecs(lifetime)),
			Frames: frames, Filter: AndFrames(flt, frames...),
			Values: []Value{{Name: "error_code", Num: 437}},
		})
		weights = append(weights, Strong)
		what = append(what, "the relay no longer recognised the allocation (437 Allocation Mismatch)")
	}
	if len(weights) == 0 {
		return Finding{}, false
	}
	fd := Finding{
		Score: Combine(weights...), Flows: []int{f.ID}, Hosts: []string{host}, Evidence: ev,
		Explanation: fmt.Sprintf("UDP to the media relay %s sat idle for %s; afterwards %s. The NAT in front of %s dropped the idle UDP mapping and made a new one, so the TURN allocation and its media were lost.",
			host, natSecs(g.Gap), strings.Join(what, " and "), f.Client.Addr()),
		Remediation: []string{
			fmt.Sprintf("Raise the UDP mapping timeout on the NAT in front of %s above %s (the silence seen; %s use %s; RFC 4787 REQ-5 asks for at least 2 min, 5 min recommended), and keep the mapping endpoint-independent for UDP 3478-3481 to the relays",
				f.Client.Addr(), natSecs(g.Gap), timer.who, natSecs(timer.d)),
			fmt.Sprintf("Or refresh the mapping more often than the NAT's timer: STUN Binding or TURN Refresh/ChannelBind keepalives every 15 s (RFC 8445 Tr) keep it alive through a %s timer", natSecs(timer.d)),
		},
	}
	if fd.Score < 0.85 {
		fd.Conclusive = "the NAT's mapping table or log around the silence, or the same silence on another network keeping its mapping, would settle it; a client that changed networks (roaming, VPN) or a carrier-grade NAT rotating its pool can also change the mapped address"
	}
	return fd, true
}
