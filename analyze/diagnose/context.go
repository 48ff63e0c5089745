package diagnose

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/internal/grow"
)

// How a flow was recognised as Quick Assist's, in QAFlow.By: the name it
// asked for comes first because it is the strongest.
const (
	BySNI     = "sni"
	ByConnect = "connect"
	ByDNS     = "dns"
	ByRange   = "range"
)

// QAFlow is a flow that belongs to Quick Assist.
type QAFlow struct {
	ID       int
	Host     string // the Quick Assist name, or the address for a range match
	Role     string // catalog role: sign_in, service, signaling, relay, media, telemetry, runtime, pki
	By       string // BySNI, ByConnect, ByDNS, ByRange
	Pattern  string // the catalog entry that matched
	Required bool   // the catalog marks the endpoint required
	// Broad reports that the entry also serves other Microsoft products,
	// so the flow may not be Quick Assist's own.
	Broad bool
}

// Context is what every detector reads: the capture's flows, which of them
// are Quick Assist's, and the capture's quality.
type Context struct {
	Res   *analyze.Result
	Cat   *catalog.Catalog
	Flows []*analyze.Flow

	// qa holds, by flow id, 1 + the flow's index in qaList, or 0 for a
	// flow that is not Quick Assist's: an index, not a pointer to a copy
	// of its own, as a capture may have tens of thousands of them.
	qa            []int32
	qaList        []QAFlow
	qaFlows       []*analyze.Flow // the flows of qaList, in the same order
	quality       []string
	qualityFactor float64
	// Flows by server address and by the names they were for (SNI and
	// DNS, lower case), so that differential checks ("does another flow to
	// this address work?") cost a lookup, not a pass over every flow.
	byAddr flowGroups[netip.Addr]
	byName flowGroups[string]
	// helloWorked holds, per server address and port, the first flow of
	// each TLS name that got a ServerHello there (outside proxy tunnels).
	helloWorked map[netip.AddrPort]map[string]*analyze.Flow
	hosts       map[string]hostResult // catalog matches by name (hostMatch)
	// minRTT is the smallest SYN to SYN-ACK time of the capture's TCP
	// flows, the path baseline; 0 when none is known.
	minRTT time.Duration
	scan   *qaScan // scanQA's result, once it has run
	// stagesDone is stages' result, once it has run.
	stagesDone []Stage
}

