// Package decode reads capture files and decodes link, network and transport
// headers into reused values. It turns bytes into typed facts and decides
// nothing: flows, causes and output belong to other packages.
package decode

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Format is the container format of a capture file.
type Format uint8

// Capture container formats.
const (
	FormatUnknown Format = iota
	FormatPcap
	FormatPcapNG
)

func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapNG:
		return "pcapng"
	}
	return "unknown"
}

// bufSize is the read buffer beneath pcapgo. pcapgo keeps a *bufio.Reader of
// at least 4 KiB as it is; 1 MiB reads 1.6x faster than its default 4 KiB
// (research/performance.md) and bounds how far the pcapng block scan peeks.
const bufSize = 1 << 20

// LinkTypeCustomBlock marks a frame that is a pcapng custom block, not a
// packet: Wireshark numbers custom blocks as frames, so qadiag does too.
// (0xffff is not an assigned link type.)
const LinkTypeCustomBlock layers.LinkType = 0xffff

// Frame is one captured record. Data is borrowed: it is valid only until the
// next call to Reader.Next.
type Frame struct {
	Number    uint64 // 1-based, as Wireshark counts
	Offset    int64  // byte offset of the record (pcap) or block (pcapng) in the file
	Time      time.Time
	CapLen    int // bytes captured
	OrigLen   int // bytes on the wire
	Interface int // pcapng interface index; 0 for pcap
	LinkType  layers.LinkType
	Comments  int // pcapng opt_comment options on this packet
	Data      []byte
}

// Info describes the capture as read so far.
type Info struct {
	Format     Format
	Gzip       bool
	Nanosecond bool   // classic pcap with nanosecond timestamps
	Snaplen    uint32 // classic pcap header snaplen; largest interface snaplen for pcapng
	Sections   int    // pcapng section header blocks
	Interfaces int    // pcapng interface description blocks, over all sections
	// Dropped sums pcapng interface statistics (isb_ifdrop) over interfaces:
	// packets the capturing host lost, which no analysis can see.
	Dropped uint64
	// DropsReported tells a capture that reported zero drops from one that
	// reported nothing.
	DropsReported bool
	// Secrets are the bodies of pcapng Decryption Secrets Blocks read so far
	// (from the Secrets Type field on; editcap --inject-secrets writes TLS
	// key logs there), at most maxSecrets bytes in all.
	Secrets [][]byte
}

// maxSecrets bounds the decryption secrets a Reader keeps.
const maxSecrets = 16 << 20

