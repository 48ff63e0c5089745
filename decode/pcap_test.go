package decode

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

// TestPcapRecordsMatchPcapgo reads every classic pcap of the corpus and the
// repository with qadiag's record loop and with pcapgo's zero-copy reader:
// the same records, bytes, lengths and times, and an error at the same
// record.
func TestPcapRecordsMatchPcapgo(t *testing.T) {
	files, _ := filepath.Glob("../../shared/corpus/*.pcap*")
	own, _ := filepath.Glob("../testdata/pcaps/*.pcap")
	files = append(files, own...)
	compared := 0
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		ours, err := NewReader(bytes.NewReader(data))
		if err != nil || ours.info.Format != FormatPcap || ours.info.Gzip {
			continue
		}
		// pcapgo reads the header rewritten to 2.4 as qadiag's reader does.
		fixed := bytes.Clone(data)
		if len(fixed) >= 8 {
			order := binary.ByteOrder(binary.LittleEndian)
			if ours.records.big {
				order = binary.BigEndian
			}
			order.PutUint16(fixed[6:], 4)
		}
		theirs, err := pcapgo.NewReader(bufio.NewReaderSize(bytes.NewReader(fixed), bufSize))
		if err != nil {
			t.Errorf("%s: pcapgo: %v", path, err)
			continue
		}
		compared++
		var f Frame
		for i := 1; ; i++ {
			err1 := ours.Next(&f)
			d2, ci, err2 := theirs.ZeroCopyReadPacketData()
			if err2 == io.ErrUnexpectedEOF || err2 == io.EOF && err1 != io.EOF {
				// pcapgo reports a record cut mid-header as a clean end in
				// some cases; qadiag names it. Both stop here.
				if err1 == nil {
					t.Errorf("%s record %d: pcapgo stopped (%v), qadiag read on", path, i, err2)
				}
				break
			}
			if (err1 != nil) != (err2 != nil) {
				t.Errorf("%s record %d: qadiag %v, pcapgo %v", path, i, err1, err2)
				break
			}
			if err1 != nil {
				break
			}
			if !bytes.Equal(f.Data, d2) || f.CapLen != ci.CaptureLength || f.OrigLen != ci.Length || !f.Time.Equal(ci.Timestamp) {
				t.Errorf("%s record %d differs: %d/%d %v vs %d/%d %v", path, i, f.CapLen, f.OrigLen, f.Time, ci.CaptureLength, ci.Length, ci.Timestamp)
				break
			}
		}
	}
	if compared == 0 {
		t.Skip("SKIP: no classic pcap files found")
	}
	t.Logf("%d pcap files compared", compared)
}

// TestPcapHugeClaimedRecord: a header whose snaplen allows gigabytes and a
// record that claims 3.3 GB in a file of a few bytes is a truncated record,
// found without allocating the claimed size (it took seconds and gigabytes
// before the reader grew the buffer with the bytes that arrive).
func TestPcapHugeClaimedRecord(t *testing.T) {
	var b []byte
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)                   // thiszone, sigfigs
	b = binary.LittleEndian.AppendUint32(b, 0xffff0000) // snaplen
	b = binary.LittleEndian.AppendUint32(b, 1)          // Ethernet
	b = append(b, make([]byte, 8)...)                   // timestamp
	b = binary.LittleEndian.AppendUint32(b, 0xc7c7c700)
	b = binary.LittleEndian.AppendUint32(b, 0xc7c7c700)
	b = append(b, "a few bytes of the record"...)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	var f Frame
	err = r.Next(&f)
	runtime.ReadMemStats(&after)
	var de *Error
	if !errors.As(err, &de) || !errors.Is(err, ErrTruncated) || de.Frame != 1 || de.Offset != 24 {
		t.Fatalf("err = %v, want a truncated record at frame 1, offset 24", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 16<<20 {
		t.Errorf("reading it allocated %d MB", grew>>20)
	}
}
