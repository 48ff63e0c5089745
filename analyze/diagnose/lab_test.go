package diagnose

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// labDir holds captures recorded from real software (dnsmasq, squid,
// coturn, openssl, iptables, conntrack, a Go TLS server) in network
// namespaces by testdata/lab/run.sh, with their expected causes.
const labDir = "../../testdata/pcaps/lab"

// TestLab checks that every lab capture gives its expected primary cause
// and that a fault's primary finding cites at least one key frame (the
// frames tshark selects with the scenario's filter, see the lab README).
func TestLab(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(labDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp []expected
	if err := json.Unmarshal(b, &exp); err != nil {
		t.Fatal(err)
	}
	if len(exp) == 0 {
		t.Fatal("no lab captures listed")
	}
	for _, e := range exp {
		t.Run(e.File, func(t *testing.T) {
			t.Parallel()
			_, v := diagnoseFile(t, filepath.Join(labDir, e.File))
			if v.Cause != e.Cause {
				t.Fatalf("cause %s (%.2f), want %s\n%s", v.Cause, v.Score, e.Cause, describe(v))
			}
			if !v.Fault() {
				return
			}
			if len(e.KeyFrames) == 0 {
				t.Fatalf("expected.json lists no key frames for a fault")
			}
			cited := citedFrames(v.Findings[0])
			if !slices.ContainsFunc(e.KeyFrames, func(k uint64) bool { return slices.Contains(cited, k) }) {
				t.Errorf("the finding cites frames %v, none of the key frames %v\n%s", cited, e.KeyFrames, describe(v))
			}
			if slices.Contains(cited, 0) {
				t.Errorf("evidence cites frame 0")
			}
		})
	}
}
