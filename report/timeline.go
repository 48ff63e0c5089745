package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/diagnose"
)

// timeline is the HTML report's picture: one lane per flow, time running
// left to right, the client's packets on a lane's upper row and the
// server's on its lower row, the findings' evidence frames as numbered
// badges, and the failing moment as a vertical line. Coordinates are
// computed in integer tenths of a pixel and formatted here, so the output is
// the same on every machine; the template escapes every text.
type timeline struct {
	Width, Height   int
	Desc, Empty     string
	PlotX0, PlotX1  string
	LanesTop        int
	LanesBottom     int
	AxisY, LegendY  int
	Lanes           []tlLane
	Ticks           []tlTick
	Breaks          []tlBreak
	Failure         *tlFailure
	Notes           []string
	LanesH, BreakH  int
	LabelX, RowTagX int
	TickY2, FailY1  int
}

type tlLane struct {
	Top, ClientY, MidY, ServerY    int
	BadgeY, BadgeTextY, BadgeLineY int
	Class                          string
	Label, Host, Addrs             string
	BarX, BarW                     string
	Gaps                           []tlGap
	Marks                          []tlMark
	Badges                         []tlBadge
}

type tlGap struct{ X, W, LabelX, Label string }
type tlMark struct{ D, Class, Title string }
type tlBadge struct{ X, LineX, Label, Title, Class string }
type tlTick struct{ X, Label, Anchor string }
type tlBreak struct{ X, W, LabelX, Label string }
type tlFailure struct{ X, LabelX, Anchor, Label string }

// Layout, in pixels.
const (
	tlWidth    = 1000
	tlPlotX0   = 320
	tlPlotX1   = 984
	tlTop      = 30
	tlLaneH    = 52
	tlAxisH    = 36
	tlLegendH  = 44
	tlBreakW   = 40
	tlMaxLanes = 24
	tlTickPx   = 110 // aimed-at distance between axis ticks
	tlHostLen  = 48  // characters of a host name in a lane's label
)

// evRef is one evidence frame of a finding, placed on a lane.
type evRef struct {
	finding int // 1-based rank
	frame   uint64
	text    string
	flow    int // lane flow id, 0 when not placed
}

// tlPlan is what buildTimeline decided before drawing: lanes, evidence
// placement, and the clock that turns frames into times.
type tlPlan struct {
	r       *analyze.Result
	lanes   []*analyze.Flow
	qa      func(id int) (diagnose.QAFlow, bool)
	hit     map[int]bool // flows of the verdict's finding
	events  map[int][]tlEvent
	refs    []evRef
	clock   *frameClock
	idle    map[int][3]int64 // start, end, exact (1) per lane flow
	more    int              // flows left out by tlMaxLanes
	failure *evRef
}

// buildTimeline lays out the picture of the Quick Assist flows, the flows
// of the findings and the flows their evidence frames belong to.
func buildTimeline(r *analyze.Result, v *diagnose.Verdict) *timeline {
	p := planTimeline(r, v)
	tl := &timeline{Width: tlWidth, PlotX0: tn(tlPlotX0 * 10), PlotX1: tn(tlPlotX1 * 10), LanesTop: tlTop,
		LabelX: 8, RowTagX: tlPlotX0 - 12}
	tl.LanesBottom = tlTop + len(p.lanes)*tlLaneH
	tl.LanesH = len(p.lanes) * tlLaneH
	tl.AxisY = tl.LanesBottom + 6
	tl.TickY2, tl.FailY1 = tl.AxisY+4, tlTop-6
	tl.LegendY = tl.LanesBottom + tlAxisH
	tl.Height = tl.LegendY + tlLegendH
	if len(p.lanes) == 0 {
		tl.Empty = "No Quick Assist flow and no flow of a finding: nothing to draw."
		tl.Desc = tl.Empty
		return tl
	}
	sc := p.scale(r.Capture.First.UnixNano())
	tl.Ticks, tl.Breaks = sc.ticks, sc.breaks
	tl.BreakH = tl.LanesH + 6
	est := false
	for i, f := range p.lanes {
		lane, e := p.lane(i, f, sc)
		est = est || e
		tl.Lanes = append(tl.Lanes, lane)
	}
	if fr := p.failure; fr != nil {
		if t, exact, ok := p.clock.at(fr.frame); ok {
			x := sc.x(p.clampTo(fr.flow, t, exact))
			label := fmt.Sprintf("failure: frame %d, %s", fr.frame, sc.offset(t))
			if !exact {
				label += " (time estimated)"
			}
			tl.Failure = &tlFailure{X: tn(x), LabelX: tn(x + 40), Anchor: "start", Label: label}
			if x > (tlPlotX0+tlPlotX1)*5 {
				tl.Failure.LabelX, tl.Failure.Anchor = tn(x-40), "end"
			}
		}
	}
	tl.Desc = fmt.Sprintf("Timeline of %d flows from %s to %s: the client's packets on each lane's upper row, the server's on its lower row.",
		len(p.lanes), sc.offset(sc.t0), sc.offset(sc.t1))
	tl.Notes = p.notes(est, len(sc.breaks) > 0)
	return tl
}

