package analyze

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
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

// TestCorpusMappedMatchesStream reads every corpus capture and the
// repository's own three ways: as a stream (frames copied through the read
// buffer), mapped on one goroutine, and mapped with the pipeline. Classic
// pcap files are read in place when mapped; all three must agree on the
// capture's figures, where a damaged file stops, and every flow.
func TestCorpusMappedMatchesStream(t *testing.T) {
	for _, path := range corpusFiles(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			want, wantErr := readFile(t, path)
			for _, pipe := range []bool{false, true} {
				withPipeline(t, pipe)
				rc, err := decode.OpenFile(path)
				if err != nil {
					t.Fatal(err)
				}
				got, gotErr := Read(context.Background(), rc, filepath.Base(path))
				rc.Close()
				if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
					t.Fatalf("pipelined %v: error %v, streamed %v", pipe, gotErr, wantErr)
				}
				g, w := got.Capture, want.Capture
				g.Damage, w.Damage = nil, nil
				if !reflect.DeepEqual(g, w) {
					t.Fatalf("pipelined %v: capture %+v\nstreamed %+v", pipe, g, w)
				}
				if len(got.Flows) != len(want.Flows) {
					t.Fatalf("pipelined %v: %d flows, streamed %d", pipe, len(got.Flows), len(want.Flows))
				}
				for i, f := range got.Flows {
					if d := flowDiff(f, want.Flows[i]); d != "" {
						t.Fatalf("pipelined %v: flow %d: %s", pipe, f.ID, d)
					}
				}
			}
		})
	}
}

// flowDiff compares what a flow shows in the reports, in short.
func flowDiff(a, b *Flow) string {
	type view struct {
		Client, Server         netip.AddrPort
		Packets, Bytes         uint64
		First, Last            uint64
		History, App, State    string
		Resets, ICMP, Names    int
		TLS, HTTP, STUN, DNS   bool
		SNI, JA4               string
		Retrans, Gaps, MaxIdle any
	}
	v := func(f *Flow) view {
		x := view{Client: f.Client, Server: f.Server, Packets: f.Packets(), Bytes: f.Bytes(), First: f.FirstFrame(), Last: f.LastFrame(),
			History: f.History(), App: f.App(), State: f.ConnState(), Resets: len(f.Resets()), ICMP: int(f.ICMPCount), Names: len(f.Names()),
			TLS: f.TLS != nil, HTTP: f.HTTP != nil, STUN: f.STUN != nil, DNS: f.DNS != nil,
			Retrans: [2]int32{f.Dir[0].Retransmissions, f.Dir[1].Retransmissions}, Gaps: [2]int32{f.Dir[0].StreamGaps, f.Dir[1].StreamGaps}, MaxIdle: f.MaxIdle}
		if f.TLS != nil {
			x.SNI, x.JA4 = f.TLS.SNI, f.TLS.Offered().JA4
		}
		return x
	}
	if va, vb := v(a), v(b); !reflect.DeepEqual(va, vb) {
		return fmt.Sprintf("%+v\nwant %+v", va, vb)
	}
	return ""
}
