package diagnose

import (
	"fmt"
	"slices"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode"
)

// detectMTUBlackhole finds Quick Assist connections whose handshake worked
// but whose full-size segments vanished while small ones got through: a
// path MTU black hole (research/heuristics.md section 9, RFC 2923 3.1).
//
// Inbound (the server's segments, seen at the client): only small segments
// of the server's flight arrive, above a hole of at least one full segment
// (sequence gaps and reassembly gaps), the server retransmits, and the TLS
// handshake never completes (row 2, strong).
//
// Outbound (the client's segments): full-size segments, such as the first
// segment of a post-quantum ClientHello that no longer fits one packet, are
// retransmitted again and again while the server still acknowledges the
// small ones, and the server never answers (row 1: strong from three
// retransmissions, medium from two; row 5 adds the ClientHello size, weak).
//
// Either is medium, not strong, when an ICMP fragmentation needed or Packet
// Too Big for the flow is seen (row 4: the sender ignored it). The same hole
// on two or more connections to the name adds medium; other connections
// carrying full-size segments, which shows that the capture and the local
// link see them, add weak.
//
// Not blamed: losses that recover (the handshake completes), a path that
// lost small segments too (general loss), frames cut by the snapshot
// length, and a connection whose same-size segment reached the same address
// on another connection (a filter reading the ClientHello, section 9 row 5's
// trap: sni_blocking).
func detectMTUBlackhole(c *Context) []Finding {
	var order []string
	groups := map[string]*mtuGroup{}
	for q, f := range c.quickAssist {
		if f.Proto != decode.ProtoTCP || f.SYNACKFrame == 0 || Established(f) {
			continue
		}
		ev, w, ok := c.inboundHole(f)
		if !ok {
			ev, w, ok = c.outboundHole(f)
		}
		if !ok {
			continue
		}
		nq := c.namedQA(f, q)
		g := groups[nq.Host]
		if g == nil {
			g = &mtuGroup{q: nq}
			groups[nq.Host] = g
			order = append(order, nq.Host)
		}
		if len(g.flows) > 0 {
			ev = ev[:1] // the first connection tells the story; later ones repeat it
		}
		g.flows = append(g.flows, f)
		g.ev = append(g.ev, ev...)
		g.w = max(g.w, w)
	}
	var fs []Finding
	for _, h := range order {
		fs = append(fs, c.mtuFinding(groups[h]))
	}
	return fs
}

type mtuGroup struct {
	q     *QAFlow
	flows []*analyze.Flow
	ev    []Evidence
	w     float64 // the strongest flow's weight
}

// fullSegment is the payload from which a segment counts as full-size: more
// than fits the 1280-byte IPv6 minimum MTU, less than a 1460-byte Ethernet
// segment or the 1440 of IPv6 (research/heuristics.md section 9; the same
// bound as the flow table's LargeRetrans).
const fullSegment = 1200

// inboundHole reports the server's full-size segments missing at the
// client while its small ones arrive.
func (c *Context) inboundHole(f *analyze.Flow) ([]Evidence, float64, bool) {
	cl, srv := &f.Dir[analyze.FromClient], &f.Dir[analyze.FromServer]
	if cl.Payload == 0 || srv.Payload == 0 || srv.SeqGaps == 0 || srv.StreamGaps < fullSegment ||
		srv.MaxPayload >= fullSegment || srv.Malformed > 0 {
		return nil, 0, false
	}
	flt := FlowFilter(f)
	frames := nonZero([]uint64{f.SYNFrame, f.SYNACKFrame, srv.LastFrame})
	var ev []Evidence
	ev = append(ev, Evidence{
		Text: fmt.Sprintf("the handshake with %s worked (SYN-ACK in frame %d, MSS %d announced by the client) and %d more packets came from the server, none with over %d bytes of payload, but %d bytes of its stream are missing in %d hole(s): the full-size segments never arrived",
			f.Server, f.SYNACKFrame, cl.MSS, srv.Packets-uint64(srv.SYNs), srv.MaxPayload, srv.StreamGaps, srv.SeqGaps),
		Frames: frames, Filter: AndFrames(flt, frames...),
		Values: []Value{{Name: "missing_bytes", Num: float64(srv.StreamGaps), Unit: "bytes"},
			{Name: "largest_segment", Num: float64(srv.MaxPayload), Unit: "bytes"}, {Name: "client_mss", Num: float64(cl.MSS), Unit: "bytes"}},
	})
	if t := f.TLS; t != nil && t.ClientFrame != 0 {
		done := t.Details().DoneFrame
		tf := nonZero([]uint64{t.ClientFrame, done})
		text := fmt.Sprintf("the ClientHello (frame %d) was answered, but the server's TLS flight is incomplete", t.ClientFrame)
		switch {
		case t.ServerFrame == 0 && done != 0:
			text += fmt.Sprintf(": its last message (ServerHelloDone, frame %d) arrived without the ServerHello and certificate before it", done)
		case t.ServerFrame == 0:
			text += ": no ServerHello arrived"
		case t.Truncated:
			text += ": its handshake bytes stop inside a message"
		}
		ev = append(ev, Evidence{Text: text, Frames: tf, Filter: AndFrames(flt, tf...)})
	}
	if srv.Retransmissions > 0 {
		// The flow keeps no frame numbers of retransmissions.
		ev = append(ev, Evidence{
			Text: fmt.Sprintf("the server retransmitted %d time(s) without filling the hole: it is not getting acknowledgements for the full-size segments", srv.Retransmissions),
		})
	}
	w := Strong
	if c.mtuICMP(f, false, &ev) {
		w = Medium
	}
	return ev, w, true
}

