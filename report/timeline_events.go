package report

import (
	"fmt"
	"math/bits"
	"slices"
	"time"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode/dnsmsg"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// The timeline needs a time for every frame it marks, but the data model
// gives one only for some frames: a flow's first and last packet in each
// direction, the SYN-ACK (first client packet plus RTT), resets and the
// packets that triggered them, ICMP errors, DNS queries and answers, STUN
// requests and responses. frameClock knows those anchors; any other frame
// (a ClientHello, a certificate, an alert, an HTTP answer) is placed by
// frame order between the nearest anchors before and after it, and marked
// as estimated: frame numbers follow capture order, so the estimate can be
// off in time but never out of order.

// anchor is a frame whose time is known; est marks one derived from
// estimates (an idle gap neither of whose ends has a known time).
type anchor struct {
	frame uint64
	t     int64 // Unix nanoseconds
	ok    bool
	est   bool
}

// frameClock finds times for a fixed set of frames from every anchor of the
// capture, in one pass and without a per-frame index: the capture's size
// does not matter, only the number of frames asked for.
type frameClock struct {
	need       []uint64
	exact      []anchor
	pred, succ []anchor
}

func newFrameClock(need []uint64) *frameClock {
	need = slices.Compact(slices.Sorted(slices.Values(need)))
	n := len(need)
	return &frameClock{need: need, exact: make([]anchor, n), pred: make([]anchor, n), succ: make([]anchor, n)}
}

// add records an anchor; the first anchor of a frame wins.
func (c *frameClock) add(frame uint64, t time.Time, est bool) {
	if frame == 0 || t.IsZero() {
		return
	}
	a := anchor{frame: frame, t: t.UnixNano(), ok: true, est: est}
	i, found := slices.BinarySearch(c.need, frame)
	if found && !c.exact[i].ok {
		c.exact[i] = a
	}
	if i < len(c.need) && (!c.pred[i].ok || frame > c.pred[i].frame) {
		c.pred[i] = a
	}
	j := i - 1
	if found {
		j = i
	}
	if j >= 0 && (!c.succ[j].ok || frame < c.succ[j].frame) {
		c.succ[j] = a
	}
}

// finish carries each anchor to the frames it is nearest to: an anchor
// before need[i] is also before need[i+1].
func (c *frameClock) finish() {
	for i := 1; i < len(c.need); i++ {
		if p := c.pred[i-1]; p.ok && (!c.pred[i].ok || p.frame > c.pred[i].frame) {
			c.pred[i] = p
		}
	}
	for i := len(c.need) - 2; i >= 0; i-- {
		if s := c.succ[i+1]; s.ok && (!c.succ[i].ok || s.frame < c.succ[i].frame) {
			c.succ[i] = s
		}
	}
}

// at returns frame's time, whether the data model gave it (exact), and
// false when no anchor at all was found.
func (c *frameClock) at(frame uint64) (t int64, exact, ok bool) {
	i, found := slices.BinarySearch(c.need, frame)
	if !found {
		return 0, false, false
	}
	if a := c.exact[i]; a.ok {
		return a.t, !a.est, true
	}
	p, s := c.pred[i], c.succ[i]
	switch {
	case p.ok && s.ok && s.t > p.t:
		return p.t + int64(mulDiv(uint64(s.t-p.t), frame-p.frame, s.frame-p.frame)), false, true
	case p.ok:
		return p.t, false, true
	case s.ok:
		return s.t, false, true
	}
	return 0, false, false
}

// mulDiv returns a*b/c for b <= c without overflow.
func mulDiv(a, b, c uint64) uint64 {
	if c == 0 {
		return 0
	}
	hi, lo := bits.Mul64(a, b)
	q, _ := bits.Div64(hi, lo, c)
	return q
}

// addAnchors gives the clock every frame of f whose time the data model
// records.
func addAnchors(c *frameClock, f *analyze.Flow) {
	c.add(f.FirstFrame(), f.First(), false)
	c.add(f.LastFrame(), f.Last(), false)
	for d := range f.Dir {
		if ds := &f.Dir[d]; ds.Packets > 0 {
			c.add(ds.FirstFrame, ds.First(), false)
			c.add(ds.LastFrame, ds.Last(), false)
		}
	}
	if f.SYNACKFrame != 0 && f.RTT > 0 {
		c.add(f.SYNACKFrame, f.Dir[analyze.FromClient].First().Add(f.RTT), false)
	}
	for _, r := range f.Resets() {
		c.add(r.Frame, r.Time, false)
		c.add(r.TriggerFrame, r.TriggerTime, false)
	}
	for _, e := range f.ICMP() {
		c.add(e.Frame, e.Time, false)
	}
	if s := f.STUN; s != nil {
		for _, tx := range s.Transactions {
			if len(tx.RequestFrames) > 0 {
				c.add(tx.RequestFrames[0], tx.FirstRequest, false)
				if len(tx.RequestFrames) == tx.Requests {
					c.add(tx.RequestFrames[len(tx.RequestFrames)-1], tx.LastRequest, false)
				}
			}
			if tx.ResponseFrame != 0 && !tx.FirstRequest.IsZero() {
				c.add(tx.ResponseFrame, tx.FirstRequest.Add(tx.RTT), false)
			}
		}
	}
	if d := f.DNS; d != nil {
		for _, q := range d.Queries {
			if q.Frame != 0 {
				c.add(q.Frame, q.First, false)
				if q.ResponseFrame != 0 {
					c.add(q.ResponseFrame, q.First.Add(q.RTT), false)
				}
			}
		}
	}
}

// idleTimes places f's idle gap: exactly when the time of one end is known
// (the other is the gap away), otherwise by sharing the time between the
// nearest anchors that is not the gap in proportion to the frames on each
// side, so the estimate keeps the gap's length.
func idleTimes(c *frameClock, g *analyze.IdleGap) (start, end int64, exact, ok bool) {
	if t, known, _ := c.at(g.StartFrame); known {
		return t, t + int64(g.Gap), true, true
	}
	if t, known, _ := c.at(g.EndFrame); known {
		return t - int64(g.Gap), t, true, true
	}
	i, _ := slices.BinarySearch(c.need, g.StartFrame)
	j, _ := slices.BinarySearch(c.need, g.EndFrame)
	p, s := c.pred[i], c.succ[j]
	if !p.ok || !s.ok {
		return 0, 0, false, false
	}
	slack := max(s.t-p.t-int64(g.Gap), 0)
	start = p.t + int64(mulDiv(uint64(slack), g.StartFrame-p.frame, g.StartFrame-p.frame+s.frame-g.EndFrame))
	return start, start + int64(g.Gap), false, true
}

// Event kinds, also the marks' CSS classes.
const (
	evSYN   = "syn"   // SYN, SYN-ACK
	evTLS   = "tls"   // handshake messages
	evData  = "data"  // application data
	evReq   = "req"   // a DNS, STUN or HTTP request
	evOK    = "ok"    // its answer
	evBad   = "bad"   // an error answer, or a request never answered
	evRST   = "rst"   // TCP reset
	evAlert = "alert" // TLS alert or ICMP error
)

// tlEvent is one frame of a flow worth a mark: who sent it and what it was.
type tlEvent struct {
	frame uint64
	dir   analyze.Direction
	kind  string
	text  string
}

// maxEventsPerList bounds the DNS queries, STUN transactions and HTTP
// exchanges drawn per flow: the marks would merge anyway.
const maxEventsPerList = 32

// flowEvents lists f's marks, from the fields that carry a frame number.
func flowEvents(f *analyze.Flow) []tlEvent {
	var ev []tlEvent
	add := func(frame uint64, dir analyze.Direction, kind, text string) {
		if frame != 0 {
			ev = append(ev, tlEvent{frame, dir, kind, sanitize(text)})
		}
	}
	syn := "SYN"
	if n := f.Dir[analyze.FromClient].SYNs; n > 1 {
		syn += fmt.Sprintf(" (sent %d times)", n)
	}
	add(f.SYNFrame, analyze.FromClient, evSYN, syn)
	add(f.SYNACKFrame, analyze.FromServer, evSYN, "SYN-ACK, round trip "+duration(f.RTT))
	if t := f.TLS; t != nil {
		tlsEvents(t, add)
	}
	for _, r := range f.Resets() {
		add(r.Frame, r.From, evRST, fmt.Sprintf("RST from the %s, TTL %d", dirName(r.From), r.TTL))
	}
	for _, e := range f.ICMP() {
		dir := analyze.FromServer // an error about the client's packet comes back toward it
		if !e.ToServer {
			dir = analyze.FromClient
		}
		add(e.Frame, dir, evAlert, fmt.Sprintf("ICMP error type %d code %d from %s", e.Type, e.Code, e.From))
	}
	if h := f.HTTP; h != nil {
		for _, x := range h.Exchanges[:min(len(h.Exchanges), maxEventsPerList)] {
			kind, ans := evOK, fmt.Sprintf("HTTP %d %s", x.Status, x.Reason)
			if x.Status >= 400 {
				kind = evBad
			}
			add(x.Frame, analyze.FromClient, evReq, x.Method+" "+x.Target)
			add(x.ResponseFrame, analyze.FromServer, kind, ans)
		}
	}
	if s := f.STUN; s != nil {
		stunEvents(s, add)
	}
	if d := f.DNS; d != nil {
		dnsEvents(d, add)
	}
	return ev
}

type addEvent func(frame uint64, dir analyze.Direction, kind, text string)

func tlsEvents(t *analyze.TLSInfo, add addEvent) {
	add(t.ClientFrame, analyze.FromClient, evTLS, "ClientHello, SNI "+t.SNI)
	d := t.Details()
	add(d.HRRFrame, analyze.FromServer, evTLS, "HelloRetryRequest")
	add(t.ServerFrame, analyze.FromServer, evTLS, "ServerHello, "+tlsmsg.VersionName(t.Version))
	if len(d.Certificates) > 0 {
		c := d.Certificates[0]
		add(t.CertFrame, analyze.FromServer, evTLS, "Certificate for "+c.SubjectCN+" issued by "+c.IssuerCN)
	}
	add(t.AppDataFrame[analyze.FromClient], analyze.FromClient, evData, "first application data")
	add(t.AppDataFrame[analyze.FromServer], analyze.FromServer, evData, "first application data")
	for _, a := range d.Alerts {
		name := "encrypted alert"
		if !a.Encrypted {
			name = "alert " + tlsmsg.AlertDescriptionName(a.Description)
		}
		add(a.Frame, a.From, evAlert, "TLS "+name+" from the "+dirName(a.From))
	}
}

func stunEvents(s *analyze.STUNInfo, add addEvent) {
	for _, tx := range s.Transactions[:min(len(s.Transactions), maxEventsPerList)] {
		kind, what := evReq, "STUN "+tx.Method+" request"
		if tx.ResponseFrame == 0 {
			kind, what = evBad, what+", never answered"
		}
		for i, fr := range tx.RequestFrames {
			add(fr, analyze.FromClient, kind, fmt.Sprintf("%s (copy %d of %d)", what, i+1, tx.Requests))
		}
		ans, kind := "STUN "+tx.Method+" "+tx.Class, evOK
		if tx.Class != "success" {
			ans, kind = fmt.Sprintf("%s %d", ans, tx.ErrorCode), evBad
		}
		add(tx.ResponseFrame, analyze.FromServer, kind, ans)
	}
}

func dnsEvents(d *analyze.DNSInfo, add addEvent) {
	for _, q := range d.Queries[:min(len(d.Queries), maxEventsPerList)] {
		kind, what := evReq, "DNS query "+q.Name+" "+dnsmsg.TypeName(q.Type)
		if !q.Answered() {
			kind, what = evBad, what+", never answered"
		}
		for _, fr := range q.Frames {
			add(fr, analyze.FromClient, kind, what)
		}
		ans := evOK
		if q.Rcode != 0 {
			ans = evBad
		}
		add(q.ResponseFrame, analyze.FromServer, ans, "DNS answer "+dnsmsg.RcodeName(q.Rcode)+" for "+q.Name)
	}
}

// knows reports whether frame is one of f's recorded frames, so that an
// evidence frame can be drawn on its flow.
func knows(f *analyze.Flow, ev []tlEvent, frame uint64) bool {
	if frame == f.FirstFrame() || frame == f.LastFrame() || frame == f.IdleAfterFrame || frame == f.DataAfterReset() {
		return true
	}
	for d := range f.Dir {
		if frame == f.Dir[d].FirstFrame || frame == f.Dir[d].LastFrame {
			return true
		}
	}
	if g := f.Idle; g != nil && (frame == g.StartFrame || frame == g.EndFrame) {
		return true
	}
	return slices.ContainsFunc(ev, func(e tlEvent) bool { return e.frame == frame })
}
