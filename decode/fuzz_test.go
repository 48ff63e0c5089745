package decode_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gopacket/gopacket/layers"

	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/decode/decodetest"
)

// corpusSeeds returns the first 4 KiB of up to n of the smallest corpus
// captures; none when the corpus is absent.
func corpusSeeds(n int) [][]byte {
	paths, _ := filepath.Glob(filepath.Join(corpusDir, "*.pcap*"))
	type sized struct {
		path string
		size int64
	}
	var files []sized
	for _, p := range paths {
		if st, err := os.Stat(p); err == nil {
			files = append(files, sized{p, st.Size()})
		}
	}
	slices.SortFunc(files, func(a, b sized) int { return int(a.size - b.size) })
	var seeds [][]byte
	for _, f := range files[:min(n, len(files))] {
		b, err := os.ReadFile(f.path)
		if err != nil {
			continue
		}
		seeds = append(seeds, b[:min(len(b), 4096)])
	}
	return seeds
}

func FuzzReader(f *testing.F) {
	for _, s := range corpusSeeds(20) {
		f.Add(s)
	}
	frames := sampleFrames()
	ng2, _ := twoInterfaces()
	f.Add(buildPcap(f, false, frames))
	f.Add(buildPcap(f, true, frames))
	f.Add(buildPcapng(f, frames))
	f.Add(ng2)
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decode.NewReader(bytes.NewReader(b))
		if err != nil {
			var de *decode.Error
			if !errors.As(err, &de) || de.Frame != 1 {
				t.Fatalf("NewReader: %T %v", err, err)
			}
			return
		}
		gz := len(b) >= 2 && b[0] == 0x1f && b[1] == 0x8b
		var fr decode.Frame
		prev := int64(-1)
		for i := uint64(1); i <= 10000; i++ {
			err := r.Next(&fr)
			if err == io.EOF {
				return
			}
			if err != nil {
				var de *decode.Error
				if !errors.As(err, &de) {
					t.Fatalf("Next: %T %v is not *decode.Error", err, err)
				}
				if de.Frame != i {
					t.Fatalf("error names frame %d, want %d: %v", de.Frame, i, err)
				}
				return
			}
			if fr.Number != i {
				t.Fatalf("frame Number %d, want %d", fr.Number, i)
			}
			if fr.Offset <= prev {
				t.Fatalf("frame %d offset %d not after %d", i, fr.Offset, prev)
			}
			if !gz && fr.Offset >= int64(len(b)) {
				t.Fatalf("frame %d offset %d beyond input of %d bytes", i, fr.Offset, len(b))
			}
			prev = fr.Offset
		}
	})
}

func FuzzPacket(f *testing.F) {
	eth := uint16(layers.LinkTypeEthernet)
	raw := uint16(layers.LinkTypeRaw)
	frag1, frag2, _ := fragments()
	for _, fr := range sampleFrames() {
		f.Add(fr, eth)
	}
	f.Add(synFrame(), eth)
	f.Add(vlanFrame(), eth)
	f.Add(udp6Frame(), eth)
	f.Add(frag1, raw)
	f.Add(frag2, raw)
	f.Add(decodetest.UDP{Link: decodetest.Link{Type: decodetest.LinkSLL2}, Src: cli4, Dst: srv4}.Frame(), uint16(layers.LinkTypeLinuxSLL2))
	f.Add(decodetest.ICMPUnreachable{Src: srv4.Addr(), Dst: cli4.Addr(), Code: 3, Quote: decodetest.UDP{Src: cli4, Dst: srv4}.AppendPacket(nil)}.Frame(), eth)
	f.Add(decodetest.ICMPUnreachable{Src: srv6.Addr(), Dst: cli6.Addr(), TooBig: true, MTU: 1280, Quote: decodetest.TCP{Src: cli6, Dst: srv6, WScale: -1}.AppendPacket(nil)}.Frame(), eth)
	f.Add([]byte{0, 0, 0, 0}, uint16(239))
	f.Add([]byte{2, 0, 0, 0, 0x45}, uint16(layers.LinkTypeNull))
	d := decode.NewDecoder()
	f.Fuzz(func(t *testing.T, b []byte, lt uint16) {
		var p decode.Packet
		fr := decode.Frame{CapLen: len(b), OrigLen: len(b), LinkType: layers.LinkType(lt), Data: b}
		d.Decode(&fr, &p)
		if p.Transport && p.Proto != decode.ProtoTCP && p.Proto != decode.ProtoUDP {
			t.Fatalf("Transport with Proto %d", p.Proto)
		}
	})
}

// FuzzInPlace reads the same bytes from a mapped file, frames sliced in
// place (ReaderOptions.InPlace), and as a stream through the read buffer:
// every frame and the error that ends reading must be the same.
func FuzzInPlace(f *testing.F) {
	for _, s := range corpusSeeds(20) {
		f.Add(s)
	}
	frames := sampleFrames()
	f.Add(buildPcap(f, false, frames))
	f.Add(buildPcap(f, true, frames))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		path := filepath.Join(dir, "c.pcap")
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		rc, err := decode.OpenFile(path)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		mapped, err1 := decode.NewReaderWith(rc, decode.ReaderOptions{InPlace: true})
		stream, err2 := decode.NewReader(bytes.NewReader(b))
		if fmt.Sprint(err1) != fmt.Sprint(err2) {
			t.Fatalf("NewReader: in place %v, stream %v", err1, err2)
		}
		if err1 != nil {
			return
		}
		var a, s decode.Frame
		// The same end: clean, or the same frame, offset and kind of
		// damage (the in-place message may add how much of a cut record is
		// in the file).
		same := func(x, y error) bool {
			var dx, dy *decode.Error
			if !errors.As(x, &dx) || !errors.As(y, &dy) {
				return x == y
			}
			for _, kind := range []error{decode.ErrTruncated, decode.ErrCorrupt, decode.ErrNotCapture} {
				if errors.Is(x, kind) != errors.Is(y, kind) {
					return false
				}
			}
			return dx.Frame == dy.Frame && dx.Offset == dy.Offset
		}
		for i := 0; i < 10000; i++ {
			ea, es := mapped.Next(&a), stream.Next(&s)
			if !same(ea, es) {
				t.Fatalf("frame %d: in place %v, stream %v", i+1, ea, es)
			}
			if ea != nil {
				return
			}
			if a.Number != s.Number || a.Offset != s.Offset || !a.Time.Equal(s.Time) || a.CapLen != s.CapLen ||
				a.OrigLen != s.OrigLen || a.LinkType != s.LinkType || !bytes.Equal(a.Data, s.Data) {
				t.Fatalf("frame %d differs: in place %+v, stream %+v", i+1, a, s)
			}
		}
	})
}
