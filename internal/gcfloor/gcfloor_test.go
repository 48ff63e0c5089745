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

// TestSetHandsBackNearTheFloor: below the floor the collector is off with
// the floor as a soft limit; once a collection finds more than three
// quarters of the floor live, the default policy is back; restore puts back
// the rest.
func TestSetHandsBackNearTheFloor(t *testing.T) {
	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	before := gcPercent()
	const floor = 16 << 20
	restore := Set(floor)
	if p := gcPercent(); p != -1 {
		t.Fatalf("GC percent %d under the floor, want -1 (off)", p)
	}
	if l := debug.SetMemoryLimit(-1); l != floor {
		t.Fatalf("memory limit %d, want the floor %d", l, floor)
	}
	live := make([][]byte, 0, 64)
	for range 13 { // 13 MiB live: more than three quarters of the floor
		live = append(live, make([]byte, 1<<20))
	}
	deadline := time.Now().Add(10 * time.Second)
	for gcPercent() == -1 {
		if time.Now().After(deadline) {
			t.Fatal("the default policy did not come back with 13 MiB live under a 16 MiB floor")
		}
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if p := gcPercent(); p != before {
		t.Errorf("GC percent %d after the switch, want %d", p, before)
	}
	if l := debug.SetMemoryLimit(-1); l == floor {
		t.Errorf("memory limit still the floor after the switch")
	}
	runtime.KeepAlive(live)
	restore()
	if p := gcPercent(); p != before {
		t.Errorf("GC percent %d after restore, want %d", p, before)
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
