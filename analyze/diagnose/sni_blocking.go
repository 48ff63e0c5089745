package diagnose

import (
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// silenceMin is how long a client must have waited, its ClientHello
// acknowledged and unanswered, before the silence counts as a drop
// (research/heuristics.md section 3, "ACKed but no ServerHello arrives,
// then a timeout"): several times the slowest round trip worth expecting
// (the 600 ms satellite look-alike), and at least silenceRTTs round trips.
const (
	silenceMin  = 3 * time.Second
	silenceRTTs = 5
)

// detectSNIBlocking finds Quick Assist TLS connections cut because of the
// name in the ClientHello (research/heuristics.md section 3). The TCP
// handshake completed (weak: the path and port are open) and the
// ClientHello with a Quick Assist SNI got no ServerHello, but:
//
//   - a reset from the server side before any ServerHello (medium: a
//     genuine server may reset an unknown name; rst_injection judges
//     whether the reset was forged and both findings stand);
//   - a drop: the ClientHello retransmitted while the server side, which
//     answered the SYN, sent nothing at all, or acknowledged and then
//     stayed silent for silenceMin until the client gave up (medium: the
//     PMTU trap, where the server acknowledges the small segments, is left
//     to mtu_blackhole);
//   - a FIN from the server side without a byte of data (medium);
//   - a cleartext fatal alert before any ServerHello that the ClientHello
//     does not explain (medium; another medium when its TTL differs from
//     the SYN-ACK's by ttlSpread hops or more);
//   - bytes back that are not TLS, such as a block page (strong).
//
// Differential evidence counts most: another name answered on the same
// server address in the same capture (strong); the name failing on two or
// more addresses and never answered (medium); every try failing (weak). A
// success of the same name elsewhere in the capture removes the
// differential and repetition signals, since a name filter would have cut
// it too.
func detectSNIBlocking(c *Context) []Finding {
	return c.scanQA().sni.findings(func(h string, sfs []sniFail) Finding { return sniFinding(c, h, sfs) })
}

// sniFlow is sni_blocking's look at one Quick Assist flow, in scanQA.
func (s *qaScan) sniFlow(c *Context, q *QAFlow, f *analyze.Flow) {
	if f.TLS == nil || f.TLS.SNI == "" || f.TLS.ClientFrame == 0 || f.SYNACKFrame == 0 {
		return
	}
	if sf, ok := sniFailFlow(c, f, q); ok {
		s.sni.add(q.Host, sf)
	}
}

// sniFail is one flow whose ClientHello went unanswered, and how.
type sniFail struct {
	f       *analyze.Flow
	q       *QAFlow
	mode    string // "reset", "drop", "silence", "fin", "alert", "not TLS"
	weights []float64
	ev      []Evidence
}

func sniFailFlow(c *Context, f *analyze.Flow, q *QAFlow) (sniFail, bool) {
	t, srv := f.TLS, &f.Dir[analyze.FromServer]
	if t.Gaps[analyze.FromServer] > 0 || srv.SeqGaps > 0 {
		return sniFail{}, false // server bytes went missing: loss or a black hole (heuristics.md sections 9 and 12), not a refusal
	}
	sf := sniFail{f: f, q: q}
	flt := &lazyFilter{f: f}
	if !sf.resetMode(flt) && !sf.unansweredMode(c, flt) {
		return sniFail{}, false
	}
	if !t.InTunnel {
		sf.ev = append(sf.ev, Evidence{
			Text:   fmt.Sprintf("the TCP handshake with %s completed normally (SYN-ACK in frame %d, %.1f ms): the address and port are reachable; the failure began with the ClientHello", f.Server, f.SYNACKFrame, ms(f.RTT)),
			Frames: []uint64{f.SYNACKFrame}, Filter: AndFrames(flt.String(), f.SYNACKFrame),
			Values: []Value{{Name: "rtt", Num: ms(f.RTT), Unit: "ms"}},
		})
		sf.weights = append(sf.weights, Weak)
	}
	return sf, true
}

// resetMode: the server side reset the connection after the ClientHello
// and before any ServerHello.
func (sf *sniFail) resetMode(flt *lazyFilter) bool {
	f, t := sf.f, sf.f.TLS
	var r *analyze.Reset
	rs := f.Resets()
	for i := range rs {
		if rs[i].From == analyze.FromServer && rs[i].Frame > t.ClientFrame {
			r = &rs[i]
			break
		}
	}
	if r == nil {
		return false
	}
	answer := firstNonZero(t.ServerFrame, t.Details().HRRFrame)
	if answer != 0 && answer < r.Frame || answer == 0 && f.Dir[analyze.FromServer].Payload > 0 {
		return false // the server answered first: the reset ended a handshake, it did not refuse the name
	}
	text := fmt.Sprintf("the server side reset the connection in frame %d right after the ClientHello for %s (frame %d), before any ServerHello", r.Frame, t.SNI, t.ClientFrame)
	var vals []Value
	if r.TriggerFrame >= t.ClientFrame && !r.TriggerTime.IsZero() {
		d := r.Time.Sub(r.TriggerTime)
		text += fmt.Sprintf(", %.1f ms after the client's last packet", ms(d))
		vals = append(vals, Value{Name: "reset_delay", Num: ms(d), Unit: "ms"})
	}
	sf.add("reset", Medium, Evidence{Text: text, Frames: []uint64{t.ClientFrame, r.Frame}, Filter: AndFrames(flt.String(), t.ClientFrame, r.Frame), Values: vals})
	return true
}

// unansweredMode: no ServerHello and no reset; what came back instead.
func (sf *sniFail) unansweredMode(c *Context, flt *lazyFilter) bool {
	f, t := sf.f, sf.f.TLS
	d := t.Details()
	if t.ServerFrame != 0 || d.HRRFrame != 0 {
		return false
	}
	srv, cli := &f.Dir[analyze.FromServer], &f.Dir[analyze.FromClient]
	ch := t.ClientFrame
	srvFilter := func() string { // built only for evidence
		if f.Server.Addr().Is6() && !f.Server.Addr().Is4In6() {
			return fmt.Sprintf("%s && ipv6.src == %s", flt, f.Server.Addr())
		}
		return fmt.Sprintf("%s && ip.src == %s", flt, f.Server.Addr())
	}
	switch {
	case srv.Payload > 0 && t.Records[analyze.FromServer] == 0 && d.Malformed != "":
		sf.add("not TLS", Strong, Evidence{
			Text:   fmt.Sprintf("the server side answered the ClientHello (frame %d) with %d bytes that are not TLS (%s): a block page or a filter's reply", ch, srv.Payload, d.Malformed),
			Frames: []uint64{ch}, Filter: srvFilter() + " && tcp.len > 0",
		})
	case sf.alertMode(flt):
	case srv.Payload > 0:
		return false
	case srv.FINs > 0:
		sf.add("fin", Medium, Evidence{
			Text:   fmt.Sprintf("the server side closed the connection (FIN) after the ClientHello for %s (frame %d) without sending a byte", t.SNI, ch),
			Frames: []uint64{ch}, Filter: srvFilter() + " && tcp.flags.fin == 1",
		})
	case srv.LastFrame < ch && cli.Retransmissions > 0:
		frames := append([]uint64{ch}, clientResets(f)...)
		sf.add("drop", Medium, Evidence{
			Text: fmt.Sprintf("the ClientHello for %s (frame %d) was never acknowledged: the client retransmitted %d times over %.1f s and the server side, which had answered the SYN, sent nothing more",
				t.SNI, ch, cli.Retransmissions, cli.Last().Sub(srv.First()).Seconds()),
			Frames: frames, Filter: flt.String() + " && (tcp.analysis.retransmission || " + FramesFilter(frames) + ")",
			Values: []Value{{Name: "retransmissions", Num: float64(cli.Retransmissions)}},
		})
	case srv.Payload == 0 && cli.LargeRetrans > 0 && sizePasses(c, f) != nil:
		g := sizePasses(c, f)
		sf.add("drop", Medium, Evidence{
			Text: fmt.Sprintf("the segment of the ClientHello for %s (frame %d) that carries the name was retransmitted %d times and never acknowledged, while the server side acknowledged only what followed it; segments as large reached the same server for %s (flow %d), so the path's MTU is not the cause",
				t.SNI, ch, cli.Retransmissions, g.TLS.SNI, g.ID),
			Frames: []uint64{ch, g.TLS.ServerFrame}, Filter: flt.String() + " && tcp.analysis.retransmission",
			Values: []Value{{Name: "retransmissions", Num: float64(cli.Retransmissions)}},
		})
	case cli.Retransmissions == 0 && (cli.FINs > 0 || cli.RSTs > 0) && f.IdleAfterFrame > ch &&
		f.MaxIdle >= max(silenceMin, silenceRTTs*f.RTT):
		sf.add("silence", Medium, Evidence{
			Text: fmt.Sprintf("the ClientHello for %s (frame %d) was acknowledged but never answered: %.1f s of silence until the client gave up in frame %d",
				t.SNI, ch, f.MaxIdle.Seconds(), f.IdleAfterFrame),
			Frames: []uint64{ch, f.IdleAfterFrame}, Filter: AndFrames(flt.String(), ch, f.IdleAfterFrame),
			Values: []Value{{Name: "silence", Num: ms(f.MaxIdle), Unit: "ms"}},
		})
	default:
		return false
	}
	return true
}

// add records the failure mode and its evidence.
func (sf *sniFail) add(mode string, w float64, e Evidence) {
	sf.mode = mode
	sf.ev = append(sf.ev, e)
	sf.weights = append(sf.weights, w)
}

// alertMode: a cleartext fatal alert from the server side that the
// ClientHello does not explain (then tls_failure owns it).
func (sf *sniFail) alertMode(flt *lazyFilter) bool {
	f, t := sf.f, sf.f.TLS
	al, ok := serverFatalAlert(t)
	if !ok || helloExplains(t, al.Description) != "" {
		return false
	}
	name := tlsmsg.AlertDescriptionName(al.Description)
	sf.add("alert", Medium, Evidence{
		Text:   fmt.Sprintf("the server side answered the ClientHello for %s (frame %d) with a fatal %s alert in frame %d instead of a ServerHello", t.SNI, t.ClientFrame, name, al.Frame),
		Frames: []uint64{t.ClientFrame, al.Frame}, Filter: AndFrames(flt.String(), t.ClientFrame, al.Frame),
		Values: []Value{{Name: "alert", Num: float64(al.Description)}},
	})
	if srv := &f.Dir[analyze.FromServer]; !ttlConsistent(f) && f.SYNACKFrame != 0 {
		sf.ev = append(sf.ev, Evidence{
			Text:   fmt.Sprintf("the server side's packets arrived with TTLs from %d to %d while its SYN-ACK (frame %d) had %d: another box sent the alert", srv.TTLMin, srv.TTLMax, f.SYNACKFrame, srv.TTLFirst),
			Frames: []uint64{f.SYNACKFrame, al.Frame}, Filter: AndFrames(flt.String(), f.SYNACKFrame, al.Frame),
			Values: []Value{{Name: "ttl_min", Num: float64(srv.TTLMin)}, {Name: "ttl_max", Num: float64(srv.TTLMax)}},
		})
		sf.weights = append(sf.weights, Medium)
	}
	return true
}

func sniFinding(c *Context, host string, fs []sniFail) Finding {
	best := fs[0]
	for _, sf := range fs[1:] {
		if Combine(sf.weights...) > Combine(best.weights...) {
			best = sf
		}
	}
	weights := slices.Clone(best.weights)
	fd := Finding{Hosts: []string{host}, Evidence: slices.Clone(best.ev)}
	addrs := map[netip.Addr]bool{}
	var modes []string
	for _, sf := range fs {
		fd.Flows = append(fd.Flows, sf.f.ID)
		addrs[sf.f.Server.Addr()] = true
		if !slices.Contains(modes, sf.mode) {
			modes = append(modes, sf.mode)
		}
	}
	works := sameNameWorks(c, best.f.TLS.SNI, fd.Flows)
	switch ev, ok := differential(c, fs); {
	case works != nil:
		// This address may simply not serve the name (section 3, the
		// CDN trap), and a name filter would have cut the other one too.
		fd.Evidence = append(fd.Evidence, Evidence{
			Text:   fmt.Sprintf("but a connection with the same name to %s got a ServerHello (frame %d): the name is not refused everywhere", works.Server, works.TLS.ServerFrame),
			Frames: []uint64{works.TLS.ServerFrame}, Filter: AndFrames(FlowFilter(works), works.TLS.ServerFrame),
		})
	case ok:
		fd.Evidence = append(fd.Evidence, ev)
		weights = append(weights, Strong)
	}
	switch {
	case works != nil:
	case len(addrs) >= 2:
		fd.Evidence = append(fd.Evidence, Evidence{Text: fmt.Sprintf("the name failed on all %d addresses it was tried on", len(addrs)), Frames: firstFrames(fs)})
		weights = append(weights, Medium)
	case len(fs) >= 2:
		fd.Evidence = append(fd.Evidence, Evidence{Text: fmt.Sprintf("all %d connections with this name failed the same way", len(fs)), Frames: firstFrames(fs)})
		weights = append(weights, Weak)
	}
	fd.Score = Combine(weights...)
	fd.Explanation = fmt.Sprintf("Connections to %s fail as soon as the ClientHello names it (%s after the ClientHello) although the TCP handshake works: a firewall, web filter or DPI device matches the name (SNI) and blocks it.",
		host, strings.Join(modeWords(modes), ", "))
	fd.Remediation = []string{
		c.allowRule(best.q),
		fmt.Sprintf("In the firewall's or web filter's TLS/SNI policy (URL category, application control, IPS), allow %s and the other Quick Assist names (%s); its log shows the match for %s at this time",
			host, otherQANames(c.Cat, host), best.f.Server),
	}
	if fd.Score < 0.85 {
		fd.Conclusive = fmt.Sprintf("a ClientHello for another name to %s that gets a ServerHello, or the filter's log entry for %s, would settle it", best.f.Server.Addr(), host)
	}
	return fd
}

// differential finds another name answered on an address where this name
// failed (research/heuristics.md section 3, Censored Planet's control
// method): strong.
func differential(c *Context, fs []sniFail) (Evidence, bool) {
	for _, sf := range fs {
		if sf.f.TLS.InTunnel {
			continue // every tunnel shares the proxy's address
		}
		g := otherNameWorks(c, sf.f)
		if g == nil {
			continue
		}
		frames := nonZero([]uint64{g.SYNACKFrame, g.TLS.ClientFrame, g.TLS.ServerFrame})
		return Evidence{
			Text: fmt.Sprintf("a ClientHello for %s to the same address %s got a ServerHello in frame %d: the server and the path work, only the name %s fails",
				g.TLS.SNI, g.Server, g.TLS.ServerFrame, sf.f.TLS.SNI),
			Frames: frames, Filter: AndFrames(FlowFilter(g), frames...),
		}, true
	}
	return Evidence{}, false
}

// otherNameWorks returns a flow to the same server address and port whose
// ClientHello carried another name and got a ServerHello, or nil.
func otherNameWorks(c *Context, f *analyze.Flow) *analyze.Flow {
	var first *analyze.Flow
	for name, g := range c.helloWorked[f.Server] {
		if g != f && !strings.EqualFold(name, f.TLS.SNI) && (first == nil || g.ID < first.ID) {
			first = g
		}
	}
	return first
}

// sizePasses returns a flow to f's server, with another name, whose
// ClientHello got a ServerHello although the client's segments were as
// large as f's and none of its large segments had to be retransmitted, or
// nil. A ClientHello larger than one segment (post-quantum key shares make
// WebView2's and Go's about 1.5 kB) reaches a name filter in two pieces;
// the filter drops the piece with the name, the server acknowledges the
// other (SACK) and the client retransmits the first: on the wire that is
// the PMTU trap of heuristics.md section 9, unless segments of that size
// demonstrably pass on the same path.
func sizePasses(c *Context, f *analyze.Flow) *analyze.Flow {
	var first *analyze.Flow
	want := f.Dir[analyze.FromClient].MaxPayload
	for name, g := range c.helloWorked[f.Server] {
		cli := &g.Dir[analyze.FromClient]
		if g == f || strings.EqualFold(name, f.TLS.SNI) || cli.MaxPayload < want || cli.LargeRetrans > 0 {
			continue
		}
		if first == nil || g.ID < first.ID {
			first = g
		}
	}
	return first
}

// sameNameWorks returns a flow, other than the failed ones, whose
// ClientHello carried sni and got a ServerHello, or nil.
func sameNameWorks(c *Context, sni string, failed []int) *analyze.Flow {
	for _, g := range c.FlowsNamed(sni) {
		if g.TLS != nil && g.TLS.ServerFrame != 0 && strings.EqualFold(g.TLS.SNI, sni) && !slices.Contains(failed, g.ID) {
			return g
		}
	}
	return nil
}

func modeWords(modes []string) []string {
	words := map[string]string{
		"reset": "a reset", "drop": "no acknowledgement", "silence": "no answer",
		"fin": "a close", "alert": "a TLS alert", "not TLS": "a non-TLS reply",
	}
	out := make([]string, 0, len(modes))
	for _, m := range modes {
		out = append(out, words[m])
	}
	return out
}

func firstFrames(fs []sniFail) []uint64 {
	out := make([]uint64, 0, len(fs))
	for _, sf := range fs {
		out = append(out, sf.f.TLS.ClientFrame)
	}
	return out
}

func clientResets(f *analyze.Flow) []uint64 {
	var out []uint64
	for _, r := range f.Resets() {
		if r.From == analyze.FromClient {
			out = append(out, r.Frame)
		}
	}
	return out
}

func firstNonZero(a, b uint64) uint64 {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}
