package report

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qadiag/qadiag/analyze"
)

// tlScale maps capture time to x, in tenths of a pixel. A silence longer
// than a quarter of the span (and than breakMin) becomes a fixed-width break,
// so that a six-minute idle gap, or a second between two connections, does
// not squeeze the handshakes around it into a pixel.
type tlScale struct {
	t0, t1, c0 int64 // span drawn; capture start for the labels
	segs       []tlSeg
	ticks      []tlTick
	breaks     []tlBreak
}

type tlSeg struct {
	a, b   int64
	x0, x1 int
}

// A silence becomes a break from breakMin; at most maxBreaks are cut.
const (
	breakMin  = 100 * time.Millisecond
	maxBreaks = 8
)

func tlTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }

// times lists every moment the picture shows: flow lifetimes, idle gaps,
// marks and evidence.
func (p *tlPlan) times() []int64 {
	var ts []int64
	for _, f := range p.lanes {
		ts = append(ts, f.First().UnixNano(), f.Last().UnixNano())
		if g, ok := p.idle[f.ID]; ok {
			ts = append(ts, p.clampTo(f.ID, g[0], false), p.clampTo(f.ID, g[1], false))
		}
		for _, e := range p.events[f.ID] {
			if t, exact, ok := p.clock.at(e.frame); ok {
				ts = append(ts, p.clampTo(f.ID, t, exact))
			}
		}
	}
	for _, ref := range p.refs {
		if t, exact, ok := p.clock.at(ref.frame); ok && ref.flow != 0 {
			ts = append(ts, p.clampTo(ref.flow, t, exact))
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(ts)))
}

func (p *tlPlan) scale(c0 int64) *tlScale {
	ts := p.times()
	s := &tlScale{t0: ts[0], t1: ts[len(ts)-1], c0: c0}
	span := s.t1 - s.t0
	// The largest silences, at most maxBreaks, each longer than a quarter of
	// the span and than breakMin, become breaks.
	var gaps []int
	for i := 1; i < len(ts); i++ {
		if g := ts[i] - ts[i-1]; g*4 > span && g >= int64(breakMin) {
			gaps = append(gaps, i)
		}
	}
	slices.SortStableFunc(gaps, func(i, j int) int { return cmp.Compare(ts[j]-ts[j-1], ts[i]-ts[i-1]) })
	gaps = gaps[:min(len(gaps), maxBreaks)]
	slices.Sort(gaps)
	a, cut := s.t0, int64(0)
	var bounds [][2]int64
	for _, i := range gaps {
		bounds = append(bounds, [2]int64{a, ts[i-1]})
		a, cut = ts[i], cut+ts[i]-ts[i-1]
	}
	bounds = append(bounds, [2]int64{a, s.t1})
	width := (tlPlotX1-tlPlotX0)*10 - (len(bounds)-1)*tlBreakW*10
	kept, used := span-cut, 0
	for _, b := range bounds {
		w := 0
		if kept > 0 {
			w = int(mulDiv(uint64(b[1]-b[0]), uint64(width), uint64(kept)))
		}
		s.segs = append(s.segs, tlSeg{a: b[0], b: b[1], x1: w})
		used += w
	}
	x := tlPlotX0*10 + (width-used)/2
	for i := range s.segs {
		sg := &s.segs[i]
		sg.x0, sg.x1 = x, x+sg.x1
		x = sg.x1 + tlBreakW*10
		if i > 0 {
			prev := s.segs[i-1]
			s.breaks = append(s.breaks, tlBreak{X: tn(prev.x1), W: tn(tlBreakW * 10), LabelX: tn(prev.x1 + tlBreakW*5),
				Label: compactDuration(time.Duration(sg.a - prev.b))})
		}
	}
	s.makeTicks()
	return s
}

// x is t's position; a time inside a break falls within the break.
func (s *tlScale) x(t int64) int {
	t = min(max(t, s.t0), s.t1)
	for i, sg := range s.segs {
		if t <= sg.b {
			if t >= sg.a {
				return sg.x0 + int(mulDiv(uint64(t-sg.a), uint64(sg.x1-sg.x0), uint64(sg.b-sg.a)))
			}
			prev := s.segs[i-1]
			return prev.x1 + int(mulDiv(uint64(t-prev.b), tlBreakW*10, uint64(sg.a-prev.b)))
		}
	}
	return s.segs[len(s.segs)-1].x1
}

