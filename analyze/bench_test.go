package analyze

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"

	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/internal/benchgen"
	"github.com/qadiag/qadiag/internal/gcfloor"
)

// BenchmarkRead measures the whole path a capture takes through Read:
// pcap/pcapng reading, decoding and the flow table, on the synthetic office
// capture of internal/benchgen.
//
// Each iteration reads the capture from its file, settled in the page cache
// as a file read from disk is (benchgen.Cached), so the disk is out of the
// measurement but mapping the file into the process is in; the mapping is
// released behind the reader, so peak RSS reflects the analyser alone.
//
// Metrics: MB/s (from SetBytes, the file size), packets/s, allocs/op, and
// flows (flows in the result, to check the run covered the whole capture).
//
// Environment:
//
//	QADIAG_BENCH_FLOWS  TCP connections in the capture (default 3000, about
//	                    300,000 packets; runs in seconds). 100000 gives the
//	                    full benchmark capture: about 10 M packets, 1.7 GB
//	                    per format.
//	QADIAG_BENCH_DIR    keep the generated captures in this directory and
//	                    reuse them in later runs (default: generated once
//	                    per process into a temporary directory removed at
//	                    exit).
//
// Single-core figure for the full capture:
//
//	QADIAG_BENCH_FLOWS=100000 GOMAXPROCS=1 go test -pgo=cmd/qadiag/default.pgo -run='^$' -bench=BenchmarkRead -benchtime=3x ./analyze/
func BenchmarkRead(b *testing.B) {
	for _, format := range []string{"pcap", "pcapng"} {
		b.Run(format, func(b *testing.B) {
			defer gcfloor.Set(gcfloor.Floor)() // the collector policy of the command (cmd/qadiag)
			c := benchCapture(b, format)
			b.SetBytes(c.size)
			b.ReportAllocs()
			var res *Result
			b.ResetTimer()
			for i := range b.N {
				if i > 0 {
					res = nil // let go of the previous run's result
					benchgen.BetweenRuns(b)
				}
				f, err := decode.OpenFile(c.path)
				if err != nil {
					b.Fatal(err)
				}
				res, err = Read(context.Background(), f, c.path)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
			}
			if res.Capture.Packets != uint64(c.packets) {
				b.Fatalf("read %d packets, generator wrote %d", res.Capture.Packets, c.packets)
			}
			b.ReportMetric(float64(res.Capture.Packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
			b.ReportMetric(float64(len(res.Flows)), "flows")
		})
	}
}

// BenchmarkFlows measures reading, decoding and the flow table without the
// application layer: the capture core's own cost.
func BenchmarkFlows(b *testing.B) {
	for _, format := range []string{"pcap", "pcapng"} {
		b.Run(format, func(b *testing.B) {
			defer gcfloor.Set(gcfloor.Floor)() // the collector policy of the command (cmd/qadiag)
			c := benchCapture(b, format)
			b.SetBytes(c.size)
			b.ReportAllocs()
			var packets uint64
			var flows int
			b.ResetTimer()
			for i := range b.N {
				if i > 0 {
					benchgen.BetweenRuns(b)
				}
				f, err := decode.OpenFile(c.path)
				if err != nil {
					b.Fatal(err)
				}
				rd, err := decode.NewReaderWith(f, decode.ReaderOptions{InPlace: true})
				if err != nil {
					b.Fatal(err)
				}
				var (
					fr  decode.Frame
					p   decode.Packet
					dec = decode.NewDecoder()
					t   = NewTable()
				)
				t.flowsOnly = true
				packets = 0
				for rd.Next(&fr) == nil {
					packets++
					dec.Decode(&fr, &p)
					if p.Transport {
						t.Add(&fr, &p)
					}
				}
				flows = len(t.Flows())
				f.Close()
			}
			if packets != uint64(c.packets) {
				b.Fatalf("read %d packets, generator wrote %d", packets, c.packets)
			}
			b.ReportMetric(float64(packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
			b.ReportMetric(float64(flows), "flows")
		})
	}
}

// benchFile is one generated capture.
type benchFile struct {
	path    string
	size    int64
	packets int64
}

var bench struct {
	sync.Mutex
	tmp   string // temporary directory, removed by TestMain
	files map[string]benchFile
}

// benchCapture returns the capture in the given format, generating it the
// first time a process asks (or reusing it from QADIAG_BENCH_DIR).
func benchCapture(b *testing.B, format string) benchFile {
	b.Helper()
	flows := 3000
	if s := os.Getenv("QADIAG_BENCH_FLOWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			b.Fatalf("QADIAG_BENCH_FLOWS=%q: want a positive integer", s)
		}
		flows = n
	}
	bench.Lock()
	defer bench.Unlock()
	if c, ok := bench.files[format]; ok {
		return c
	}
	dir := os.Getenv("QADIAG_BENCH_DIR")
	if dir == "" {
		if bench.tmp == "" {
			tmp, err := os.MkdirTemp("", "qadiag-bench-")
			if err != nil {
				b.Fatal(err)
			}
			bench.tmp = tmp
		}
		dir = bench.tmp
	}
	c, err := benchgen.Cached(dir, benchgen.Config{Seed: 1, Flows: flows, Format: format})
	if err != nil {
		b.Fatal(err)
	}
	if bench.files == nil {
		bench.files = map[string]benchFile{}
	}
	bench.files[format] = benchFile{path: c.Path, size: c.Size, packets: c.Packets}
	return bench.files[format]
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.tmp != "" {
		os.RemoveAll(bench.tmp)
	}
	os.Exit(code)
}
