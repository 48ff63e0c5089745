package analyze

import (
	"testing"
	"unsafe"
)

// TestSummarySizes keeps what a capture holds per flow within the
// allocator's size classes it was laid out for: every ended flow keeps a
// Flow, every TLS flow a TLSInfo, and a field added past a class boundary
// costs the next class for each of them (a Flow of 449 bytes takes 480, a
// TLSInfo of 193 bytes 208).
// The state of reading a flow (liveFlow) exists only for the flows open at
// once and is reused; at 769 bytes it would take the 896-byte class, 2.8 MB
// more for the 22,000 flows the benchmark capture holds open at once.
func TestSummarySizes(t *testing.T) {
	for _, c := range []struct {
		name      string
		size, max uintptr
	}{
		{"Flow", unsafe.Sizeof(Flow{}), 448},
		{"TLSInfo", unsafe.Sizeof(TLSInfo{}), 192},
		{"DirStats", unsafe.Sizeof(DirStats{}), 128},
		{"liveFlow", unsafe.Sizeof(liveFlow{}), 768},
	} {
		if c.size > c.max {
			t.Errorf("%s is %d bytes, more than the %d it must fit", c.name, c.size, c.max)
		}
	}
}