// NewContext classifies the flows of res.
//
// It reads each flow once: a pass over a hundred thousand flows misses the
// cache on each one, and one that read them again to fill what the first
// counted cost as much as the first. What the second loop needs (each
// flow's groups, the Quick Assist flows' classifications) is kept in small
// arrays instead.
func NewContext(res *analyze.Result, cat *catalog.Catalog) *Context {
	maxID := 0 // flow numbers skip folded flows
	if n := len(res.Flows); n > 0 {
		maxID = res.Flows[n-1].ID
	}
	c := &Context{Res: res, Cat: cat, Flows: res.Flows, qa: make([]int32, maxID+1), qualityFactor: 1,
		byAddr: newFlowGroups[netip.Addr](), byName: newFlowGroups[string](),
		helloWorked: map[netip.AddrPort]map[string]*analyze.Flow{}}
	// The Quick Assist flows are classified as one of the few distinct
	// classifications a capture has (kinds), so that the list is made once
	// at its size.
	kinds := map[QAFlow]int32{}
	var kindList []QAFlow
	type qaRef struct{ pos, kind, id int32 }
	var qaRefs []qaRef
	// Each flow's address group, and its name groups as (group, position)
	// pairs, for the placing loop.
	addrOf := make([]int32, len(res.Flows))
	nameRefs := make([]groupRef, 0, len(res.Flows)+len(res.Flows)/2)
	names := map[string]nameRef{} // by the name as the flow has it
	// Folded TCP flows are connections that went both ways from their
	// handshake on (analyze.Folded); folded DNS flows are not counted here.
	q := flowCounts{tcp: int(res.Capture.Folded.TCP)}
	for i, f := range res.Flows {
		pos := int32(i)
		addrOf[i] = c.byAddr.count(c.byAddr.group(f.Server.Addr()), pos)
		if f.TLS != nil && f.TLS.SNI != "" {
			n := nameOf(names, &c.byName, f.TLS.SNI)
			nameRefs = c.byName.countRef(nameRefs, n.group, pos)
			if f.TLS.ServerFrame != 0 && !f.TLS.InTunnel {
				m := c.helloWorked[f.Server]
				if m == nil {
					m = map[string]*analyze.Flow{}
					c.helloWorked[f.Server] = m
				}
				if m[n.lower] == nil {
					m[n.lower] = f
				}
			}
		}
		for _, n := range f.Names() {
			nameRefs = c.byName.countRef(nameRefs, nameOf(names, &c.byName, n.Name).group, pos)
		}
		if qf, ok := c.classify(f); ok {
			k, seen := kinds[qf]
			if !seen {
				k = int32(len(kindList))
				kinds[qf] = k
				kindList = append(kindList, qf)
			}
			qaRefs = grow.Append(qaRefs, qaRef{pos, k, int32(f.ID)})
		}
		q.add(f)
		if f.RTT > 0 && (c.minRTT == 0 || f.RTT < c.minRTT) {
			c.minRTT = f.RTT
		}
	}
	c.byAddr.layout()
	c.byName.layout()
	for i, g := range addrOf {
		c.byAddr.place(g, res.Flows[i])
	}
	for _, r := range nameRefs {
		c.byName.place(r.group, res.Flows[r.pos])
	}
	c.qaList, c.qaFlows = make([]QAFlow, 0, len(qaRefs)), make([]*analyze.Flow, 0, len(qaRefs))
	for _, r := range qaRefs {
		qf := kindList[r.kind]
		qf.ID = int(r.id)
		c.qaList, c.qaFlows = append(c.qaList, qf), append(c.qaFlows, res.Flows[r.pos])
		if r.id >= 0 && int(r.id) < len(c.qa) {
			c.qa[r.id] = int32(len(c.qaList))
		}
	}
	c.assessQuality(q)
	return c
}

// groupRef is a flow's membership of a group: the group and the flow's
// position.
type groupRef struct{ group, pos int32 }

// nameRef is a name's group in Context.byName and its lower case form.
type nameRef struct {
	group int32
	lower string
}

// nameOf returns the group of a name as a flow has it, remembered by that
// form: a capture names the same few hundred hosts in all its flows, and a
// lookup of the name as it is costs less than lowering it each time.
func nameOf(m map[string]nameRef, g *flowGroups[string], name string) nameRef {
	if r, ok := m[name]; ok {
		return r
	}
	r := nameRef{g.group(nameKey(name)), strings.ToLower(name)}
	m[name] = r
	return r
}

// Relevant returns what analyze.Options.Relevant wants: whether a flow may
// be Quick Assist's (by its name, the names its server was resolved from,
// a proxy CONNECT or the catalog's ranges) or is a DNS exchange about a
// Quick Assist name. Such flows are never folded.
func Relevant(cat *catalog.Catalog) func(*analyze.Flow) bool {
	c := &Context{Cat: cat, hosts: map[string]hostResult{}}
	return func(f *analyze.Flow) bool {
		if f.DNS != nil {
			for i := range f.DNS.Queries {
				if _, ok := c.hostMatch(f.DNS.Queries[i].Name); ok {
					return true
				}
			}
		}
		_, ok := c.classify(f)
		return ok
	}
}

