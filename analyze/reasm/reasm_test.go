package reasm

import (
	"fmt"
	"strings"
	"testing"
	"unsafe"
)

// recorder is a Sink that writes down what it receives.
type recorder struct {
	events []string
	data   []byte
	frames []uint64 // frame of each byte in data
	lost   int
}

func (r *recorder) Data(b []byte, frame uint64) {
	r.events = append(r.events, fmt.Sprintf("%d%q", frame, b))
	r.data = append(r.data, b...)
	for range b {
		r.frames = append(r.frames, frame)
	}
}

func (r *recorder) Gap(n uint32) {
	r.events = append(r.events, fmt.Sprintf("gap(%d)", n))
	r.lost += int(n)
}

func (r *recorder) String() string { return strings.Join(r.events, " ") }

// seg is one segment of a test; its frame is its 1-based position.
type seg struct {
	seq  uint32
	syn  bool
	data string
}

// feed runs segs through d and checks that Segment's result tracks Done.
func feed(t *testing.T, d *Dir, segs []seg, r *recorder) {
	t.Helper()
	wasDone := false
	for i, s := range segs {
		ok := d.Segment(s.seq, s.syn, []byte(s.data), uint64(i+1), r)
		if ok == d.Done() {
			t.Fatalf("frame %d: Segment returned %v, Done %v", i+1, ok, d.Done())
		}
		if wasDone && ok {
			t.Fatalf("frame %d: Segment accepted data after Done", i+1)
		}
		wasDone = !ok
	}
}

// sparse returns a SYN at 0 then n one-byte segments two bytes apart, so
// that each is held as its own piece.
func sparse(n int) []seg {
	segs := []seg{{seq: 0, syn: true}}
	for i := range n {
		segs = append(segs, seg{seq: uint32(3 + 2*i), data: "x"})
	}
	return segs
}

