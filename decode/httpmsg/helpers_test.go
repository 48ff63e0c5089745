package httpmsg

import (
	"github.com/qadiag/qadiag/decode/decodetest"
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
