package benchgen

import (
	"io"
	"os"
)

// Settle puts a capture just written into the page cache as the kernel
// reads a file in, not as the writer left it: it writes the file to disk,
// drops it from the cache where the platform can (dropCache), and reads it
// through once.
//
// Which one a benchmark gets changes its time. On Linux 6.18 with ext4, a
// file written in 1 MiB steps stays cached in 4 KiB pages, and mapping
// those costs a page table entry each: 0.47 s to map and touch the 1.9 GB
// pcapng benchmark capture. Read back from disk, it is cached in 2 MiB
// folios and the same takes 0.12 s. A user's capture is in the second
// state once anything has read it from disk, and in the first while it is
// still cached from being copied in; left alone, the benchmark capture
// drifts from one to the other as the kernel evicts parts of it, which
// made runs differ by tenths of a second. Settled, every run measures the
// same state, and scripts/bench times qadiag and tshark on the same file in
// it.
func Settle(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return err
	}
	dropCache(f)
	_, err = io.Copy(io.Discard, f)
	return err
}
