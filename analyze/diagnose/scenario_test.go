package diagnose

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/qadiag/qadiag/analyze"
)

// scenarioDir holds the generated scenario captures and what each must
// give (internal/scenario writes both).
const scenarioDir = "../../testdata/pcaps/scenarios"

type expected struct {
	File      string   `json:"file"`
	Cause     string   `json:"cause"`
	LookAlike bool     `json:"lookalike"`
	KeyFrames []uint64 `json:"key_frames"`
}

func loadExpected(t *testing.T) []expected {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(scenarioDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp []expected
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	return exp
}

func diagnoseFile(t testing.TB, path string) (*analyze.Result, *Verdict) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := analyze.Read(context.Background(), f, filepath.Base(path))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return res, Diagnose(res, nil)
}

// TestScenarios checks that every scenario capture gives its expected
// primary cause and that the primary finding cites its key frames, and that
// look-alikes give no fault.
func TestScenarios(t *testing.T) {
	for _, e := range loadExpected(t) {
		t.Run(e.File, func(t *testing.T) {
			t.Parallel()
			_, v := diagnoseFile(t, filepath.Join(scenarioDir, e.File))
			if v.Cause != e.Cause {
				t.Fatalf("cause %s (%.2f), want %s\n%s", v.Cause, v.Score, e.Cause, describe(v))
			}
			if !v.Fault() || len(e.KeyFrames) == 0 {
				return
			}
			cited := citedFrames(v.Findings[0])
			var hit []uint64
			for _, k := range e.KeyFrames {
				if slices.Contains(cited, k) {
					hit = append(hit, k)
				}
			}
			if len(hit) == 0 {
				t.Errorf("the finding cites frames %v, none of the key frames %v\n%s", cited, e.KeyFrames, describe(v))
			}
			for _, c := range cited {
				if c == 0 {
					t.Errorf("evidence cites frame 0")
				}
			}
		})
	}
}

func citedFrames(f Finding) []uint64 {
	var out []uint64
	for _, e := range f.Evidence {
		out = append(out, e.Frames...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

func describe(v *Verdict) string {
	var b strings.Builder
	fmt.Fprintf(&b, "verdict %s %.2f reached %q failed %q\n", v.Cause, v.Score, v.StageReached, v.StageFailed)
	for _, f := range v.Findings {
		fmt.Fprintf(&b, "  %s %.2f flows %v\n", f.Cause, f.Score, f.Flows)
		for _, e := range f.Evidence {
			fmt.Fprintf(&b, "    - %s %v\n", e.Text, e.Frames)
		}
	}
	for _, q := range v.QuickAssist {
		fmt.Fprintf(&b, "  qa flow %d %s %s by %s\n", q.ID, q.Host, q.Role, q.By)
	}
	return b.String()
}

var dumpCorpus = flag.Bool("dump-corpus", false, "log the corpus verdicts of TestCorpusVerdicts")
