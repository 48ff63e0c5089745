// Package grow appends to long slices that grow one entry at a time.
package grow

import "slices"

// Append appends v to s, doubling the capacity when s is full. append grows
// a long slice by a quarter at a time, and the arrays it leaves behind come
// to four times the final one: garbage that the collector, off until the
// heap is large (internal/gcfloor), does not take back.
func Append[T any](s []T, v T) []T {
	if len(s) == cap(s) {
		s = slices.Grow(s, max(len(s), 64))
	}
	return append(s, v)
}
