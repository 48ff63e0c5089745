package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/diagnose"
)

// doc is what the Markdown and HTML reports say, in the order of
// AnalysisText: built once so that both formats carry the same facts. Every
// string is sanitized (no control bytes) but not escaped: each format
// escapes for itself.
type doc struct {
	File     string
	Warnings []string // the capture's own warnings, shown first

	Cause           string
	Fault           bool
	Level, Score    string
	Headline        string // what the verdict means, in a sentence
	Reached, Failed string // stage names, "none" when there is none
	Stages          []docStage
	Quality         []string

	Findings    []docFinding
	Remediation []string
	Flows       []docFlow
	Facts       []docFact
}

type docStage struct {
	Name, Status string
	Flows        string
}

type docFinding struct {
	N                   int
	Cause, Level, Score string
	Flows, Hosts        string
	Explanation         string
	Conclusive          string
	Evidence            []docEvidence
}

type docEvidence struct {
	Text, Frames, Filter, Values string
}

type docFlow struct {
	ID, Role, Via, Client, Server, Frames, State, History, RTT, MaxIdle, Detail string
}

type docFact struct{ Name, Value string }

// minRemediationScore is the score from which a finding's remediation is
// listed, as in AnalysisText: weaker findings are reported, not acted on.
const minRemediationScore = 0.5

func buildDoc(r *analyze.Result, v *diagnose.Verdict) *doc {
	d := &doc{File: sanitize(r.Capture.File), Cause: v.Cause, Fault: v.Fault(), Level: v.Level,
		Score: strconv.FormatFloat(v.Score, 'f', 2, 64), Headline: sanitize(verdictSentence(v)),
		Reached: orNone(v.StageReached), Failed: orNone(v.StageFailed)}
	for _, w := range r.Capture.Warnings {
		d.Warnings = append(d.Warnings, sanitize(w))
	}
	for _, s := range v.Stages {
		d.Stages = append(d.Stages, docStage{Name: s.Name, Status: s.Status, Flows: joinInts(s.Flows)})
	}
	for _, q := range v.Quality {
		d.Quality = append(d.Quality, sanitize(q))
	}
	seen := map[string]bool{}
	for i, f := range v.Findings {
		d.Findings = append(d.Findings, findingDoc(i+1, &f))
		if f.Score < minRemediationScore {
			continue
		}
		for _, rem := range f.Remediation {
			if !seen[rem] {
				seen[rem] = true
				d.Remediation = append(d.Remediation, sanitize(rem))
			}
		}
	}
	d.Flows = qaFlowsDoc(r, v)
	d.Facts = captureFacts(&r.Capture)
	return d
}

// verdictSentence explains the verdict in one sentence, as AnalysisText's
// headline does after the cause id.
func verdictSentence(v *diagnose.Verdict) string {
	switch v.Cause {
	case diagnose.Healthy:
		return "The Quick Assist flows worked; if the session still failed, look at the endpoints (policy, sign-in, app)."
	case diagnose.NoQuickAssist:
		return "Nothing in the capture talks to Quick Assist (wrong interface or filter, or the app was blocked on the PC)."
	}
	if len(v.Findings) > 0 {
		return v.Findings[0].Explanation
	}
	return ""
}

func findingDoc(n int, f *diagnose.Finding) docFinding {
	fd := docFinding{N: n, Cause: f.Cause, Level: f.Level, Score: strconv.FormatFloat(f.Score, 'f', 2, 64),
		Flows: joinInts(f.Flows), Hosts: sanitize(strings.Join(f.Hosts, ", ")),
		Explanation: sanitize(f.Explanation), Conclusive: sanitize(f.Conclusive)}
	for _, e := range f.Evidence {
		fd.Evidence = append(fd.Evidence, docEvidence{Text: sanitize(e.Text), Frames: joinFrames(e.Frames),
			Filter: sanitize(e.Filter), Values: valuesText(e.Values)})
	}
	return fd
}

func joinFrames(frames []uint64) string {
	s := make([]string, len(frames))
	for i, n := range frames {
		s[i] = u64(n)
	}
	return strings.Join(s, ", ")
}

