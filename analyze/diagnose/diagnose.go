// Package diagnose decides, from the flows of a capture, why a Quick Assist
// session failed: it picks out the Quick Assist flows with the endpoint
// catalog, runs one detector per cause over them, and ranks what the
// detectors found into a verdict. Every finding carries the frames that prove
// it and what to change. Detectors are pure functions of the flows; they
// prefer missing a fault to blaming one the evidence does not carry
// (research/heuristics.md, after Weaver et al.).
package diagnose

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
)

// Cause ids: a public contract (JSON, exit codes, tests). Extend, never
// rename.
const (
	RSTInjection    = "rst_injection"
	SNIBlocking     = "sni_blocking"
	TLSInterception = "tls_interception"
	ProxyBlocking   = "proxy_blocking"
	STUNBlocked     = "stun_blocked"
	NATTimeout      = "nat_timeout"
	DNSFailure      = "dns_failure"
	PortBlocked     = "port_blocked"
	ICMPUnreachable = "icmp_unreachable"
	MTUBlackhole    = "mtu_blackhole"
	TLSFailure      = "tls_failure"
	// Verdicts that are not faults.
	Healthy       = "healthy"
	NoQuickAssist = "no_quick_assist_traffic"
)

// Causes lists the fault causes in a fixed order, used to break ties.
var Causes = []string{RSTInjection, SNIBlocking, TLSInterception, ProxyBlocking, STUNBlocked, NATTimeout,
	DNSFailure, PortBlocked, ICMPUnreachable, MTUBlackhole, TLSFailure}

// Confidence words for a score (research/heuristics.md strength scale:
// strong signals alone reach "likely", two independent ones "confirmed").
const (
	Confirmed = "confirmed"
	Likely    = "likely"
	Possible  = "possible"
)

// Level returns the word for a 0-1 score.
func Level(score float64) string {
	switch {
	case score >= 0.85:
		return Confirmed
	case score >= 0.6:
		return Likely
	}
	return Possible
}

// Signal weights: how much one signal of a strength adds to a finding's
// score, combined as independent evidence (1 - Π(1 - w)). One strong signal
// gives 0.7 (likely); strong and medium give 0.82; two strong 0.91
// (confirmed); a weak one alone stays possible.
const (
	Strong = 0.7
	Medium = 0.4
	Weak   = 0.15
)

// Combine adds independent signals' weights into a score.
func Combine(weights ...float64) float64 {
	miss := 1.0
	for _, w := range weights {
		miss *= 1 - w
	}
	return round3(1 - miss)
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }

// Value is a typed measurement behind a piece of evidence, e.g. the TTL of a
// reset and the server's baseline.
type Value struct {
	Name string  `json:"name"`
	Num  float64 `json:"value"`
	Unit string  `json:"unit,omitempty"`
}

// Evidence is one statement and the frames that show it, with a Wireshark
// display filter selecting them.
type Evidence struct {
	Text   string
	Frames []uint64
	Filter string
	Values []Value
}

// Finding is one cause the capture supports.
type Finding struct {
	Cause string
	// Score is the confidence from 0 to 1, Level its word.
	Score float64
	Level string
	// Flows are the affected flows' ids; Hosts the Quick Assist names they
	// were for.
	Flows    []int
	Hosts    []string
	Evidence []Evidence
	// Explanation says in plain language what happened; Conclusive what
	// evidence would settle it when the finding is not confirmed.
	Explanation string
	Conclusive  string
	// Remediation lists what the firewall, proxy or network team must
	// change.
	Remediation []string
}

// Stage of a Quick Assist connection, in the order a session meets them.
type Stage struct {
	Name   string // StageDNS ... StageSession
	Status string // StatusOK, StatusFailed, StatusNotSeen
	Flows  []int
}

// Stage names and statuses.
const (
	StageDNS       = "dns"
	StageSignIn    = "sign_in"
	StageService   = "service"
	StageSignaling = "signaling"
	StageRelay     = "relay_media"
	StageSession   = "sustained_session"

	StatusOK      = "ok"
	StatusFailed  = "failed"
	StatusNotSeen = "not_seen"
)

// Verdict is the diagnosis of one capture.
type Verdict struct {
	// Cause is the primary cause: a fault cause, Healthy or NoQuickAssist.
	Cause string
	Score float64
	Level string
	// StageReached is the furthest stage that worked, StageFailed the first
	// one that failed; "" when none.
	StageReached, StageFailed string
	Stages                    []Stage
	// Findings are ranked, the primary first; non-fault verdicts have none
	// unless look-alikes were explained away.
	Findings []Finding
	// QuickAssist lists the flows that belong to Quick Assist and why.
	QuickAssist []QAFlow
	// Quality lists capture problems that lowered confidence.
	Quality []string
}

// Fault reports whether the verdict names a network fault (exit status 3).
func (v *Verdict) Fault() bool { return v.Cause != Healthy && v.Cause != NoQuickAssist }

// Detector finds the evidence of one cause.
type Detector struct {
	Cause string
	Run   func(*Context) []Finding
}

