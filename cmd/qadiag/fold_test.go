package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/qadiag/qadiag/internal/benchgen"
)

// TestKeepFlows: past --keep-flows, ordinary flows are counted in
// capture.folded_flows and left out of the flow list, whose ids keep the
// numbers they have without folding; the warning says so; the verdict is
// the same; batch counts every flow; --keep-flows 0 lists them all.
func TestKeepFlows(t *testing.T) {
	path := generated(t, benchgen.Config{Seed: 3, Flows: 3000})
	type doc struct {
		Capture struct {
			FoldedFlows int      `json:"folded_flows"`
			Warnings    []string `json:"warnings"`
		} `json:"capture"`
		Verdict json.RawMessage `json:"verdict"`
		Flows   []struct {
			ID     int    `json:"id"`
			Server string `json:"server"`
		} `json:"flows"`
	}
	parse := func(args ...string) doc {
		t.Helper()
		out, errs, code := runQadiag(t, append(args, "-q", "-f", "json", path)...)
		if code != exitOK && code != exitFault {
			t.Fatalf("%v: exit %d: %s", args, code, errs)
		}
		var d doc
		if err := json.Unmarshal([]byte(out), &d); err != nil {
			t.Fatal(err)
		}
		return d
	}
	all, some := parse("-v", "--keep-flows", "0"), parse("-v", "--keep-flows", "200")
	if all.Capture.FoldedFlows != 0 {
		t.Fatalf("--keep-flows 0 folded %d flows", all.Capture.FoldedFlows)
	}
	if some.Capture.FoldedFlows == 0 || len(some.Flows)+some.Capture.FoldedFlows != len(all.Flows) {
		t.Fatalf("%d flows listed and %d folded, %d without folding", len(some.Flows), some.Capture.FoldedFlows, len(all.Flows))
	}
	byID := map[int]string{}
	for _, f := range all.Flows {
		byID[f.ID] = f.Server
	}
	for _, f := range some.Flows {
		if byID[f.ID] != f.Server {
			t.Fatalf("flow %d is to %s folding, %s not", f.ID, f.Server, byID[f.ID])
		}
	}
	if len(all.Verdict) == 0 || !bytes.Equal(all.Verdict, some.Verdict) {
		t.Errorf("the verdict changes with folding")
	}
	if w := strings.Join(some.Capture.Warnings, "\n"); !strings.Contains(w, "ordinary flows") || !strings.Contains(w, "--keep-flows 0") {
		t.Errorf("warnings %q say nothing of the folded flows", w)
	}
	text, _, _ := runQadiag(t, "-q", "--keep-flows", "200", path)
	if !strings.Contains(text, "ordinary flows") {
		t.Errorf("the text report does not warn of folded flows:\n%.2000s", text)
	}
	out, _, _ := runQadiag(t, "batch", "-q", "-j", "1", "--keep-flows", "200", path)
	var line struct {
		Flows int `json:"flows"`
	}
	if err := json.Unmarshal([]byte(strings.TrimSpace(out)), &line); err != nil || line.Flows != len(all.Flows) {
		t.Errorf("batch line %q: want flows %d, every flow counted (%v)", out, len(all.Flows), err)
	}
}
