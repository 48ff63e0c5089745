package analyze

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/internal/benchgen"
)

// TestReadInPlaceMatchesStream reads one capture twice, from a mapped file
// (frames in place) and from a plain stream (frames copied through the read
// buffer): the flows must be the same.
func TestReadInPlaceMatchesStream(t *testing.T) {
	for _, pipe := range []bool{false, true} {
		t.Run(map[bool]string{false: "one goroutine", true: "pipelined"}[pipe], func(t *testing.T) {
			withPipeline(t, pipe)
			readInPlaceMatchesStream(t)
		})
	}
}

// withPipeline makes ReadWith take the pipelined path or not for one test.
func withPipeline(t *testing.T, on bool) {
	old := pipelined
	pipelined = func() bool { return on }
	t.Cleanup(func() { pipelined = old })
}

func readInPlaceMatchesStream(t *testing.T) {
	data, path, rc := openGenerated(t)
	mapped, err := Read(context.Background(), rc, path)
	if err != nil {
		t.Fatal(err)
	}
	streamed, err := Read(context.Background(), bytes.NewReader(data), path)
	if err != nil {
		t.Fatal(err)
	}
	if mapped.Capture.Packets != streamed.Capture.Packets || len(mapped.Flows) != len(streamed.Flows) {
		t.Fatalf("mapped: %d packets, %d flows; streamed: %d packets, %d flows",
			mapped.Capture.Packets, len(mapped.Flows), streamed.Capture.Packets, len(streamed.Flows))
	}
	for i, f := range mapped.Flows {
		g := streamed.Flows[i]
		if f.Client != g.Client || f.Server != g.Server || f.Packets() != g.Packets() || f.History() != g.History() ||
			(f.TLS == nil) != (g.TLS == nil) || f.TLS != nil && f.TLS.SNI != g.TLS.SNI {
			t.Fatalf("flow %d differs: mapped %v-%v %d %q, streamed %v-%v %d %q",
				i+1, f.Client, f.Server, f.Packets(), f.History(), g.Client, g.Server, g.Packets(), g.History())
		}
	}
}

// TestReadTruncatedUnderMapping shrinks a mapped capture before it is read:
// frames past the new end fault when touched, and Read must turn that into
// an error naming the frame, keeping what it read before, not crash.
func TestReadTruncatedUnderMapping(t *testing.T) {
	for _, pipe := range []bool{false, true} {
		t.Run(map[bool]string{false: "one goroutine", true: "pipelined"}[pipe], func(t *testing.T) {
			withPipeline(t, pipe)
			readTruncatedUnderMapping(t)
		})
	}
}

func readTruncatedUnderMapping(t *testing.T) {
	data, path, rc := openGenerated(t)
	if len(data) < 4<<20 {
		t.Fatalf("generated capture is %d bytes; the test needs more than the 1 MiB read buffer", len(data))
	}
	if _, ok := rc.(interface{ Name() string }); ok {
		t.Skip("SKIP: files are not mapped on this platform")
	}
	if err := os.Truncate(path, 2<<20); err != nil {
		t.Fatal(err)
	}
	res, err := Read(context.Background(), rc, path)
	if !errors.Is(err, decode.ErrFileChanged) {
		t.Fatalf("err = %v, want ErrFileChanged", err)
	}
	var de *decode.Error
	if !errors.As(err, &de) || de.Frame == 0 || res.Capture.Damage == nil || res.Capture.Packets == 0 {
		t.Fatalf("err %v, damage %v, %d packets: want the failing frame named and the frames before it kept", err, res.Capture.Damage, res.Capture.Packets)
	}
	if de.Offset < 1<<20 || de.Offset > 2<<20 {
		t.Errorf("fault at offset %d, want between the first buffer (1 MiB) and the new end (2 MiB)", de.Offset)
	}
	t.Log(err)
}

// openGenerated writes a small generated capture (about 6 MB) to a file and
// opens it with decode.OpenFile, closed when the test ends.
func openGenerated(t *testing.T) ([]byte, string, io.ReadCloser) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := benchgen.Generate(&buf, benchgen.Config{Seed: 3, Flows: 300}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "c.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, err := decode.OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rc.Close() })
	return buf.Bytes(), path, rc
}