// outboundHole reports the client's full-size segments retransmitted
// without an acknowledgement while the server answers the small ones.
func (c *Context) outboundHole(f *analyze.Flow) ([]Evidence, float64, bool) {
	cl, srv := &f.Dir[analyze.FromClient], &f.Dir[analyze.FromServer]
	acks := srv.Packets - uint64(srv.SYNs) - uint64(srv.RSTs)
	if cl.LargeRetrans < 2 || cl.MaxPayload < fullSegment || cl.LargeRetrans*2 <= cl.Retransmissions || acks == 0 || cl.Malformed > 0 {
		return nil, 0, false
	}
	if c.fullSizeThrough(f) != nil {
		return nil, 0, false // the same address took a segment this size: not the path
	}
	flt := FlowFilter(f)
	var ev []Evidence
	frames := nonZero([]uint64{f.SYNACKFrame, srv.LastFrame, cl.LastFrame})
	ev = append(ev, Evidence{
		Text: fmt.Sprintf("the client's full-size segment (%d bytes) to %s was retransmitted %d times and never acknowledged, while the server answered after the handshake (%d packet(s), last in frame %d), so smaller segments reach it",
			cl.MaxPayload, f.Server, cl.LargeRetrans, acks, srv.LastFrame),
		Frames: frames, Filter: AndFrames(flt, frames...),
		Values: []Value{{Name: "large_retransmissions", Num: float64(cl.LargeRetrans)}, {Name: "segment", Num: float64(cl.MaxPayload), Unit: "bytes"}},
	})
	// Three identical retransmissions make the black hole (section 9
	// row 1); two are a hint.
	w, weak := Medium, false
	if cl.LargeRetrans >= 3 {
		w = Strong
	}
	if t := f.TLS; t != nil && t.ClientFrame != 0 && t.ServerFrame == 0 && pqKeyShare(t.Offered().KeyShareGroups) {
		// The oversized ClientHello (section 9 row 5) explains why this
		// connection, and not the ones before it, met the black hole.
		weak = true
		ev = append(ev, Evidence{
			Text:   fmt.Sprintf("the ClientHello (frame %d) carries a post-quantum key share, so it needs more than one full-size segment; the server never answered it", t.ClientFrame),
			Frames: []uint64{t.ClientFrame}, Filter: AndFrames(flt, t.ClientFrame),
		})
	}
	if c.mtuICMP(f, true, &ev) {
		w = Medium
	}
	if weak {
		w = Combine(w, Weak)
	}
	return ev, w, true
}

// pqKeyShare reports a hybrid post-quantum key share: X25519MLKEM768
// (0x11ec) or the earlier X25519Kyber768Draft00 (0x6399), 1.1 kB or more.
func pqKeyShare(groups []uint16) bool {
	return slices.Contains(groups, 0x11ec) || slices.Contains(groups, 0x6399)
}

// fullSizeThrough is another connection to f's server address that carried
// a client segment at least as large as f's and completed.
func (c *Context) fullSizeThrough(f *analyze.Flow) *analyze.Flow {
	for _, g := range c.FlowsTo(f.Server.Addr()) {
		if g != f && g.Server.Addr() == f.Server.Addr() && Established(g) &&
			g.Dir[analyze.FromClient].MaxPayload >= f.Dir[analyze.FromClient].MaxPayload {
			return g
		}
	}
	return nil
}

