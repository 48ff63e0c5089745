package benchgen

import (
	"bytes"
	"os"
	"runtime/debug"
	"strconv"
)

// Timer is the part of *testing.B that BetweenRuns needs.
type Timer interface {
	StopTimer()
	StartTimer()
}

// BetweenRuns makes a benchmark's next run start as a user's run does, in
// a process that holds no earlier capture: off the clock, what the caller
// has let go of is collected and its memory given back to the system, so
// that each run's time and the peak resident set are those of one capture.
func BetweenRuns(b Timer) {
	b.StopTimer()
	debug.FreeOSMemory()
	b.StartTimer()
}

// ResetPeakRSS resets the kernel's record of the process's peak resident
// set (Linux: writing 5 to /proc/self/clear_refs), so that PeakRSS measures
// from here on. It reports whether the kernel allowed it.
func ResetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// PeakRSS is the process's peak resident set in bytes since it started or
// since ResetPeakRSS (VmHWM in /proc/self/status), or 0 where the kernel
// does not say. Benchmarks report it: heap statistics leave out the memory
// the runtime holds but has not used, and the pages of a mapped capture.
func PeakRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range bytes.Lines(b) {
		if v, ok := bytes.CutPrefix(line, []byte("VmHWM:")); ok {
			f := bytes.Fields(v)
			if len(f) == 2 && string(f[1]) == "kB" {
				n, err := strconv.ParseInt(string(f[0]), 10, 64)
				if err == nil {
					return n << 10
				}
			}
		}
	}
	return 0
}
