//go:build !race

package stunmsg

// raceEnabled is true when the race detector, which adds allocations, is on.
const raceEnabled = false