func planTimeline(r *analyze.Result, v *diagnose.Verdict) *tlPlan {
	p := &tlPlan{r: r, qa: qaLookup(v), hit: map[int]bool{}, events: map[int][]tlEvent{}}
	inFinding := map[int]bool{}
	var frames []uint64
	for i, f := range v.Findings {
		for _, id := range f.Flows {
			inFinding[id] = true
			p.hit[id] = p.hit[id] || i == 0
		}
		for _, e := range f.Evidence {
			for _, n := range e.Frames {
				p.refs = append(p.refs, evRef{finding: i + 1, frame: n, text: sanitize(e.Text)})
				frames = append(frames, n)
			}
		}
	}
	frames = slices.Compact(slices.Sorted(slices.Values(frames)))
	for _, f := range r.Flows {
		i, _ := slices.BinarySearch(frames, f.FirstFrame())
		if _, isQA := p.qa(f.ID); isQA || inFinding[f.ID] || (i < len(frames) && frames[i] <= f.LastFrame()) {
			p.events[f.ID] = flowEvents(f)
		}
	}
	owners := p.placeRefs(v)
	p.chooseLanes(v, owners)
	p.failure = failureRef(v, p.refs)
	p.startClock()
	return p
}

// placeRefs gives each evidence frame a flow: one of its finding's flows
// that recorded the frame, else any flow that did, else the finding's first
// flow whose frames span it. It returns the owners in rank order.
func (p *tlPlan) placeRefs(v *diagnose.Verdict) []int {
	var owners []int
	ids := slices.Sorted(func(yield func(int) bool) {
		for id := range p.events {
			if !yield(id) {
				return
			}
		}
	})
	for i := range p.refs {
		ref := &p.refs[i]
		fl := v.Findings[ref.finding-1].Flows
		known := func(id int) bool { f := p.r.Flow(id); return f != nil && knows(f, p.events[id], ref.frame) }
		spans := func(id int) bool {
			f := p.r.Flow(id)
			return f != nil && f.FirstFrame() <= ref.frame && ref.frame <= f.LastFrame()
		}
		for _, pick := range []func() int{
			func() int { return firstOf(fl, known) },
			func() int { return firstOf(ids, known) },
			func() int { return firstOf(fl, spans) },
		} {
			if ref.flow = pick(); ref.flow != 0 {
				owners = append(owners, ref.flow)
				break
			}
		}
	}
	return owners
}

func firstOf(ids []int, ok func(int) bool) int {
	for _, id := range ids {
		if ok(id) {
			return id
		}
	}
	return 0
}

// chooseLanes keeps, up to tlMaxLanes, the verdict's flows, the flows that
// hold evidence, the Quick Assist flows and the other findings' flows, in
// that priority, and draws them in flow order.
func (p *tlPlan) chooseLanes(v *diagnose.Verdict, owners []int) {
	var prio []int
	if len(v.Findings) > 0 {
		prio = append(prio, v.Findings[0].Flows...)
	}
	prio = append(prio, owners...)
	for _, q := range v.QuickAssist {
		prio = append(prio, q.ID)
	}
	for _, f := range v.Findings {
		prio = append(prio, f.Flows...)
	}
	seen := map[int]bool{}
	var ids []int
	for _, id := range prio {
		if seen[id] || p.r.Flow(id) == nil {
			continue
		}
		seen[id] = true
		if len(ids) == tlMaxLanes {
			p.more++
			continue
		}
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		p.lanes = append(p.lanes, p.r.Flow(id))
	}
	for i := range p.refs {
		if !seen[p.refs[i].flow] || !slices.Contains(ids, p.refs[i].flow) {
			p.refs[i].flow = 0
		}
	}
}

// failureRef is the failing moment: the last frame of the verdict's first
// evidence, which detectors order so that it shows the failure itself (the
// reset after the ClientHello, the alert after the certificate, the
// NXDOMAIN answer).
func failureRef(v *diagnose.Verdict, refs []evRef) *evRef {
	if !v.Fault() || len(v.Findings) == 0 {
		return nil
	}
	for _, e := range v.Findings[0].Evidence {
		if len(e.Frames) == 0 {
			continue
		}
		last := slices.Max(e.Frames)
		for i := range refs {
			if refs[i].finding == 1 && refs[i].frame == last {
				return &refs[i]
			}
		}
	}
	return nil
}

