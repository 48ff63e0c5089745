//go:build unix

package decode

import (
	"os"
	"syscall"
)

// madvPopulateRead is MADV_POPULATE_READ from Linux's uapi mman-common.h,
// which the syscall package does not name.
const madvPopulateRead = 22

// mapFile maps a regular, non-empty file read-only; ok is false when it
// cannot be mapped (a pipe, a device, an empty file, a failed mmap).
func mapFile(f *os.File) (*mapped, bool) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() != int64(int(fi.Size())) {
		return nil, false
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return nil, false
	}
	// The file is read front to back once: let the kernel read ahead.
	_ = syscall.Madvise(data, syscall.MADV_SEQUENTIAL)
	release := func(b []byte) { _ = syscall.Madvise(b, syscall.MADV_DONTNEED) }
	// MADV_POPULATE_READ (Linux 5.14) maps a range of pages in one call
	// instead of a fault for every few pages touched; elsewhere it fails
	// and reading faults pages in as before.
	populate := func(b []byte) bool { return syscall.Madvise(b, madvPopulateRead) == nil }
	return &mapped{data: data, unmap: syscall.Munmap, release: release, populate: populate}, true
}
