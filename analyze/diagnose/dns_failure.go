package diagnose

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
)

// DNS response codes (RFC 1035 4.1.1; research/heuristics.md section 14).
const (
	dnsRcodeServFail = 2
	dnsRcodeNXDomain = 3
	dnsRcodeRefused  = 5
)

// dnsUmbrellaBlock is the range of Cisco Umbrella (OpenDNS) block-page
// addresses, 146.112.61.104-110 (research/heuristics.md section 6,
// community sinkhole lists).
var dnsUmbrellaBlock = [2]netip.Addr{netip.MustParseAddr("146.112.61.104"), netip.MustParseAddr("146.112.61.110")}

// dnsSinkhole describes an address a DNS filter answers instead of a
// public Microsoft name's (section 6: bogons and known block pages), or
// returns "" for a usable public address.
func dnsSinkhole(a netip.Addr) string {
	a = a.Unmap()
	switch {
	case a.IsUnspecified():
		return "the unspecified address"
	case a.IsLoopback():
		return "a loopback address"
	case a.Compare(dnsUmbrellaBlock[0]) >= 0 && a.Compare(dnsUmbrellaBlock[1]) <= 0:
		return "Cisco Umbrella's block-page address"
	case isBogon(a):
		return "a private address"
	}
	return ""
}

// dnsName gathers every query for one Quick Assist name.
type dnsName struct {
	name  string
	match catalog.Match
	good  bool // some answer gave a usable public address
	fails []dnsFail
	tries map[uint16]int // unanswered transmissions by query type
	first uint64
}

// dnsFail is one query that failed.
type dnsFail struct {
	f    *analyze.Flow
	q    *analyze.DNSQuery
	kind string     // "NXDOMAIN", "SERVFAIL", "REFUSED", "timeout", "sinkhole"
	addr netip.Addr // the sinkhole answer
}

// generic reports a name matched only by a registrable-domain wildcard of
// the generic ACS rows (*.microsoft.com, *.skype.com, *.azure.com ...).
// Those rows cover every Microsoft name, so the catalog neither says that
// such a name must exist nor that Quick Assist needs it: a negative answer
// or a timeout for it is not evidence (section 6: names that do not exist,
// typos), only a sinkhole answer is.
func (n *dnsName) generic() bool {
	return n.match.By == catalog.ByWildcard && !n.match.Required && strings.Count(n.match.Pattern, ".") <= 2
}

// detectDNSFailure finds Quick Assist names that did not resolve
// (research/heuristics.md section 6):
//
//   - an answer of 0.0.0.0, ::, loopback, private or shared addresses, or a
//     Cisco Umbrella block page, for a public Microsoft name (strong;
//     medium under a generic wildcard, where split horizon is possible);
//   - NXDOMAIN, SERVFAIL or REFUSED (medium each);
//   - queries sent at least twice with no response (medium);
//   - a required endpoint whose name failed and that the client never
//     reached afterwards (medium: the failure blocked its stage);
//   - the same failure on every try (weak), or, for timeouts, the same
//     resolver answering other names (weak: it is up, the silence is
//     specific).
//
// A name that also resolved to a usable address anywhere in the capture is
// never blamed (an AAAA NXDOMAIN or empty answer beside a good A record, a
// second resolver that answered), nor are names outside the catalog
// (search-suffix noise such as name.corp.local), nor negative answers for
// names under a generic wildcard. Timeouts weaken to weak when no DNS
// response at all was captured (a one-sided capture, section 12).
func detectDNSFailure(c *Context) []Finding {
	names, answered := c.dnsNames()
	var failing []*dnsName
	for _, n := range names {
		if !n.good && len(n.fails) > 0 {
			failing = append(failing, n)
		}
	}
	if len(failing) == 0 {
		return nil
	}
	slices.SortFunc(failing, func(a, b *dnsName) int { return cmp.Compare(a.first, b.first) })
	fd := Finding{}
	var weights []float64
	kinds := map[string][]string{} // kind -> names
	var repeated bool
	for _, n := range failing {
		w, ev := dnsNameEvidence(n, answered)
		if len(weights) < 3 {
			// Names blocked by one filter share one cause rather than
			// being independent evidence: count at most three.
			weights = append(weights, w)
		}
		fd.Evidence = append(fd.Evidence, ev...)
		fd.Hosts = append(fd.Hosts, n.name)
		for _, fl := range n.fails {
			fd.Flows = append(fd.Flows, fl.f.ID)
		}
		k := n.fails[0].kind
		kinds[k] = append(kinds[k], n.name)
		repeated = repeated || len(n.fails) >= 2 && k != "timeout"
	}
	if n := c.dnsUnreached(failing); n != nil {
		fd.Evidence = append(fd.Evidence, Evidence{
			Text:   fmt.Sprintf("no connection to %s followed (no TLS name, DNS-named address or proxy CONNECT for it): the client never reached this required %s endpoint", n.name, n.match.Role),
			Filter: fmt.Sprintf("dns.qry.name == %q || tls.handshake.extensions_server_name == %q", n.name, n.name),
		})
		weights = append(weights, Medium)
	}
	if repeated {
		weights = append(weights, Weak) // the same failure on every try: not a transient blip
	}
	if resp := c.dnsAnswerElsewhere(failing); resp != nil && len(kinds["timeout"]) > 0 {
		fd.Evidence = append(fd.Evidence, *resp)
		weights = append(weights, Weak)
	}
	fd.Score = Combine(weights...)
	fd.Explanation, fd.Remediation = dnsAdvice(c, failing, kinds)
	if fd.Score < 0.85 {
		fd.Conclusive = "the same names resolved through another resolver (nslookup NAME 1.1.1.1), or the DNS filter's log, would settle whether this resolver blocks them"
	}
	return []Finding{fd}
}

