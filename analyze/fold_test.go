package analyze

import (
	"bytes"
	"context"
	"net/netip"
	"reflect"
	"testing"

	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/internal/benchgen"
)

// foldCapture is a generated office capture of 3,000 connections (and their
// DNS lookups): enough flows to a few hundred servers that many fold.
func foldCapture(t *testing.T) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := benchgen.Generate(&buf, benchgen.Config{Seed: 3, Flows: 3000}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func readOpts(t *testing.T, capture []byte, opts Options) *Result {
	t.Helper()
	res, err := ReadWith(context.Background(), bytes.NewReader(capture), "fold.pcap", opts)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// TestFoldKeepsWhatMatters checks folding against the same capture read
// without it: every flow kept is the unfolded flow with the same id, field
// for field; every flow left out is ordinary, has foldPeers flows to its
// server kept and is counted by protocol; at least KeepFlows flows are
// kept; and two runs fold the same flows.
func TestFoldKeepsWhatMatters(t *testing.T) {
	capture := foldCapture(t)
	all := readOpts(t, capture, Options{})
	if all.Capture.Folded.Total() != 0 {
		t.Fatalf("folded %d flows with KeepFlows 0", all.Capture.Folded.Total())
	}
	const keep = 300
	res := readOpts(t, capture, Options{KeepFlows: keep})
	folded := res.Capture.Folded
	t.Logf("%d flows: %d kept, %d folded (%d TCP, %d UDP)", len(all.Flows), len(res.Flows), folded.Total(), folded.TCP, folded.UDP)
	if folded.TCP < 500 || folded.UDP < 500 {
		t.Fatalf("folded %d TCP and %d UDP flows of %d: want hundreds of each", folded.TCP, folded.UDP, len(all.Flows))
	}
	if res.FlowCount() != len(all.Flows) {
		t.Fatalf("FlowCount %d, want %d", res.FlowCount(), len(all.Flows))
	}
	var n Folded
	peers := map[netip.Addr]int{} // kept flows by server address
	for _, f := range all.Flows {
		g := res.Flow(f.ID)
		if g == nil {
			if !ordinary(f) {
				t.Fatalf("flow %d (%s, history %s) folded but not ordinary", f.ID, f.App(), f.History())
			}
			if f.Proto == decode.ProtoTCP {
				n.TCP++
			} else {
				n.UDP++
			}
			continue
		}
		peers[f.Server.Addr()]++
		if !reflect.DeepEqual(f, g) {
			t.Fatalf("flow %d differs when others fold:\n%+v\n%+v", f.ID, f, g)
		}
	}
	if n != folded {
		t.Fatalf("Capture.Folded %+v, but %+v flows are missing", folded, n)
	}
	for _, f := range all.Flows {
		if res.Flow(f.ID) == nil && peers[f.Server.Addr()] < foldPeers {
			t.Fatalf("flow %d folded with %d flows to %s kept", f.ID, peers[f.Server.Addr()], f.Server.Addr())
		}
	}
	if len(res.Flows) < keep {
		t.Fatalf("kept %d flows, want at least %d", len(res.Flows), keep)
	}
	var warned bool
	for _, w := range res.Capture.Warnings {
		warned = warned || bytes.Contains([]byte(w), []byte("ordinary flows"))
	}
	if !warned {
		t.Errorf("no warning about folded flows in %q", res.Capture.Warnings)
	}
	again := readOpts(t, capture, Options{KeepFlows: keep})
	if !reflect.DeepEqual(res.Flows, again.Flows) || res.Capture.Folded != again.Capture.Folded {
		t.Fatal("two runs folded different flows")
	}
}

// TestFoldRelevant checks that a flow Relevant claims never folds.
func TestFoldRelevant(t *testing.T) {
	capture := foldCapture(t)
	res := readOpts(t, capture, Options{KeepFlows: 1, Relevant: func(f *Flow) bool { return f.Proto == decode.ProtoTCP }})
	if res.Capture.Folded.TCP != 0 || res.Capture.Folded.UDP == 0 {
		t.Fatalf("folded %+v: want DNS flows only", res.Capture.Folded)
	}
}

// TestResultFlow checks the lookup by id with and without gaps.
func TestResultFlow(t *testing.T) {
	r := &Result{Flows: []*Flow{{ID: 1}, {ID: 2}, {ID: 5}, {ID: 9}}}
	for id, want := range map[int]int{0: 0, 1: 1, 2: 2, 3: 0, 5: 5, 8: 0, 9: 9, 10: 0, -1: 0} {
		got := 0
		if f := r.Flow(id); f != nil {
			got = f.ID
		}
		if got != want {
			t.Errorf("Flow(%d) = %d, want %d", id, got, want)
		}
	}
}
