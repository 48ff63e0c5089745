package reasm

import "testing"

// BenchmarkInOrder measures delivering DefaultLimit bytes in 1460-byte
// segments (an Ethernet MSS) after a SYN; "reordered" swaps each pair of
// segments, so half of them are held and copied.
func BenchmarkInOrder(b *testing.B) {
	const mss = 1460
	payload := make([]byte, DefaultLimit+mss)
	var offs []int
	for off := 0; off < DefaultLimit; off += mss {
		offs = append(offs, off)
	}
	swapped := append([]int(nil), offs...)
	for i := 0; i+1 < len(swapped); i += 2 {
		swapped[i], swapped[i+1] = swapped[i+1], swapped[i]
	}
	for _, bm := range []struct {
		name string
		offs []int
	}{{"in-order", offs}, {"reordered", swapped}} {
		b.Run(bm.name, func(b *testing.B) {
			budget := NewBudget(DefaultBudget)
			sink := new(nopSink)
			var d Dir
			b.SetBytes(DefaultLimit)
			b.ReportAllocs()
			for b.Loop() {
				d.Init(DefaultLimit, budget)
				d.Segment(0xfffff000, true, nil, 1, sink)
				for i, off := range bm.offs {
					d.Segment(0xfffff001+uint32(off), false, payload[off:off+mss], uint64(i+2), sink)
				}
				if !d.Done() {
					b.Fatal("not done after the limit")
				}
			}
		})
	}
}
