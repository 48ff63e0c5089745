package decode

import (
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// OpenFile opens a capture for NewReader. A regular file is mapped into
// memory where the platform allows (reading it then costs no system call
// per megabyte); anything else is read as a stream. The caller closes it.
func OpenFile(path string) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	if m, ok := mapFile(f); ok {
		f.Close() // the mapping stays valid after the descriptor is closed
		return m, nil
	}
	return f, nil
}

// ErrFileChanged reports a mapped capture that shrank while it was read.
var ErrFileChanged = errors.New("the capture file changed while it was read")

// mapped is a memory-mapped capture read as an io.Reader.
type mapped struct {
	data  []byte
	off   int
	unmap func([]byte) error
	// release tells the kernel the process no longer needs pages already
	// read, so that the resident set does not grow with the file (the pages
	// stay in the page cache); nil where unsupported.
	release  func([]byte)
	released int
	// populate maps pages ahead of the reader in one call (nil, or false
	// returned, where the platform cannot); populated is where the pages
	// mapped so end.
	populate  func([]byte) bool
	populated int
}

// releaseEvery is how much of the mapping is read between releases.
const releaseEvery = 8 << 20

// Read copies the next bytes of the mapping. A file truncated by another
// process under the mapping makes the copy fault (SIGBUS); the fault is
// turned into an error instead of a crash.
func (m *mapped) Read(p []byte) (n int, err error) {
	if m.off >= len(m.data) {
		return 0, io.EOF
	}
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if r := recover(); r != nil {
			n, err = 0, fmt.Errorf("%w at byte %d: %v", ErrFileChanged, m.off, r)
		}
	}()
	n = copy(p, m.data[m.off:])
	m.off += n
	if m.release != nil && m.off-m.released >= releaseEvery {
		end := m.off &^ (releaseEvery - 1) // a multiple of the page size
		m.release(m.data[m.released:end])
		m.released = end
	}
	return n, nil
}

// releaseBefore releases, in steps of releaseEvery, the pages of the mapping
// more than releaseEvery bytes before off, for a Reader that hands out
// records in place. (Released pages of a shared file mapping read back the
// same if touched again; releasing only trims the resident set.)
//
// It also maps the next releaseEvery bytes ahead of off into the process
// in one call where the platform can, so that reading them takes no page
// fault: a fault for every 64 KiB of a 2 GB capture cost a tenth of a second
// of system time. Steps of 8 MiB keep at most about 24 MiB of the file
// resident.
func (m *mapped) releaseBefore(off int64) {
	if m.populate != nil && off+releaseEvery > int64(m.populated) && m.populated < len(m.data) {
		end := min(int(off)&^(releaseEvery-1)+2*releaseEvery, len(m.data))
		if m.populate(m.data[m.populated:end]) {
			m.populated = end
		} else {
			m.populate = nil
		}
	}
	if m.release == nil || off-int64(m.released) < 2*releaseEvery {
		return
	}
	end := int(off-releaseEvery) &^ (releaseEvery - 1)
	m.release(m.data[m.released:end])
	m.released = end
}

// FaultError turns the value recovered from a memory fault, under
// debug.SetPanicOnFault, into an error wrapping ErrFileChanged: the only
// fault reading a capture can cause is touching a mapped page whose file
// another process truncated. Any other value gives nil, and the caller
// panics again with it.
func FaultError(v any) error {
	if e, ok := v.(interface{ Addr() uintptr }); ok {
		return fmt.Errorf("%w (memory fault at %#x: the file is shorter than when it was opened)", ErrFileChanged, e.Addr())
	}
	return nil
}

func (m *mapped) Close() error {
	if m.data == nil {
		return nil
	}
	err := m.unmap(m.data)
	m.data = nil
	return err
}
