package analyze

import (
	"cmp"
	"encoding/binary"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/internal/grow"
)

// flowKey identifies a flow regardless of direction: the two endpoints in a
// canonical order, as five machine words with no padding and no pointer, so
// comparing two keys is five word compares.
type flowKey struct {
	a0, a1 uint64 // first endpoint's address (As16, loaded little-endian)
	b0, b1 uint64 // second endpoint's address
	meta   uint64 // first port << 48 | second port << 32 | protocol << 8 | IPv6
}

// equal compares word by word; the compiler calls memequal for the struct.
func (k *flowKey) equal(o *flowKey) bool {
	return k.a1 == o.a1 && k.b1 == o.b1 && k.meta == o.meta && k.a0 == o.a0 && k.b0 == o.b0
}

// makeKey returns the canonical key for a packet and whether the packet's
// source is the key's second endpoint.
func makeKey(p *decode.Packet) (flowKey, bool) {
	// Any total order of the endpoints makes the key canonical; comparing
	// the address words as loaded is cheaper than netip's numeric order.
	var s0, s1, d0, d1 uint64
	if p.IPVersion == 4 {
		s4, d4 := p.Src.As4(), p.Dst.As4()
		s1, d1 = uint64(binary.BigEndian.Uint32(s4[:])), uint64(binary.BigEndian.Uint32(d4[:]))
	} else {
		s, d := p.Src.As16(), p.Dst.As16()
		s0, s1 = binary.LittleEndian.Uint64(s[:8]), binary.LittleEndian.Uint64(s[8:])
		d0, d1 = binary.LittleEndian.Uint64(d[:8]), binary.LittleEndian.Uint64(d[8:])
	}
	sp, dp := uint64(p.SrcPort), uint64(p.DstPort)
	swapped := s0 > d0 || s0 == d0 && (s1 > d1 || s1 == d1 && sp > dp)
	if swapped {
		s0, s1, d0, d1, sp, dp = d0, d1, s0, s1, dp, sp
	}
	meta := sp<<48 | dp<<32 | uint64(p.Proto)<<8
	if p.IPVersion == 6 {
		meta |= 1
	}
	return flowKey{a0: s0, a1: s1, b0: d0, b1: d1, meta: meta}, swapped
}

// Expiry by capture time (not wall time, so a capture reads the same on any
// day). A closed TCP flow stays a while for late retransmissions and resets
// after the close; an open TCP flow stays two hours, longer than any NAT
// idle timeout worth diagnosing (research/heuristics.md: 908 s idle, then a
// reset, must stay one flow); UDP flows end after 10 minutes of silence,
// past the longest common UDP NAT timeout.
const (
	closedLinger = 2 * time.Minute
	tcpIdle      = 2 * time.Hour
	udpIdle      = 10 * time.Minute
	sweepEvery   = 10 * time.Second
)

// Table is the flow table: live flows by key, and the flows already expired.
// Memory grows with live flows and with the number of flows kept (past
// KeepFlows, ordinary flows fold to a count), never with packets.
type Table struct {
	live      flowIndex
	done      []*Flow
	free      []*liveFlow // ended flows' live state, for reuse
	nextSweep int64       // Unix nanoseconds
	// expiries holds, for every live flow that can expire, an entry no
	// later than the time it expires, so a sweep looks only at the flows
	// that may have expired instead of walking all of them.
	expiries expiryHeap
	last     *liveFlow // the flow of the previous packet, if still live
	// recent holds live flows found lately, by the low bits of their hash:
	// one 8-byte pointer a flow, where the index spends a 16-byte slot and
	// a probe run on each of a hundred thousand live flows (4 MiB), so the
	// packets of active flows mostly skip the index. A flow leaves it when
	// it leaves the live table (forget).
	recent [recentFlows]*liveFlow
	shared *appShared
	// flowsOnly skips the application layer (BenchmarkFlows measures the
	// flow table alone).
	flowsOnly bool
	// MaxFlows caps the flows kept, live and ended (0: DefaultMaxFlows);
	// Untracked counts the packets of flows past the cap.
	MaxFlows  int
	Untracked uint64
	// KeepFlows, when positive, is how many flows are kept in full before
	// ordinary ones fold (fold.go); Relevant, when set, names flows that
	// never fold. Set both before the first packet.
	KeepFlows int
	Relevant  func(*Flow) bool
	folded    foldState
}

// recentFlows is the size of Table.recent, a power of two: 512 KiB. In
// interleaved runs of BenchmarkRead the median was 3.08 s with 4,096
// entries, 2.86-3.09 s with 16,384 and 2.75 s with 65,536.
const recentFlows = 65536

// DefaultMaxFlows is the flow cap: a summary of 448 bytes each, 192 more
// with a TLS handshake, 1.3 GB at most; ten times the flows of a
// 10 M-packet office capture.
const DefaultMaxFlows = 2_000_000

