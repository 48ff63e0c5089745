package evidence

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/diagnose"
)

func TestExplore(t *testing.T) {
	files, _ := filepath.Glob("../../testdata/pcaps/*.pcap*")
	for _, p := range files {
		f, _ := os.Open(p)
		res, err := analyze.Read(context.Background(), f, p)
		f.Close()
		v := diagnose.Diagnose(res, nil)
		fmt.Printf("== %s err=%v cause=%s\n", filepath.Base(p), err, v.Cause)
		for _, fi := range v.Findings {
			fmt.Printf("  finding %s %s flows=%v\n", fi.Cause, fi.Level, fi.Flows)
			for _, e := range fi.Evidence {
				out := []uint64{}
				for _, n := range e.Frames {
					in := false
					for _, id := range fi.Flows {
						fl := res.Flows[id-1]
						if n >= fl.FirstFrame && n <= fl.LastFrame {
							in = true
						}
					}
					if !in {
						out = append(out, n)
					}
				}
				fmt.Printf("    %v outside=%v: %.100s\n", e.Frames, out, e.Text)
			}
		}
	}
}
