package catalog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// FuzzLoad checks that Load never panics, that every failure is an *Error,
// and that what it accepts can be matched back.
func FuzzLoad(f *testing.F) {
	// Seeds stay small: the fuzzer minimizes every input that finds new
	// coverage, and minimizing the 35 kB embedded file takes minutes.
	f.Add([]byte(testCatalog))
	f.Add([]byte(`{"version": 1, "entries": [` + goodEntry + `]}`))
	f.Add([]byte(`{"version": 1, "entries": [{"host": "r*.a.b", "ports": ["udp/1-65535"], "role": "relay", "source": "s"}]}`))
	f.Add([]byte(`{"version": 1, "entries": [{"prefix": "::/0", "ports": ["tcp/1"], "role": "media", "source": "s"}, {"prefix": "0.0.0.0/0", "ports": ["tcp/1"], "role": "media", "source": "s"}]}`))
	f.Add([]byte(`{"version": 1, "issuers": [{"name": "X NN", "kind": "root", "source": "s"}]}`))
	f.Add([]byte(`{"version": 1, "entries": [{"prefix": "10.0.0.1/8"}]}`))
	f.Add([]byte(`{"version": 1,, }`))
	f.Add([]byte(`[`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Load(bytes.NewReader(data))
		if err != nil {
			if _, ok := errors.AsType[*Error](err); !ok {
				t.Fatalf("error %T is not *Error: %v", err, err)
			}
			return
		}
		for _, e := range c.Entries() {
			checkEntryMatches(t, c, e)
		}
		for _, iss := range c.Issuers() {
			cn := iss.Name
			if iss.isFamily() {
				cn = strings.TrimSuffix(cn, familySuffix) + " 42"
				if _, exact := c.issuerExact[cn]; exact {
					continue
				}
			}
			if !c.IsMicrosoftIssuer(cn, iss.Org) {
				t.Errorf("issuer %q does not match %q", iss.Name, cn)
			}
		}
		if got, want := len(c.Merge(c).Entries()), len(c.Entries()); got != want {
			t.Errorf("c.Merge(c) has %d entries, want %d", got, want)
		}
	})
}

// checkEntryMatches looks up a name or address the entry covers; the answer
// must be this entry's pattern or a more specific one.
func checkEntryMatches(t *testing.T, c *Catalog, e Entry) {
	t.Helper()
	if e.Role == RoleUnknown || e.Source == "" || len(e.Ports) == 0 {
		t.Fatalf("accepted an incomplete entry: %+v", e)
	}
	if e.Host == "" {
		m, ok := c.MatchAddr(e.Prefix.Addr())
		if !ok || m.By != ByRange {
			t.Fatalf("MatchAddr(%s) = %+v, %v", e.Prefix.Addr(), m, ok)
		}
		return
	}
	name := strings.Replace(e.Host, "*", "x", 1)
	m, ok := c.MatchHost(name)
	if !ok {
		t.Fatalf("MatchHost(%q) found nothing; entry %q", name, e.Host)
	}
	if !strings.Contains(e.Host, "*") && (m.By != ByHost || m.Pattern != e.Host) {
		t.Fatalf("MatchHost(%q) = %+v, want the exact entry", name, m)
	}
}

// FuzzMatchHost checks MatchHost's invariants on the built-in catalog: no
// panic, ASCII case and one trailing dot do not matter, and a wildcard
// answer really covers the name by whole labels.
func FuzzMatchHost(f *testing.F) {
	for _, s := range []string{
		"remoteassistance.support.services.microsoft.com",
		"rdprelayv3eastusprod-4.support.services.microsoft.com.",
		"RDPRELAY.support.services.microsoft.com",
		"microsoft.com.evil.example",
		"notmicrosoftonline.com",
		"x..microsoft.com",
		".",
		"",
		"edge.s\u212Aype.com",
	} {
		f.Add(s)
	}
	c := Default()
	f.Fuzz(func(t *testing.T, name string) {
		m, ok := c.MatchHost(name)
		lower := asciiLower(name)
		if m2, ok2 := c.MatchHost(lower); ok2 != ok || m2.Pattern != m.Pattern {
			t.Fatalf("MatchHost(%q) = %q, %v but MatchHost(%q) = %q, %v", name, m.Pattern, ok, lower, m2.Pattern, ok2)
		}
		if !strings.HasSuffix(name, ".") {
			if m2, ok2 := c.MatchHost(name + "."); ok2 != ok || m2.Pattern != m.Pattern {
				t.Fatalf("trailing dot changed the answer for %q", name)
			}
		}
		if !ok {
			return
		}
		bare := strings.TrimSuffix(lower, ".")
		switch m.By {
		case ByHost:
			if bare != m.Pattern {
				t.Fatalf("MatchHost(%q) exact match on %q", name, m.Pattern)
			}
		case ByWildcard:
			star := strings.IndexByte(m.Pattern, '*')
			fixedStart, suffix := m.Pattern[:star], m.Pattern[star+1:] // suffix starts with "."
			if !strings.HasSuffix(bare, suffix) || !strings.HasPrefix(bare, fixedStart) || len(bare) <= len(suffix) {
				t.Fatalf("MatchHost(%q) wildcard %q does not cover it", name, m.Pattern)
			}
			if fixedStart != "" && strings.Contains(bare[:len(bare)-len(suffix)], ".") {
				t.Fatalf("MatchHost(%q) first-label wildcard %q spans labels", name, m.Pattern)
			}
		default:
			t.Fatalf("MatchHost(%q) By = %q", name, m.By)
		}
	})
}
