package decode_test

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/decode/decodetest"
)

const corpusDir = "../../shared/corpus"

var t0 = time.Date(2024, 3, 1, 12, 0, 0, 123456789, time.UTC)

// sampleFrames returns a few Ethernet frames of different sizes.
func sampleFrames() [][]byte {
	c := netip.MustParseAddrPort("192.0.2.1:40000")
	s := netip.MustParseAddrPort("198.51.100.7:443")
	c6 := netip.MustParseAddrPort("[2001:db8::1]:5353")
	s6 := netip.MustParseAddrPort("[2001:db8::2]:53")
	return [][]byte{
		decodetest.TCP{Src: c, Dst: s, Seq: 1, Flags: decodetest.FlagSYN, Window: 64240, MSS: 1460, WScale: 7, SACKPerm: true}.Frame(),
		decodetest.UDP{Src: c6, Dst: s6, Payload: []byte("hello")}.Frame(),
		decodetest.TCP{Src: c, Dst: s, Seq: 2, Ack: 9, Flags: decodetest.FlagACK | decodetest.FlagPSH, WScale: -1, Payload: bytes.Repeat([]byte{'x'}, 301)}.Frame(),
		decodetest.UDP{Link: decodetest.Link{Pad: true}, Src: c, Dst: s, Payload: []byte{1}}.Frame(),
	}
}