func (c *Context) classify(f *analyze.Flow) (QAFlow, bool) {
	if f.App() == analyze.AppDNS {
		return QAFlow{}, false // the resolver is not Quick Assist; its answers are read by dns_failure
	}
	proto := "tcp"
	if f.Proto == decode.ProtoUDP {
		proto = "udp"
	}
	host := func(name, by string) (QAFlow, bool) {
		q, ok := c.hostMatch(name)
		q.By = by
		return q, ok
	}
	// On the TURN ports a published media range says more than a name
	// that matched only a broad wildcard (*.microsoft.com).
	var media QAFlow
	hasMedia := false
	if f.Proto == decode.ProtoUDP && turnPort(f.Server.Port()) {
		if m, ok := c.Cat.MatchAddrPort(proto, f.Server); ok && m.HasPort(proto, f.Server.Port()) && m.Role == catalog.RoleMedia {
			media, hasMedia = QAFlow{Host: f.Server.Addr().String(), Role: m.Role.String(), By: ByRange, Pattern: m.Pattern,
				Required: m.Required, Broad: m.Broad}, true
		}
	}
	if f.TLS != nil && f.TLS.SNI != "" {
		if q, ok := host(f.TLS.SNI, BySNI); ok {
			return q, true
		}
		// An SNI that names something else is not Quick Assist's, whatever
		// its address: shared front ends serve many names.
		return QAFlow{}, false
	}
	if f.HTTP != nil {
		for _, e := range f.HTTP.Exchanges {
			if e.Method != "CONNECT" {
				continue
			}
			if h, _, ok := splitTarget(e.Target); ok {
				if q, ok := host(h, ByConnect); ok {
					return q, true
				}
			}
		}
	}
	// Of the names that resolved to the server (the name asked and its
	// CNAME chain), the most specific catalog entry wins: a CNAME target
	// such as x.cloudapp.azure.com matches only a broad Azure entry.
	var best QAFlow
	found := false
	for _, n := range f.Names() {
		if q, ok := host(n.Name, ByDNS); ok && (!found || better(q, best)) {
			best, found = q, true
		}
	}
	if found && !(hasMedia && best.Broad) {
		return best, true
	}
	if hasMedia {
		return media, true
	}
	if m, ok := c.Cat.MatchAddrPort(proto, f.Server); ok && m.HasPort(proto, f.Server.Port()) {
		return QAFlow{Host: f.Server.Addr().String(), Role: m.Role.String(), By: ByRange, Pattern: m.Pattern,
			Required: m.Required, Broad: m.Broad}, true
	}
	return QAFlow{}, false
}

func turnPort(p uint16) bool { return p >= 3478 && p <= 3481 }

// better reports whether a is a more specific Quick Assist match than b:
// an entry that is Quick Assist's own beats one shared with other Microsoft
// products, a required one beats an optional one.
func better(a, b QAFlow) bool {
	if a.Broad != b.Broad {
		return !a.Broad
	}
	return a.Required && !b.Required
}

func splitTarget(t string) (string, uint16, bool) {
	i := strings.LastIndexByte(t, ':')
	if i <= 0 {
		return "", 0, false
	}
	h := strings.Trim(t[:i], "[]")
	var port uint16
	if _, err := fmt.Sscan(t[i+1:], &port); err != nil {
		return "", 0, false
	}
	return h, port, true
}

