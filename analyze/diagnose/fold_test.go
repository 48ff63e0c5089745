package diagnose

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"github.com/qadiag/qadiag/internal/benchgen"
)

// TestFoldSameVerdict reads every capture of the corpus and of
// testdata/pcaps twice, keeping every flow and folding as much as folding
// ever does (KeepFlows 1: every ordinary flow that is not Quick Assist's
// and has four flows to its server kept), plus a generated office capture
// of 4,500 flows, and requires the same verdict, finding for finding and
// evidence for evidence: the detectors never need a folded flow.
func TestFoldSameVerdict(t *testing.T) {
	type capture struct {
		name string
		data []byte
	}
	var caps []capture
	for _, dir := range []string{pathCorpusDir, "../../testdata/pcaps"} {
		filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !(strings.Contains(path, ".pcap") || strings.HasSuffix(path, ".cap")) {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			caps = append(caps, capture{path, b})
			return nil
		})
	}
	var buf bytes.Buffer
	if _, err := benchgen.Generate(&buf, benchgen.Config{Seed: 3, Flows: 3000}); err != nil {
		t.Fatal(err)
	}
	caps = append(caps, capture{"benchgen seed 3, 3000 connections", buf.Bytes()})
	if len(caps) < 20 {
		t.Fatalf("found %d captures", len(caps))
	}
	fold := analyze.Options{KeepFlows: 1, Relevant: Relevant(catalog.Default())}
	folding := 0
	var folded uint64
	for _, c := range caps {
		all, _ := analyze.Read(context.Background(), bytes.NewReader(c.data), c.name)
		res, _ := analyze.ReadWith(context.Background(), bytes.NewReader(c.data), c.name, fold)
		n := res.Capture.Folded.Total()
		if n == 0 {
			continue
		}
		folding++
		folded += n
		if res.FlowCount() != len(all.Flows) {
			t.Errorf("%s: %d flows kept and %d folded, %d without folding", c.name, len(res.Flows), n, len(all.Flows))
		}
		want, got := Diagnose(all, nil), Diagnose(res, nil)
		if !reflect.DeepEqual(want, got) {
			t.Errorf("%s: %d folded flows change the verdict:\nkeeping all: %s\nfolding:     %s", c.name, n, describe(want), describe(got))
		}
	}
	t.Logf("%d captures, %d of them fold %d flows", len(caps), folding, folded)
	if folding < 10 {
		t.Errorf("only %d captures fold a flow: the test proves little", folding)
	}
}