// buildPcap writes frames into an in-memory classic pcap file.
func buildPcap(t testing.TB, nanos bool, frames [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := decodetest.NewPcapWriter(&buf, layers.LinkTypeEthernet, nanos)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WritePacket(t0.Add(time.Duration(i)*time.Millisecond), f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// buildPcapng writes frames into an in-memory single-interface pcapng file.
func buildPcapng(t testing.TB, frames [][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := decodetest.NewPcapngWriter(&buf, layers.LinkTypeEthernet)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range frames {
		if err := w.WritePacket(t0.Add(time.Duration(i)*time.Millisecond), f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// ngBlock appends a little-endian pcapng block: type, length, body padded to
// 4 bytes, trailing length.
func ngBlock(dst []byte, typ uint32, body []byte) []byte {
	n := 12 + (len(body)+3)&^3
	dst = binary.LittleEndian.AppendUint32(dst, typ)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(n))
	dst = append(dst, body...)
	for i := len(body); i%4 != 0; i++ {
		dst = append(dst, 0)
	}
	return binary.LittleEndian.AppendUint32(dst, uint32(n))
}

func ngSHB(dst []byte) []byte {
	b := binary.LittleEndian.AppendUint32(nil, 0x1a2b3c4d)
	b = binary.LittleEndian.AppendUint16(b, 1)
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint64(b, ^uint64(0))
	return ngBlock(dst, 0x0a0d0d0a, b)
}

func ngIDB(dst []byte, lt layers.LinkType) []byte {
	b := binary.LittleEndian.AppendUint16(nil, uint16(lt))
	b = binary.LittleEndian.AppendUint16(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	return ngBlock(dst, 1, b)
}

func ngEPB(dst []byte, iface uint32, ts time.Time, frame []byte) []byte {
	us := uint64(ts.UnixMicro())
	b := binary.LittleEndian.AppendUint32(nil, iface)
	b = binary.LittleEndian.AppendUint32(b, uint32(us>>32))
	b = binary.LittleEndian.AppendUint32(b, uint32(us))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(frame)))
	b = append(b, frame...)
	return ngBlock(dst, 6, b)
}

type wantFrame struct {
	offset  int64
	caplen  int
	iface   int
	link    layers.LinkType
	time    time.Time
	dataLen int
}

// twoInterfaces is a pcapng file with an Ethernet and a raw-IP interface,
// and the frames expected from it.
func twoInterfaces() ([]byte, []wantFrame) {
	c := netip.MustParseAddrPort("10.0.0.1:1000")
	s := netip.MustParseAddrPort("10.0.0.2:53")
	eth := decodetest.UDP{Src: c, Dst: s, Payload: []byte("abc")}.Frame()
	raw := decodetest.UDP{Link: decodetest.Link{Type: decodetest.LinkRaw}, Src: c, Dst: s, Payload: []byte("defgh")}.Frame()
	b := ngSHB(nil)
	b = ngIDB(b, layers.LinkTypeEthernet)
	b = ngIDB(b, layers.LinkTypeRaw)
	var want []wantFrame
	for i, fr := range []struct {
		iface uint32
		data  []byte
	}{{0, eth}, {1, raw}, {0, eth}, {1, raw}} {
		lt := layers.LinkTypeEthernet
		if fr.iface == 1 {
			lt = layers.LinkTypeRaw
		}
		ts := t0.Add(time.Duration(i) * time.Second).Truncate(time.Microsecond)
		want = append(want, wantFrame{offset: int64(len(b)), caplen: len(fr.data), iface: int(fr.iface), link: lt, time: ts, dataLen: len(fr.data)})
		b = ngEPB(b, fr.iface, ts, fr.data)
	}
	return b, want
}

func pcapWant(frames [][]byte, nanos bool) []wantFrame {
	var want []wantFrame
	off := int64(24)
	for i, f := range frames {
		ts := t0.Add(time.Duration(i) * time.Millisecond)
		if !nanos {
			ts = ts.Truncate(time.Microsecond)
		}
		want = append(want, wantFrame{offset: off, caplen: len(f), link: layers.LinkTypeEthernet, time: ts, dataLen: len(f)})
		off += 16 + int64(len(f))
	}
	return want
}

// ngSingleWant computes EPB offsets of a file from buildPcapng by walking its
// blocks.
func ngEPBOffsets(b []byte) []int64 {
	var offs []int64
	for off := 0; off+12 <= len(b); {
		typ := binary.LittleEndian.Uint32(b[off:])
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		if typ == 6 {
			offs = append(offs, int64(off))
		}
		if n < 12 {
			break
		}
		off += n
	}
	return offs
}

func TestReaderFrames(t *testing.T) {
	frames := sampleFrames()
	ng2, ng2Want := twoInterfaces()
	ng1 := buildPcapng(t, frames)
	var ng1Want []wantFrame
	for i, off := range ngEPBOffsets(ng1) {
		ng1Want = append(ng1Want, wantFrame{offset: off, caplen: len(frames[i]), link: layers.LinkTypeEthernet,
			time: t0.Add(time.Duration(i) * time.Millisecond).Truncate(time.Microsecond), dataLen: len(frames[i])})
	}
	tests := []struct {
		name   string
		file   []byte
		format decode.Format
		nanos  bool
		want   []wantFrame
	}{
		{"pcap-us-le", buildPcap(t, false, frames), decode.FormatPcap, false, pcapWant(frames, false)},
		{"pcap-ns-le", buildPcap(t, true, frames), decode.FormatPcap, true, pcapWant(frames, true)},
		{"pcapng-one-interface", ng1, decode.FormatPcapNG, false, ng1Want},
		{"pcapng-eth-and-raw", ng2, decode.FormatPcapNG, false, ng2Want},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := decode.NewReader(bytes.NewReader(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			var f decode.Frame
			n := 0
			for {
				err := r.Next(&f)
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("frame %d: %v", n+1, err)
				}
				if n >= len(tt.want) {
					t.Fatalf("extra frame %d", f.Number)
				}
				w := tt.want[n]
				n++
				if f.Number != uint64(n) {
					t.Errorf("Number = %d, want %d", f.Number, n)
				}
				if f.Offset != w.offset {
					t.Errorf("frame %d: Offset = %d, want %d", n, f.Offset, w.offset)
				}
				if f.CapLen != w.caplen || f.OrigLen != w.caplen || len(f.Data) != w.dataLen {
					t.Errorf("frame %d: CapLen %d OrigLen %d len(Data) %d, want %d", n, f.CapLen, f.OrigLen, len(f.Data), w.caplen)
				}
				if f.Interface != w.iface || f.LinkType != w.link {
					t.Errorf("frame %d: Interface %d LinkType %v, want %d %v", n, f.Interface, f.LinkType, w.iface, w.link)
				}
				if !f.Time.Equal(w.time) {
					t.Errorf("frame %d: Time %v, want %v", n, f.Time, w.time)
				}
			}
			if n != len(tt.want) {
				t.Errorf("read %d frames, want %d", n, len(tt.want))
			}
			info := r.Info()
			if info.Format != tt.format || info.Nanosecond != tt.nanos {
				t.Errorf("Info = %+v", info)
			}
			if err := r.Next(&f); err != io.EOF {
				t.Errorf("Next after EOF = %v, want io.EOF", err)
			}
		})
	}
}

func TestReaderErrors(t *testing.T) {
	frames := sampleFrames()
	pcap := buildPcap(t, false, frames)
	ng, _ := twoInterfaces()
	epb := ngEPBOffsets(ng) // offsets of the four EPBs
	shbLen := int(binary.LittleEndian.Uint32(ng[4:]))
	patch := func(b []byte, off int, v uint32) []byte {
		b = bytes.Clone(b)
		binary.LittleEndian.PutUint32(b[off:], v)
		return b
	}
	epbLen := func(i int) int { return int(binary.LittleEndian.Uint32(ng[epb[i]+4:])) }
	tests := []struct {
		name     string
		file     []byte
		sentinel error
		atOpen   bool // NewReader fails
		frame    uint64
		offset   int64
		framesOK int
	}{
		{name: "not-a-capture", file: []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), sentinel: decode.ErrNotCapture, atOpen: true, frame: 1},
		{name: "empty", file: nil, sentinel: decode.ErrNotCapture, atOpen: true, frame: 1},
		{name: "three-bytes", file: []byte{0xd4, 0xc3, 0xb2}, sentinel: decode.ErrNotCapture, atOpen: true, frame: 1},
		{name: "pcap-header-cut", file: pcap[:20], sentinel: decode.ErrTruncated, atOpen: true, frame: 1},
		{name: "pcap-cut-mid-record-header", file: pcap[:24+16+len(frames[0])+8], sentinel: decode.ErrTruncated,
			frame: 2, offset: int64(24 + 16 + len(frames[0])), framesOK: 1},
		{name: "pcap-cut-mid-record-data", file: pcap[:24+16+len(frames[0])+16+3], sentinel: decode.ErrTruncated,
			frame: 2, offset: int64(24 + 16 + len(frames[0])), framesOK: 1},
		{name: "pcapng-cut-mid-block", file: ng[:epb[2]+20], sentinel: decode.ErrTruncated,
			frame: 3, offset: epb[2], framesOK: 2},
		{name: "pcapng-cut-mid-block-header", file: ng[:epb[1]+5], sentinel: decode.ErrTruncated,
			frame: 2, offset: epb[1], framesOK: 1},
		{name: "pcapng-block-length-not-multiple-of-4", file: patch(ng, int(epb[1])+4, uint32(epbLen(1)+2)), sentinel: decode.ErrCorrupt,
			frame: 2, offset: epb[1], framesOK: 1},
		{name: "pcapng-block-length-below-12", file: patch(ng, int(epb[0])+4, 8), sentinel: decode.ErrCorrupt,
			atOpen: true, frame: 1, offset: epb[0]},
		{name: "pcapng-unknown-block-length-below-12", file: patch(patch(ng, int(epb[3]), 0x77), int(epb[3])+4, 8), sentinel: decode.ErrCorrupt,
			frame: 4, offset: epb[3], framesOK: 3},
		{name: "pcapng-trailing-length-mismatch", file: patch(ng, int(epb[2])+epbLen(2)-4, uint32(epbLen(2)+4)), sentinel: decode.ErrCorrupt,
			frame: 3, offset: epb[2], framesOK: 2},
		{name: "pcapng-idb-trailing-length-mismatch", file: patch(ng, shbLen+20-4, 24), sentinel: decode.ErrCorrupt,
			atOpen: true, frame: 1, offset: int64(shbLen)},
		{name: "pcapng-epb-caplen-exceeds-block", file: patch(ng, int(epb[1])+20, uint32(epbLen(1))), sentinel: decode.ErrCorrupt,
			frame: 2, offset: epb[1], framesOK: 1},
		{name: "pcapng-shb-byte-order", file: patch(ng, 8, 0x01020304), sentinel: decode.ErrCorrupt, atOpen: true, frame: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := decode.NewReader(bytes.NewReader(tt.file))
			n := 0
			if err == nil {
				if tt.atOpen {
					t.Fatal("NewReader succeeded, want error")
				}
				var f decode.Frame
				for {
					err = r.Next(&f)
					if err != nil {
						break
					}
					n++
				}
				if again := r.Next(&f); again != err {
					t.Errorf("error not sticky: %v then %v", err, again)
				}
			} else if !tt.atOpen {
				t.Fatalf("NewReader: %v", err)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("err = %v, want %v", err, tt.sentinel)
			}
			var de *decode.Error
			if !errors.As(err, &de) {
				t.Fatalf("err %T is not *decode.Error", err)
			}
			if de.Frame != tt.frame || de.Offset != tt.offset {
				t.Errorf("Frame %d Offset %d, want %d %d (%v)", de.Frame, de.Offset, tt.frame, tt.offset, err)
			}
			if n != tt.framesOK {
				t.Errorf("read %d frames before the error, want %d", n, tt.framesOK)
			}
		})
	}
}

// readAll reads a capture to its end, returning each frame's offset and the
// final error (nil at a clean end). It checks the *decode.Error contract.
func readAll(t *testing.T, b []byte) ([]int64, error) {
	t.Helper()
	r, err := decode.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	var offs []int64
	var f decode.Frame
	for {
		err := r.Next(&f)
		if err == io.EOF {
			return offs, nil
		}
		if err != nil {
			return offs, err
		}
		if f.Number != uint64(len(offs)+1) {
			t.Fatalf("frame Number %d, want %d", f.Number, len(offs)+1)
		}
		offs = append(offs, f.Offset)
	}
}

// corpusFiles returns the paths of the shared corpus captures, or skips.
func corpusFiles(t testing.TB) []string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(corpusDir, "*.pcap*"))
	if len(paths) == 0 {
		t.Skip("SKIP: no corpus at " + corpusDir)
	}
	return paths
}