// nameKey is the key of byName: lower case, without a trailing dot.
func nameKey(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// FlowsTo returns the flows whose server has address a, in flow order.
func (c *Context) FlowsTo(a netip.Addr) []*analyze.Flow { return c.byAddr.get(a) }

// FlowsNamed returns the flows whose SNI, or a DNS name of whose server
// address, is name (case-insensitive), in flow order.
func (c *Context) FlowsNamed(name string) []*analyze.Flow { return c.byName.get(nameKey(name)) }

// flowGroups groups flows by a key, each group in flow order and once per
// flow, all groups in one array: counted first and filled once every flow
// is counted, where a slice a key grew by append left most of its memory
// behind (10 MB for the benchmark capture's 150,000 flows).
type flowGroups[K comparable] struct {
	idx   map[K]int32
	spans []flowSpan
	flows []*analyze.Flow
}

// flowSpan is one group's place in flowGroups.flows; last is the position
// of the flow counted last, so that a flow goes in once per key.
type flowSpan struct {
	start, n int32
	last     int32
}

func newFlowGroups[K comparable]() flowGroups[K] { return flowGroups[K]{idx: map[K]int32{}} }

// group returns the index of k's group, adding it if new.
func (g *flowGroups[K]) group(k K) int32 {
	i, ok := g.idx[k]
	if !ok {
		i = int32(len(g.spans))
		g.idx[k] = i
		g.spans = append(g.spans, flowSpan{last: -1})
	}
	return i
}

// count counts the flow at position pos in group i and returns i, or -1
// when the flow is in that group already.
func (g *flowGroups[K]) count(i, pos int32) int32 {
	s := &g.spans[i]
	if s.last == pos {
		return -1
	}
	s.last = pos
	s.n++
	return i
}

// countRef counts the flow at position pos in group i and appends the
// membership to refs, unless the flow is in that group already.
func (g *flowGroups[K]) countRef(refs []groupRef, i, pos int32) []groupRef {
	if g.count(i, pos) < 0 {
		return refs
	}
	return grow.Append(refs, groupRef{i, pos})
}

// layout gives each group its place, once every flow is counted.
func (g *flowGroups[K]) layout() {
	var at int32
	for i := range g.spans {
		s := &g.spans[i]
		s.start, at, s.n = at, at+s.n, 0
	}
	g.flows = make([]*analyze.Flow, at)
}

// place puts f, counted in group i, in its place.
func (g *flowGroups[K]) place(i int32, f *analyze.Flow) {
	if s := &g.spans[i]; int(s.start+s.n) < len(g.flows) {
		g.flows[s.start+s.n] = f
		s.n++
	}
}

// get returns the group of k, capped so that appending to it copies.
func (g *flowGroups[K]) get(k K) []*analyze.Flow {
	i, ok := g.idx[k]
	if !ok {
		return nil
	}
	s := g.spans[i]
	return g.flows[s.start : s.start+s.n : s.start+s.n]
}

// QA returns the Quick Assist classification of a flow, or nil.
func (c *Context) QA(f *analyze.Flow) *QAFlow {
	if f.ID < 0 || f.ID >= len(c.qa) || c.qa[f.ID] == 0 {
		return nil
	}
	return &c.qaList[c.qa[f.ID]-1]
}

// quickAssist yields the Quick Assist flows in flow order with their
// classification: the detectors that look at nothing else walk these
// instead of every flow, as a pass over a hundred thousand flows misses
// the cache on each.
func (c *Context) quickAssist(yield func(*QAFlow, *analyze.Flow) bool) {
	for i, f := range c.qaFlows {
		if !yield(&c.qaList[i], f) {
			return
		}
	}
}

// qaScan holds what the detectors that judge each Quick Assist flow on its
// own found, in one pass over those flows (scanQA): each flow is read from
// memory once for all of them, where a pass each read the tens of
// thousands of them five times over.
type qaScan struct {
	rst               []Finding
	sni               grouped[string, sniFail]
	icpt              grouped[string, icpt]
	tlsFail           grouped[tlsFailKey, tlsFail]
	stageOK, stageBad map[string][]int // flow ids by stage
}

// scanQA runs the per-flow checks of rst_injection, sni_blocking,
// tls_interception, tls_failure and stages over the Quick Assist flows,
// the first time it is called; each detector then groups and scores its
// own results. The checks read only the flow and the context, so their
// order does not matter.
func (c *Context) scanQA() *qaScan {
	if c.scan != nil {
		return c.scan
	}
	s := &qaScan{stageOK: map[string][]int{}, stageBad: map[string][]int{}}
	for q, f := range c.quickAssist {
		s.rstFlow(c, q, f)
		s.sniFlow(c, q, f)
		s.icptFlow(c, q, f)
		s.tlsFailFlow(c, q, f)
		s.stageFlow(q, f)
	}
	c.scan = s
	return s
}

// QAFlows lists the Quick Assist flows in flow order.
func (c *Context) QAFlows() []QAFlow { return c.qaList }

// Quality lists the capture problems found.
func (c *Context) Quality() []string { return c.quality }

// FlowByID returns the flow with id, or nil.
func (c *Context) FlowByID(id int) *analyze.Flow { return c.Res.Flow(id) }

// assessQuality looks for capture problems that make missing packets weak
// evidence (research/heuristics.md section 12) and lowers every finding's
// confidence for them.
func (c *Context) assessQuality(q flowCounts) {
	cap := &c.Res.Capture
	factor := 1.0
	if cap.Dropped > 0 {
		c.quality = append(c.quality, fmt.Sprintf("the capturing host dropped %d packets: a missing answer may be a capture drop", cap.Dropped))
		factor *= 0.8
	}
	if cap.Damage != nil {
		c.quality = append(c.quality, "the capture is damaged; only the frames before the damage were analysed")
		factor *= 0.9
	}
	tcp, oneWay, midstream := q.tcp, q.oneWay, q.midstream
	if tcp >= 3 && oneWay == tcp {
		c.quality = append(c.quality, "no TCP flow was seen in both directions: the capture may hold only one direction (a filter, a mirror port or the wrong interface), so unanswered packets prove nothing")
		factor *= 0.5
	}
	if tcp >= 3 && midstream*2 > tcp {
		c.quality = append(c.quality, fmt.Sprintf("%d of %d TCP flows started before the capture: handshakes and their failures may be missing", midstream, tcp))
		factor *= 0.9
	}
	if cap.SnapTruncated > 0 {
		c.quality = append(c.quality, fmt.Sprintf("%d frames were cut by the snapshot length: payloads past the cut are not visible", cap.SnapTruncated))
	}
	c.qualityFactor = factor
}

// flowCounts counts what assessQuality needs of the flows, in
// NewContext's pass over them.
type flowCounts struct{ tcp, oneWay, midstream int }

func (q *flowCounts) add(f *analyze.Flow) {
	if f.Proto != decode.ProtoTCP {
		return
	}
	q.tcp++
	if f.Dir[analyze.FromServer].Packets == 0 || f.Dir[analyze.FromClient].Packets == 0 {
		q.oneWay++
	}
	if f.ConnState() == "OTH" {
		q.midstream++
	}
}

// healthyScore is the confidence of a healthy verdict: high when the
// session reached the relay, lower when the capture ends earlier.
func (c *Context) healthyScore() float64 {
	st := c.stages()
	reached, _ := reachedFailed(st)
	switch reached {
	case StageSession, StageRelay:
		return 0.9 * c.qualityFactor
	case StageSignaling, StageService:
		return 0.7 * c.qualityFactor
	}
	return 0.5 * c.qualityFactor
}

func (c *Context) noQAScore() float64 {
	if c.Res.FlowCount() == 0 {
		return 0.5
	}
	return 0.9 * c.qualityFactor
}

// Established reports whether a TCP flow did what it was opened for: the
// handshake completed and the server sent data (for TLS, the handshake
// completed), or, for UDP STUN, a transaction succeeded.
func Established(f *analyze.Flow) bool {
	if f.Proto == decode.ProtoUDP {
		if f.STUN != nil {
			for _, tx := range f.STUN.Transactions {
				if tx.Class == "success" {
					return true
				}
			}
			return false
		}
		return f.Dir[analyze.FromServer].Packets > 0
	}
	if f.TLS != nil && f.TLS.ClientFrame != 0 {
		return f.TLS.Established() || f.TLS.Resumed && f.TLS.AppDataFrame[1] != 0
	}
	if f.HTTP != nil && len(f.HTTP.Exchanges) > 0 {
		return f.HTTP.Exchanges[0].Status >= 200 && f.HTTP.Exchanges[0].Status < 400
	}
	return f.Dir[analyze.FromServer].Payload > 0 && f.SYNACKFrame != 0
}

// FramesFilter is a Wireshark display filter selecting exactly frames.
func FramesFilter(frames []uint64) string {
	frames = slices.Compact(slices.Sorted(slices.Values(frames)))
	var b strings.Builder
	b.WriteString("frame.number in {")
	for i, n := range frames {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprint(&b, n)
	}
	b.WriteString("}")
	return b.String()
}

// FlowFilter is a Wireshark display filter selecting one flow by its
// addresses and ports (robust where stream numbers could differ).
func FlowFilter(f *analyze.Flow) string {
	ip := "ip"
	if f.Client.Addr().Is6() && !f.Client.Addr().Is4In6() {
		ip = "ipv6"
	}
	tp := "tcp"
	if f.Proto == decode.ProtoUDP {
		tp = "udp"
	}
	// Appended, not Sprintf'd: detectors build one for every candidate
	// flow, tens of thousands on a large capture.
	b := make([]byte, 0, 96)
	b = f.Client.Addr().AppendTo(append(append(b, ip...), ".addr=="...))
	b = f.Server.Addr().AppendTo(append(append(append(b, " && "...), ip...), ".addr=="...))
	b = strconv.AppendUint(append(append(append(b, " && "...), tp...), ".port=="...), uint64(f.Client.Port()), 10)
	b = strconv.AppendUint(append(append(append(b, " && "...), tp...), ".port=="...), uint64(f.Server.Port()), 10)
	return string(b)
}

// hostMatch is the catalog's answer for a name, remembered: a capture
// names the same few hundred hosts in its hundred thousand flows.
func (c *Context) hostMatch(name string) (QAFlow, bool) {
	if r, ok := c.hosts[name]; ok {
		return r.q, r.ok
	}
	var r hostResult
	if m, ok := c.Cat.MatchHost(name); ok {
		r = hostResult{QAFlow{Host: strings.ToLower(strings.TrimSuffix(name, ".")), Role: m.Role.String(),
			Pattern: m.Pattern, Required: m.Required, Broad: m.Broad}, true}
	}
	if c.hosts == nil {
		c.hosts = map[string]hostResult{}
	}
	if len(c.hosts) < 1<<16 {
		c.hosts[name] = r
	}
	return r.q, r.ok
}

type hostResult struct {
	q  QAFlow
	ok bool
}

// lazyFilter is a flow's FlowFilter, built the first time evidence needs
// it: detectors look at tens of thousands of candidate flows and cite few.
type lazyFilter struct {
	f *analyze.Flow
	s string
}

func (l *lazyFilter) String() string {
	if l.s == "" {
		l.s = FlowFilter(l.f)
	}
	return l.s
}

// AndFrames narrows a flow filter to some of its frames.
func AndFrames(flowFilter string, frames ...uint64) string {
	return flowFilter + " && " + FramesFilter(frames)
}

// ms returns a duration in milliseconds for a Value.
func ms(d time.Duration) float64 { return round3(float64(d) / 1e6) }

// hops is the number of routers between a packet's sender and the capture
// point, from its TTL and the nearest common initial TTL (64, 128, 255).
func hops(ttl uint8) int {
	for _, initial := range []int{64, 128, 255} {
		if int(ttl) <= initial {
			return initial - int(ttl)
		}
	}
	return 0
}

// isBogon reports addresses a public name must not resolve to: unspecified,
// loopback, private, shared (CGN) and link-local ranges (research/
// heuristics.md section 6).
func isBogon(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsUnspecified() || a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() ||
		cgn.Contains(a)
}

var cgn = netip.MustParsePrefix("100.64.0.0/10")

// allowRule is a remediation line allowing a host on the ports its catalog
// entry lists.
func (c *Context) allowRule(q *QAFlow) string {
	if q.By == ByRange {
		return fmt.Sprintf("Allow %s (Quick Assist %s range %s)", q.Host, q.Role, q.Pattern)
	}
	ports := ""
	if m, ok := c.Cat.MatchHost(q.Host); ok {
		var ps []string
		for _, p := range m.Ports {
			ps = append(ps, strings.ToUpper(p.String()))
		}
		ports = strings.Join(ps, ", ")
	}
	if ports == "" {
		ports = "TCP/443"
	}
	pat := q.Pattern
	if pat == q.Host {
		return fmt.Sprintf("Allow %s to %s", ports, q.Host)
	}
	return fmt.Sprintf("Allow %s to %s (catalog entry %s)", ports, q.Host, pat)
}
