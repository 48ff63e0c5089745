package decode

import (
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"time"
)

// maxRecordLen mirrors pcapgo's bound (libpcap's MAXIMUM_SNAPLEN, or the
// file's snaplen when larger): longer records are corrupt, as in pcapgo and
// Wireshark.
const maxRecordLen = 262144

// pcapRecords reads classic pcap records after pcapgo has read and checked
// the file header. Records are sliced straight out of the read buffer
// instead of copied through pcapgo's io.ReadFull into a second buffer: the
// per-record cost halves (research/performance.md: 0.24 s vs 0.54 s for
// 10 M records), and the checks and messages are pcapgo's own
// (TestPcapRecordsMatchPcapgo).
type pcapRecords struct {
	big     bool // the file's byte order is big-endian
	nanos   bool
	snaplen uint32
	large   []byte // records too large to slice from the buffer
	// win is the part of the read buffer not yet handed out as records,
	// from one Peek; used counts the bytes handed out since, which are
	// discarded from the bufio.Reader only when the window runs dry. One
	// Peek per buffer instead of three bufio calls per record.
	win     []byte
	used    int
	readErr error // why the last Peek came back short: io.EOF or a read error
	// inPlace is the mapping the records are sliced from when the Reader
	// reads in place (ReaderOptions.InPlace): then win is the rest of the
	// file and is never refilled.
	inPlace *mapped
}

// window returns at least n unread bytes when the file has them, fewer at its
// end. n must not exceed bufSize.
func (r *Reader) window(n int) []byte {
	pr := &r.records
	if len(pr.win) >= n || pr.inPlace != nil {
		return pr.win
	}
	_, _ = r.br.Discard(pr.used)
	pr.used = 0
	pr.win, pr.readErr = r.br.Peek(bufSize)
	return pr.win
}

// consume hands out n bytes of the window.
func (pr *pcapRecords) consume(n int) {
	pr.win = pr.win[n:]
	pr.used += n
}

func (pr *pcapRecords) maxLen() int {
	return max(int(pr.snaplen), maxRecordLen)
}

// next reads one record into f. io.EOF means a clean end; other errors are
// wrapped by the caller with frame and offset.
func (r *Reader) nextRecord(f *Frame) error {
	pr := &r.records
	hdr := r.window(16)
	switch {
	case len(hdr) < 16 && pr.readErr != nil && pr.readErr != io.EOF:
		return pr.readErr
	case len(hdr) == 0:
		return io.EOF
	case len(hdr) < 16:
		return fmt.Errorf("%w: record header: %d of 16 bytes: %w", ErrTruncated, len(hdr), io.ErrUnexpectedEOF)
	}
	// Direct calls, not through a binary.ByteOrder: four interface calls a
	// record are not inlined.
	var sec, frac, caplen, origlen uint32
	if pr.big {
		be := binary.BigEndian
		sec, frac, caplen, origlen = be.Uint32(hdr[0:]), be.Uint32(hdr[4:]), be.Uint32(hdr[8:]), be.Uint32(hdr[12:])
	} else {
		le := binary.LittleEndian
		sec, frac, caplen, origlen = le.Uint32(hdr[0:]), le.Uint32(hdr[4:]), le.Uint32(hdr[8:]), le.Uint32(hdr[12:])
	}
	if int64(caplen) > int64(pr.maxLen()) {
		return fmt.Errorf("%w: capture length exceeds snap length: %d > %d", ErrCorrupt, caplen, pr.snaplen)
	}
	if caplen > origlen {
		return fmt.Errorf("%w: capture length exceeds original packet length: %d > %d", ErrCorrupt, caplen, origlen)
	}
	n := int(caplen)
	if 16+n <= bufSize || pr.inPlace != nil {
		rec := r.window(16 + n)
		if len(rec) < 16+n {
			if pr.readErr != nil && pr.readErr != io.EOF {
				return pr.readErr
			}
			return fmt.Errorf("%w: record of %d bytes, %d in file: %w", ErrTruncated, n, len(rec)-16, io.ErrUnexpectedEOF)
		}
		f.Data = rec[16 : 16+n : 16+n]
		pr.consume(16 + n) // the slice stays valid until the window is refilled
	} else {
		_, _ = r.br.Discard(pr.used + 16)
		pr.win, pr.used = nil, 0
		// Read in steps, growing the buffer with the bytes that arrive: a
		// hostile header may claim gigabytes (the file's snaplen is the
		// bound) in a file of a few bytes, and zeroing them first took
		// seconds and the memory with it.
		pr.large = pr.large[:0]
		for len(pr.large) < n {
			k := min(n-len(pr.large), bufSize)
			pr.large = slices.Grow(pr.large, k)
			got, err := io.ReadFull(r.br, pr.large[len(pr.large):len(pr.large)+k])
			pr.large = pr.large[:len(pr.large)+got]
			if err != nil {
				return fmt.Errorf("%w: record of %d bytes, %d in file: %w", ErrTruncated, n, len(pr.large), io.ErrUnexpectedEOF)
			}
		}
		f.Data = pr.large
	}
	nsec := int64(frac)
	if !pr.nanos {
		nsec *= 1000
	}
	f.Time = time.Unix(int64(sec), nsec).UTC()
	f.CapLen, f.OrigLen = n, int(origlen)
	return nil
}
