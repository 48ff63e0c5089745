package decodetest

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// Format is a capture file format.
type Format uint8

// Capture file formats.
const (
	FormatPcap   Format = iota // libpcap, draft-ietf-opsawg-pcap
	FormatPcapng               // draft-ietf-opsawg-pcapng
)

// writerBufferSize is the buffer in front of the destination: large writes
// keep a multi-gigabyte generator at disk speed.
const writerBufferSize = 1 << 20

// defaultSnapLen is the snapshot length written into headers.
const defaultSnapLen = 262144

// WriterOptions chooses the container of a Writer.
type WriterOptions struct {
	// Format is pcap or pcapng.
	Format Format
	// LinkType is the LINKTYPE_ of every frame.
	LinkType layers.LinkType
	// Nanos writes nanosecond timestamps (pcap magic 0xa1b23c4d, pcapng
	// if_tsresol 9) instead of microseconds.
	Nanos bool
}

// Writer writes frames to a pcap or pcapng file through a 1 MiB buffer.
// It encodes the blocks itself rather than through pcapgo, whose NgWriter
// always declares nanosecond resolution (if_tsresol 9). Call Flush when
// done.
type Writer struct {
	w       *bufio.Writer
	opts    WriterOptions
	hdr     [32]byte
	bytes   int64
	packets int64
}

// NewWriter writes the file header (pcap) or section header and interface
// description blocks (pcapng) and returns the Writer.
func NewWriter(w io.Writer, opts WriterOptions) (*Writer, error) {
	wr := &Writer{w: bufio.NewWriterSize(w, writerBufferSize), opts: opts}
	var err error
	if opts.Format == FormatPcapng {
		err = wr.writeNgHeader()
	} else {
		err = wr.writePcapHeader()
	}
	if err != nil {
		return nil, fmt.Errorf("decodetest: writing capture header: %w", err)
	}
	return wr, nil
}

// NewPcapWriter returns a pcap Writer with microsecond or nanosecond timestamps.
func NewPcapWriter(w io.Writer, linkType layers.LinkType, nanos bool) (*Writer, error) {
	return NewWriter(w, WriterOptions{Format: FormatPcap, LinkType: linkType, Nanos: nanos})
}

// NewPcapngWriter returns a pcapng Writer with microsecond timestamps, the
// resolution Wireshark and pktmon write on Windows.
func NewPcapngWriter(w io.Writer, linkType layers.LinkType) (*Writer, error) {
	return NewWriter(w, WriterOptions{Format: FormatPcapng, LinkType: linkType})
}

func (w *Writer) write(b []byte) error {
	n, err := w.w.Write(b)
	w.bytes += int64(n)
	return err
}

func (w *Writer) writePcapHeader() error {
	magic := uint32(0xa1b2c3d4)
	if w.opts.Nanos {
		magic = 0xa1b23c4d
	}
	h := w.hdr[:24]
	binary.LittleEndian.PutUint32(h[0:], magic)
	binary.LittleEndian.PutUint16(h[4:], 2)
	binary.LittleEndian.PutUint16(h[6:], 4)
	clear(h[8:16]) // thiszone, sigfigs
	binary.LittleEndian.PutUint32(h[16:], defaultSnapLen)
	binary.LittleEndian.PutUint32(h[20:], uint32(w.opts.LinkType))
	return w.write(h)
}

// writeNgHeader writes a section header block with shb_userappl and an
// interface description block with if_tsresol.
func (w *Writer) writeNgHeader() error {
	app := "qadiag decodetest"
	shb := binary.LittleEndian.AppendUint32(nil, 0x0a0d0d0a)
	shb = binary.LittleEndian.AppendUint32(shb, 0) // length, patched below
	shb = binary.LittleEndian.AppendUint32(shb, 0x1a2b3c4d)
	shb = binary.LittleEndian.AppendUint16(shb, 1)
	shb = binary.LittleEndian.AppendUint16(shb, 0)
	shb = binary.LittleEndian.AppendUint64(shb, ^uint64(0)) // section length unknown
	shb = appendNgOption(shb, 4, []byte(app))               // shb_userappl
	shb = appendNgOption(shb, 0, nil)                       // opt_endofopt
	shb = endBlock(shb)

	res := byte(6)
	if w.opts.Nanos {
		res = 9
	}
	idb := binary.LittleEndian.AppendUint32(nil, 1)
	idb = binary.LittleEndian.AppendUint32(idb, 0)
	idb = binary.LittleEndian.AppendUint16(idb, uint16(w.opts.LinkType))
	idb = binary.LittleEndian.AppendUint16(idb, 0)
	idb = binary.LittleEndian.AppendUint32(idb, defaultSnapLen)
	idb = appendNgOption(idb, 9, []byte{res}) // if_tsresol
	idb = appendNgOption(idb, 0, nil)
	idb = endBlock(idb)
	if err := w.write(shb); err != nil {
		return err
	}
	return w.write(idb)
}