// makeTicks labels the start of each segment after a break, then round
// offsets from the capture's start about tlTickPx apart where they do not
// crowd a label already placed.
func (s *tlScale) makeTicks() {
	var starts, round []int64
	for i, sg := range s.segs {
		if i > 0 || sg.b == sg.a {
			starts = append(starts, sg.a)
		}
		if sg.b == sg.a {
			continue
		}
		n := max(int64((sg.x1-sg.x0)/(tlTickPx*10)), 1)
		step := tickStep((sg.b - sg.a) / n)
		rel := sg.a - s.c0
		first := (rel + step - 1) / step * step
		if rel < 0 {
			first = rel / step * step
		}
		for t := first + s.c0; t <= sg.b; t += step {
			round = append(round, t, step)
		}
	}
	type placed struct {
		x    int
		tick tlTick
	}
	var ps []placed
	add := func(t int64, label string) {
		x := s.x(t)
		if slices.ContainsFunc(ps, func(o placed) bool { return x-o.x < 600 && o.x-x < 600 }) {
			return
		}
		anchor := "middle"
		if x > (tlPlotX1-30)*10 {
			anchor = "end"
		}
		ps = append(ps, placed{x, tlTick{X: tn(x), Label: label, Anchor: anchor}})
	}
	for _, t := range starts {
		add(t, s.offset(t))
	}
	for i := 0; i < len(round); i += 2 {
		add(round[i], offsetLabel(round[i]-s.c0, round[i+1]))
	}
	slices.SortStableFunc(ps, func(a, b placed) int { return cmp.Compare(a.x, b.x) })
	for _, p := range ps {
		s.ticks = append(s.ticks, p.tick)
	}
}

// tickStep is the smallest 1, 2 or 5 times a power of ten nanoseconds not
// below want.
func tickStep(want int64) int64 {
	for p := int64(1000); ; p *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if p*m >= want || p >= 1e15 {
				return p * m
			}
		}
	}
}

// offset labels t as the time since the capture's first packet.
func (s *tlScale) offset(t int64) string { return offsetLabel(t-s.c0, int64(time.Millisecond)) }

// offsetLabel prints d in seconds with as many decimals as step needs.
func offsetLabel(d, step int64) string {
	sign := "+"
	if d < 0 {
		sign, d = "-", -d
	}
	dec := 0
	for p := int64(1e9); p > step && dec < 6; p /= 10 {
		dec++
	}
	if dec == 0 {
		return sign + strconv.FormatInt(d/1e9, 10) + "s"
	}
	frac := d % 1e9
	for range 9 - dec {
		frac /= 10
	}
	return fmt.Sprintf("%s%d.%0*ds", sign, d/1e9, dec, frac)
}

// compactDuration prints a break's length: 450ms, 8.3s, 6m40s.
func compactDuration(d time.Duration) string {
	switch {
	case d >= time.Minute:
		s := int64(d.Round(time.Second) / time.Second)
		return fmt.Sprintf("%dm%02ds", s/60, s%60)
	case d >= time.Second:
		t := int64(d.Round(100*time.Millisecond) / (100 * time.Millisecond))
		return fmt.Sprintf("%d.%ds", t/10, t%10)
	}
	return strconv.FormatInt(int64(d.Round(time.Millisecond)/time.Millisecond), 10) + "ms"
}

// mark is a lane's mark before merging.
type mark struct {
	x, y   int
	kind   string
	frame  uint64
	titles []string
	exact  bool
}

// Closer marks of one kind on one row merge into one, their titles joined.
const (
	mergeMarks  = 50  // tenths of a pixel
	mergeBadges = 120 // tenths of a pixel
	badgeGap    = 130 // between badges of different findings
	maxTitles   = 5
)