// dnsNames collects the queries for Quick Assist names by name, and
// reports whether the capture holds any DNS response at all.
func (c *Context) dnsNames() (names []*dnsName, answered bool) {
	byName := map[string]*dnsName{}
	for _, f := range c.Flows {
		if f.DNS == nil {
			continue
		}
		answered = answered || f.DNS.Responses > 0
		for i := range f.DNS.Queries {
			q := &f.DNS.Queries[i]
			name := strings.ToLower(strings.TrimSuffix(q.Name, "."))
			m, ok := c.Cat.MatchHost(name)
			if !ok || !dnsHostname(name) || !dnsConnectType(q.Type) {
				continue // search-suffix noise, every other name, non-host names such as a literal "*.teams.microsoft.com", TXT or PTR lookups
			}
			n := byName[name]
			if n == nil {
				n = &dnsName{name: name, match: m, first: cmp.Or(q.Frame, q.ResponseFrame)}
				byName[name] = n
				names = append(names, n)
			}
			n.add(f, q)
		}
	}
	for _, n := range names {
		n.settle()
	}
	return names, answered
}

// dnsHostname reports whether name is made of letters, digits, hyphens
// and dots only (RFC 1123 2.1), as every name Quick Assist looks up is.
func dnsHostname(name string) bool {
	for i := 0; i < len(name); i++ {
		ch := name[i]
		if !('a' <= ch && ch <= 'z' || '0' <= ch && ch <= '9' || ch == '-' || ch == '.') {
			return false
		}
	}
	return name != ""
}

// dnsConnectType reports the query types a client asks before it connects:
// A, AAAA, SVCB and HTTPS (RFC 1035, RFC 3596, RFC 9460).
func dnsConnectType(t uint16) bool { return t == 1 || t == 28 || t == 64 || t == 65 }

// add classifies one query of the name.
func (n *dnsName) add(f *analyze.Flow, q *analyze.DNSQuery) {
	if !q.Answered() {
		if q.Frame != 0 {
			if n.tries == nil {
				n.tries = map[uint16]int{}
			}
			n.tries[q.Type] += q.Count
			n.fails = append(n.fails, dnsFail{f: f, q: q, kind: "timeout"})
		}
		return
	}
	switch q.Rcode {
	case dnsRcodeNXDomain:
		n.fails = append(n.fails, dnsFail{f: f, q: q, kind: "NXDOMAIN"})
		return
	case dnsRcodeServFail:
		n.fails = append(n.fails, dnsFail{f: f, q: q, kind: "SERVFAIL"})
		return
	case dnsRcodeRefused:
		n.fails = append(n.fails, dnsFail{f: f, q: q, kind: "REFUSED"})
		return
	case 0:
	default:
		return
	}
	for _, an := range q.Answers {
		if !an.Addr.IsValid() {
			continue
		}
		if dnsSinkhole(an.Addr) == "" {
			n.good = true
			return
		}
		n.fails = append(n.fails, dnsFail{f: f, q: q, kind: "sinkhole", addr: an.Addr})
		return
	}
}

