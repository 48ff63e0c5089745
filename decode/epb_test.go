package decode

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// readAll reads every frame of b, with readEPB or with pcapgo alone, and
// describes each frame and the end in one string.
func readAll(t testing.TB, b []byte, slow bool) string {
	old := slowEPB
	slowEPB = slow
	defer func() { slowEPB = old }()
	var out bytes.Buffer
	r, err := NewReader(bytes.NewReader(b))
	if err != nil {
		return fmt.Sprintf("open: %v", err)
	}
	var f Frame
	for i := 0; ; i++ {
		if i > len(b)/16 {
			// Every block takes at least 16 bytes of the file: a reader
			// that returns more frames than that is not moving on.
			t.Fatalf("frame %d from %d bytes: the reader does not advance", i+1, len(b))
		}
		if err := r.Next(&f); err != nil {
			fmt.Fprintf(&out, "end: %v", err)
			break
		}
		fmt.Fprintf(&out, "%d %d %s %d %d %d %d %d %x\n", f.Number, f.Offset, f.Time.Format("2006-01-02T15:04:05.000000000"),
			f.CapLen, f.OrigLen, f.Interface, f.LinkType, f.Comments, f.Data)
	}
	fmt.Fprintf(&out, "\n%+v", r.Info())
	return out.String()
}

// TestEPBMatchesPcapgo reads every pcapng capture of the corpus and the
// repository twice, enhanced packet blocks read by readEPB and by pcapgo:
// every frame (time, lengths, interface, link type, comments, bytes), where
// reading ends and the capture's figures must be the same.
func TestEPBMatchesPcapgo(t *testing.T) {
	var files []string
	for _, g := range []string{"../../shared/corpus/*.pcapng*", "../testdata/pcaps/*.pcapng", "../testdata/pcaps/*/*.pcapng"} {
		m, _ := filepath.Glob(g)
		files = append(files, m...)
	}
	if len(files) < 10 {
		t.Fatalf("only %d pcapng files found", len(files))
	}
	for _, path := range files {
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if fast, slow := readAll(t, b, false), readAll(t, b, true); fast != slow {
			t.Errorf("%s: readEPB and pcapgo differ:\n%s\n--- pcapgo:\n%s", path, firstDiff(fast, slow), firstDiff(slow, fast))
		}
	}
	t.Logf("%d pcapng files compared", len(files))
}

func firstDiff(a, b string) string {
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] != b[i] {
			s := max(0, i-200)
			return a[s:min(len(a), i+200)]
		}
	}
	return a[min(len(a), len(b)):]
}

// FuzzEPB compares readEPB with pcapgo on mutated pcapng files. Seeds are
// the repository's pcapng captures cut to their first 4 KiB (a section
// header, an interface and a few packet blocks, the last one cut short):
// the fuzzer minimises each input that finds new code byte by byte, and on
// whole captures of tens of KiB that took it its whole run.
func FuzzEPB(f *testing.F) {
	for _, g := range []string{"../testdata/pcaps/*.pcapng", "../testdata/pcaps/*/*.pcapng"} {
		m, _ := filepath.Glob(g)
		for _, path := range m {
			if b, err := os.ReadFile(path); err == nil {
				f.Add(b[:min(len(b), 4<<10)])
			}
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if fast, slow := readAll(t, b, false), readAll(t, b, true); fast != slow {
			t.Fatalf("readEPB and pcapgo differ:\n%s\n--- pcapgo:\n%s", firstDiff(fast, slow), firstDiff(slow, fast))
		}
	})
}