// lane draws flow f as the i-th lane and reports whether a mark's time was
// estimated.
func (p *tlPlan) lane(i int, f *analyze.Flow, sc *tlScale) (tlLane, bool) {
	top := tlTop + i*tlLaneH
	l := tlLane{Top: top, ClientY: top + 18, MidY: top + 29, ServerY: top + 40, Class: "lane",
		BadgeY: top + 7, BadgeTextY: top + 10, BadgeLineY: top + 13}
	if p.hit[f.ID] {
		l.Class = "lane hit"
	}
	l.Label, l.Host, l.Addrs = p.laneLabel(f)
	x0, x1 := sc.x(f.First().UnixNano()), sc.x(f.Last().UnixNano())
	l.BarX, l.BarW = tn(x0), tn(max(x1-x0, 10))
	if g, ok := p.idle[f.ID]; ok {
		gx0, gx1 := sc.x(p.clampTo(f.ID, g[0], false)), sc.x(p.clampTo(f.ID, g[1], false))
		l.Gaps = append(l.Gaps, tlGap{X: tn(gx0), W: tn(max(gx1-gx0, 10)), LabelX: tn((gx0 + gx1) / 2),
			Label: "idle " + compactDuration(f.Idle.Gap)})
	}
	est := false
	var marks []mark
	for _, e := range p.events[f.ID] {
		t, exact, ok := p.clock.at(e.frame)
		if !ok {
			continue
		}
		y := l.ClientY * 10
		if e.dir == analyze.FromServer {
			y = l.ServerY * 10
		}
		marks = append(marks, mark{x: sc.x(p.clampTo(f.ID, t, exact)), y: y, kind: e.kind, frame: e.frame,
			titles: []string{frameTitle(e.frame, e.text, exact)}, exact: exact})
		est = est || !exact
	}
	slices.SortFunc(marks, compareMarks)
	for _, m := range mergeNear(marks, mergeMarks) {
		class := "mk " + m.kind
		if !m.exact {
			class += " est"
		}
		l.Marks = append(l.Marks, tlMark{D: shape(m.kind, m.x, m.y), Class: class, Title: joinTitles(m.titles)})
	}
	l.Badges, est = p.badges(f, sc, est)
	return l, est
}

// badges draws the findings' evidence frames of flow f, numbered by
// finding, above the lane.
func (p *tlPlan) badges(f *analyze.Flow, sc *tlScale, est bool) ([]tlBadge, bool) {
	var bs []mark
	for _, ref := range p.refs {
		if ref.flow != f.ID {
			continue
		}
		t, exact, ok := p.clock.at(ref.frame)
		if !ok {
			continue
		}
		title := fmt.Sprintf("finding %d: %s", ref.finding, ref.text)
		bs = append(bs, mark{x: sc.x(p.clampTo(f.ID, t, exact)), y: ref.finding, kind: strconv.Itoa(ref.finding),
			frame: ref.frame, titles: []string{frameTitle(ref.frame, title, exact)}, exact: exact})
		est = est || !exact
	}
	slices.SortFunc(bs, compareMarks)
	bs = mergeNear(bs, mergeBadges)
	slices.SortStableFunc(bs, func(a, b mark) int { return a.x - b.x })
	var out []tlBadge
	last := -1 << 30
	for _, b := range bs {
		bx := max(b.x, last+badgeGap)
		last = bx
		class := "badge"
		if b.kind == "1" {
			class += " first"
		}
		if !b.exact {
			class += " est"
		}
		out = append(out, tlBadge{X: tn(bx), LineX: tn(b.x), Label: b.kind, Title: joinTitles(b.titles), Class: class})
	}
	return out, est
}

// mergeNear joins marks of the same row and kind closer than d; sorted
// input, sorted output.
func mergeNear(ms []mark, d int) []mark {
	var out []mark
	for _, m := range ms {
		if n := len(out); n > 0 && out[n-1].y == m.y && out[n-1].kind == m.kind && m.x-out[n-1].x < d {
			out[n-1].titles = append(out[n-1].titles, m.titles...)
			out[n-1].exact = out[n-1].exact || m.exact
			continue
		}
		out = append(out, m)
	}
	return out
}

func frameTitle(frame uint64, text string, exact bool) string {
	s := fmt.Sprintf("frame %d: %s", frame, text)
	if !exact {
		s += " (time estimated)"
	}
	return s
}

func joinTitles(ts []string) string {
	ts = slices.Compact(ts)
	if len(ts) > maxTitles {
		ts = append(ts[:maxTitles:maxTitles], fmt.Sprintf("and %d more", len(ts)-maxTitles))
	}
	return strings.Join(ts, "\n")
}

// shape is the path of a mark centred on x, y (tenths of a pixel): a
// square for SYN, a diamond for the TLS handshake, a circle for messages
// and data, a cross for a reset, a triangle for an alert.
func shape(kind string, x, y int) string {
	switch kind {
	case evSYN:
		return fmt.Sprintf("M%s %sh7v7h-7Z", tn(x-35), tn(y-35))
	case evTLS:
		return fmt.Sprintf("M%s %sl4.5 4.5l-4.5 4.5l-4.5 -4.5Z", tn(x), tn(y-45))
	case evRST:
		return fmt.Sprintf("M%s %sl9 9m0 -9l-9 9", tn(x-45), tn(y-45))
	case evAlert:
		return fmt.Sprintf("M%s %sl5 9h-10Z", tn(x), tn(y-50))
	}
	return fmt.Sprintf("M%s %sa3.5 3.5 0 1 0 7 0a3.5 3.5 0 1 0 -7 0Z", tn(x-35), tn(y))
}