// mtuICMP adds evidence about ICMP fragmentation needed (ICMP 3/4, RFC
// 1191) or Packet Too Big (ICMPv6 2, RFC 8201) for the flow's segments in
// one direction, and reports whether one was seen.
func (c *Context) mtuICMP(f *analyze.Flow, toServer bool, ev *[]Evidence) bool {
	for _, e := range f.ICMP() {
		if e.ToServer != toServer || !isMTUICMP(e) {
			continue
		}
		sender := "the client"
		if !toServer {
			sender = "the server"
		}
		*ev = append(*ev, Evidence{
			Text: fmt.Sprintf("%s from %s in frame %d gave a next-hop MTU of %d, yet %s kept sending full-size segments: it ignored the message or a host firewall dropped it",
				icmpTypeCode(e), e.From, e.Frame, e.MTU, sender),
			Frames: []uint64{e.Frame},
			Values: []Value{{Name: "next_hop_mtu", Num: float64(e.MTU), Unit: "bytes"}},
		})
		return true
	}
	return false
}

// isMTUICMP reports fragmentation needed (ICMP 3/4) or Packet Too Big
// (ICMPv6 2).
func isMTUICMP(e analyze.ICMPError) bool {
	return e.V6 && e.Type == 2 || !e.V6 && e.Type == 3 && e.Code == 4
}

// fullSizeElsewhere reports another connection that carried full-size
// segments in the direction that failed.
func (c *Context) fullSizeElsewhere(g *mtuGroup, d analyze.Direction) *analyze.Flow {
	for _, f := range c.Flows {
		if f.Proto == decode.ProtoTCP && !slices.Contains(g.flows, f) && f.Dir[d].MaxPayload >= fullSegment && Established(f) {
			return f
		}
	}
	return nil
}

func (c *Context) mtuFinding(g *mtuGroup) Finding {
	fd := Finding{Hosts: []string{g.q.Host}, Evidence: g.ev}
	w := []float64{g.w}
	var addrs []string
	inbound := false
	for _, f := range g.flows {
		fd.Flows = append(fd.Flows, f.ID)
		if a := f.Server.Addr().String(); !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
		inbound = inbound || f.Dir[analyze.FromServer].StreamGaps >= fullSegment
	}
	if len(g.flows) >= 2 {
		w = append(w, Medium) // the same hole every time: not random loss
		fd.Evidence = append(fd.Evidence, Evidence{Text: fmt.Sprintf("the same happened on %d connections to %s", len(g.flows), g.q.Host)})
	}
	dir, who := analyze.FromClient, "client"
	if inbound {
		dir, who = analyze.FromServer, "server"
	}
	if o := c.fullSizeElsewhere(g, dir); o != nil {
		// The capture and the local link do carry full-size segments, so
		// their absence here is the path's (section 12: snaplen, offload).
		w = append(w, Weak)
		fr := []uint64{o.SYNFrame}
		fd.Evidence = append(fd.Evidence, Evidence{
			Text:   fmt.Sprintf("another connection (to %s) carried %d-byte %s segments without trouble: the capture and the local link see full-size packets, the loss is on the path", o.Server, o.Dir[dir].MaxPayload, who),
			Frames: fr, Filter: AndFrames(FlowFilter(o), fr...),
		})
	}
	if !slices.ContainsFunc(g.flows, func(f *analyze.Flow) bool { return slices.ContainsFunc(f.ICMP(), isMTUICMP) }) {
		text := "no ICMP fragmentation needed or Packet Too Big was seen, so path MTU discovery could not shrink the segments"
		if inbound {
			text += " (such an error would go to the server and is not visible in a capture taken at the client)"
		}
		fd.Evidence = append(fd.Evidence, Evidence{Text: text})
	}
	if len(fd.Evidence) > maxEvidence {
		fd.Evidence = fd.Evidence[:maxEvidence]
	}
	fd.Score = Combine(w...)
	where := strings.Join(addrs, ", ")
	ping := "a 1472-byte payload"
	if g.flows[0].Server.Addr().Is6() {
		ping = "a 1452-byte payload"
	}
	fd.Explanation = fmt.Sprintf("The connection to %s (%s) completed its TCP handshake, but its full-size packets from the %s are lost on the path while small ones get through: a link with a smaller MTU (VPN, tunnel, PPPoE) drops them and path MTU discovery does not work (a path MTU black hole).", g.q.Host, where, who)
	fd.Remediation = []string{
		"Clamp the TCP MSS on the VPN, tunnel or WAN interface to fit the path (e.g. 1360 for IPv4, 1340 for IPv6 on a 1400-byte path)",
		fmt.Sprintf("Allow ICMP type 3 code 4 (fragmentation needed) and ICMPv6 type 2 (Packet Too Big) through every firewall between the client and %s, so path MTU discovery works", where),
		fmt.Sprintf("Check the MTU of the tunnel or VPN towards %s (e.g. ping with the don't-fragment bit and %s) and lower the interface MTU to what it carries", where, ping),
	}
	if fd.Score < 0.85 {
		fd.Conclusive = fmt.Sprintf("a don't-fragment ping to %s that fails with %s but works smaller, or the session working after MSS clamping, would settle it", where, ping)
	}
	return fd
}