// Reader reads frames from a pcap or pcapng file, sniffed by magic number,
// optionally gzip-compressed. It wraps pcapgo's zero-copy readers and adds
// what they lack: the byte offset of every record, structural checks of
// pcapng block lengths, and errors that name frame and offset.
type Reader struct {
	info        Info
	secretBytes int
	cr          *countingReader
	fileCR      *countingReader // bytes read from the file itself (compressed, for gzip)
	br          *bufio.Reader
	pcap        *pcapgo.Reader
	records     pcapRecords
	ng          *pcapgo.NgReader
	next        uint64 // number of the next frame
	offset      int64  // pcap: offset of the next record
	ngSection   bool   // pcapng: a section header has been read
	ngBig       bool   // pcapng: the current section is big-endian (ng32, ng16)
	err         error  // sticky: once reading failed, Next returns it again
	link        layers.LinkType
	drops       map[int]uint64 // pcapng: last isb_ifdrop per interface of the section
	// pcapng: custom blocks found ahead of the next packet block, each
	// returned as a frame before it, and that packet block's offset.
	custom    []customBlock
	packetOff int64
	scanned   bool
	// nextEPB is the enhanced packet block scanBlocks found at the current
	// position, when readEPB can read it instead of pcapgo; ifaces caches
	// the section's interfaces for it.
	nextEPB []byte
	ifaces  []ngIface
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// NewReader sniffs the format of r and reads its file header. A file that is
// neither pcap nor pcapng gives an *Error wrapping ErrNotCapture; an empty
// file too.
func NewReader(r io.Reader) (*Reader, error) {
	return NewReaderWith(r, ReaderOptions{})
}

// ReaderOptions tune NewReaderWith.
type ReaderOptions struct {
	// InPlace lets a Reader over a file opened by OpenFile, when the file is
	// mapped and is an uncompressed classic pcap, hand out each frame's
	// bytes where they lie in the mapping instead of copying them through
	// its buffer first: a copy of the whole file less, and frames stay
	// valid for at least 8 MiB of reading after their own. The price: a
	// file that another process truncates while it is read then faults
	// wherever a frame's bytes are touched, not inside the Reader, so the
	// caller must run its whole reading loop under debug.SetPanicOnFault
	// and turn a recovered fault into an error with FaultError
	// (analyze.ReadWith does).
	InPlace bool
}

// NewReaderWith is NewReader with options.
func NewReaderWith(r io.Reader, opts ReaderOptions) (*Reader, error) {
	rd := &Reader{next: 1, drops: map[int]uint64{}}
	rd.cr = &countingReader{r: r}
	rd.fileCR = rd.cr
	rd.br = bufio.NewReaderSize(rd.cr, bufSize)
	magic, err := rd.br.Peek(4)
	if len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, zerr := gzip.NewReader(rd.br)
		if zerr != nil {
			return nil, &Error{Frame: 1, What: "gzip header", Err: fmt.Errorf("%w: %v", ErrCorrupt, zerr)}
		}
		// Offsets count bytes of the decompressed stream from here on.
		rd.info.Gzip = true
		// A new counter for the decompressed bytes: the gzip reader reads
		// the first buffer, which reads the first counter, so that one
		// must stay as it is (overwriting it in place made the two read
		// from each other without end once the first buffer ran dry).
		rd.cr = &countingReader{r: zr}
		rd.br = bufio.NewReaderSize(rd.cr, bufSize)
		magic, err = rd.br.Peek(4)
	}
	if err != nil {
		return nil, &Error{Frame: 1, What: "file header", Err: fmt.Errorf("%w: %d bytes", ErrNotCapture, len(magic))}
	}
	switch binary.LittleEndian.Uint32(magic) {
	case 0xa1b2c3d4, 0xd4c3b2a1, 0xa1b23c4d, 0x4d3cb2a1:
		if err := rd.openPcap(); err != nil {
			return rd, err
		}
		if m, ok := r.(*mapped); ok && opts.InPlace && !rd.info.Gzip {
			// The buffer has copied the start of the file; records are
			// sliced from the mapping from the first one on.
			rd.records.inPlace = m
			rd.records.win, rd.records.used, rd.records.readErr = m.data[rd.offset:], 0, io.EOF
		}
		return rd, nil
	case 0x0a0d0d0a:
		return rd, rd.openPcapNG()
	}
	return nil, &Error{Frame: 1, What: "file header", Err: fmt.Errorf("%w: magic % x", ErrNotCapture, magic)}
}

func (r *Reader) openPcap() error {
	r.info.Format = FormatPcap
	hdr, _ := r.br.Peek(24)
	r.info.Nanosecond = bytes.Equal(hdr[:4], []byte{0x4d, 0x3c, 0xb2, 0xa1}) || bytes.Equal(hdr[:4], []byte{0xa1, 0xb2, 0x3c, 0x4d})
	if len(hdr) == 24 {
		// pcapgo accepts only version 2.4; libpcap and Wireshark read any
		// 2.x (2.0 and 2.2 files exist). The header is rewritten in place, in
		// the read buffer, to 2.4 before pcapgo reads it; the file is untouched.
		order := binary.ByteOrder(binary.LittleEndian)
		if hdr[0] == 0xa1 {
			order = binary.BigEndian
		}
		if order.Uint16(hdr[4:]) == 2 && order.Uint16(hdr[6:]) != 4 {
			order.PutUint16(hdr[6:], 4)
		}
	}
	bigEndian := len(hdr) > 0 && hdr[0] == 0xa1
	pr, err := pcapgo.NewReader(r.br)
	if err != nil {
		return &Error{Frame: 1, What: "pcap file header", Err: classify(err)}
	}
	r.pcap = pr
	r.records = pcapRecords{big: bigEndian, nanos: r.info.Nanosecond, snaplen: pr.Snaplen()}
	r.link = pr.LinkType()
	r.info.Snaplen = pr.Snaplen()
	r.offset = 24
	return nil
}

func (r *Reader) openPcapNG() error {
	r.info.Format = FormatPcapNG
	off, err := r.scanBlocks()
	if err != nil {
		return err
	}
	r.packetOff, r.scanned = off, true
	opts := pcapgo.NgReaderOptions{
		WantMixedLinkType:  true,
		StatisticsCallback: r.onStatistics,
		SectionEndCallback: func([]pcapgo.NgInterface, pcapgo.NgSectionInfo) { r.endSection() },
	}
	ng, err := pcapgo.NewNgReader(r.br, opts)
	if err != nil {
		return &Error{Frame: 1, What: "pcapng section header block", Err: classify(err)}
	}
	r.ng = ng
	return nil
}