func TestTruncateEveryBoundary(t *testing.T) {
	type file struct {
		name string
		b    []byte
	}
	frames := sampleFrames()
	ng2, _ := twoInterfaces()
	files := []file{
		{"built-pcap-us", buildPcap(t, false, frames)},
		{"built-pcap-ns", buildPcap(t, true, frames)},
		{"built-pcapng", buildPcapng(t, frames)},
		{"built-pcapng-two-interfaces", ng2},
	}
	if paths, _ := filepath.Glob(filepath.Join(corpusDir, "*.pcap*")); len(paths) > 0 {
		for _, p := range paths {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			if len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b {
				continue // offsets count decompressed bytes; cuts would not line up
			}
			files = append(files, file{filepath.Base(p), b})
		}
	} else {
		t.Log("SKIP corpus part: no corpus at " + corpusDir)
	}
	const maxCuts = 200
	for _, fl := range files {
		t.Run(fl.name, func(t *testing.T) {
			full, fullErr := readAll(t, fl.b)
			isPcap := len(fl.b) >= 4 && binary.LittleEndian.Uint32(fl.b) != 0x0a0d0d0a
			atRecord := map[int64]bool{24: true}
			for _, o := range full {
				atRecord[o] = true
			}
			// Cut points: every record boundary, the end of the file, and
			// ±1, ±7 around each.
			seen := map[int]bool{}
			var cuts []int
			bounds := append([]int64{0, 24}, full...)
			bounds = append(bounds, int64(len(fl.b)))
			for _, bd := range bounds {
				for _, d := range []int64{0, -1, 1, -7, 7} {
					c := int(bd + d)
					if c >= 0 && c <= len(fl.b) && !seen[c] {
						seen[c] = true
						cuts = append(cuts, c)
					}
				}
			}
			if len(cuts) > maxCuts {
				picked := make([]int, 0, maxCuts)
				for i := range maxCuts {
					picked = append(picked, cuts[i*len(cuts)/maxCuts])
				}
				cuts = picked
			}
			for _, c := range cuts {
				offs, err := readAll(t, fl.b[:c])
				if len(offs) > len(full) {
					t.Fatalf("cut %d: %d frames, full read has %d", c, len(offs), len(full))
				}
				for i, o := range offs {
					if o != full[i] {
						t.Fatalf("cut %d: frame %d at offset %d, full read has %d", c, i+1, o, full[i])
					}
				}
				if err == nil {
					// A classic pcap cut inside a record must not read as a
					// clean end.
					if isPcap && fullErr == nil && c < len(fl.b) && !atRecord[int64(c)] {
						t.Errorf("cut %d: clean end after %d frames inside a record", c, len(offs))
					}
					continue
				}
				var de *decode.Error
				if !errors.As(err, &de) {
					t.Fatalf("cut %d: error %T %v is not *decode.Error", c, err, err)
				}
				if de.Offset > int64(c) {
					t.Errorf("cut %d: error offset %d beyond the cut (%v)", c, de.Offset, err)
				}
				if de.Frame != uint64(len(offs))+1 {
					t.Errorf("cut %d: error names frame %d after %d frames read (%v)", c, de.Frame, len(offs), err)
				}
				if !errors.Is(err, decode.ErrTruncated) && !errors.Is(err, decode.ErrCorrupt) && !errors.Is(err, decode.ErrNotCapture) {
					t.Errorf("cut %d: error %v wraps no sentinel", c, err)
				}
			}
		})
	}
}

