package diagnose

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/internal/benchgen"
	"github.com/qadiag/qadiag/internal/gcfloor"
)

// BenchmarkAnalyze measures the whole analysis a user runs: reading,
// decoding, flows, application layer and every detector, on the synthetic
// capture of internal/benchgen (QADIAG_BENCH_FLOWS and QADIAG_BENCH_DIR as
// for analyze's BenchmarkRead; 100000 flows is the full ~10 M-packet
// capture). Reports packets/s, MB/s, allocs and the peak
// resident set of the process during the loop. Built with the command's
// profile (-pgo), it measures the code the command runs:
//
//	QADIAG_BENCH_FLOWS=100000 QADIAG_BENCH_DIR=/tmp/qadiag-bench go test -pgo=cmd/qadiag/default.pgo -run='^$' -bench=BenchmarkAnalyze -cpu=1 -benchtime=3x ./analyze/diagnose/
func BenchmarkAnalyze(b *testing.B) {
	flows := 3000
	if s := os.Getenv("QADIAG_BENCH_FLOWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("QADIAG_BENCH_FLOWS=%q: want a positive integer", s)
		}
		flows = n
	}
	dir := os.Getenv("QADIAG_BENCH_DIR")
	if dir == "" {
		dir = b.TempDir()
	}
	for _, format := range []string{"pcap", "pcapng"} {
		b.Run(format, func(b *testing.B) {
			defer gcfloor.Set(gcfloor.Floor)() // the collector policy of the command (cmd/qadiag)
			c, err := benchgen.Cached(dir, benchgen.Config{Seed: 1, Flows: flows, Format: format})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(c.Size)
			b.ReportAllocs()
			// The command's options: ordinary flows past the first
			// analyze.DefaultKeepFlows fold.
			opts := analyze.Options{KeepFlows: analyze.DefaultKeepFlows, Relevant: Relevant(catalog.Default())}
			var v *Verdict
			var packets uint64
			benchgen.ResetPeakRSS()
			b.ResetTimer()
			for i := range b.N {
				if i > 0 {
					v = nil // let go of the previous run's result
					benchgen.BetweenRuns(b)
				}
				f, err := decode.OpenFile(c.Path)
				if err != nil {
					b.Fatal(err)
				}
				res, err := analyze.ReadWith(context.Background(), f, c.Path, opts)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
				v = Diagnose(res, nil)
				packets = res.Capture.Packets
			}
			b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
			if rss := benchgen.PeakRSS(); rss > 0 {
				b.ReportMetric(float64(rss)/(1<<20), "peak-RSS-MiB")
			}
			b.ReportMetric(float64(len(v.Findings)), "findings")
		})
	}
}
