package stunmsg

import (
	"encoding/hex"
	"net/netip"
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
		if strings.HasPrefix(line, "#") {
			continue
		}
		sb.WriteString(strings.Join(strings.Fields(line), ""))
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
	names := make([]string, 0, len(paths))
	for _, p := range paths {
		names = append(names, strings.TrimSuffix(filepath.Base(p), ".hex"))
	}
	return names
}

// tid parses a 24-digit hex transaction ID.
func tid(tb testing.TB, s string) [12]byte {
	tb.Helper()
	var id [12]byte
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(id) {
		tb.Fatalf("bad transaction id %q", s)
	}
	copy(id[:], b)
	return id
}

// ap is netip.MustParseAddrPort, shortened for tables.
func ap(s string) netip.AddrPort {
	return netip.MustParseAddrPort(s)
}

// unhex decodes a hex string written for a test table.
func unhex(tb testing.TB, s string) []byte {
	tb.Helper()
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		tb.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}
