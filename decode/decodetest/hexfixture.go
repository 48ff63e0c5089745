package decodetest

import (
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// HexFixture reads dir/<name>.hex: lines starting with '#' are comments
// (where the bytes came from, what tshark says of them), the rest is hex with
// optional white space.
func HexFixture(tb testing.TB, dir, name string) []byte {
	tb.Helper()
	raw, err := os.ReadFile(filepath.Join(dir, name+".hex"))
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

// HexFixtureNames lists the .hex fixtures in dir, without the suffix, sorted.
func HexFixtureNames(tb testing.TB, dir string) []string {
	tb.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.hex"))
	if err != nil {
		tb.Fatal(err)
	}
	names := make([]string, 0, len(paths))
	for _, p := range paths {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".hex"))
	}
	return names
}
