package analyze

import (
	"cmp"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/qadiag/qadiag/decode/dnsmsg"
)

// DNSInfo is the DNS exchanges of one flow (to a resolver on port 53).
type DNSInfo struct {
	Queries    []DNSQuery // the first maxQueries, by first query frame
	QueryCount int        // all distinct queries
	Unanswered int        // kept queries without a response
	Responses  int        // responses, matched or not
	Malformed  int
}

// DNSQuery is one question, its retransmissions and its answer, matched by
// message ID and question (RFC 1035 7.3).
type DNSQuery struct {
	ID    uint16
	Name  string
	Type  uint16
	Frame uint64 // first query; 0 when only the response was captured
	// Frames are the query and its retransmissions (the first few); Count
	// counts them all.
	Frames []uint64
	Count  int
	First  time.Time

	ResponseFrame uint64 // 0: unanswered
	Rcode         uint8
	Truncated     bool
	RTT           time.Duration
	Answers       []dnsmsg.Answer
}

// Answered reports whether a response was seen.
func (q *DNSQuery) Answered() bool { return q.ResponseFrame != 0 }

const maxQueries = 256

type dnsState struct {
	// The first few keys live inline: a DNS flow is usually one query from
	// one ephemeral port, and a map per flow was a third of a capture's
	// DNS allocations.
	small  [4]dnsSlot
	nsmall int
	index  map[dnsKey]int // index into Queries, -1 when not kept
}

type dnsSlot struct {
	k dnsKey
	i int
}

func (s *dnsState) get(k dnsKey) (int, bool) {
	for j := range s.nsmall {
		if s.small[j].k == k {
			return s.small[j].i, true
		}
	}
	i, ok := s.index[k]
	return i, ok
}

func (s *dnsState) set(k dnsKey, i int) {
	for j := range s.nsmall {
		if s.small[j].k == k {
			s.small[j].i = i
			return
		}
	}
	if s.nsmall < len(s.small) {
		s.small[s.nsmall] = dnsSlot{k, i}
		s.nsmall++
		return
	}
	if s.index == nil {
		s.index = map[dnsKey]int{}
	}
	s.index[k] = i
}

func (s *dnsState) size() int { return s.nsmall + len(s.index) }

type dnsKey struct {
	id   uint16
	typ  uint16
	name string
}

func (s *dnsState) finish(info *DNSInfo) {
	for i := range info.Queries {
		if info.Queries[i].Frame != 0 && !info.Queries[i].Answered() {
			info.Unanswered++
		}
	}
}

// dnsStream reads DNS over TCP: messages behind a 2-byte length (RFC 1035
// 4.2.2).
func (a *appState) dnsStream(dir Direction, b []byte, frame uint64) {
	buf := b
	if len(a.tcpBuf[dir]) > 0 {
		a.tcpBuf[dir] = append(a.tcpBuf[dir], b...)
		buf = a.tcpBuf[dir]
	}
	for {
		msg, rest, ok := dnsmsg.SplitTCP(buf)
		if !ok {
			break
		}
		a.dnsMessage(dir, frame, a.now, msg)
		buf = rest
	}
	if len(buf) > maxBuffered {
		a.stop()
		return
	}
	a.tcpBuf[dir] = append(a.tcpBuf[dir][:0], buf...)
}

