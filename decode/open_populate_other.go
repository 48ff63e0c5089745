//go:build darwin || freebsd

package decode

// populateFunc is nil where there is no MADV_POPULATE_READ: pages fault in
// as they are read.
func populateFunc() func([]byte) bool { return nil }
