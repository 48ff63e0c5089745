package report

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/diagnose"
)

// The analysis document: the flows document plus the verdict and each Quick
// Assist flow's classification (docs/json-schema.md, "verdict").

type jsonVerdict struct {
	Cause        string        `json:"cause"`
	Fault        bool          `json:"fault"`
	Confidence   float64       `json:"confidence"`
	Level        string        `json:"level"`
	StageReached string        `json:"stage_reached"`
	StageFailed  string        `json:"stage_failed"`
	Stages       []jsonStage   `json:"stages"`
	Findings     []jsonFinding `json:"findings"`
	Quality      []string      `json:"capture_quality"`
}

type jsonStage struct {
	Name   string `json:"name"`
	Status string `json:"status"`
	Flows  []int  `json:"flows"`
}

type jsonFinding struct {
	Cause       string         `json:"cause"`
	Confidence  float64        `json:"confidence"`
	Level       string         `json:"level"`
	Flows       []int          `json:"flows"`
	Hosts       []string       `json:"hosts"`
	Evidence    []jsonEvidence `json:"evidence"`
	Explanation string         `json:"explanation"`
	Conclusive  string         `json:"conclusive,omitempty"`
	Remediation []string       `json:"remediation"`
}

type jsonEvidence struct {
	Text   string           `json:"text"`
	Frames []uint64         `json:"frames"`
	Filter string           `json:"filter"`
	Values []diagnose.Value `json:"values,omitempty"`
}

type jsonQA struct {
	Host     string `json:"host"`
	Role     string `json:"role"`
	By       string `json:"by"`
	Pattern  string `json:"pattern"`
	Required bool   `json:"required"`
	Broad    bool   `json:"broad,omitempty"`
}

// AnalysisJSON writes the capture, the verdict and the flows as one JSON
// document.
func AnalysisJSON(w io.Writer, r *analyze.Result, v *diagnose.Verdict) error {
	doc := toJSON(r, false)
	qa := qaLookup(v)
	head := []member{{"schema_version", doc.SchemaVersion}, {"capture", doc.Capture}, {"verdict", verdictJSON(v)}}
	return writeDoc(w, head, r.Flows, func(j *jsonFlow) {
		if q, ok := qa(j.ID); ok {
			j.QuickAssist = &jsonQA{Host: q.Host, Role: q.Role, By: q.By, Pattern: q.Pattern, Required: q.Required, Broad: q.Broad}
		}
	})
}

// qaLookup returns a function that finds a flow's Quick Assist
// classification by flow id. The verdict lists them in flow order, so a
// binary search finds one without a map of them all (a capture may have
// tens of thousands).
func qaLookup(v *diagnose.Verdict) func(id int) (diagnose.QAFlow, bool) {
	list := v.QuickAssist
	if !slices.IsSortedFunc(list, func(a, b diagnose.QAFlow) int { return cmp.Compare(a.ID, b.ID) }) {
		list = slices.SortedStableFunc(slices.Values(list), func(a, b diagnose.QAFlow) int { return cmp.Compare(a.ID, b.ID) })
	}
	return func(id int) (diagnose.QAFlow, bool) {
		i, ok := slices.BinarySearchFunc(list, id, func(q diagnose.QAFlow, id int) int { return cmp.Compare(q.ID, id) })
		if !ok {
			return diagnose.QAFlow{}, false
		}
		return list[i], true
	}
}

func verdictJSON(v *diagnose.Verdict) jsonVerdict {
	j := jsonVerdict{Cause: v.Cause, Fault: v.Fault(), Confidence: v.Score, Level: v.Level, StageReached: v.StageReached,
		StageFailed: v.StageFailed, Stages: []jsonStage{}, Findings: []jsonFinding{}, Quality: nonNil(v.Quality)}
	for _, s := range v.Stages {
		j.Stages = append(j.Stages, jsonStage{Name: s.Name, Status: s.Status, Flows: nonNilInts(s.Flows)})
	}
	for _, f := range v.Findings {
		jf := jsonFinding{Cause: f.Cause, Confidence: f.Score, Level: f.Level, Flows: nonNilInts(f.Flows), Hosts: nonNil(f.Hosts),
			Explanation: f.Explanation, Conclusive: f.Conclusive, Remediation: nonNil(f.Remediation), Evidence: []jsonEvidence{}}
		for _, e := range f.Evidence {
			frames := e.Frames
			if frames == nil {
				frames = []uint64{}
			}
			jf.Evidence = append(jf.Evidence, jsonEvidence{Text: e.Text, Frames: frames, Filter: e.Filter, Values: e.Values})
		}
		j.Findings = append(j.Findings, jf)
	}
	return j
}

func nonNilInts(s []int) []int {
	if s == nil {
		return []int{}
	}
	return s
}

// AnalysisText writes the verdict first, then the stages, the findings with
// their evidence and filters, the remediation checklist, and the Quick
// Assist flows; all flows with allFlows.
func AnalysisText(w io.Writer, r *analyze.Result, v *diagnose.Verdict, allFlows bool) error {
	return AnalysisTextOpts(w, r, v, TextOptions{AllFlows: allFlows})
}

