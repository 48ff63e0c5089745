package redact_test

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"github.com/qadiag/qadiag/analyze/diagnose"
	"github.com/qadiag/qadiag/report"
	"github.com/qadiag/qadiag/report/redact"
)

// testKey makes the tests deterministic; the properties checked hold for
// any key.
var testKey = []byte("qadiag redact test key")

// captures lists every scenario capture and the mixed one.
func captures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("../../testdata/pcaps/scenarios/*.pcap*")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scenario captures: %v", err)
	}
	return append(files, "../../testdata/pcaps/mixed-quickassist.pcap")
}

func read(t *testing.T, path string) (*analyze.Result, *diagnose.Verdict) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := analyze.Read(context.Background(), f, path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return res, diagnose.Diagnose(res, nil)
}

// render writes the text report with every flow and the JSON report.
func render(t *testing.T, res *analyze.Result, v *diagnose.Verdict) string {
	t.Helper()
	var b bytes.Buffer
	if err := report.AnalysisText(&b, res, v, true); err != nil {
		t.Fatal(err)
	}
	if err := report.AnalysisJSON(&b, res, v); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// secrets lists what must not survive redaction: client addresses, STUN
// mapped addresses, and names the catalog does not match (server names,
// DNS names and answers, certificate names, HTTP hosts).
func secrets(res *analyze.Result) (addrs []netip.Addr, names []string) {
	cat := catalog.Default()
	addName := func(n string) {
		n = strings.TrimSuffix(n, ".")
		if _, ok := cat.MatchHost(n); n != "" && !ok {
			names = append(names, n)
		}
	}
	addAddr := func(a netip.Addr) {
		if a.IsValid() && !a.IsLoopback() && !a.IsUnspecified() && !a.IsMulticast() {
			addrs = append(addrs, a)
		}
	}
	for _, f := range res.Flows {
		addAddr(f.Client.Addr())
		if f.TLS != nil {
			addName(f.TLS.SNI)
		}
		for _, n := range f.Names() {
			addName(n.Name)
		}
		if f.DNS != nil {
			for _, q := range f.DNS.Queries {
				addName(q.Name)
				for _, a := range q.Answers {
					addName(a.Name)
					addName(a.Target)
				}
			}
		}
		if f.STUN != nil {
			for _, a := range f.STUN.MappedAddresses {
				addAddr(a.Addr())
			}
		}
	}
	return addrs, names
}

// containsToken reports whether needle occurs in s as a whole token: not
// inside a longer address or name.
func containsToken(s, needle string) bool {
	s, needle = strings.ToLower(s), strings.ToLower(needle)
	for i := 0; ; {
		j := strings.Index(s[i:], needle)
		if j < 0 {
			return false
		}
		start, end := i+j, i+j+len(needle)
		before := start == 0 || !nameChar(s[start-1]) && s[start-1] != '.'
		after := end == len(s) || !nameChar(s[end]) && !(s[end] == '.' && end+1 < len(s) && nameChar(s[end+1]))
		if strings.Contains(needle, ":") && end < len(s) && s[end] == ':' && end+1 < len(s) && isHex(s[end+1]) {
			after = false
		}
		if before && after {
			return true
		}
		i = start + 1
	}
}

func nameChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
}

func isHex(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' }

// microsoftNames are catalog names the reports print.
var microsoftNames = []string{"remoteassistance.support.services.microsoft.com", "login.microsoftonline.com",
	"remoteassistanceprodacs.communication.azure.com", "relay.communication.microsoft.com"}

func TestResultHidesIdentifiers(t *testing.T) {
	for _, path := range captures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			res, v := read(t, path)
			before := render(t, res, v)
			rd := redact.New(nil, testKey)
			rres, rv := rd.Result(res, v)
			after := render(t, rres, rv)
			if again := render(t, res, v); again != before {
				t.Fatal("Result modified its input")
			}
			addrs, names := secrets(res)
			for _, a := range addrs {
				if containsToken(after, a.String()) {
					t.Errorf("client address %s survives redaction", a)
				}
			}
			for _, n := range names {
				if containsToken(after, n) {
					t.Errorf("name %s survives redaction", n)
				}
			}
			if strings.Contains(after, path) || strings.Contains(after, filepath.Base(path)) {
				t.Errorf("capture file name survives redaction")
			}
			for _, n := range microsoftNames {
				if strings.Contains(before, n) && !strings.Contains(after, n) {
					t.Errorf("Microsoft name %s was redacted", n)
				}
			}
			if rv.Cause != v.Cause || len(rres.Flows) != len(res.Flows) {
				t.Errorf("verdict %s -> %s, %d -> %d flows", v.Cause, rv.Cause, len(res.Flows), len(rres.Flows))
			}
			if testing.Verbose() && os.Getenv("REDACT_SHOW") != "" {
				t.Log(after[:strings.Index(after, "\n{")])
			}
		})
	}
}
