package report

import (
	"bytes"
	_ "embed" // the page template
	"fmt"
	"html/template"
	"io"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/diagnose"
)

// htmlPage is the report's one page: inline CSS with print rules, an inline
// SVG, no script, and nothing fetched from the network. html/template
// escapes every capture-derived string for where it lands (text,
// attribute, SVG), so a hostile SNI or certificate name stays text.
//
//go:embed html_template.html
var htmlPage string

var htmlTemplate = template.Must(template.New("report").Parse(htmlPage))

// htmlView is what the page template reads: the document shared with the
// Markdown report, and the timeline.
type htmlView struct {
	*doc
	TL *timeline
}

// AnalysisHTML writes the Markdown report's content as one self-contained
// HTML file (no scripts, fonts, images or styles to fetch; readable when
// printed), with a timeline of the flows that marks the evidence frames and
// the failing moment.
func AnalysisHTML(w io.Writer, r *analyze.Result, v *diagnose.Verdict) error {
	var b bytes.Buffer
	if err := htmlTemplate.Execute(&b, htmlView{buildDoc(r, v), buildTimeline(r, v)}); err != nil {
		return fmt.Errorf("report: html: %w", err)
	}
	_, err := w.Write(b.Bytes())
	return err
}
