package diagnose

import (
	"slices"
	"time"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
)

// stageOrder is the order a Quick Assist connection meets its stages
// (research/quickassist.md): resolve the names, sign in (the helper only),
// reach the Remote Assistance service, the ACS signaling, then the RDP relay
// or media, then hold the session.
var stageOrder = []string{StageDNS, StageSignIn, StageService, StageSignaling, StageRelay, StageSession}

// sessionMin is how long a relay flow must carry data to count as a
// sustained session: past the first screen update, shorter than any
// NAT timeout worth diagnosing.
const sessionMin = 30 * time.Second

func stageOfRole(role string) string {
	switch role {
	case catalog.RoleSignIn.String():
		return StageSignIn
	case catalog.RoleService.String():
		return StageService
	case catalog.RoleSignaling.String():
		return StageSignaling
	case catalog.RoleRelay.String(), catalog.RoleMedia.String():
		return StageRelay
	}
	return ""
}

// stages says, for each stage, whether a flow got through it, flows tried
// and none did, or none was seen.
func (c *Context) stages() []Stage {
	if c.stagesDone != nil {
		return c.stagesDone
	}
	// The Quick Assist flows' stages come from scanQA; the DNS stage is
	// added to its lists here, once (the result is kept).
	scan := c.scanQA()
	ok, bad := scan.stageOK, scan.stageBad
	for _, f := range c.Flows {
		if f.DNS == nil {
			continue
		}
		for _, q := range f.DNS.Queries {
			if _, isQA := c.hostMatch(q.Name); !isQA {
				continue
			}
			if resolved(q) {
				ok[StageDNS] = append(ok[StageDNS], f.ID)
			} else if q.Frame != 0 {
				bad[StageDNS] = append(bad[StageDNS], f.ID)
			}
		}
	}
	out := make([]Stage, 0, len(stageOrder))
	for _, name := range stageOrder {
		s := Stage{Name: name, Status: StatusNotSeen}
		switch {
		case len(ok[name]) > 0:
			s.Status, s.Flows = StatusOK, uniq(ok[name])
		case len(bad[name]) > 0:
			s.Status, s.Flows = StatusFailed, uniq(bad[name])
		}
		out = append(out, s)
	}
	c.stagesDone = out
	return out
}

// stageFlow is stages' look at one Quick Assist flow, in scanQA.
func (s *qaScan) stageFlow(q *QAFlow, f *analyze.Flow) {
	st := stageOfRole(q.Role)
	if st == "" {
		return
	}
	if Established(f) {
		s.stageOK[st] = append(s.stageOK[st], f.ID)
		if st == StageRelay && f.Duration() >= sessionMin && f.Dir[analyze.FromServer].Payload > 0 {
			s.stageOK[StageSession] = append(s.stageOK[StageSession], f.ID)
		}
	} else {
		s.stageBad[st] = append(s.stageBad[st], f.ID)
	}
}

// resolved reports a DNS query answered with at least one usable address.
func resolved(q analyze.DNSQuery) bool {
	if !q.Answered() || q.Rcode != 0 {
		return false
	}
	for _, a := range q.Answers {
		if a.Addr.IsValid() && dnsSinkhole(a.Addr) == "" {
			return true
		}
	}
	return false
}

func reachedFailed(st []Stage) (reached, failed string) {
	for _, s := range st {
		switch s.Status {
		case StatusOK:
			reached = s.Name
		case StatusFailed:
			if failed == "" {
				failed = s.Name
			}
		}
	}
	return reached, failed
}

func uniq(ids []int) []int {
	// The lists are built in flow order already, so the sort only checks
	// that; repeats then sit together.
	slices.Sort(ids)
	return slices.Compact(ids)
}
