package diagnose

import (
	"path/filepath"
	"slices"
	"strconv"
	"testing"

	"github.com/qadiag/qadiag/internal/tshark"
)

// TestFiltersSelectCitedFrames runs every evidence filter of every scenario
// capture through tshark and checks it selects every frame the evidence
// cites (a filter may show more, e.g. all retransmissions of the flow): a
// user pasting the filter into Wireshark sees the proof.
func TestFiltersSelectCitedFrames(t *testing.T) {
	tshark.Require(t)
	if testing.Short() {
		t.Skip("SKIP: -short: runs tshark once per evidence item")
	}
	for _, e := range loadExpected(t) {
		t.Run(e.File, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(scenarioDir, e.File)
			_, v := diagnoseFile(t, path)
			for _, f := range v.Findings {
				for i, ev := range f.Evidence {
					if len(ev.Frames) == 0 || ev.Filter == "" {
						continue
					}
					rows := tshark.Fields(t, path, ev.Filter, "frame.number")
					var got []uint64
					for _, r := range rows {
						n, err := strconv.ParseUint(r[0], 10, 64)
						if err != nil {
							t.Fatalf("tshark frame %q", r[0])
						}
						got = append(got, n)
					}
					for _, want := range ev.Frames {
						if !slices.Contains(got, want) {
							t.Errorf("%s evidence %d: filter %q selects %v, not the cited frame %d", f.Cause, i, ev.Filter, got, want)
							break
						}
					}
				}
			}
		})
	}
}
