package decodetest

import (
	"bytes"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// readPacket is one frame read back from a capture.
type readPacket struct {
	TS      time.Time
	Data    []byte
	Comment string
}

func readBack(t *testing.T, b []byte, format Format) (layers.LinkType, gopacket.TimestampResolution, []readPacket) {
	t.Helper()
	var out []readPacket
	if format == FormatPcap {
		r, err := pcapgo.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		for {
			data, ci, err := r.ReadPacketData()
			if err == io.EOF {
				return r.LinkType(), r.Resolution(), out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, readPacket{TS: ci.Timestamp.UTC(), Data: data})
		}
	}
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			return r.LinkType(), r.Resolution(), out
		}
		if err != nil {
			t.Fatal(err)
		}
		p := readPacket{TS: ci.Timestamp.UTC(), Data: data}
		if len(opts.Comments) > 0 {
			p.Comment = opts.Comments[0]
		}
		out = append(out, p)
	}
}

func TestWriterRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 123456789, time.UTC)
	frames := []readPacket{
		{t0, TCP{Src: client4, Dst: server4, Flags: FlagSYN, MSS: 1460, WScale: 8}.Frame(), "syn"},
		{t0.Add(1500 * time.Nanosecond), UDP{Src: client6, Dst: server6, Payload: []byte("abc")}.Frame(), ""},
		{t0.Add(time.Hour), TCP{Src: server4, Dst: client4, Flags: FlagACK, WScale: -1, Payload: make([]byte, 1461)}.Frame(), "a comment of odd length"},
	}
	for _, format := range []Format{FormatPcap, FormatPcapng} {
		for _, nanos := range []bool{false, true} {
			for _, lt := range []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeLinuxSLL2, layers.LinkTypeRaw} {
				t.Run(fmt.Sprintf("format%d/nanos=%v/%v", format, nanos, lt), func(t *testing.T) {
					var buf bytes.Buffer
					w, err := NewWriter(&buf, WriterOptions{Format: format, LinkType: lt, Nanos: nanos})
					if err != nil {
						t.Fatal(err)
					}
					for _, f := range frames {
						if err := w.WritePacketComment(f.TS, f.Data, f.Comment); err != nil {
							t.Fatal(err)
						}
					}
					if err := w.Flush(); err != nil {
						t.Fatal(err)
					}
					if w.Bytes() != int64(buf.Len()) || w.Packets() != int64(len(frames)) {
						t.Errorf("Bytes %d Packets %d, want %d %d", w.Bytes(), w.Packets(), buf.Len(), len(frames))
					}
					gotLT, res, got := readBack(t, buf.Bytes(), format)
					want := make([]readPacket, len(frames))
					unit := time.Microsecond
					if nanos {
						unit = time.Nanosecond
					}
					for i, f := range frames {
						want[i] = readPacket{TS: f.TS.Truncate(unit), Data: f.Data}
						if format == FormatPcapng {
							want[i].Comment = f.Comment
						}
					}
					if diff := cmp.Diff(want, got); diff != "" {
						t.Errorf("read back (-want +got):\n%s", diff)
					}
					if gotLT != lt {
						t.Errorf("link type %v, want %v", gotLT, lt)
					}
					if res.ToDuration() != unit {
						t.Errorf("resolution %v, want %v", res.ToDuration(), unit)
					}
				})
			}
		}
	}
}

func TestPcapngConstructors(t *testing.T) {
	var a, b bytes.Buffer
	if _, err := NewPcapngWriter(&a, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPcapWriter(&b, layers.LinkTypeEthernet, true); err != nil {
		t.Fatal(err)
	}
	// Nothing reaches the destination before Flush.
	if a.Len() != 0 || b.Len() != 0 {
		t.Errorf("unflushed writers wrote %d and %d bytes", a.Len(), b.Len())
	}
}