// Detectors is every detector, one per fault cause.
var Detectors = []Detector{
	{RSTInjection, detectRSTInjection},
	{SNIBlocking, detectSNIBlocking},
	{TLSInterception, detectTLSInterception},
	{ProxyBlocking, detectProxyBlocking},
	{STUNBlocked, detectSTUNBlocked},
	{NATTimeout, detectNATTimeout},
	{DNSFailure, detectDNSFailure},
	{PortBlocked, detectPortBlocked},
	{ICMPUnreachable, detectICMPUnreachable},
	{MTUBlackhole, detectMTUBlackhole},
	{TLSFailure, detectTLSFailure},
}

// minFaultScore is the score a finding needs to be the verdict; weaker
// findings are reported but the verdict stays healthy.
const minFaultScore = 0.5

// Diagnose runs every detector over res with the catalog cat (nil: the
// built-in one) and ranks the findings.
func Diagnose(res *analyze.Result, cat *catalog.Catalog) *Verdict {
	if cat == nil {
		cat = catalog.Default()
	}
	ctx := NewContext(res, cat)
	v := &Verdict{QuickAssist: ctx.QAFlows(), Quality: ctx.Quality()}
	for _, d := range Detectors {
		for _, f := range merge(d.Run(ctx)) {
			f.Cause = d.Cause
			ctx.finish(&f)
			v.Findings = append(v.Findings, f)
		}
	}
	slices.SortStableFunc(v.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(slices.Index(Causes, a.Cause), slices.Index(Causes, b.Cause)),
			cmp.Compare(firstFlow(a), firstFlow(b)))
	})
	v.Stages = ctx.stages()
	v.StageReached, v.StageFailed = reachedFailed(v.Stages)
	switch {
	case len(v.Findings) > 0 && v.Findings[0].Score >= minFaultScore:
		v.Cause, v.Score = v.Findings[0].Cause, v.Findings[0].Score
	case len(v.QuickAssist) == 0 && v.Stages[0].Status == StatusNotSeen:
		v.Cause, v.Score = NoQuickAssist, ctx.noQAScore()
	default:
		v.Cause, v.Score = Healthy, ctx.healthyScore()
	}
	v.Level = Level(v.Score)
	return v
}

// maxEvidence bounds the evidence items of a merged finding.
const maxEvidence = 8

// merge joins a detector's findings about the same hosts into one: the same
// fault on several connections is one cause, and its repetition makes it
// surer (one more weak signal).
func merge(fs []Finding) []Finding {
	var out []Finding
	index := map[string]int{}
	for _, f := range fs {
		hs := slices.Clone(f.Hosts)
		slices.Sort(hs)
		key := strings.Join(hs, ",")
		i, ok := index[key]
		if !ok {
			index[key] = len(out)
			out = append(out, f)
			continue
		}
		m := &out[i]
		repeated := Combine(max(m.Score, f.Score), Weak)
		if f.Score > m.Score {
			f.Flows = append(f.Flows, m.Flows...)
			f.Evidence = append(f.Evidence, m.Evidence...)
			*m = f
		} else {
			m.Flows = append(m.Flows, f.Flows...)
			m.Evidence = append(m.Evidence, f.Evidence...)
		}
		m.Score = repeated
		if len(m.Evidence) > maxEvidence {
			m.Evidence = m.Evidence[:maxEvidence]
		}
	}
	return out
}

func firstFlow(f Finding) int {
	if len(f.Flows) == 0 {
		return 0
	}
	return f.Flows[0]
}

// finish lowers a finding's confidence for the capture's quality problems,
// sets its level and sorts its lists.
func (c *Context) finish(f *Finding) {
	f.Score = round3(min(f.Score, 1) * c.qualityFactor)
	f.Level = Level(f.Score)
	slices.Sort(f.Flows)
	f.Flows = slices.Compact(f.Flows)
	slices.Sort(f.Hosts)
	f.Hosts = slices.Compact(f.Hosts)
	for i := range f.Evidence {
		e := &f.Evidence[i]
		slices.Sort(e.Frames)
		e.Frames = slices.Compact(e.Frames)
		if e.Filter == "" && len(e.Frames) > 0 {
			e.Filter = FramesFilter(e.Frames)
		}
	}
}

// grouped collects values by key in the order the keys first appear, so
// that a detector's findings come out in flow order, not map order.
type grouped[K comparable, V any] struct {
	keys []K
	m    map[K][]V
}

func (g *grouped[K, V]) add(k K, v V) {
	if g.m == nil {
		g.m = map[K][]V{}
	}
	if _, seen := g.m[k]; !seen {
		g.keys = append(g.keys, k)
	}
	g.m[k] = append(g.m[k], v)
}

// findings makes one finding per group, in key order of first appearance.
func (g *grouped[K, V]) findings(finding func(K, []V) Finding) []Finding {
	var out []Finding
	for _, k := range g.keys {
		out = append(out, finding(k, g.m[k]))
	}
	return out
}