// appendNgOption appends a pcapng option padded to 32 bits.
func appendNgOption(dst []byte, code uint16, v []byte) []byte {
	dst = binary.LittleEndian.AppendUint16(dst, code)
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(v)))
	dst = append(dst, v...)
	return padTo4(dst, len(v))
}

// padTo4 adds the padding a field of n bytes needs to reach 32 bits.
func padTo4(dst []byte, n int) []byte {
	for i := n % 4; i != 0 && i < 4; i++ { // 4 - n%4 zeros
		dst = append(dst, 0)
	}
	return dst
}

// endBlock writes the total length into the header and the trailer.
func endBlock(b []byte) []byte {
	n := uint32(len(b) + 4)
	binary.LittleEndian.PutUint32(b[4:], n)
	return binary.LittleEndian.AppendUint32(b, n)
}

// WritePacket writes one frame captured at ts.
func (w *Writer) WritePacket(ts time.Time, frame []byte) error {
	return w.WritePacketComment(ts, frame, "")
}

// WritePacketComment writes one frame with a pcapng opt_comment; pcap
// files cannot hold the comment and drop it.
func (w *Writer) WritePacketComment(ts time.Time, frame []byte, comment string) error {
	var err error
	if w.opts.Format == FormatPcapng {
		err = w.writeEPB(ts, frame, comment)
	} else {
		err = w.writeRecord(ts, frame)
	}
	if err != nil {
		return fmt.Errorf("decodetest: writing packet %d: %w", w.packets+1, err)
	}
	w.packets++
	return nil
}

func (w *Writer) writeRecord(ts time.Time, frame []byte) error {
	frac := uint32(ts.Nanosecond() / 1000)
	if w.opts.Nanos {
		frac = uint32(ts.Nanosecond())
	}
	h := w.hdr[:16]
	binary.LittleEndian.PutUint32(h[0:], uint32(ts.Unix()))
	binary.LittleEndian.PutUint32(h[4:], frac)
	binary.LittleEndian.PutUint32(h[8:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(h[12:], uint32(len(frame)))
	if err := w.write(h); err != nil {
		return err
	}
	return w.write(frame)
}

// writeEPB writes an enhanced packet block (pcapng 4.3).
func (w *Writer) writeEPB(ts time.Time, frame []byte, comment string) error {
	units := uint64(ts.UnixMicro())
	if w.opts.Nanos {
		units = uint64(ts.UnixNano())
	}
	dataLen := (len(frame) + 3) &^ 3
	optLen := 0
	if comment != "" {
		optLen = 4 + (len(comment)+3)&^3 + 4
	}
	total := uint32(28 + dataLen + optLen + 4)
	h := w.hdr[:28]
	binary.LittleEndian.PutUint32(h[0:], 6)
	binary.LittleEndian.PutUint32(h[4:], total)
	binary.LittleEndian.PutUint32(h[8:], 0) // interface 0
	binary.LittleEndian.PutUint32(h[12:], uint32(units>>32))
	binary.LittleEndian.PutUint32(h[16:], uint32(units))
	binary.LittleEndian.PutUint32(h[20:], uint32(len(frame)))
	binary.LittleEndian.PutUint32(h[24:], uint32(len(frame)))
	if err := w.write(h); err != nil {
		return err
	}
	if err := w.write(frame); err != nil {
		return err
	}
	if err := w.write(zeros[:dataLen-len(frame)]); err != nil {
		return err
	}
	if comment != "" {
		opt := appendNgOption(w.hdr[:0], 1, []byte(comment))
		opt = appendNgOption(opt, 0, nil)
		if err := w.write(opt); err != nil {
			return err
		}
	}
	binary.LittleEndian.PutUint32(w.hdr[:4], total)
	return w.write(w.hdr[:4])
}

// zeros pads blocks to 32 bits.
var zeros [4]byte

// Flush writes buffered data to the destination.
func (w *Writer) Flush() error {
	if err := w.w.Flush(); err != nil {
		return fmt.Errorf("decodetest: flushing capture: %w", err)
	}
	return nil
}

// Bytes returns the number of file bytes written so far, buffered or not.
func (w *Writer) Bytes() int64 { return w.bytes }

// Packets returns the number of frames written so far.
func (w *Writer) Packets() int64 { return w.packets }
