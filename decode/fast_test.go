package decode

import (
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestFastPathMatchesParser decodes every frame of every corpus and test
// capture twice, through the hand-written fast path and through gopacket's
// DecodingLayerParser alone, and requires identical packets.
func TestFastPathMatchesParser(t *testing.T) {
	files, _ := filepath.Glob("../../shared/corpus/*.pcap*")
	own, _ := filepath.Glob("../testdata/pcaps/*.pcap*")
	files = append(files, own...)
	if len(files) == 0 {
		t.Skip("SKIP: no captures found")
	}
	fast, slow := NewDecoder(), NewDecoder()
	slow.parserOnly = true
	var compared, fastHits int
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(bytes.NewReader(data))
		if err != nil {
			continue
		}
		var fr Frame
		var a, b Packet
		for {
			if err := r.Next(&fr); err != nil {
				if !errors.Is(err, io.EOF) {
					var de *Error
					if !errors.As(err, &de) {
						t.Fatalf("%s: %v", path, err)
					}
				}
				break
			}
			if fast.decodeFast(&fr, &a) {
				fastHits++
			}
			fast.Decode(&fr, &a)
			slow.Decode(&fr, &b)
			compared++
			if diff := cmp.Diff(b, a, cmpopts.EquateComparable(netip.Addr{}, netip.AddrPort{}), cmp.Comparer(func(x, y error) bool { return (x == nil) == (y == nil) })); diff != "" {
				t.Errorf("%s frame %d: fast path differs (-parser +fast):\n%s", filepath.Base(path), fr.Number, diff)
			}
		}
	}
	t.Logf("%d frames compared, %d through the fast path", compared, fastHits)
	if fastHits == 0 {
		t.Error("the fast path never applied")
	}
}