// settle drops what is not evidence: timeouts of a query never sent again
// (the capture may have ended before the answer; an A and an AAAA query
// side by side are not a retry), and negative answers for names under a
// generic wildcard.
func (n *dnsName) settle() {
	retried := false
	for _, c := range n.tries {
		retried = retried || c >= 2
	}
	kept := n.fails[:0]
	for _, fl := range n.fails {
		switch {
		case fl.kind == "timeout" && !retried:
		case fl.kind != "sinkhole" && n.generic():
		default:
			kept = append(kept, fl)
		}
	}
	n.fails = kept
	// The strongest kind first: a sinkhole answer, then an explicit code,
	// then silence.
	slices.SortStableFunc(n.fails, func(a, b dnsFail) int { return dnsKindRank(a.kind) - dnsKindRank(b.kind) })
}

func dnsKindRank(k string) int {
	switch k {
	case "sinkhole":
		return 0
	case "timeout":
		return 2
	}
	return 1
}

// dnsNameEvidence weighs one failing name and states what each of its
// failed queries showed.
func dnsNameEvidence(n *dnsName, answered bool) (float64, []Evidence) {
	var ev []Evidence
	w := Medium
	switch {
	case n.fails[0].kind == "sinkhole" && !n.generic():
		w = Strong
	case n.fails[0].kind == "timeout" && !answered:
		w = Weak // no DNS answer at all in the capture: maybe a one-sided capture
	}
	for _, fl := range n.fails {
		q, srv := fl.q, fl.f.Server
		frames := nonZero(append(slices.Clone(q.Frames), q.ResponseFrame))
		var text string
		switch fl.kind {
		case "timeout":
			times := fmt.Sprintf("%d times", q.Count)
			if q.Count == 1 {
				times = "once"
			}
			text = fmt.Sprintf("the query for %s (%s) was sent %s to %s and got no response", n.name, dnsType(q.Type), times, srv)
		case "sinkhole":
			text = fmt.Sprintf("the resolver %s answered %s for %s with %s, %s, which no public Microsoft name has: a DNS filter's sinkhole",
				srv, dnsType(q.Type), n.name, fl.addr, dnsSinkhole(fl.addr))
		default:
			text = fmt.Sprintf("the resolver %s answered %s for %s (%s) in frame %d", srv, fl.kind, n.name, dnsType(q.Type), q.ResponseFrame)
		}
		e := Evidence{Text: text, Frames: frames, Filter: AndFrames(FlowFilter(fl.f), frames...)}
		if q.Answered() {
			e.Values = []Value{{Name: "rcode", Num: float64(q.Rcode)}}
		}
		ev = append(ev, e)
	}
	return w, ev
}

// dnsUnreached returns a failing name of a required endpoint that no Quick
// Assist flow reached (by SNI, CONNECT or DNS), or nil.
func (c *Context) dnsUnreached(failing []*dnsName) *dnsName {
	for _, n := range failing {
		if !n.match.Required || n.generic() {
			continue
		}
		reached := false
		for _, q := range c.qaList {
			reached = reached || q.Host == n.name
		}
		if !reached {
			return n
		}
	}
	return nil
}