// InPlace reports whether frames are read in place from a mapped file
// (ReaderOptions.InPlace took effect): then a frame's Data stays valid
// after later calls to Next (the pages behind the reader are released, and
// read back from the page cache if touched again), and a caller may read
// frames ahead of analysing them.
func (r *Reader) InPlace() bool { return r.records.inPlace != nil }

// FileOffset is how far into the file reading has got, in bytes of the
// file as stored (compressed, for a gzip'd capture): for progress, not for
// naming frames (Frame.Offset does that).
func (r *Reader) FileOffset() int64 {
	if r.records.inPlace != nil {
		return r.offset
	}
	return r.fileCR.n
}

// SecretBlocks is len(Info().Secrets), cheaply: callers poll it per frame.
func (r *Reader) SecretBlocks() int { return len(r.info.Secrets) }

// Info returns what is known about the capture so far; interface counts and
// drops grow as blocks are read.
func (r *Reader) Info() Info { return r.info }

// LinkType is the link type of a classic pcap file; for pcapng each frame
// carries its own.
func (r *Reader) LinkType() layers.LinkType { return r.link }

// Next reads the next frame into f, reusing f's storage. It returns io.EOF at
// the clean end of the capture and an *Error when the file is damaged; after
// an error, every later call returns the same error.
func (r *Reader) Next(f *Frame) error {
	if r.err != nil {
		return r.err
	}
	var err error
	if r.pcap != nil {
		err = r.nextPcap(f)
	} else {
		err = r.nextPcapNG(f)
	}
	if err != nil {
		r.err = err
		return err
	}
	f.Number = r.next
	r.next++
	return nil
}

func (r *Reader) nextPcap(f *Frame) error {
	if err := r.nextRecord(f); err != nil {
		if err == io.EOF {
			return err
		}
		return &Error{Frame: r.next, Offset: r.offset, What: "pcap record", Err: classify(err)}
	}
	f.Offset = r.offset
	r.offset += 16 + int64(f.CapLen)
	if m := r.records.inPlace; m != nil {
		m.releaseBefore(f.Offset) // keeps the frame's own pages
	}
	f.Interface = 0
	f.LinkType = r.link
	f.Comments = 0
	return nil
}

func (r *Reader) nextPcapNG(f *Frame) error {
	if !r.scanned {
		off, err := r.scanBlocks()
		if err != nil {
			return err
		}
		r.packetOff, r.scanned = off, true
	}
	if len(r.custom) > 0 {
		cb := r.custom[0]
		r.custom = r.custom[1:]
		*f = Frame{Offset: cb.offset, Time: f.Time, CapLen: cb.length, OrigLen: cb.length, LinkType: LinkTypeCustomBlock}
		return nil
	}
	r.scanned = false
	off := r.packetOff
	if b := r.nextEPB; b != nil {
		r.nextEPB = nil
		if !slowEPB && r.readEPB(f, b) {
			f.Offset = off
			return nil
		}
	}
	data, ci, opts, err := r.ng.ZeroCopyReadPacketDataWithOptions()
	if err != nil {
		if err == io.EOF {
			return io.EOF
		}
		return &Error{Frame: r.next, Offset: off, What: "pcapng block", Err: classify(err)}
	}
	f.Offset = off
	f.Time = ci.Timestamp
	f.CapLen = ci.CaptureLength
	f.OrigLen = ci.Length
	f.Interface = ci.InterfaceIndex
	f.LinkType = r.link
	if len(ci.AncillaryData) > 0 {
		if lt, ok := ci.AncillaryData[0].(layers.LinkType); ok {
			f.LinkType = lt
		}
	}
	f.Comments = len(opts.Comments)
	f.Data = data
	return nil
}

// classify wraps a pcapgo error with the sentinel that describes it, keeping
// the original message.
func classify(err error) error {
	switch {
	case errors.Is(err, ErrCorrupt), errors.Is(err, ErrTruncated), errors.Is(err, ErrNotCapture):
		return err
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%w: %w", ErrTruncated, io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("%w: %v", ErrCorrupt, err)
}

func (r *Reader) onStatistics(iface int, s pcapgo.NgInterfaceStatistics) {
	if s.PacketsDropped == pcapgo.NgNoValue64 {
		return
	}
	r.info.DropsReported = true
	// isb_ifdrop counts from the start of capture: add only the increase
	// since the interface's previous statistics block.
	if prev := r.drops[iface]; s.PacketsDropped > prev {
		r.info.Dropped += s.PacketsDropped - prev
	}
	r.drops[iface] = s.PacketsDropped
}

func (r *Reader) endSection() {
	clear(r.drops)
	r.ifaces = r.ifaces[:0] // a new section has interfaces of its own
}