// valuesText prints an evidence's measurements: "reset_ttl 64, rtt 29.3 ms".
func valuesText(vals []diagnose.Value) string {
	s := make([]string, len(vals))
	for i, v := range vals {
		s[i] = v.Name + " " + strconv.FormatFloat(v.Num, 'f', -1, 64)
		if v.Unit != "" {
			s[i] += " " + v.Unit
		}
	}
	return sanitize(strings.Join(s, ", "))
}

// qaFlowsDoc lists the Quick Assist flows with the columns of flowTable.
func qaFlowsDoc(r *analyze.Result, v *diagnose.Verdict) []docFlow {
	var out []docFlow
	for _, q := range v.QuickAssist {
		f := r.Flow(q.ID)
		if f == nil {
			continue
		}
		out = append(out, docFlow{ID: itoa(f.ID), Role: q.Role, Via: q.By, Client: f.Client.String(), Server: f.Server.String(),
			Frames: fmt.Sprintf("%d-%d", f.FirstFrame(), f.LastFrame()), State: f.ConnState(), History: sanitize(f.History()),
			RTT: duration(f.RTT), MaxIdle: duration(f.MaxIdle), Detail: appDetail(f)})
	}
	return out
}

// captureFacts are captureText's lines as name and value, with the counters
// that are not zero.
func captureFacts(c *analyze.Capture) []docFact {
	format := c.Format
	if c.Gzip {
		format += ", gzip"
	}
	facts := []docFact{{"file", sanitize(c.File)}}
	if format != "" {
		facts = append(facts, docFact{"format", format})
	}
	if len(c.LinkTypes) > 0 {
		facts = append(facts, docFact{"link types", strings.Join(c.LinkTypes, ", ")})
	}
	facts = append(facts, docFact{"packets", u64(c.Packets)}, docFact{"bytes", u64(c.Bytes)})
	if c.Packets > 0 {
		facts = append(facts, docFact{"first packet", timestamp(c.First)}, docFact{"last packet", timestamp(c.Last)},
			docFact{"duration", duration(c.Last.Sub(c.First))})
	}
	for _, n := range []struct {
		name string
		v    uint64
	}{
		{"frames cut by the snaplen", c.SnapTruncated}, {"frames without IP", c.Undecoded},
		{"malformed frames", c.Malformed}, {"dropped by the capturing host", c.Dropped},
		{"ICMP errors quoting no flow", c.ICMPUnmatched},
	} {
		if n.v > 0 {
			facts = append(facts, docFact{n.name, u64(n.v)})
		}
	}
	return facts
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// AnalysisMarkdown writes the verdict, stages, findings with their evidence
// and Wireshark filters, the remediation as a GitHub task list, the Quick
// Assist flows and the capture's facts as Markdown to paste into a ticket.
// Capture-derived text is escaped: it cannot break a table, start a link or
// carry HTML.
func AnalysisMarkdown(w io.Writer, r *analyze.Result, v *diagnose.Verdict) error {
	d := buildDoc(r, v)
	var b strings.Builder
	fmt.Fprintf(&b, "# Quick Assist diagnosis: %s\n\n", mdText(d.File))
	for _, warn := range d.Warnings {
		fmt.Fprintf(&b, "> **Warning:** %s\n>\n", mdText(warn))
	}
	if len(d.Warnings) > 0 {
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "## Verdict: `%s` (%s, %s)\n\n", d.Cause, d.Level, d.Score)
	fmt.Fprintf(&b, "**What happened:** %s\n\n", mdText(d.Headline))
	fmt.Fprintf(&b, "**Stage reached:** %s · **stage failed:** %s\n\n", d.Reached, d.Failed)
	var stages []string
	for _, s := range d.Stages {
		st := s.Name + " " + s.Status
		if s.Status == diagnose.StatusFailed {
			st = "**" + s.Name + " FAILED**"
		}
		stages = append(stages, st)
	}
	fmt.Fprintf(&b, "Stages: %s\n\n", strings.Join(stages, " → "))
	for _, q := range d.Quality {
		fmt.Fprintf(&b, "- Capture quality: %s\n", mdText(q))
	}
	if len(d.Quality) > 0 {
		b.WriteString("\n")
	}
	mdFindings(&b, d.Findings)
	if len(d.Remediation) > 0 {
		b.WriteString("## Remediation\n\n")
		for _, rem := range d.Remediation {
			fmt.Fprintf(&b, "- [ ] %s\n", mdText(rem))
		}
		b.WriteString("\n")
	}
	mdFlows(&b, d.Flows)
	b.WriteString("## Capture\n\n| fact | value |\n| --- | --- |\n")
	for _, f := range d.Facts {
		fmt.Fprintf(&b, "| %s | %s |\n", f.Name, mdText(f.Value))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func mdFindings(b *strings.Builder, fs []docFinding) {
	if len(fs) == 0 {
		return
	}
	b.WriteString("## Findings\n\n")
	for _, f := range fs {
		fmt.Fprintf(b, "### %d. `%s` (%s, %s)\n\n", f.N, f.Cause, f.Level, f.Score)
		fmt.Fprintf(b, "Flows %s", orNone(f.Flows))
		if f.Hosts != "" {
			fmt.Fprintf(b, " · %s", mdText(f.Hosts))
		}
		fmt.Fprintf(b, "\n\n%s\n\n", mdText(f.Explanation))
		for _, e := range f.Evidence {
			fmt.Fprintf(b, "- %s\n", mdText(e.Text))
			if e.Frames != "" {
				fmt.Fprintf(b, "  - frames %s\n", e.Frames)
			}
			if e.Filter != "" {
				fmt.Fprintf(b, "  - Wireshark: %s\n", mdCode(e.Filter))
			}
			if e.Values != "" {
				fmt.Fprintf(b, "  - values: %s\n", mdText(e.Values))
			}
		}
		if len(f.Evidence) > 0 {
			b.WriteString("\n")
		}
		if f.Conclusive != "" {
			fmt.Fprintf(b, "*To be sure:* %s\n\n", mdText(f.Conclusive))
		}
	}
}

func mdFlows(b *strings.Builder, flows []docFlow) {
	b.WriteString("## Quick Assist flows\n\n")
	if len(flows) == 0 {
		b.WriteString("None.\n\n")
		return
	}
	b.WriteString("| id | role | via | client | server | frames | state | history | rtt | max idle | detail |\n")
	b.WriteString("| ---: | --- | --- | --- | --- | --- | --- | --- | ---: | ---: | --- |\n")
	for _, f := range flows {
		cells := []string{f.ID, f.Role, f.Via, f.Client, f.Server, f.Frames, f.State, f.History, f.RTT, f.MaxIdle, f.Detail}
		for i, c := range cells {
			cells[i] = mdText(c)
		}
		fmt.Fprintf(b, "| %s |\n", strings.Join(cells, " | "))
	}
	b.WriteString("\n")
}

// mdEscaper backslash-escapes the characters that make Markdown syntax
// inline (CommonMark 2.4: any ASCII punctuation may be escaped): emphasis,
// code, links and images, raw HTML and entities, and the GFM table pipe and
// strikethrough. Capture-derived text never starts a line here, so block
// markers (#, -, 1.) need no escape.
var mdEscaper = strings.NewReplacer(
	`\`, `\\`, "`", "\\`", "*", `\*`, "_", `\_`, "[", `\[`, "]", `\]`,
	"<", `\<`, ">", `\>`, "&", `\&`, "|", `\|`, "~", `\~`,
)

// mdText makes capture-derived text inert Markdown on one line.
func mdText(s string) string {
	return mdEscaper.Replace(sanitize(s))
}

// mdCode puts s in a code span whose fence is longer than any run of
// backticks inside it (CommonMark 6.1), so it shows verbatim.
func mdCode(s string) string {
	s = sanitize(s)
	run, longest := 0, 0
	for _, c := range s {
		if c == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}
