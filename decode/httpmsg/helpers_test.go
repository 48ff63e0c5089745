package httpmsg

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fixture reads testdata/<name>.hex: lines starting with '#' are comments,
// the rest is hex with optional white space.
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name+".hex"))
	if err != nil {
		tb.Fatal(err)
	}
	var sb strings.Builder
	for line := range strings.Lines(string(raw)) {
		if !strings.HasPrefix(line, "#") {
			sb.WriteString(strings.Join(strings.Fields(line), ""))
		}
	}
	b, err := hex.DecodeString(sb.String())
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	return b
}

// fixtureNames lists the fixtures in testdata, without the .hex suffix.
func fixtureNames(tb testing.TB) []string {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.hex"))
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, p := range paths {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".hex"))
	}
	return names
}

// headerEnd returns the offset just past the first empty line of b, found
// independently of the parser: the first "\r\n\r\n" or "\n\n".
func headerEnd(b []byte) int {
	s := string(b)
	crlf, lf := strings.Index(s, "\r\n\r\n"), strings.Index(s, "\n\n")
	if crlf >= 0 && (lf < 0 || crlf+2 <= lf) {
		return crlf + 4
	}
	return lf + 2
}

// crlf turns "\n" into "\r\n" so tables can be written as Go strings.
func crlf(s string) []byte {
	return []byte(strings.ReplaceAll(s, "\n", "\r\n"))
}