func (t *Table) maxFlows() int {
	if t.MaxFlows > 0 {
		return t.MaxFlows
	}
	return DefaultMaxFlows
}

// NewTable returns an empty flow table.
func NewTable() *Table {
	return &Table{live: newFlowIndex(), shared: newAppShared()}
}

// Add accounts one decoded packet to its flow. Packets without a TCP or UDP
// header are not flows and are ignored here.
func (t *Table) Add(fr *decode.Frame, p *decode.Packet) {
	if !p.Transport {
		return
	}
	now := fr.Time.UnixNano()
	if now > t.nextSweep {
		t.sweep(now)
	}
	k, swapped := makeKey(p)
	// Packets come in bursts of one flow (a window of data, its ACKs): the
	// last flow is checked before the map.
	f := t.last
	var h uint64
	hashed := false
	if f == nil || !f.key.equal(&k) {
		h, hashed = t.live.hash(&k), true
		r := &t.recent[h&(recentFlows-1)]
		if f = *r; f == nil || !f.key.equal(&k) {
			if f = t.live.get(&k, h); f != nil {
				*r = f
			}
		}
	}
	if f != nil && p.Proto == decode.ProtoTCP && isNewConnection(f, p) {
		t.retire(f)
		f = nil
	}
	// A flow's expiry time moves earlier only when it closes or when the
	// capture's clock steps back; a new entry then keeps the heap's bound.
	schedule := f == nil
	if f == nil {
		if t.live.n+len(t.done) >= t.maxFlows() {
			// Past the cap (a SYN flood, a scan): the packet is counted,
			// no flow is kept, and memory stays bounded.
			t.Untracked++
			return
		}
		if !hashed {
			h = t.live.hash(&k) // the last flow's key, reused by a new connection
		}
		f = t.newFlow(k, swapped, fr, p)
		t.live.put(f, h)
		t.recent[h&(recentFlows-1)] = f
	} else {
		schedule = now < f.last
	}
	open := !f.closed
	dir := FromServer
	if swapped == f.clientB {
		dir = FromClient
	}
	f.account(dir, fr, p, now)
	if !f.appOff && (len(p.Payload) > 0 || f.app != nil) && !t.flowsOnly {
		t.app(f, dir, fr, p, now)
		if f.appOff && f.app != nil {
			// Parsing is over: the summaries are filled now, while the
			// parser's state is still in the cache, and the state goes
			// back to the pool for the next flow instead of waiting
			// minutes of capture time for the flow to end.
			f.finishApp()
		}
	}
	if schedule || open && f.closed {
		t.schedule(f)
	}
	t.last = f
}

// isNewConnection reports whether a SYN reuses the address pair of a flow
// that has closed: a new connection, as Wireshark starts a new tcp.stream.
func isNewConnection(f *liveFlow, p *decode.Packet) bool {
	if p.Flags&(decode.FlagSYN|decode.FlagACK) != decode.FlagSYN || !f.closed {
		return false
	}
	d := &f.Dir[FromClient]
	return !d.HaveISN || p.Seq != d.ISN
}

func (t *Table) newFlow(k flowKey, swapped bool, fr *decode.Frame, p *decode.Packet) *liveFlow {
	var f *liveFlow
	if n := len(t.free); n > 0 {
		f, t.free = t.free[n-1], t.free[:n-1]
	} else {
		f = new(liveFlow)
	}
	now := fr.Time.UnixNano()
	f.key, f.Proto, f.last = k, p.Proto, now
	src, dst := netip.AddrPortFrom(p.Src, p.SrcPort), netip.AddrPortFrom(p.Dst, p.DstPort)
	srcIsClient, by := chooseClient(p)
	f.clientBy = by
	f.Client, f.Server = src, dst
	if !srcIsClient {
		f.Client, f.Server = dst, src
	}
	// The packet's source is the key's second endpoint when swapped.
	f.clientB = srcIsClient == swapped
	f.Dir[0].WScale, f.Dir[1].WScale = -1, -1
	return f
}

// chooseClient decides which side opened a flow from its first packet:
// the SYN sender; the receiver of a SYN-ACK; else the side not on the
// service port; else the first sender.
func chooseClient(p *decode.Packet) (srcIsClient bool, by uint8) {
	if p.Proto == decode.ProtoTCP && p.Flags&decode.FlagSYN != 0 {
		if p.Flags&decode.FlagACK == 0 {
			return true, clientBySYN
		}
		return false, clientBySYNACK
	}
	switch sp, dp := serviceRank(p.SrcPort), serviceRank(p.DstPort); {
	case dp > sp:
		return true, clientByPort
	case sp > dp:
		return false, clientByPort
	}
	return true, clientByFirst
}

