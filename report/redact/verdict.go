package redact

import (
	"net/netip"
	"slices"

	"github.com/qadiag/qadiag/analyze/diagnose"
)

// verdict copies v with its hosts mapped and its free text redacted.
func (r *Redactor) verdict(v *diagnose.Verdict) *diagnose.Verdict {
	nv := *v
	nv.Stages = slices.Clone(v.Stages)
	for i := range nv.Stages {
		nv.Stages[i].Flows = slices.Clone(nv.Stages[i].Flows)
	}
	nv.QuickAssist = slices.Clone(v.QuickAssist)
	for i := range nv.QuickAssist {
		nv.QuickAssist[i].Host = r.host(nv.QuickAssist[i].Host)
	}
	nv.Quality = r.texts(v.Quality)
	nv.Findings = make([]diagnose.Finding, len(v.Findings))
	for i, f := range v.Findings {
		nv.Findings[i] = r.finding(f)
	}
	if v.Findings == nil {
		nv.Findings = nil
	}
	return &nv
}

func (r *Redactor) finding(f diagnose.Finding) diagnose.Finding {
	f.Flows = slices.Clone(f.Flows)
	if f.Hosts != nil {
		hosts := make([]string, len(f.Hosts))
		for i, h := range f.Hosts {
			hosts[i] = r.host(h)
		}
		f.Hosts = hosts
	}
	if f.Evidence != nil {
		ev := make([]diagnose.Evidence, len(f.Evidence))
		for i, e := range f.Evidence {
			e.Text, e.Filter = r.freeText(e.Text), r.freeText(e.Filter)
			e.Frames, e.Values = slices.Clone(e.Frames), slices.Clone(e.Values)
			ev[i] = e
		}
		f.Evidence = ev
	}
	f.Explanation = r.freeText(f.Explanation)
	f.Conclusive = r.freeText(f.Conclusive)
	f.Remediation = r.texts(f.Remediation)
	return f
}

// host maps a verdict host: a name, or an address for a range match.
func (r *Redactor) host(h string) string {
	if a, err := netip.ParseAddr(h); err == nil {
		return r.addr(a).String()
	}
	return r.name(h)
}
