package report

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/diagnose"
	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/internal/golden"
)

const scenarioDir = "../testdata/pcaps/scenarios"

// scenarios lists the scenario captures expected.json describes, and the
// damaged capture, whose report starts with its warning.
func scenarios(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(scenarioDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list []struct {
		File string `json:"file"`
	}
	if err := json.Unmarshal(b, &list); err != nil || len(list) == 0 {
		t.Fatalf("expected.json: %v (%d entries)", err, len(list))
	}
	var paths []string
	for _, e := range list {
		paths = append(paths, filepath.Join(scenarioDir, e.File))
	}
	return append(paths, "../testdata/pcaps/damaged-cut-mid-record.pcap")
}

// analyzeFile reads and diagnoses a capture, keeping a damaged file's
// partial result.
func analyzeFile(t *testing.T, path string) (*analyze.Result, *diagnose.Verdict) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := analyze.Read(context.Background(), f, filepath.Base(path))
	var de *decode.Error
	if err != nil && !errors.As(err, &de) {
		t.Fatal(err)
	}
	return res, diagnose.Diagnose(res, nil)
}

type renderFunc func(*bytes.Buffer, *analyze.Result, *diagnose.Verdict) error

var (
	renderMarkdown renderFunc = func(b *bytes.Buffer, r *analyze.Result, v *diagnose.Verdict) error {
		return AnalysisMarkdown(b, r, v)
	}
	renderHTML renderFunc = func(b *bytes.Buffer, r *analyze.Result, v *diagnose.Verdict) error {
		return AnalysisHTML(b, r, v)
	}
)

// render renders twice and fails unless both runs give the same bytes.
func render(t *testing.T, fn renderFunc, r *analyze.Result, v *diagnose.Verdict) string {
	t.Helper()
	var a, b bytes.Buffer
	if err := fn(&a, r, v); err != nil {
		t.Fatal(err)
	}
	if err := fn(&b, r, v); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("two renderings differ")
	}
	return a.String()
}

// compareGolden compares out with testdata/golden/name (see internal/golden).
func compareGolden(t *testing.T, name, out string) {
	t.Helper()
	golden.Check(t, filepath.Join("testdata", "golden", name), out)
}

// TestGoldenMarkdown renders every scenario as Markdown against the
// reviewed files in testdata/golden.
func TestGoldenMarkdown(t *testing.T) {
	for _, path := range scenarios(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			res, v := analyzeFile(t, path)
			out := render(t, renderMarkdown, res, v)
			if !strings.Contains(out, "## Verdict: `"+v.Cause+"`") {
				t.Errorf("no verdict headline for %s", v.Cause)
			}
			checkMarkdownTables(t, out)
			compareGolden(t, filepath.Base(path)+".md", out)
		})
	}
}

// checkMarkdownTables checks that every table row has as many unescaped
// pipes as its table's header: no cell text split a row.
func checkMarkdownTables(t *testing.T, md string) {
	t.Helper()
	want := -1
	for _, line := range strings.Split(md, "\n") {
		if !strings.HasPrefix(line, "|") {
			want = -1
			continue
		}
		n := unescapedPipes(line)
		if want < 0 {
			want = n
		} else if n != want {
			t.Errorf("table row has %d cell borders, header %d: %s", n, want, line)
		}
	}
}

func unescapedPipes(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	return n
}

func TestMarkdownEscape(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"plain host", "login.microsoftonline.com", "login.microsoftonline.com"},
		{"html", "<script>alert(1)</script>", `\<script\>alert(1)\</script\>`},
		{"pipe", "a|b", `a\|b`},
		{"code", "a`b", "a\\`b"},
		{"link", "[x](https://evil.example)", `\[x\](https://evil.example)`},
		{"image", "![x](https://evil.example/a.png)", `!\[x\](https://evil.example/a.png)`},
		{"emphasis", "*a* _b_ ~~c~~", `\*a\* \_b\_ \~\~c\~\~`},
		{"entity", "&lt;b&gt;", `\&lt;b\&gt;`},
		{"backslash", `a\|b`, `a\\\|b`},
		{"newline", "a\nb\r\x1b[2J", `a?b??\[2J`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := mdText(tt.in); got != tt.want {
				t.Errorf("mdText(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestMarkdownCode(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"tcp.port == 443", "`tcp.port == 443`"},
		{"a`b", "``a`b``"},
		{"`a``", "``` `a`` ```"},
		{"x <b> | y", "`x <b> | y`"},
	}
	for _, tt := range tests {
		if got := mdCode(tt.in); got != tt.want {
			t.Errorf("mdCode(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