func (a *appState) dnsMessage(dir Direction, frame uint64, now int64, b []byte) {
	info, st, sh := a.f.DNS, a.dns, a.t.shared
	m := &sh.dnsM
	if err := sh.dnsP.Parse(b, m); err != nil {
		info.Malformed++
	}
	// A record that does not decode leaves the header, the question and
	// the answers before it (dnsmsg keeps partial results): an NXDOMAIN
	// whose authority section is damaged still says NXDOMAIN.
	if m.Opcode != 0 || len(m.Questions) == 0 {
		return
	}
	q := m.Questions[0]
	k := dnsKey{id: m.ID, typ: q.Type, name: q.Name}
	i, seen := st.get(k)
	if !m.Response {
		if seen && i < 0 {
			return // a retransmission of a query not kept
		}
		if seen {
			dq := &info.Queries[i]
			if dq.Frame == 0 {
				return // a query after its response: a new exchange, not tracked
			}
			dq.Count++
			if len(dq.Frames) < maxRetransmitFrames {
				dq.Frames = append(dq.Frames, frame)
			}
			return
		}
		info.QueryCount++
		if len(info.Queries) >= maxQueries {
			if st.size() < maxTrackedIDs {
				st.set(k, -1)
			}
			return
		}
		st.set(k, len(info.Queries))
		info.Queries = append(info.Queries, DNSQuery{ID: m.ID, Name: q.Name, Type: q.Type, Frame: frame,
			Frames: []uint64{frame}, Count: 1, First: unixTime(now)})
		return
	}
	info.Responses++
	// Every answer names addresses for the capture-wide map, also one to
	// a query past maxQueries or a second response.
	for _, an := range m.Answers {
		if an.Addr.IsValid() {
			sh.names.add(an.Addr, q.Name, frame)
			if an.Name != q.Name {
				sh.names.add(an.Addr, an.Name, frame)
			}
		}
	}
	var dq *DNSQuery
	if seen {
		if i < 0 {
			return
		}
		dq = &info.Queries[i]
	} else if len(info.Queries) < maxQueries {
		// The query was not captured: keep the answer, it still names
		// addresses.
		st.set(k, len(info.Queries))
		info.Queries = append(info.Queries, DNSQuery{ID: m.ID, Name: q.Name, Type: q.Type})
		dq = &info.Queries[len(info.Queries)-1]
	}
	if dq == nil || dq.ResponseFrame != 0 {
		return
	}
	dq.ResponseFrame, dq.Rcode, dq.Truncated = frame, m.Rcode, m.Truncated
	if dq.Frame != 0 {
		dq.RTT = unixTime(now).Sub(dq.First)
	}
	if len(m.Answers) > 0 {
		// The parser reuses its slice: an empty one would be nil or not
		// depending on earlier messages, and so would the JSON.
		dq.Answers = slices.Clone(m.Answers)
	}
}

// NameSource is a name that a DNS answer in the capture resolved to an
// address, and the frame of that answer.
type NameSource struct {
	Name  string
	Frame uint64
}

// nameMap is the capture-wide map from address to the names that resolved
// to it, bounded so that a capture full of DNS cannot exhaust memory.
type nameMap struct {
	m map[netip.Addr][]NameSource
	n int
	// shared holds the lists lookupShared handed out, one per address
	// and length.
	shared map[nameSpan]*[]NameSource
}

// nameSpan is the first n names of an address.
type nameSpan struct {
	addr netip.Addr
	n    int
}

const (
	maxNamedAddrs   = 200000
	maxNamesPerAddr = 8
)

func newNameMap() nameMap { return nameMap{m: map[netip.Addr][]NameSource{}} }

func (nm *nameMap) add(addr netip.Addr, name string, frame uint64) {
	addr = addr.Unmap()
	list, ok := nm.m[addr]
	if !ok && nm.n >= maxNamedAddrs {
		return
	}
	for _, s := range list {
		if s.Name == name {
			return // the first answer that said so is the evidence
		}
	}
	if len(list) >= maxNamesPerAddr {
		return
	}
	if !ok {
		nm.n++
	}
	// Keep the list sorted by frame then name, so lookups hand out a
	// prefix of it without sorting or copying.
	ns := NameSource{Name: name, Frame: frame}
	i, _ := slices.BinarySearchFunc(list, ns, compareNameSource)
	nm.m[addr] = slices.Insert(list, i, ns)
}

func compareNameSource(a, b NameSource) int {
	return cmp.Or(cmp.Compare(a.Frame, b.Frame), cmp.Compare(a.Name, b.Name))
}

// lookupShared is lookup's list, the same one for every flow with the same
// names; nil when there are none.
func (nm *nameMap) lookupShared(addr netip.Addr, frame uint64) *[]NameSource {
	l := nm.lookup(addr, frame)
	if l == nil {
		return nil
	}
	// At most maxNamesPerAddr lists an address.
	return share(&nm.shared, nameSpan{addr.Unmap(), len(l)}, l, math.MaxInt)
}

// lookup returns the names that resolved to addr in answers before frame
// (or any answer, when none came before), sorted by frame then name. The
// result shares the map's storage: callers must not modify it.
func (nm *nameMap) lookup(addr netip.Addr, frame uint64) []NameSource {
	list := nm.m[addr.Unmap()]
	n := 0
	for n < len(list) && list[n].Frame < frame {
		n++
	}
	if n == 0 {
		n = len(list)
	}
	if n == 0 {
		return nil
	}
	return list[:n:n]
}
