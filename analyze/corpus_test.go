package analyze

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/internal/tshark"
)

// corpusDir holds real public captures with a MANIFEST.md; it sits beside the
// repository as ../shared/corpus.
const corpusDir = "../../shared/corpus"

func corpusFiles(t *testing.T) []string {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(corpusDir, "*.pcap*"))
	if len(files) == 0 {
		t.Logf("SKIP: no corpus at %s; only the repository's own captures are checked", corpusDir)
	}
	own, _ := filepath.Glob("../testdata/pcaps/*.pcap*")
	return append(files, own...)
}

func readFile(t testing.TB, path string) (*Result, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := Read(context.Background(), f, filepath.Base(path))
	if res == nil {
		t.Fatalf("Read(%s) returned no result (err %v)", path, err)
	}
	return res, err
}

// TestCorpusReads reads every corpus capture: no panic, a result, and an
// error only for the files whose name says they are damaged, always a
// *decode.Error that names frame and offset.
func TestCorpusReads(t *testing.T) {
	for _, path := range corpusFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			res, err := readFile(t, path)
			if err != nil {
				var de *decode.Error
				if !errors.As(err, &de) {
					t.Fatalf("error %v is not a *decode.Error", err)
				}
				if !strings.HasPrefix(name, "corrupt-") && !strings.HasPrefix(name, "damaged-") {
					t.Errorf("well-formed capture gave error: %v", err)
				}
				if de.Frame != res.Capture.Packets+1 {
					t.Errorf("error names frame %d, but %d frames were read", de.Frame, res.Capture.Packets)
				}
			}
			for i, f := range res.Flows {
				if f.ID != i+1 || f.Packets() == 0 || f.FirstFrame() > f.LastFrame() {
					t.Errorf("flow %d: id %d packets %d frames %d-%d", i, f.ID, f.Packets(), f.FirstFrame(), f.LastFrame())
				}
			}
		})
	}
}

// tsharkExceptions lists corpus files where qadiag and tshark legitimately
// count conversations differently, with the reason.
var tsharkExceptions = map[string]string{
	"corrupt-fuzz-nsec-null.pcap": "record 1 claims 524501 captured bytes of a 197-byte packet in a file of 197 bytes after the header; " +
		"Wireshark swaps the two lengths (an old AIX tcpdump quirk) and shows one cut-short frame, qadiag reports the record corrupt at frame 1",
}

// TestCorpusAgainstTshark checks, per corpus capture, the frame count and
// for every TCP and UDP conversation the frames and bytes against tshark.
func TestCorpusAgainstTshark(t *testing.T) {
	tshark.Require(t)
	if testing.Short() {
		t.Skip("SKIP: -short: differential corpus test against tshark not run")
	}
	for _, path := range corpusFiles(t) {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if why, ok := tsharkExceptions[name]; ok {
				t.Skip("SKIP: " + why)
			}
			res, _ := readFile(t, path)
			frames := tshark.Fields(t, path, "", "frame.number")
			if want := uint64(len(frames)); res.Capture.Packets != want {
				t.Errorf("packets: qadiag %d, tshark %d", res.Capture.Packets, want)
			}
			convs := tshark.Conversations(t, path)
			for _, proto := range []string{"tcp", "udp"} {
				compareConversations(t, res, proto, convs[proto])
			}
		})
	}
}

type convTotals struct{ frames, bytes uint64 }

// compareConversations checks every conversation of tshark's table against
// the flows with the same address pair (qadiag may split a pair into several
// flows where the port pair was reused): frames exactly, bytes as exactly as
// tshark prints them.
func compareConversations(t *testing.T, res *Result, proto string, convs []tshark.Conversation) {
	t.Helper()
	ours := map[string]convTotals{}
	for _, f := range res.Flows {
		if (proto == "tcp") != (f.Proto == decode.ProtoTCP) {
			continue
		}
		k := tshark.Key(endpoint(f.Client), endpoint(f.Server))
		c := ours[k]
		c.frames += f.Packets()
		c.bytes += f.Bytes()
		ours[k] = c
	}
	theirs := map[string]tshark.Conversation{}
	for _, c := range convs {
		k := tshark.Key(c.A, c.B)
		if prev, ok := theirs[k]; ok {
			c = prev.Merge(c)
		}
		theirs[k] = c
	}
	for k, want := range theirs {
		got := ours[k]
		if got.frames != want.Frames || !want.BytesMatch(got.bytes) {
			t.Errorf("%s %s: qadiag %d frames %d bytes, tshark %d frames %d±%d bytes", proto, k, got.frames, got.bytes, want.Frames, want.Bytes, want.Slack)
		}
	}
	for k, got := range ours {
		if _, ok := theirs[k]; !ok {
			t.Errorf("%s %s: qadiag has %d frames, tshark has no such conversation", proto, k, got.frames)
		}
	}
}

func endpoint(ap netip.AddrPort) string {
	return fmt.Sprintf("%s:%d", ap.Addr(), ap.Port())
}
