//go:build linux || darwin || freebsd

package decode

import (
	"os"

	"golang.org/x/sys/unix"
)

// mapFile maps a regular, non-empty file read-only; ok is false when it
// cannot be mapped (a pipe, a device, an empty file, a failed mmap).
func mapFile(f *os.File) (*mapped, bool) {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 || fi.Size() != int64(int(fi.Size())) {
		return nil, false
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, false
	}
	// The file is read front to back once: let the kernel read ahead.
	_ = unix.Madvise(data, unix.MADV_SEQUENTIAL)
	release := func(b []byte) { _ = unix.Madvise(b, unix.MADV_DONTNEED) }
	return &mapped{data: data, unmap: unix.Munmap, release: release, populate: populateFunc()}, true
}
