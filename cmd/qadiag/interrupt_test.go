package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/qadiag/qadiag/internal/benchgen"
)

// cancelAfter is a context that reports itself cancelled from its n-th
// Err call on, as if Ctrl-C came while the capture was being read.
type cancelAfter struct {
	context.Context
	calls, n atomic.Int64
}

func (c *cancelAfter) Err() error {
	if c.calls.Add(1) >= c.n.Load() {
		return context.Canceled
	}
	return nil
}

func (c *cancelAfter) Done() <-chan struct{} { return nil }

func (c *cancelAfter) Deadline() (time.Time, bool) { return time.Time{}, false }

// TestInterruptPrintsWhatWasRead: interrupted while reading, qadiag stops,
// prints the report of the frames read so far saying it is partial, names
// the last frame on stderr, and exits 1.
func TestInterruptPrintsWhatWasRead(t *testing.T) {
	path := generated(t, benchgen.Config{Seed: 5, Flows: 200})
	ctx := &cancelAfter{Context: context.Background()}
	ctx.n.Store(3) // checked at frame 0, 4096, then 8192: stops there
	var out, errb bytes.Buffer
	code := run(ctx, []string{path}, &out, &errb)
	if code != exitUnreadable {
		t.Errorf("exit %d, want %d", code, exitUnreadable)
	}
	if want := "interrupted after frame 8192: the report covers frames 1-8192"; !strings.Contains(errb.String(), want) {
		t.Errorf("stderr %q, want %q", errb.String(), want)
	}
	if !strings.Contains(out.String(), "VERDICT") || !strings.Contains(out.String(), "reading was interrupted after frame 8192") {
		t.Errorf("report of the frames read, with the interruption, missing:\n%s", out.String())
	}
}

// generated writes the benchmark generator's capture for cfg to a
// temporary file and returns its path.
func generated(t *testing.T, cfg benchgen.Config) string {
	t.Helper()
	var buf bytes.Buffer
	if _, err := benchgen.Generate(&buf, cfg); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "generated.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}
