package scenario

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/internal/tshark"
)

// committed is where the generated files are kept.
const committed = "../../testdata/pcaps/scenarios"

const regenerate = "go run ./internal/scenario/cmd/scenariogen -o testdata/pcaps/scenarios"

// causes are the verdicts of DESIGN.md; every one needs a scenario.
var causes = []string{
	"rst_injection", "sni_blocking", "tls_interception", "proxy_blocking", "stun_blocked",
	"nat_timeout", "dns_failure", "port_blocked", "icmp_unreachable", "mtu_blackhole",
	"tls_failure", Healthy, NoQuickAssist,
}

// maxTotalBytes bounds the committed captures: they live in the repository.
const maxTotalBytes = 3 << 20

// built holds every scenario built once for the tests of this package.
var built = func() map[string]*Capture {
	m := map[string]*Capture{}
	for _, s := range All() {
		c, err := s.Build()
		if err != nil {
			panic(err)
		}
		m[s.Name] = c
	}
	return m
}()

func TestCommittedFilesAreCurrent(t *testing.T) {
	dir := t.TempDir()
	if _, err := WriteDir(dir); err != nil {
		t.Fatal(err)
	}
	want := listDir(t, dir)
	got := listDir(t, committed)
	if !slices.Equal(want, got) {
		t.Errorf("files in %s differ from the generator's output\ngenerated: %v\ncommitted: %v\nrun: %s", committed, want, got, regenerate)
	}
	var total int64
	for _, name := range want {
		w, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		total += int64(len(w))
		g, err := os.ReadFile(filepath.Join(committed, name))
		if err != nil {
			t.Errorf("%s: %v (run: %s)", name, err, regenerate)
			continue
		}
		if !bytes.Equal(w, g) {
			t.Errorf("%s is stale: the generator writes %d bytes, the committed file has %d; run: %s", name, len(w), len(g), regenerate)
		}
	}
	if total > maxTotalBytes {
		t.Errorf("the scenario files take %d bytes, more than %d", total, maxTotalBytes)
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("%v (run: %s)", err, regenerate)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func TestDeterministic(t *testing.T) {
	for _, s := range All()[:5] {
		c, err := s.Build()
		if err != nil {
			t.Fatal(err)
		}
		if first := built[s.Name]; !bytes.Equal(c.Data, first.Data) || !slices.Equal(c.KeyFrames, first.KeyFrames) {
			t.Errorf("%s: two builds differ", s.Name)
		}
	}
}

func TestCatalog(t *testing.T) {
	all := All()
	seen := map[string]bool{}
	files := map[string]bool{}
	for _, s := range all {
		if !slices.Contains(causes, s.Cause) {
			t.Errorf("%s: unknown cause %q", s.Name, s.Cause)
		}
		prefix := s.Cause + "-"
		if s.LookAlike {
			prefix = s.Cause + "-lookalike-"
			if s.Cause != Healthy {
				t.Errorf("%s: a look-alike must be healthy, not %s", s.Name, s.Cause)
			}
		}
		if !strings.HasPrefix(s.Name, prefix) {
			t.Errorf("%s: name does not start with %q", s.Name, prefix)
		}
		if files[s.File()] {
			t.Errorf("%s: file name used twice", s.File())
		}
		files[s.File()] = true
		if s.Description == "" {
			t.Errorf("%s: no description", s.Name)
		}
		seen[s.Cause] = true
	}
	for _, c := range causes {
		if !seen[c] {
			t.Errorf("no scenario for %s", c)
		}
	}
	if !slices.IsSortedFunc(all, func(a, b Scenario) int { return strings.Compare(a.File(), b.File()) }) {
		t.Error("All is not sorted by file name")
	}
}

// TestFramesDecode reads every capture with qadiag's own reader and
// decoder: every frame decodes without a layer error, times never go
// back, the frame count matches, and every key frame exists.
func TestFramesDecode(t *testing.T) {
	for _, s := range All() {
		t.Run(s.Name, func(t *testing.T) {
			c := built[s.Name]
			n := decodeAll(t, c.Data)
			if n != c.Frames {
				t.Errorf("read %d frames, built %d", n, c.Frames)
			}
			if len(c.KeyFrames) == 0 && s.Cause != NoQuickAssist {
				t.Error("no key frames")
			}
			for _, k := range c.KeyFrames {
				if k < 1 || k > uint64(n) {
					t.Errorf("key frame %d not in 1..%d", k, n)
				}
			}
			if !slices.IsSorted(c.KeyFrames) {
				t.Errorf("key frames not sorted: %v", c.KeyFrames)
			}
		})
	}
}

func decodeAll(t *testing.T, data []byte) int {
	t.Helper()
	rd, err := decode.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	dec := decode.NewDecoder()
	var fr decode.Frame
	var p decode.Packet
	var last time.Time
	n := 0
	for {
		err := rd.Next(&fr)
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("frame %d: %v", n+1, err)
		}
		n++
		if fr.Time.Before(last) {
			t.Errorf("frame %d: time %v before the previous frame's %v", fr.Number, fr.Time, last)
		}
		last = fr.Time
		dec.Decode(&fr, &p)
		switch {
		case p.Malformed != nil:
			t.Errorf("frame %d: %v", fr.Number, p.Malformed)
		case p.Truncated:
			t.Errorf("frame %d: truncated", fr.Number)
		case !p.Transport && p.ICMPType == 0:
			t.Errorf("frame %d: no transport header", fr.Number)
		}
	}
}

// TestTshark asks Wireshark whether any frame of the committed captures is
// malformed or raises an error-level expert item.
func TestTshark(t *testing.T) {
	tshark.Require(t)
	for _, s := range All() {
		t.Run(s.Name, func(t *testing.T) {
			file := filepath.Join(committed, s.File())
			if _, err := os.Stat(file); err != nil {
				t.Skipf("%v (run: %s)", err, regenerate)
			}
			out := tshark.Run(t, "-r", file, "-Y", "_ws.malformed || _ws.expert.severity == error", "-T", "fields", "-e", "frame.number", "-e", "_ws.col.Info")
			if s := strings.TrimSpace(string(out)); s != "" {
				t.Errorf("tshark flags frames:\n%s", s)
			}
		})
	}
}
