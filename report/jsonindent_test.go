package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func indentBoth(t *testing.T, compact []byte) {
	t.Helper()
	var want bytes.Buffer
	if err := json.Indent(&want, compact, "    ", "  "); err != nil {
		return // not JSON: indentCompact is only ever given json.Marshal's output
	}
	got := indentCompact(nil, compact, "    ", "  ")
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("indentCompact differs from json.Indent for %q:\n%s\nwant:\n%s", compact, got, want.Bytes())
	}
}

// TestIndentMatchesEncodingJSON re-indents every committed JSON golden file
// (compacted first, as json.Marshal writes) and a few edge cases.
func TestIndentMatchesEncodingJSON(t *testing.T) {
	files, _ := filepath.Glob("../cmd/qadiag/testdata/golden/*.json")
	more, _ := filepath.Glob("../cmd/qadiag/testdata/golden/*/*.json")
	files = append(files, more...)
	if len(files) < 10 {
		t.Fatalf("only %d golden JSON files found", len(files))
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var c bytes.Buffer
		if err := json.Compact(&c, b); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		indentBoth(t, c.Bytes())
	}
	for _, s := range []string{`{}`, `[]`, `[{},[],{"a":[]}]`, `{"a\"b":"c\\","d":"{[,:]}"}`, `"x"`, `1`, `null`, `{"a":{"b":{"c":[1,2,{"d":"\u003c"}]}}}`,
		strings.Repeat(`[{"a":`, 20) + `"x\\y"` + strings.Repeat(`}]`, 20), // deeper than the ready line starts
		// A long string with its escapes at the end: read once, not once a byte.
		`{"a":"` + strings.Repeat("x", 1<<20) + `\"y\\\\","b":"\\\""}`,
	} {
		indentBoth(t, []byte(s))
	}
}

func FuzzIndentJSON(f *testing.F) {
	for _, s := range []string{`{}`, `[1,{"a":"b,c"}]`, `{"x":[[],{}],"y":"\"\\"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var c bytes.Buffer
		if json.Compact(&c, b) != nil {
			indentCompact(nil, b, "", "\t") // anything else must not panic either
			return
		}
		indentBoth(t, c.Bytes())
	})
}