// dnsAnswerElsewhere is the evidence that a resolver that stayed silent for
// a Quick Assist name answered another name: it is up, and the silence is
// specific to the name.
func (c *Context) dnsAnswerElsewhere(failing []*dnsName) *Evidence {
	silent := map[netip.Addr]bool{}
	names := map[string]bool{}
	for _, n := range failing {
		names[n.name] = true
		for _, fl := range n.fails {
			if fl.kind == "timeout" {
				silent[fl.f.Server.Addr()] = true
			}
		}
	}
	for _, f := range c.Flows {
		if f.DNS == nil || !silent[f.Server.Addr()] {
			continue
		}
		for _, q := range f.DNS.Queries {
			if q.Answered() && q.Rcode == 0 && !names[strings.ToLower(strings.TrimSuffix(q.Name, "."))] {
				return &Evidence{
					Text:   fmt.Sprintf("the same resolver %s answered %s in frame %d: it is up and silent only for the Quick Assist name", f.Server.Addr(), q.Name, q.ResponseFrame),
					Frames: []uint64{q.ResponseFrame}, Filter: AndFrames(FlowFilter(f), q.ResponseFrame),
				}
			}
		}
	}
	return nil
}

// dnsAdvice explains the failure and names what to allow or fix on which
// resolver.
func dnsAdvice(c *Context, failing []*dnsName, kinds map[string][]string) (string, []string) {
	var resolvers []string
	for _, n := range failing {
		for _, fl := range n.fails {
			if r := fl.f.Server.Addr().String(); !slices.Contains(resolvers, r) {
				resolvers = append(resolvers, r)
			}
		}
	}
	res := strings.Join(resolvers, ", ")
	var parts, rem []string
	list := func(k string) string { return strings.Join(kinds[k], ", ") }
	if len(kinds["sinkhole"]) > 0 {
		parts = append(parts, fmt.Sprintf("a DNS filter answers %s with a sinkhole address", list("sinkhole")))
		rem = append(rem, fmt.Sprintf("On the DNS filter behind %s, allow-list %s", res, dnsPatterns(failing, "sinkhole")))
	}
	if len(kinds["NXDOMAIN"]) > 0 {
		verb := "does"
		if len(kinds["NXDOMAIN"]) > 1 {
			verb = "do"
		}
		parts = append(parts, fmt.Sprintf("the resolver says %s %s not exist (NXDOMAIN)", list("NXDOMAIN"), verb))
		rem = append(rem, fmt.Sprintf("Remove %s from the block list or response policy zone of %s, or fix the forwarder that answers NXDOMAIN for Microsoft names", dnsPatterns(failing, "NXDOMAIN"), res))
	}
	if len(kinds["SERVFAIL"]) > 0 {
		parts = append(parts, fmt.Sprintf("the resolver fails on %s (SERVFAIL)", list("SERVFAIL")))
		rem = append(rem, fmt.Sprintf("Check the forwarders and DNSSEC validation of %s for %s; allow it to resolve %s", res, list("SERVFAIL"), dnsPatterns(failing, "SERVFAIL")))
	}
	if len(kinds["REFUSED"]) > 0 {
		parts = append(parts, fmt.Sprintf("the resolver refuses to resolve %s (REFUSED)", list("REFUSED")))
		rem = append(rem, fmt.Sprintf("Let %s recurse for the client's subnet (its access list refused it), or point the client at a resolver that does, for %s", res, dnsPatterns(failing, "REFUSED")))
	}
	if len(kinds["timeout"]) > 0 {
		parts = append(parts, fmt.Sprintf("queries for %s get no answer", list("timeout")))
		rem = append(rem, fmt.Sprintf("Allow %s on the DNS filter or firewall that drops these queries to %s, or fix its forwarder", dnsPatterns(failing, "timeout"), res))
	}
	expl := fmt.Sprintf("Quick Assist's names do not resolve: %s. Without their addresses the client cannot reach those endpoints.", strings.Join(parts, "; "))
	return expl, rem
}

// dnsPatterns lists the failing names of a kind with the catalog entries
// that cover them, which is what an allow list should hold.
func dnsPatterns(failing []*dnsName, kind string) string {
	var out []string
	for _, n := range failing {
		if n.fails[0].kind != kind {
			continue
		}
		s := n.name
		if n.match.Pattern != n.name {
			s += " (catalog " + n.match.Pattern + ")"
		}
		out = append(out, s)
	}
	return strings.Join(out, ", ")
}

func dnsType(t uint16) string {
	switch t {
	case 1:
		return "A"
	case 28:
		return "AAAA"
	case 64:
		return "SVCB"
	case 65:
		return "HTTPS"
	}
	return fmt.Sprintf("type %d", t)
}
