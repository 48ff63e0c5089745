package gcfloor

import (
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func gcPercent() int {
	p := debug.SetGCPercent(100)
	debug.SetGCPercent(p)
	return p
}

// TestSetLimitFollowsTheLiveHeap: below the floor the collector is off
// with the floor as a soft limit; once a collection finds more than two
// thirds of the floor live, the limit becomes one and a half times the
// live heap, the collector still off; restore puts back what Set found.
func TestSetLimitFollowsTheLiveHeap(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	before, beforeLimit := gcPercent(), debug.SetMemoryLimit(-1)
	const floor = 16 << 20
	restore := Set(floor)
	if p := gcPercent(); p != -1 {
		t.Fatalf("GC percent %d under the floor, want -1 (off)", p)
	}
	if l := debug.SetMemoryLimit(-1); l != floor {
		t.Fatalf("memory limit %d, want the floor %d", l, floor)
	}
	live := make([][]byte, 0, 64)
	for range 13 { // 13 MiB live: more than two thirds of the floor
		live = append(live, make([]byte, 1<<20))
	}
	deadline := time.Now().Add(10 * time.Second)
	// A collection during the allocations may have found less live; the
	// one after them finds it all.
	for debug.SetMemoryLimit(-1) < 13<<20*3/2 {
		if time.Now().After(deadline) {
			t.Fatalf("the limit is %d MiB with 13 MiB live under a 16 MiB floor, want 1.5 times the live heap", debug.SetMemoryLimit(-1)>>20)
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if l := debug.SetMemoryLimit(-1); l > 2*(13<<20) {
		t.Errorf("memory limit %d MiB with 13 MiB live, want about 1.5 times", l>>20)
	}
	if p := gcPercent(); p != -1 {
		t.Errorf("GC percent %d past the floor, want -1 (off)", p)
	}
	runtime.KeepAlive(live)
	restore()
	if p := gcPercent(); p != before {
		t.Errorf("GC percent %d after restore, want %d", p, before)
	}
	if l := debug.SetMemoryLimit(-1); l != beforeLimit {
		t.Errorf("memory limit %d after restore, want %d", l, beforeLimit)
	}
}

// TestLimitFor: the floor, or one and a half times the live heap.
func TestLimitFor(t *testing.T) {
	for _, c := range []struct{ floor, live, want int64 }{
		{Floor, 0, Floor},
		{Floor, 100 << 20, Floor},
		{Floor, 160 << 20, 240 << 20},
		{Floor, 400 << 20, 600 << 20},
	} {
		if got := limitFor(c.floor, c.live); got != c.want {
			t.Errorf("limitFor(%d MiB, %d MiB) = %d MiB, want %d MiB", c.floor>>20, c.live>>20, got>>20, c.want>>20)
		}
	}
}

// TestSetRespectsTheUser: GOGC or GOMEMLIMIT in the environment wins.
func TestSetRespectsTheUser(t *testing.T) {
	t.Setenv("GOGC", "50")
	before := gcPercent()
	restore := Set(Floor)
	defer restore()
	if p := gcPercent(); p != before {
		t.Errorf("GC percent %d with GOGC set, want it untouched (%d)", p, before)
	}
}

// TestSetNestedIsShared: a second Set while one is in force changes nothing,
// and its restore leaves the first in force.
func TestSetNestedIsShared(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	before := gcPercent()
	outer := Set(Floor)
	inner := Set(Floor)
	inner()
	if p := gcPercent(); p != -1 {
		t.Errorf("GC percent %d after the inner restore, want the outer policy's -1", p)
	}
	outer()
	if p := gcPercent(); p != before {
		t.Errorf("GC percent %d after restore, want %d", p, before)
	}
}

// TestWithinLimits: the floor is at most a quarter of any memory limit.
func TestWithinLimits(t *testing.T) {
	for _, c := range []struct {
		floor  int64
		limits []int64
		want   int64
	}{
		{Floor, nil, Floor},
		{Floor, []int64{24 << 30}, Floor},                // a 24 GiB machine
		{Floor, []int64{24 << 30, 512 << 20}, 128 << 20}, // a 512 MiB container on it
		{Floor, []int64{1 << 30}, Floor},                 // a quarter is more than the floor
		{Floor, []int64{768 << 20}, 192 << 20},           // and here less
		{Floor, []int64{0, -1}, Floor},                   // unreadable
	} {
		if got := within(c.floor, c.limits); got != c.want {
			t.Errorf("within(%d, %v) = %d, want %d", c.floor, c.limits, got, c.want)
		}
	}
	for _, l := range memoryLimits() {
		if l <= 0 {
			t.Errorf("memory limit %d read", l)
		}
	}
}
