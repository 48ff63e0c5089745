package analyze

import (
	"fmt"
	"net/netip"
	"slices"

	"github.com/qadiag/qadiag/decode"
)

// Folding keeps a capture's memory from following its count of ordinary
// flows. Past the first KeepFlows flows kept in full, a flow that ended
// the way nearly all flows of a busy capture end (a clean TCP handshake,
// a TLS handshake answered without alert, no reset, ICMP error, idle gap,
// retransmission or sequence hole; or a DNS exchange answered NOERROR) and
// that the caller's Relevant does not claim is counted instead of kept:
// eight bytes instead of about eight hundred. The detectors read such
// flows only as peers ("another flow to this address worked"), so a flow
// folds only when foldPeers flows to its server address, and as many
// with its TLS name, are already kept.
//
// Flows keep the numbers they have without folding (the rank of their
// first frame among all flows): a report made with and one made without
// folding name the same flow alike, and the numbers of a folded report
// skip the folded flows.

// DefaultKeepFlows is what the command keeps in full before it folds:
// more flows than a report is read for, and about 40 MB of summaries.
const DefaultKeepFlows = 50_000

// foldPeers is how many flows to a server address, and with a TLS name,
// are kept in full before others like them fold.
const foldPeers = 4

// Folded counts the flows folded by protocol.
type Folded struct {
	TCP, UDP uint64
}

// Total is the number of folded flows.
func (f Folded) Total() uint64 { return f.TCP + f.UDP }

// foldState is what the table knows to fold flows.
type foldState struct {
	kept   int
	byAddr map[netip.Addr]uint8 // kept flows by server address, up to foldPeers
	byName map[string]uint8     // kept flows by TLS name, up to foldPeers
	first  []uint64             // the folded flows' first frames
	names  []NameSource         // the names of the judged flow's server so far (fold)
	n      Folded
}

// fold reports whether the ended flow f is folded, counting it if so, or
// counts it as kept. keep and relevant are Table.KeepFlows and
// Table.Relevant.
func (s *foldState) fold(f *Flow, keep int, relevant func(*Flow) bool, names *nameMap) bool {
	if keep <= 0 {
		return false
	}
	addr := f.Server.Addr()
	sni := ""
	if f.TLS != nil {
		sni = f.TLS.SNI
	}
	if s.kept >= keep && ordinary(f) && s.byAddr[addr] >= foldPeers && (sni == "" || s.byName[sni] >= foldPeers) {
		first, claimed := f.FirstFrame(), false
		if relevant != nil {
			// The names answered for the server so far: a flow is
			// Quick Assist's by the name it was resolved from, too.
			s.names = names.lookup(addr, first)
			f.names = &s.names
			claimed = relevant(f)
			f.names = nil
		}
		if !claimed {
			s.first = append(s.first, first)
			if f.Proto == decode.ProtoTCP {
				s.n.TCP++
			} else {
				s.n.UDP++
			}
			return true
		}
	}
	s.kept++
	if s.byAddr == nil {
		s.byAddr, s.byName = map[netip.Addr]uint8{}, map[string]uint8{}
	}
	if n := s.byAddr[addr]; n < foldPeers {
		s.byAddr[addr] = n + 1
	}
	if sni != "" {
		if n := s.byName[sni]; n < foldPeers {
			s.byName[sni] = n + 1
		}
	}
	return false
}

// foldedFirst returns the folded flows' first frames, sorted: a kept flow's
// number is its rank among the kept flows plus the folded ones before it.
func (s *foldState) foldedFirst() []uint64 {
	slices.Sort(s.first)
	return s.first
}

// warning says what folding left out, or "" when nothing was folded.
func (s *foldState) warning(keep int) string {
	if s.n.Total() == 0 {
		return ""
	}
	return fmt.Sprintf("%d ordinary flows (%d TCP, %d DNS) past the first %d were counted, not listed: each ended cleanly, is not Quick Assist's and has %d flows to its server listed; flow ids skip them (--keep-flows 0 lists every flow)",
		s.n.Total(), s.n.TCP, s.n.UDP, keep, foldPeers)
}

// ordinary reports whether an ended flow is one the detectors read only as
// a peer: a TCP connection whose handshake, TLS handshake and close went
// as they should, or a DNS exchange whose questions were all answered
// NOERROR.
func ordinary(f *Flow) bool {
	if f.events != nil || f.ICMPCount != 0 || f.Idle != nil || f.HTTP != nil || f.STUN != nil {
		return false
	}
	for d := range f.Dir {
		s := &f.Dir[d]
		if s.Packets == 0 || s.Retransmissions != 0 || s.OutOfOrder != 0 || s.ZeroWindows != 0 || s.SeqGaps != 0 ||
			s.LargeRetrans != 0 || s.StreamGaps != 0 || s.Malformed != 0 || s.RSTs != 0 {
			return false
		}
	}
	switch f.Proto {
	case decode.ProtoTCP:
		return ordinaryTCP(f)
	case decode.ProtoUDP:
		return ordinaryDNS(f)
	}
	return false
}

func ordinaryTCP(f *Flow) bool {
	if f.SYNFrame == 0 || f.SYNACKFrame == 0 || f.Dir[FromClient].SYNs != 1 || f.Dir[FromServer].SYNs != 1 {
		return false
	}
	h := f.History()
	for i := 0; i < len(h); i++ {
		switch h[i] {
		case 'S', 'h', 'A', 'D', 'a', 'd', 'F', 'f':
		default:
			return false
		}
	}
	t := f.TLS
	if t == nil {
		return false
	}
	d := t.Details()
	return t.ServerFrame != 0 && d.HRRFrame == 0 && !t.HelloRetry && !t.Downgrade && !t.InTunnel &&
		!t.Truncated && d.Malformed == "" && len(d.Alerts) == 0 && d.AlertRecords == 0 && d.DecryptErrors == 0 &&
		t.Gaps == [2]int32{}
}

func ordinaryDNS(f *Flow) bool {
	d := f.DNS
	if d == nil || f.App() != AppDNS || d.Malformed != 0 || d.Unanswered != 0 || len(d.Queries) == 0 || d.QueryCount != len(d.Queries) {
		return false
	}
	for i := range d.Queries {
		q := &d.Queries[i]
		if !q.Answered() || q.Rcode != 0 || q.Truncated || q.Count != 1 || q.Frame == 0 {
			return false
		}
	}
	return true
}