// serviceRank scores how likely a port is a server's: the ports Quick Assist
// and its infrastructure listen on first, then other well-known ports.
func serviceRank(port uint16) int {
	switch {
	case port == 443 || port == 80 || port == 53 || (port >= 3478 && port <= 3481) || port == 3128 || port == 8080:
		return 3
	case port < 1024:
		return 2
	case port < 49152:
		return 1
	}
	return 0
}

// idleLimit is the shortest idle time after which a sweep ends the flow,
// and false for a flow that never expires while open.
func idleLimit(f *liveFlow) (time.Duration, bool) {
	switch {
	case f.closed:
		return closedLinger, true
	case f.Proto == decode.ProtoTCP:
		return tcpIdle, true
	case f.Proto == decode.ProtoUDP:
		return udpIdle, true
	}
	return 0, false
}

// schedule makes sure the flow's entry in the expiry heap is no later than
// when it expires if it stays idle: a new flow gets one, and the entry of a
// flow whose expiry came earlier (it closed, or the capture's clock
// stepped back) moves up.
func (t *Table) schedule(f *liveFlow) {
	limit, ok := idleLimit(f)
	if !ok {
		return
	}
	at := addSat(f.last, int64(limit))
	if f.exp == 0 {
		t.expiries.push(expiry{at: at, f: f})
		return
	}
	if i := int(f.exp) - 1; at < t.expiries[i].at {
		t.expiries[i].at = at
		t.expiries.fix(i)
	}
}

// sweep ends the flows idle past their limit at now. Only flows whose
// expiry entry has passed are checked; one that has seen packets since has
// its entry moved to when it now expires.
func (t *Table) sweep(now int64) {
	t.nextSweep = addSat(now, int64(sweepEvery))
	h := &t.expiries
	for len(*h) > 0 && (*h)[0].at < now {
		f := (*h)[0].f
		idle := time.Duration(now - f.last)
		limit, _ := idleLimit(f)
		if idle > limit {
			t.retire(f) // takes its entry out of the heap
			continue
		}
		(*h)[0].at = addSat(f.last, int64(limit))
		h.fix(0)
	}
}

// expiry is a live flow and a time no later than when it expires.
type expiry struct {
	at int64 // Unix nanoseconds
	f  *liveFlow
}

// expiryHeap is a min-heap of expiries by time, one entry per live flow
// that can expire. Each flow knows where its entry is (liveFlow.exp), so
// the entry moves when the flow's expiry does and leaves with the flow: a
// heap that took a new entry each time and skipped stale ones kept one for
// every TCP flow of a capture shorter than tcpIdle, 150,000 entries and
// 6 MB of allocations on the benchmark capture, against the 22,000 flows
// live at once at most.
//
// Each entry that moves writes its new place into its flow, a cache miss
// on a flow the packet at hand is not about, so the heap is 4-ary (half
// the levels of a binary one) and moves an entry along a path by shifting
// the others into the hole it leaves, one write per level.
type expiryHeap []expiry

func (h *expiryHeap) push(e expiry) {
	*h = grow.Append(*h, e)
	h.up(len(*h) - 1)
}

// remove takes out the entry at i.
func (h *expiryHeap) remove(i int) {
	q := *h
	n := len(q) - 1
	q[i].f.exp = 0
	last := q[n]
	q[n] = expiry{}
	*h = q[:n]
	if i == n {
		return
	}
	q[i] = last
	h.fix(i)
}

// fix restores the heap's order after the entry at i was put there or had
// its time changed.
func (h expiryHeap) fix(i int) {
	f := h[i].f
	h.down(i)
	h.up(int(f.exp) - 1)
}

// place puts e at i and tells its flow.
func (h expiryHeap) place(i int, e expiry) {
	h[i] = e
	e.f.exp = int32(i + 1)
}

// up moves the entry at i towards the root until its parent is no later.
func (h expiryHeap) up(i int) {
	e := h[i]
	for i > 0 {
		p := (i - 1) / 4
		if e.at >= h[p].at {
			break
		}
		h.place(i, h[p])
		i = p
	}
	h.place(i, e)
}

// down moves the entry at i towards the leaves until no child is earlier.
func (h expiryHeap) down(i int) {
	e, n := h[i], len(h)
	for {
		m, at := -1, e.at
		for c := 4*i + 1; c <= 4*i+4 && c < n; c++ {
			if h[c].at < at {
				m, at = c, h[c].at
			}
		}
		if m < 0 {
			break
		}
		h.place(i, h[m])
		i = m
	}
	h.place(i, e)
}

// retire ends a live flow: its summary joins the ended flows and its live
// state is kept for a later flow.
func (t *Table) retire(f *liveFlow) {
	if f.exp != 0 {
		t.expiries.remove(int(f.exp) - 1)
	}
	t.live.remove(f)
	t.forget(f)
	if s := t.end(f); s != nil {
		t.done = grow.Append(t.done, s)
	}
	f.reset()
	if len(t.free) < maxFreeFlows {
		t.free = append(t.free, f)
	}
}

