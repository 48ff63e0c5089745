package diagnose

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// corpusFaults is what the shared corpus (real public captures, none of
// them of Quick Assist) legitimately shows when every flow in it is taken
// for Quick Assist's: testdata/corpus-faults.json, one entry per capture with
// a fault, with the reason.
type corpusFault struct {
	File  string `json:"file"`
	Cause string `json:"cause"`
	Why   string `json:"why"`
}

// TestCorpusVerdicts diagnoses every corpus capture. With the built-in
// catalog none may claim a fault: the corpus holds no Quick Assist session.
// With a catalog that makes every flow Quick Assist's, exactly the captures
// listed in testdata/corpus-faults.json may, with the cause listed there.
func TestCorpusVerdicts(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(pathCorpusDir, "*.pcap*"))
	if len(files) == 0 {
		t.Skipf("SKIP: no corpus at %s", pathCorpusDir)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "corpus-faults.json"))
	if err != nil {
		t.Fatal(err)
	}
	var list []corpusFault
	if err := json.Unmarshal(b, &list); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, f := range list {
		want[f.File] = f.Cause
	}
	got := map[string]string{}
	for _, path := range files {
		name := filepath.Base(path)
		res := readCorpusFile(t, path)
		if v := Diagnose(res, nil); v.Fault() {
			t.Errorf("%s: %s %.2f with the built-in catalog\n%s", name, v.Cause, v.Score, describe(v))
		}
		if v := Diagnose(res, stressCatalog(t, res)); v.Fault() {
			got[name] = v.Cause
		}
	}
	if *dumpCorpus {
		var names []string
		for n := range got {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			t.Logf("%s %s", n, got[n])
		}
	}
	for name, cause := range got {
		if want[name] != cause {
			t.Errorf("%s: %s when every flow is Quick Assist's, want %q (testdata/corpus-faults.json)", name, cause, want[name])
		}
	}
	for name, cause := range want {
		if got[name] == "" {
			t.Errorf("%s: no fault when every flow is Quick Assist's, want %s", name, cause)
		}
	}
}

// stressCatalog extends the built-in catalog so that every flow of res is
// Quick Assist's: every address on every port, and every TLS name, all
// marked broad (shared with other products), as a real Microsoft front end
// would be. Certificates from public CAs on such names are then weak
// evidence, as they are for Microsoft's broad names.
func stressCatalog(t *testing.T, res *analyze.Result) *catalog.Catalog {
	t.Helper()
	entries := []string{
		`{"prefix": "0.0.0.0/0", "ports": ["tcp/1-65535", "udp/1-65535"], "role": "service", "broad": true, "source": "test"}`,
		`{"prefix": "::/0", "ports": ["tcp/1-65535", "udp/1-65535"], "role": "service", "broad": true, "source": "test"}`,
	}
	seen := map[string]bool{}
	for _, f := range res.Flows {
		if f.TLS == nil || !domainRE.MatchString(registered(f.TLS.SNI)) {
			continue
		}
		sni := strings.ToLower(strings.TrimSuffix(f.TLS.SNI, "."))
		if !seen[sni] {
			seen[sni] = true
			entries = append(entries, fmt.Sprintf(`{"host": %q, "ports": ["tcp/1-65535"], "role": "service", "required": true, "broad": true, "source": "test"}`, sni))
		}
	}
	extra, err := catalog.Load(strings.NewReader(`{"version": 1, "entries": [` + strings.Join(entries, ",") + `]}`))
	if err != nil {
		t.Fatalf("%s: %v", res.Capture.File, err)
	}
	return catalog.Default().Merge(extra)
}

func registered(name string) string {
	labels := strings.Split(strings.ToLower(strings.TrimSuffix(name, ".")), ".")
	if len(labels) < 2 {
		return ""
	}
	return strings.Join(labels[len(labels)-2:], ".")
}
