// Package gcfloor sets the garbage collector's policy for reading a capture.
//
// Almost everything an analysis allocates lives to its end: the flows and
// what their handshakes showed. Go's default policy (GOGC=100) collects each
// time the heap doubles, so a capture whose flows fill 250 MB is marked
// about eight times as it is read, each time over everything read so far,
// and the mutator pays write barriers while each mark runs. Marking memory
// that is all still live frees nothing; on the benchmark capture it cost a
// fifth of the run (BenchmarkRead: 4.0-4.4 s with the default policy,
// 3.2-3.4 s without collections).
//
// Set leaves the heap alone below a floor and lets it grow by half of what
// is live above it: the collector is off with a soft memory limit at the
// floor, so the first collection comes when the process reaches the floor,
// and the next ones each time it gets back there. A live heap past two
// thirds of the floor would soon make the collector run without pause
// under that limit, so each collection sets the limit to the floor or one
// and a half times the live heap, whichever is larger. That collects as
// often as GOGC=50 would, but a limit, unlike GOGC, also makes the runtime
// hand freed memory back to the system at once: on a capture twice the
// benchmark's (300,000 flows, 230 MB live at the end) the process peaked
// at 356 MiB, where handing back to GOGC=100 peaked at 392 MiB, in the same
// time on one core. (A limit a quarter above the live heap peaked at
// 338 MiB but took 25% more time.) Memory use stays within the floor or
// one and a half times the live heap, whichever is larger.
package gcfloor

import (
	"bytes"
	"math"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"strconv"
	"sync"
)

// Floor is the memory the process may use before the collector runs: a
// resident set within 256 MiB once the program itself and the window of the
// capture file mapped in memory (decode's releaseEvery) are added, and what
// the runtime keeps beside the heap. The text
// report of the 10 M-packet benchmark capture (150,000 flows) allocates
// about 255 MB in all, 160 MB of it live at the end: it collects twice
// under this floor and peaks at about 230 MiB. With GOGC=100 from the start
// it collected eight times and peaked higher, since each collection lets
// the heap grow to twice what is live. Handing back to GOGC=50 past the
// floor, instead of the limit Set moves, once peaked higher (about
// 470 MiB on the capture twice as large): GOGC leaves freed memory to the
// background scavenger.
const Floor = 224 << 20

var mu sync.Mutex

// state is the policy in force; nil when none is.
var state *policy

type policy struct {
	floor     int64
	prevPct   int
	prevLimit int64
	done      bool // restored
}

// Set applies the policy with the given floor in bytes, lowered to a
// quarter of the container's or the machine's memory when that is smaller,
// and returns the function that puts back the settings it found. When the
// user set GOGC or GOMEMLIMIT, or a policy is already in force, it changes
// nothing: the user's choice wins, and nested calls (batch workers) share
// one policy.
func Set(floor int64) (restore func()) {
	mu.Lock()
	defer mu.Unlock()
	if state != nil || os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	floor = within(floor, memoryLimits())
	p := &policy{floor: floor}
	p.prevLimit = debug.SetMemoryLimit(floor)
	p.prevPct = debug.SetGCPercent(-1)
	state = p
	arm(p)
	return func() {
		mu.Lock()
		defer mu.Unlock()
		if p.done {
			return
		}
		p.done = true
		p.restore()
		state = nil
	}
}

// restore puts back the collector settings found by Set; mu is held.
func (p *policy) restore() {
	debug.SetGCPercent(p.prevPct)
	debug.SetMemoryLimit(p.prevLimit)
}

// sentinel is an object whose finalizer runs after the collection that
// found it unreachable: a hook at the end of each cycle. It holds a pointer
// so that the allocator does not batch it with other tiny objects, which
// would delay its finalizer.
type sentinel struct{ p *policy }

func arm(p *policy) {
	runtime.SetFinalizer(&sentinel{p: p}, afterGC)
}

var liveSample = []metrics.Sample{{Name: "/gc/heap/live:bytes"}}

// afterGC runs after a collection: it sets the limit to the floor or one
// and a half times the live heap, whichever is larger, and waits for the
// next one.
func afterGC(s *sentinel) {
	mu.Lock()
	defer mu.Unlock()
	p := s.p
	if p.done {
		return
	}
	metrics.Read(liveSample)
	live := int64(0)
	if v := liveSample[0].Value; v.Kind() == metrics.KindUint64 {
		live = int64(min(v.Uint64(), math.MaxInt64))
	}
	debug.SetMemoryLimit(limitFor(p.floor, live))
	arm(p)
}

// limitFor is the memory limit after a collection that found live bytes
// live: past two thirds of the floor, one and a half times live is the
// larger.
func limitFor(floor, live int64) int64 { return max(floor, live+live/2) }

// within lowers the floor to a quarter of the smallest memory limit the
// process lives under: in a container of 512 MiB, waiting for 512 MiB
// before collecting would end in the OOM killer where the default policy
// fits.
func within(floor int64, limits []int64) int64 {
	for _, l := range limits {
		if l > 0 && l/4 < floor {
			floor = l / 4
		}
	}
	return floor
}

// memoryLimits are the process's memory limits that can be read: the
// cgroup's (v2 memory.max, v1 memory.limit_in_bytes) and the machine's
// memory (MemTotal). Unreadable or unlimited ones are left out.
func memoryLimits() []int64 {
	var out []int64
	for _, path := range []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"} {
		if b, err := os.ReadFile(path); err == nil {
			if n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64); err == nil && n < 1<<60 {
				out = append(out, n)
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		for line := range bytes.Lines(b) {
			if v, ok := bytes.CutPrefix(line, []byte("MemTotal:")); ok {
				f := bytes.Fields(v)
				if len(f) == 2 && string(f[1]) == "kB" {
					if n, err := strconv.ParseInt(string(f[0]), 10, 64); err == nil {
						out = append(out, n<<10)
					}
				}
			}
		}
	}
	return out
}