// forget drops f from the last-flow and recent-flow caches when it leaves
// the live table.
func (t *Table) forget(f *liveFlow) {
	if t.last == f {
		t.last = nil
	}
	if r := &t.recent[t.live.hash(&f.key)&(recentFlows-1)]; *r == f {
		*r = nil
	}
}

// Live is the number of flows currently held open.
func (t *Table) Live() int { return t.live.n }

// Flows ends the table and returns every flow, sorted by first frame and
// numbered from 1. A frame opens at most one flow, so the order is total and
// the output stable.
func (t *Table) Flows() []*Flow {
	all := slices.Grow(t.done, t.live.n)
	open := make([]*liveFlow, 0, t.live.n)
	t.live.all(func(f *liveFlow) { open = append(open, f) })
	if t.KeepFlows > 0 {
		// Flows still open fold in the order they began, whatever the
		// index's order: which of them fold must not vary between runs.
		slices.SortFunc(open, func(a, b *liveFlow) int { return cmp.Compare(a.FirstFrame(), b.FirstFrame()) })
	}
	for _, f := range open {
		if s := t.end(f); s != nil {
			all = append(all, s)
		}
	}
	t.live.clear()
	t.last = nil
	t.done = nil
	t.expiries = nil
	t.free = nil
	// Sorted by keys held in one array: comparing the summaries' own
	// FirstFrame, spread over the heap, missed the cache on most of the
	// 2.5 million comparisons of the benchmark capture's 150,000 flows
	// (47 ms of each run; 27 ms so).
	keys := make([]sortKey, len(all))
	for i, f := range all {
		keys[i] = sortKey{f.FirstFrame(), f}
	}
	slices.SortFunc(keys, func(a, b sortKey) int { return cmp.Compare(a.first, b.first) })
	// A flow's number is its rank among all flows, folded ones included.
	folded, j := t.folded.foldedFirst(), 0
	for i, k := range keys {
		for j < len(folded) && folded[j] < k.first {
			j++
		}
		f := k.f
		f.ID = i + 1 + j
		f.names = t.shared.names.lookupShared(f.Server.Addr(), k.first)
		all[i] = f
	}
	return all
}

// end finishes the summary of the ended flow f and returns it in an
// allocation of its own, or nil when the flow folds.
func (t *Table) end(f *liveFlow) *Flow {
	f.finish(t.shared)
	if t.folded.fold(&f.Flow, t.KeepFlows, t.Relevant, &t.shared.names) {
		return nil
	}
	return f.copySummary()
}

// Folded counts the flows folded so far; FoldWarning says what folding
// left out, "" when nothing.
func (t *Table) Folded() Folded      { return t.folded.n }
func (t *Table) FoldWarning() string { return t.folded.warning(t.KeepFlows) }

// sortKey is a flow and the first frame Flows sorts by.
type sortKey struct {
	first uint64
	f     *Flow
}

// maxICMP bounds the ICMP errors kept per flow.
const maxICMP = 8

// ICMP binds an ICMP or ICMPv6 error to the live flow of the packet it
// quotes (RFC 792, RFC 4443 2.4); the reporting address locates the router
// or firewall. Errors quoting no known flow are counted by the caller.
func (t *Table) ICMP(fr *decode.Frame, p *decode.Packet) bool {
	q := &p.Inner
	if !q.Valid || q.Proto != decode.ProtoTCP && q.Proto != decode.ProtoUDP {
		return false
	}
	inner := decode.Packet{Src: q.Src.Addr(), Dst: q.Dst.Addr(), SrcPort: q.Src.Port(), DstPort: q.Dst.Port(),
		Proto: q.Proto, IPVersion: p.IPVersion}
	k, swapped := makeKey(&inner)
	f := t.live.get(&k, t.live.hash(&k))
	if f == nil {
		return false
	}
	f.ICMPCount++
	if len(f.ICMP()) < maxICMP {
		ev := f.ev()
		ev.icmp = append(ev.icmp, ICMPError{Frame: fr.Number, Time: fr.Time, From: p.Src, V6: p.IPVersion == 6,
			Type: p.ICMPType, Code: p.ICMPCode, MTU: p.MTU, ToServer: swapped == f.clientB})
	}
	return true
}

// addSat adds without wrapping past the largest time: a damaged capture's
// timestamps near the end of int64 nanoseconds must not schedule an expiry
// in the past (a sweep would then re-queue the same flow forever).
func addSat(t, d int64) int64 {
	if t > math.MaxInt64-d {
		return math.MaxInt64
	}
	return t + d
}
