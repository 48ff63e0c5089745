package reasm

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"testing"
)

// piece of a test stream: offset and length in the stream.
type cut struct{ off, n int }

// randomCuts splits n bytes into at most k segments.
func randomCuts(rng *rand.Rand, n, k int) []cut {
	points := []int{0, n}
	for range rng.IntN(k) {
		points = append(points, 1+rng.IntN(max(n-1, 1)))
	}
	slices.Sort(points)
	points = slices.Compact(points)
	var cuts []cut
	for i := 1; i < len(points); i++ {
		cuts = append(cuts, cut{points[i-1], points[i] - points[i-1]})
	}
	return cuts
}

// TestReorderProperty feeds a stream shorter than the limit as two random
// segmentations, shuffled, with some segments repeated: nothing is dropped,
// so the sink must receive exactly the stream, without a gap, each byte
// attributed to the first frame that carried it (first copy wins).
//
// At most 2×12 segmentation boundaries keep the held pieces below
// MaxPieces, so no hole is given up.
func TestReorderProperty(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 3000 {
		limit := 2 + rng.IntN(4096)
		stream := make([]byte, 1+rng.IntN(limit-1))
		for i := range stream {
			stream[i] = byte(rng.Uint32())
		}
		isn := rng.Uint32()
		if iter%2 == 0 {
			isn = 0xffffffff - uint32(rng.IntN(len(stream)+2)) // wrap inside the stream
		}
		cuts := append(randomCuts(rng, len(stream), 12), randomCuts(rng, len(stream), 12)...)
		for range rng.IntN(8) {
			cuts = append(cuts, cuts[rng.IntN(len(cuts))])
		}
		rng.Shuffle(len(cuts), func(i, j int) { cuts[i], cuts[j] = cuts[j], cuts[i] })
		syn := rng.IntN(2) == 0
		if !syn { // mid-flow start: the first segment fed defines byte 0
			i := slices.IndexFunc(cuts, func(c cut) bool { return c.off == 0 })
			cuts[0], cuts[i] = cuts[i], cuts[0]
		}
		checkReorder(t, iter, limit, stream, isn, syn, cuts)
	}
}

func checkReorder(t *testing.T, iter, limit int, stream []byte, isn uint32, syn bool, cuts []cut) {
	t.Helper()
	budget := NewBudget(limit)
	var d Dir
	d.Init(limit, budget)
	r := new(recorder)
	first := make([]uint64, len(stream)) // first frame carrying each byte
	frame := uint64(1)
	if syn {
		d.Segment(isn, true, nil, frame, r)
		frame++
	}
	for _, c := range cuts {
		d.Segment(isn+1+uint32(c.off), false, stream[c.off:c.off+c.n], frame, r)
		for i := c.off; i < c.off+c.n; i++ {
			if first[i] == 0 {
				first[i] = frame
			}
		}
		frame++
	}
	d.Flush(r)
	if r.lost != 0 || !bytes.Equal(r.data, stream) {
		t.Fatalf("iter %d (limit %d, isn %#x, syn %v, cuts %v): lost %d, data equal %v\nevents %s",
			iter, limit, isn, syn, cuts, r.lost, bytes.Equal(r.data, stream), r)
	}
	if !slices.Equal(r.frames, first) {
		t.Fatalf("iter %d: frames %v, want first copies %v", iter, r.frames, first)
	}
	if budget.Used() != 0 {
		t.Fatalf("iter %d: budget used %d after Flush", iter, budget.Used())
	}
}