func TestSegment(t *testing.T) {
	tests := []struct {
		name   string
		limit  int // 0: 1000
		budget int // 0: no Budget
		segs   []seg
		flush  bool
		want   string // events: frame"data" or gap(n)
		done   bool
		stats  Stats
	}{
		{name: "in order after SYN",
			segs: []seg{{100, true, ""}, {101, false, "hello"}, {106, false, " world"}},
			want: `2"hello" 3" world"`},
		{name: "split one byte per segment",
			segs: []seg{{0, false, "a"}, {1, false, "b"}, {2, false, "c"}, {3, false, "d"}},
			want: `1"a" 2"b" 3"c" 4"d"`},
		{name: "exact retransmission",
			segs:  []seg{{10, false, "abc"}, {10, false, "abc"}, {13, false, "def"}},
			want:  `1"abc" 3"def"`,
			stats: Stats{Duplicate: 3}},
		{name: "partial overlap retransmission",
			segs:  []seg{{10, false, "abcd"}, {12, false, "cdefg"}},
			want:  `1"abcd" 2"efg"`,
			stats: Stats{Duplicate: 2}},
		{name: "retransmission differs: first copy wins",
			segs:  []seg{{10, false, "abcd"}, {10, false, "ABCDEF"}},
			want:  `1"abcd" 2"EF"`,
			stats: Stats{Duplicate: 4}},
		{name: "out of order then fill",
			segs:  []seg{{0, true, ""}, {6, false, "world"}, {1, false, "hello"}},
			want:  `3"hello" 2"world"`,
			stats: Stats{Reordered: 1}},
		{name: "fill overlaps held piece: held copy wins",
			segs:  []seg{{0, true, ""}, {6, false, "WORLD"}, {1, false, "helloworld!"}},
			want:  `3"hello" 2"WORLD" 3"!"`,
			stats: Stats{Duplicate: 5, Reordered: 1}},
		{name: "overlapping held pieces keep their frames",
			segs: []seg{{0, true, ""}, {6, false, "fghij"}, {4, false, "defghijkl"}, {1, false, "abc"}},
			want: `4"abc" 3"de" 2"fghij" 3"kl"`, stats: Stats{Duplicate: 5, Reordered: 2}},
		{name: "held piece inside a held piece",
			segs:  []seg{{0, true, ""}, {6, false, "fghij"}, {7, false, "GHI"}, {1, false, "abcde"}},
			want:  `4"abcde" 2"fghij"`,
			stats: Stats{Duplicate: 3, Reordered: 1}},
		{name: "held pieces joined by a later one",
			segs:  []seg{{0, true, ""}, {3, false, "cd"}, {7, false, "gh"}, {2, false, "bcdefghi"}, {1, false, "a"}},
			want:  `5"a" 4"b" 2"cd" 4"ef" 3"gh" 4"i"`,
			stats: Stats{Duplicate: 4, Reordered: 3}},
		{name: "mid-flow start trims earlier bytes",
			segs:  []seg{{5000, false, "world"}, {4994, false, "hello world"}, {5005, false, "!"}},
			want:  `1"world" 3"!"`,
			stats: Stats{Duplicate: 11}},
		{name: "SYN with data (TCP Fast Open)",
			segs: []seg{{99, true, "GET"}, {103, false, " /"}},
			want: `1"GET" 2" /"`},
		{name: "SYN after data ignored",
			segs: []seg{{1000, false, "abc"}, {500, true, "xyz"}, {1003, false, "def"}},
			want: `1"abc" 3"def"`},
		{name: "retransmitted SYN",
			segs: []seg{{99, true, ""}, {99, true, ""}, {100, false, "a"}},
			want: `3"a"`},
		{name: "wraparound in order",
			segs: []seg{{0xfffffffd, true, ""}, {0xfffffffe, false, "abcd"}, {2, false, "ef"}},
			want: `2"abcd" 3"ef"`},
		{name: "wraparound out of order",
			segs:  []seg{{0xfffffffd, true, ""}, {1, false, "def"}, {0xfffffffe, false, "abc"}},
			want:  `3"abc" 2"def"`,
			stats: Stats{Reordered: 1}},
		{name: "wraparound retransmission",
			segs:  []seg{{0xfffffffe, false, "abcd"}, {0xffffffff, false, "bcdef"}},
			want:  `1"abcd" 2"ef"`,
			stats: Stats{Duplicate: 3}},
		{name: "limit bytes ahead ignored, just inside held", limit: 16,
			segs: []seg{{0, true, ""}, {17, false, "x"}, {1 + 1e6, false, "y"}, {16, false, "z"}, {1, false, "abcdefghijklmno"}},
			want: `5"abcdefghijklmno" 4"z"`, done: true, stats: Stats{Ignored: 2, Reordered: 1}},
		{name: "more than 2^31 behind ignored, exactly 2^31 behind trimmed",
			segs:  []seg{{0x90000000, false, "abc"}, {0x0ffffffe, false, "zzz"}, {0x10000003, false, "yyy"}},
			want:  `1"abc"`,
			stats: Stats{Ignored: 1, Duplicate: 3}},
		{name: "limit reached in order", limit: 8,
			segs: []seg{{0, false, "abcdef"}, {6, false, "ghij"}, {10, false, "k"}},
			want: `1"abcdef" 2"gh"`, done: true},
		{name: "limit reached from held data", limit: 8,
			segs: []seg{{0, true, ""}, {5, false, "efghij"}, {1, false, "abcd"}},
			want: `3"abcd" 2"efgh"`, done: true, stats: Stats{Reordered: 1}},
		{name: "flush reports each hole", flush: true,
			segs: []seg{{0, true, ""}, {5, false, "ef"}, {10, false, "jk"}},
			want: `gap(4) 2"ef" gap(3) 3"jk"`, done: true, stats: Stats{Lost: 7, Reordered: 2}},
		{name: "flush with nothing held", flush: true,
			segs: []seg{{0, false, "ab"}},
			want: `1"ab"`, done: true},
		{name: "too many pieces gives up the first hole", segs: sparse(MaxPieces + 1),
			want: `gap(2) 2"x"`, stats: Stats{Lost: 2, Reordered: MaxPieces + 1}},
		{name: "segment inside the first hole when pieces are full",
			segs: append(sparse(MaxPieces), seg{seq: 2, data: "b"}, seg{seq: 1, data: "a"}),
			want: `gap(1) 34"b" 2"x"`, stats: Stats{Lost: 1, Duplicate: 1, Reordered: MaxPieces}},
		{name: "budget exceeded gives up the hole", budget: 4,
			segs: []seg{{0, true, ""}, {3, false, "cd"}, {6, false, "fgh"}, {1, false, "ab"}, {5, false, "e"}},
			want: `gap(2) 2"cd" 5"e" 3"fgh"`, stats: Stats{Lost: 2, Duplicate: 2, Reordered: 2}},
		{name: "segment larger than the budget delivered after a gap", budget: 2,
			segs: []seg{{0, true, ""}, {4, false, "defg"}, {1, false, "abc"}},
			want: `gap(3) 2"defg"`, stats: Stats{Lost: 3, Duplicate: 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var budget *Budget
			if tt.budget > 0 {
				budget = NewBudget(tt.budget)
			}
			limit := tt.limit
			if limit == 0 {
				limit = 1000
			}
			var d Dir
			d.Init(limit, budget)
			r := new(recorder)
			feed(t, &d, tt.segs, r)
			if tt.flush {
				d.Flush(r)
			}
			if got := r.String(); got != tt.want {
				t.Errorf("events\n got %s\nwant %s", got, tt.want)
			}
			if d.Done() != tt.done {
				t.Errorf("Done = %v, want %v", d.Done(), tt.done)
			}
			if d.Stats() != tt.stats {
				t.Errorf("Stats = %+v, want %+v", d.Stats(), tt.stats)
			}
			if d.Delivered() != len(r.data) {
				t.Errorf("Delivered = %d, sink got %d", d.Delivered(), len(r.data))
			}
			if d.Done() && (d.Held() != 0 || budget.Used() != 0) {
				t.Errorf("Done but Held %d, budget used %d", d.Held(), budget.Used())
			}
			if budget != nil && budget.Used() != d.Held() {
				t.Errorf("budget used %d, Held %d", budget.Used(), d.Held())
			}
		})
	}
}

