package diagnose

import (
	"fmt"
	"time"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode"
)

// detectRSTInjection finds TCP resets towards the client that the server
// did not send (research/heuristics.md section 1, after Weaver, Sommer and
// Paxson, NDSS 2009):
//
//   - the reset's TTL is ≥ 3 hops away from the server's own packets
//     (row 7, medium; strong with the timing of row 1);
//   - it came sooner after the client's packet than half the path's round
//     trip, with a round trip of at least 10 ms (row 1, strong);
//   - the server sent data after its "own" reset (row 2, strong);
//   - several resets with different sequence numbers (rows 4 and 6, medium);
//   - an IP ID unrelated to the server's running IP ID (row 8, medium).
//
// Resets after a FIN exchange, resets by the client and resets answering a
// SYN (a closed port) are never blamed.
func detectRSTInjection(c *Context) []Finding { return c.scanQA().rst }

// rstFlow is rst_injection's look at one Quick Assist flow, in scanQA.
func (s *qaScan) rstFlow(c *Context, q *QAFlow, f *analyze.Flow) {
	if f.Proto != decode.ProtoTCP {
		return
	}
	if fd, ok := rstFinding(c, f, q); ok {
		s.rst = append(s.rst, fd)
	}
}

// natIdleMin is the shortest TCP idle timer of research/heuristics.md
// section 5 (Azure NAT Gateway and load balancer, 4 minutes).
const natIdleMin = 240 * time.Second

func rstFinding(c *Context, f *analyze.Flow, q *QAFlow) (Finding, bool) {
	srv := &f.Dir[analyze.FromServer]
	var resets []analyze.Reset
	for _, r := range f.Resets() {
		if r.From == analyze.FromServer {
			resets = append(resets, r)
		}
	}
	if len(resets) == 0 || f.SYNACKFrame == 0 {
		return Finding{}, false // no handshake: a reset to a SYN is a closed port, not an injection
	}
	if f.Dir[analyze.FromClient].FINs > 0 && srv.FINs > 0 {
		return Finding{}, false // after a FIN exchange a reset is a normal abort (RFC 9293)
	}
	first := resets[0]
	if g := f.Idle; g != nil && g.Gap >= natIdleMin && g.ResetAfter == first.Frame {
		// A reset answering the first packet after a long silence is a
		// NAT or firewall that forgot the flow: nat_timeout's evidence.
		return Finding{}, false
	}
	flt := FlowFilter(f)
	var weights []float64
	var ev []Evidence
	rtt := f.RTT
	if rtt == 0 {
		rtt = c.minRTT
	}
	// The server's TTL baseline: its SYN-ACK, the first packet from it.
	base := srv.TTLFirst
	if srv.FirstFrame != first.Frame && base != 0 {
		if d := int(first.TTL) - int(base); d >= 3 || d <= -3 {
			w := Medium
			ev = append(ev, Evidence{
				Text: fmt.Sprintf("the reset in frame %d arrived with TTL %d (%d hops away) but the server's packets with TTL %d (%d hops): another box sent it",
					first.Frame, first.TTL, hops(first.TTL), base, hops(base)),
				Frames: []uint64{f.SYNACKFrame, first.Frame}, Filter: AndFrames(flt, f.SYNACKFrame, first.Frame),
				Values: []Value{{Name: "reset_ttl", Num: float64(first.TTL)}, {Name: "server_ttl", Num: float64(base)}},
			})
			weights = append(weights, w)
		}
	}
	if first.TriggerFrame != 0 && rtt >= 10*time.Millisecond {
		if dt := first.Time.Sub(first.TriggerTime); dt >= 0 && dt < rtt/2 {
			ev = append(ev, Evidence{
				Text: fmt.Sprintf("the reset came %.1f ms after the client's packet (frame %d), under half the %.1f ms round trip to the server: it cannot have come from the server",
					ms(dt), first.TriggerFrame, ms(rtt)),
				Frames: []uint64{first.TriggerFrame, first.Frame}, Filter: AndFrames(flt, first.TriggerFrame, first.Frame),
				Values: []Value{{Name: "reset_delay", Num: ms(dt), Unit: "ms"}, {Name: "rtt", Num: ms(rtt), Unit: "ms"}},
			})
			weights = append(weights, Strong)
		}
	}
	if data := f.DataAfterReset(); data > first.Frame {
		ev = append(ev, Evidence{
			Text:   fmt.Sprintf("the server sent data in frame %d after the reset in frame %d: a real stack sends nothing after its own reset", data, first.Frame),
			Frames: []uint64{first.Frame, data}, Filter: AndFrames(flt, first.Frame, data),
		})
		weights = append(weights, Strong)
	}
	if len(resets) >= 2 {
		seqs := map[uint32]bool{}
		var frames []uint64
		for _, r := range resets {
			seqs[r.Seq] = true
			frames = append(frames, r.Frame)
		}
		if len(seqs) >= 2 && resets[len(resets)-1].Time.Sub(first.Time) < 2*time.Second {
			ev = append(ev, Evidence{
				Text:   fmt.Sprintf("%d resets with %d different sequence numbers within %.1f ms: an injector guessing the window", len(resets), len(seqs), ms(resets[len(resets)-1].Time.Sub(first.Time))),
				Frames: frames, Filter: AndFrames(flt, frames...),
			})
			weights = append(weights, Medium)
		}
	}
	if first.HavePrev && first.PrevIPID != 0 && !f.Server.Addr().Is6() {
		if d := int(first.IPID) - int(first.PrevIPID); (d > 1000 || d < -1000) && first.IPID != 0 {
			ev = append(ev, Evidence{
				Text:   fmt.Sprintf("the reset's IP ID %d is far from the server's running IP ID %d", first.IPID, first.PrevIPID),
				Frames: []uint64{first.Frame}, Filter: AndFrames(flt, first.Frame),
				Values: []Value{{Name: "reset_ip_id", Num: float64(first.IPID)}, {Name: "server_ip_id", Num: float64(first.PrevIPID)}},
			})
			weights = append(weights, Medium)
		}
	}
	if len(weights) == 0 {
		return Finding{}, false
	}
	score := Combine(weights...)
	fd := Finding{
		Score: score, Flows: []int{f.ID}, Hosts: []string{q.Host}, Evidence: ev,
		Explanation: fmt.Sprintf("The connection to %s was cut by a TCP reset that did not come from the server: a firewall, IPS or filter on the path forged it.", q.Host),
		Remediation: []string{
			c.allowRule(q),
			fmt.Sprintf("Find the device that resets the connection (an IPS, DPI or web filter between this PC and %s; the reset's TTL puts it about %d router hops from the PC) and exempt the Quick Assist names from its blocking or threat rules", f.Server.Addr(), hops(first.TTL)),
		},
	}
	if score < 0.85 {
		fd.Conclusive = "a capture taken outside the firewall (or on the server) that lacks this reset, or several resets with different sequence numbers, would settle it"
	}
	return fd, true
}