// TextOptions tune the text report.
type TextOptions struct {
	AllFlows bool // list every flow, not only Quick Assist's
	// Color marks the verdict with ANSI colour: red for a fault, green for
	// healthy. Only for a terminal.
	Color bool
}

// AnalysisTextOpts is AnalysisText with options.
func AnalysisTextOpts(w io.Writer, r *analyze.Result, v *diagnose.Verdict, o TextOptions) error {
	allFlows := o.AllFlows
	if err := captureText(w, &r.Capture); err != nil {
		return err
	}
	var b strings.Builder
	headline := v.Cause
	switch v.Cause {
	case diagnose.Healthy:
		headline = "healthy: the Quick Assist flows worked; if the session still failed, look at the endpoints (policy, sign-in, app)"
	case diagnose.NoQuickAssist:
		headline = "no_quick_assist_traffic: nothing in the capture talks to Quick Assist (wrong interface or filter, or the app was blocked on the PC)"
	default:
		if len(v.Findings) > 0 {
			headline += ": " + v.Findings[0].Explanation
		}
	}
	verdict := fmt.Sprintf("VERDICT  %s (%s, %.2f)", sanitize(headline), v.Level, v.Score)
	if o.Color {
		colour := "\033[1;32m" // green
		if v.Fault() {
			colour = "\033[1;31m" // red
		}
		verdict = colour + verdict + "\033[0m"
	}
	b.WriteString(verdict + "\n")
	var stages []string
	for _, s := range v.Stages {
		st := s.Status
		if st == diagnose.StatusFailed {
			st = "FAILED"
		}
		stages = append(stages, s.Name+" "+st)
	}
	fmt.Fprintf(&b, "stages   %s\n", strings.Join(stages, " > "))
	for _, q := range v.Quality {
		fmt.Fprintf(&b, "quality  %s\n", q)
	}
	if len(v.Findings) > 0 {
		b.WriteString("\nFINDINGS\n")
	}
	for i, f := range v.Findings {
		fmt.Fprintf(&b, "%d. %s  %s %.2f  flows %s", i+1, f.Cause, f.Level, f.Score, joinInts(f.Flows))
		if len(f.Hosts) > 0 {
			fmt.Fprintf(&b, "  %s", sanitize(strings.Join(f.Hosts, ", ")))
		}
		b.WriteString("\n")
		fmt.Fprintf(&b, "   %s\n", sanitize(f.Explanation))
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "   - %s\n", sanitize(e.Text))
			if e.Filter != "" {
				fmt.Fprintf(&b, "     wireshark: %s\n", sanitize(e.Filter))
			}
		}
		if f.Conclusive != "" {
			fmt.Fprintf(&b, "   to be sure: %s\n", sanitize(f.Conclusive))
		}
	}
	var todo []string
	seen := map[string]bool{}
	for _, f := range v.Findings {
		if f.Score < 0.5 {
			continue
		}
		for _, r := range f.Remediation {
			if !seen[r] {
				seen[r] = true
				todo = append(todo, r)
			}
		}
	}
	if len(todo) > 0 {
		b.WriteString("\nREMEDIATION\n")
		for _, r := range todo {
			fmt.Fprintf(&b, "[ ] %s\n", sanitize(r))
		}
	}
	b.WriteString("\n")
	if _, err := io.WriteString(w, b.String()); err != nil {
		return err
	}
	return flowTable(w, r, v, allFlows)
}

func flowTable(w io.Writer, r *analyze.Result, v *diagnose.Verdict, all bool) error {
	qa := qaLookup(v)
	title := "QUICK ASSIST FLOWS\n"
	if all {
		title = "FLOWS\n"
	}
	if _, err := io.WriteString(w, title); err != nil {
		return err
	}
	n := 0
	t := newGrid(w, "id", "role", "via", "client", "server", "frames", "state", "history", "rtt", "max idle", "detail")
	for _, f := range r.Flows {
		q, isQA := qa(f.ID)
		if !isQA && !all {
			continue
		}
		role, by := "", ""
		if isQA {
			role, by = q.Role, q.By
		}
		n++
		row := []string{itoa(f.ID), role, by, f.Client.String(), f.Server.String(),
			fmt.Sprintf("%d-%d", f.FirstFrame(), f.LastFrame()), f.ConnState(), f.History(), duration(f.RTT), duration(f.MaxIdle), appDetail(f)}
		t.Append(row)
	}
	if n == 0 {
		_, err := io.WriteString(w, "none\n")
		return err
	}
	return t.Render()
}

// maxListed bounds the flow ids printed on a finding's line; the JSON has
// them all.
const maxListed = 20

func joinInts(ids []int) string {
	n := min(len(ids), maxListed)
	s := make([]string, n)
	for i, id := range ids[:n] {
		s[i] = itoa(id)
	}
	out := strings.Join(s, ",")
	if len(ids) > n {
		out += fmt.Sprintf(" and %d more", len(ids)-n)
	}
	return out
}