// startClock times the lanes' idle gaps first, then every frame to draw,
// with the gaps' ends as anchors.
func (p *tlPlan) startClock() {
	var idleNeed []uint64
	for _, f := range p.lanes {
		if g := f.Idle; g != nil {
			idleNeed = append(idleNeed, g.StartFrame, g.EndFrame)
		}
	}
	c := newFrameClock(idleNeed)
	for _, f := range p.r.Flows {
		addAnchors(c, f)
	}
	c.finish()
	p.idle = map[int][3]int64{}
	var need []uint64
	for _, f := range p.lanes {
		if g := f.Idle; g != nil {
			if s, e, exact, ok := idleTimes(c, g); ok {
				p.idle[f.ID] = [3]int64{s, e, b2i(exact)}
			}
		}
		for _, e := range p.events[f.ID] {
			need = append(need, e.frame)
		}
	}
	for _, ref := range p.refs {
		need = append(need, ref.frame)
	}
	p.clock = newFrameClock(need)
	for _, f := range p.r.Flows {
		addAnchors(p.clock, f)
	}
	for _, f := range p.lanes {
		if t, ok := p.idle[f.ID]; ok {
			p.clock.add(f.Idle.StartFrame, tlTime(t[0]), t[2] == 0)
			p.clock.add(f.Idle.EndFrame, tlTime(t[1]), t[2] == 0)
		}
	}
	p.clock.finish()
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// clampTo keeps an estimated time inside its flow's first and last packet.
func (p *tlPlan) clampTo(id int, t int64, exact bool) int64 {
	f := p.r.Flow(id)
	if exact || f == nil {
		return t
	}
	return min(max(t, f.First().UnixNano()), f.Last().UnixNano())
}

func (p *tlPlan) notes(est, breaks bool) []string {
	var n []string
	if est {
		n = append(n, "Marks with a dashed outline are placed by frame order between the nearest frames whose time the analysis records "+
			"(first and last packets, SYN-ACK, resets, ICMP errors, DNS and STUN messages): the data model keeps no time for them.")
	}
	if breaks {
		n = append(n, "A grey band cuts a silence out of the time axis (one longer than a quarter of the span); its length is written under the axis.")
	}
	if p.more > 0 {
		n = append(n, fmt.Sprintf("%d more flows are not drawn (at most %d lanes).", p.more, tlMaxLanes))
	}
	var lost []string
	for _, ref := range p.refs {
		if ref.flow == 0 {
			lost = append(lost, fmt.Sprintf("%d (finding %d)", ref.frame, ref.finding))
		}
	}
	if lost = slices.Compact(lost); len(lost) > 0 {
		n = append(n, "Evidence frames "+strings.Join(lost, ", ")+" are not drawn: the analysis does not record which flow they belong to, "+
			"or that flow is not drawn.")
	}
	return n
}

// laneLabel names a lane: flow id and Quick Assist role (or protocol), the
// host, and the addresses.
func (p *tlPlan) laneLabel(f *analyze.Flow) (label, host, addrs string) {
	label = fmt.Sprintf("#%d %s", f.ID, ProtoName(f.Proto))
	if f.App() != "" {
		label += "/" + f.App()
	}
	if q, ok := p.qa(f.ID); ok {
		label, host = fmt.Sprintf("#%d %s (by %s)", f.ID, q.Role, q.By), q.Host
	}
	switch {
	case host != "":
	case f.TLS != nil && f.TLS.SNI != "":
		host = f.TLS.SNI
	case f.DNS != nil && len(f.DNS.Queries) > 0:
		host = "dns: " + f.DNS.Queries[0].Name
	case len(f.Names()) > 0:
		host = f.Names()[0].Name
	}
	if rs := []rune(sanitize(host)); len(rs) > tlHostLen {
		host = string(rs[:tlHostLen-1]) + "…"
	}
	return label, sanitize(host), f.Client.String() + " → " + f.Server.String()
}

// tn formats tenths of a pixel.
func tn(v int) string {
	s := ""
	if v < 0 {
		s, v = "-", -v
	}
	if v%10 == 0 {
		return s + strconv.Itoa(v/10)
	}
	return s + strconv.Itoa(v/10) + "." + strconv.Itoa(v%10)
}

// compareMarks orders a lane's marks by row, position and kind.
func compareMarks(a, b mark) int {
	return cmp.Or(cmp.Compare(a.y, b.y), cmp.Compare(a.x, b.x), cmp.Compare(a.kind, b.kind), cmp.Compare(a.frame, b.frame))
}
