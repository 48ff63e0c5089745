package stunmsg

import (
	"encoding/hex"
	"github.com/qadiag/qadiag/decode/decodetest"
	"net/netip"
	"strings"
	"testing"
)

// fixture reads testdata/<name>.hex (decodetest.HexFixture's format).
func fixture(tb testing.TB, name string) []byte {
	tb.Helper()
	return decodetest.HexFixture(tb, "testdata", name)
}

// fixtureNames lists the fixtures in testdata, without the .hex suffix.
func fixtureNames(tb testing.TB) []string {
	tb.Helper()
	return decodetest.HexFixtureNames(tb, "testdata")
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