func TestCorpusReadsWithoutError(t *testing.T) {
	for _, p := range corpusFiles(t) {
		name := filepath.Base(p)
		if strings.HasPrefix(name, "corrupt-") {
			continue
		}
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		offs, err := readAll(t, b)
		if err != nil {
			t.Logf("%s: %d frames, then %v", name, len(offs), err)
		}
	}
}

// TestGzipLargerThanBuffer reads a gzip'd capture whose compressed bytes
// exceed the read buffer, whole and cut short: every frame comes out, and
// a cut file gives the frames before the cut and a truncation error (the
// compressed and decompressed readers once fed each other without end
// when the first buffer ran dry).
func TestGzipLargerThanBuffer(t *testing.T) {
	rnd := rand.New(rand.NewPCG(7, 7))
	frames := make([][]byte, 2000)
	for i := range frames {
		f := make([]byte, 1500) // random bytes: gzip cannot shrink them
		for j := range f {
			f[j] = byte(rnd.Uint32())
		}
		frames[i] = f
	}
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	if _, err := zw.Write(buildPcap(t, false, frames)); err != nil {
		t.Fatal(err)
	}
	zw.Close()
	if z.Len() < 2<<20 {
		t.Fatalf("compressed capture of %d bytes: not larger than the buffer", z.Len())
	}
	offs, err := readAll(t, z.Bytes())
	if err != nil || len(offs) != len(frames) {
		t.Fatalf("whole: %d frames, %v", len(offs), err)
	}
	offs, err = readAll(t, z.Bytes()[:z.Len()*2/3])
	if !errors.Is(err, decode.ErrTruncated) || len(offs) < len(frames)/2 || len(offs) >= len(frames) {
		t.Fatalf("cut: %d frames, %v; want most frames and ErrTruncated", len(offs), err)
	}
}