func TestSawSYN(t *testing.T) {
	var a, b Dir
	a.Init(100, nil)
	b.Init(100, nil)
	r := new(recorder)
	a.Segment(7, true, nil, 1, r)
	b.Segment(7, false, []byte("x"), 1, r)
	if !a.SawSYN() || b.SawSYN() {
		t.Errorf("SawSYN: after SYN %v, mid-flow %v", a.SawSYN(), b.SawSYN())
	}
}

func TestBudgetShared(t *testing.T) {
	budget := NewBudget(10)
	var a, b Dir
	a.Init(1000, budget)
	b.Init(1000, budget)
	ra, rb := new(recorder), new(recorder)
	a.Segment(0, true, nil, 1, ra)
	b.Segment(100, true, nil, 2, rb)
	a.Segment(3, false, []byte("cdefgh"), 3, ra) // a holds 6
	if budget.Used() != 6 {
		t.Fatalf("budget used %d after a holds 6", budget.Used())
	}
	// b cannot hold 6 more: with nothing of its own to give up, it
	// declares its hole lost and delivers directly.
	b.Segment(103, false, []byte("CDEFGH"), 4, rb)
	if got, want := rb.String(), `gap(2) 4"CDEFGH"`; got != want {
		t.Errorf("b: got %s, want %s", got, want)
	}
	b.Segment(110, false, []byte("JK"), 5, rb) // fits in the 4 left
	if budget.Used() != 8 {
		t.Fatalf("budget used %d, want 8", budget.Used())
	}
	a.Segment(1, false, []byte("ab"), 6, ra)
	if got, want := ra.String(), `6"ab" 3"cdefgh"`; got != want {
		t.Errorf("a: got %s, want %s", got, want)
	}
	b.Flush(rb)
	if budget.Used() != 0 {
		t.Errorf("budget used %d after all released", budget.Used())
	}
}

func TestInitReleases(t *testing.T) {
	budget := NewBudget(100)
	var d Dir
	d.Init(100, budget)
	d.Segment(0, false, []byte("a"), 1, new(recorder))
	d.Segment(5, false, []byte("xyz"), 2, new(recorder))
	d.Init(100, budget)
	if budget.Used() != 0 || d.Held() != 0 || d.Delivered() != 0 {
		t.Errorf("after Init: budget used %d, Held %d, Delivered %d", budget.Used(), d.Held(), d.Delivered())
	}
}

func TestUninitialised(t *testing.T) {
	var d Dir
	r := new(recorder)
	if d.Segment(0, false, []byte("abc"), 1, r) || !d.Done() || len(r.events) != 0 {
		t.Errorf("zero Dir accepted data: %s", r)
	}
	d.Flush(r)
}

func TestInitLimitOutOfRange(t *testing.T) {
	for _, limit := range []int{0, -1, MaxLimit + 1} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Init(%d) did not panic", limit)
				}
			}()
			var d Dir
			d.Init(limit, nil)
		}()
	}
}

// TestDirSize pins that a Dir embedded in every flow stays a few words.
func TestDirSize(t *testing.T) {
	if n := unsafe.Sizeof(Dir{}); n > 48 {
		t.Errorf("Dir is %d bytes, want at most 48", n)
	}
}

// nopSink discards what it receives.
type nopSink struct{ n int }

func (s *nopSink) Data(b []byte, frame uint64) { s.n += len(b) }
func (s *nopSink) Gap(n uint32)                {}

func TestNoAllocsInOrder(t *testing.T) {
	if raceEnabled {
		t.Skip("allocations are not exact under the race detector")
	}
	payload := make([]byte, 1460)
	var d Dir
	sink := new(nopSink)
	seq := uint32(0xffff0000) // crosses the wrap
	d.Init(MaxLimit, nil)
	d.Segment(seq, true, nil, 1, sink)
	seq++
	allocs := testing.AllocsPerRun(1000, func() {
		d.Segment(seq, false, payload, 2, sink)            // new data
		d.Segment(seq, false, payload[:100], 3, sink)      // retransmission
		d.Segment(seq+1000, false, payload[:900], 4, sink) // partial overlap
		seq += uint32(len(payload)) + 440
	})
	if allocs != 0 {
		t.Errorf("in-order path: %v allocs per run, want 0", allocs)
	}
}
