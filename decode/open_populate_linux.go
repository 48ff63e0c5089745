package decode

import "golang.org/x/sys/unix"

// populateFunc maps a range of pages in one call, MADV_POPULATE_READ (Linux
// 5.14), instead of a fault for every few pages touched; on older kernels it
// fails and reading faults pages in as before.
func populateFunc() func([]byte) bool {
	return func(b []byte) bool { return unix.Madvise(b, unix.MADV_POPULATE_READ) == nil }
}
