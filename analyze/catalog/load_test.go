package catalog

import (
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

const goodEntry = `{"host": "a.example.com", "ports": ["tcp/443"], "role": "service", "source": "https://example.com/a"}`

func TestLoad(t *testing.T) {
	c := mustLoad(t, `{"version": 1, "entries": [
  {"host": "X.Example.COM.", "ports": ["tcp/443", "udp/3478-3481"], "role": "relay", "required": true, "note": "n", "source": "s"},
  {"prefix": "2001:db8::/32", "ports": ["tcp/80"], "role": "pki", "broad": true, "source": "s"},
  {"prefix": "2001:db8::/32", "ports": ["udp/80"], "role": "media", "source": "s"}
], "issuers": [
  {"name": "Example CA NN", "org": "Example Org", "kind": "issuing", "source": "s"}
]}`)
	want := []Entry{
		{Host: "x.example.com", Ports: []PortRange{{"tcp", 443, 443}, {"udp", 3478, 3481}}, Role: RoleRelay, Required: true, Note: "n", Source: "s"},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Ports: []PortRange{{"udp", 80, 80}}, Role: RoleMedia, Source: "s"},
		{Prefix: netip.MustParsePrefix("2001:db8::/32"), Ports: []PortRange{{"tcp", 80, 80}}, Role: RolePKI, Broad: true, Source: "s"},
	}
	if diff := cmp.Diff(want, c.Entries(), cmpopts.EquateComparable(netip.Prefix{})); diff != "" {
		t.Errorf("Entries (-want +got):\n%s", diff)
	}
	wantIss := []Issuer{{Name: "Example CA NN", Org: "Example Org", Kind: KindIssuing, Source: "s"}}
	if diff := cmp.Diff(wantIss, c.Issuers()); diff != "" {
		t.Errorf("Issuers (-want +got):\n%s", diff)
	}
}

func TestLoadError(t *testing.T) {
	entries := func(bad string) string {
		return "{\"version\": 1,\n\"entries\": [\n" + goodEntry + ",\n" + bad + "\n]}"
	}
	issuers := func(bad string) string {
		return "{\"version\": 1,\n\"issuers\": [\n" + bad + "\n]}"
	}
	tests := []struct {
		name     string
		in       string
		sentinel error
		line     int
		item     string
	}{
		{"bad prefix host bits", entries(`{"prefix": "10.0.0.1/8", "ports": ["tcp/443"], "role": "media", "source": "s"}`), ErrPrefix, 4, `entries[1] (prefix "10.0.0.1/8")`},
		{"bad prefix length", entries(`{"prefix": "10.0.0.0/33", "ports": ["tcp/443"], "role": "media", "source": "s"}`), ErrPrefix, 4, `entries[1] (prefix "10.0.0.0/33")`},
		{"mapped prefix", entries(`{"prefix": "::ffff:10.0.0.0/104", "ports": ["tcp/443"], "role": "media", "source": "s"}`), ErrPrefix, 4, `entries[1] (prefix "::ffff:10.0.0.0/104")`},
		{"bad role", entries(`{"host": "b.example.com", "ports": ["tcp/443"], "role": "chat", "source": "s"}`), ErrRole, 4, `entries[1] (host "b.example.com")`},
		{"unknown role", entries(`{"host": "b.example.com", "ports": ["tcp/443"], "role": "unknown", "source": "s"}`), ErrRole, 4, `entries[1] (host "b.example.com")`},
		{"missing role", entries(`{"host": "b.example.com", "ports": ["tcp/443"], "source": "s"}`), ErrRole, 4, `entries[1] (host "b.example.com")`},
		{"missing source", entries(`{"host": "b.example.com", "ports": ["tcp/443"], "role": "relay"}`), ErrSource, 4, `entries[1] (host "b.example.com")`},
		{"blank source", entries(`{"host": "b.example.com", "ports": ["tcp/443"], "role": "relay", "source": " "}`), ErrSource, 4, `entries[1] (host "b.example.com")`},
		{"host and prefix", entries(`{"host": "b.example.com", "prefix": "10.0.0.0/8", "ports": ["tcp/443"], "role": "relay", "source": "s"}`), ErrEntry, 4, `entries[1] (host "b.example.com")`},
		{"neither host nor prefix", entries(`{"ports": ["tcp/443"], "role": "relay", "source": "s"}`), ErrEntry, 4, `entries[1]`},
		{"no ports", entries(`{"host": "b.example.com", "role": "relay", "source": "s"}`), ErrPort, 4, `entries[1] (host "b.example.com")`},
		{"port zero", entries(`{"host": "b.example.com", "ports": ["tcp/0"], "role": "relay", "source": "s"}`), ErrPort, 4, `entries[1] (host "b.example.com")`},
		{"port too big", entries(`{"host": "b.example.com", "ports": ["tcp/65536"], "role": "relay", "source": "s"}`), ErrPort, 4, `entries[1] (host "b.example.com")`},
		{"port range reversed", entries(`{"host": "b.example.com", "ports": ["udp/5-4"], "role": "relay", "source": "s"}`), ErrPort, 4, `entries[1] (host "b.example.com")`},
		{"port proto", entries(`{"host": "b.example.com", "ports": ["sctp/5"], "role": "relay", "source": "s"}`), ErrPort, 4, `entries[1] (host "b.example.com")`},
		{"port no proto", entries(`{"host": "b.example.com", "ports": ["443"], "role": "relay", "source": "s"}`), ErrPort, 4, `entries[1] (host "b.example.com")`},
		{"wildcard tld", entries(`{"host": "*.com", "ports": ["tcp/443"], "role": "relay", "source": "s"}`), ErrHost, 4, `entries[1] (host "*.com")`},
		{"star inside label", entries(`{"host": "a*b.example.com", "ports": ["tcp/443"], "role": "relay", "source": "s"}`), ErrHost, 4, `entries[1] (host "a*b.example.com")`},
		{"star in suffix", entries(`{"host": "a.*.example.com", "ports": ["tcp/443"], "role": "relay", "source": "s"}`), ErrHost, 4, `entries[1] (host "a.*.example.com")`},
		{"bare star", entries(`{"host": "*", "ports": ["tcp/443"], "role": "relay", "source": "s"}`), ErrHost, 4, `entries[1] (host "*")`},
		{"space in host", entries(`{"host": "ex ample.com", "ports": ["tcp/443"], "role": "relay", "source": "s"}`), ErrHost, 4, `entries[1] (host "ex ample.com")`},
		{"empty label", entries(`{"host": "a..example.com", "ports": ["tcp/443"], "role": "relay", "source": "s"}`), ErrHost, 4, `entries[1] (host "a..example.com")`},
		{"single label", entries(`{"host": "localhost", "ports": ["tcp/443"], "role": "relay", "source": "s"}`), ErrHost, 4, `entries[1] (host "localhost")`},
		{"duplicate overlapping", entries(`{"host": "A.example.com.", "ports": ["tcp/1-1000"], "role": "relay", "source": "s"}`), ErrEntry, 4, `entries[1] (host "A.example.com.")`},
		{"unknown field", entries(`{"prefx": "10.0.0.0/8", "ports": ["tcp/443"], "role": "relay", "source": "s"}`), ErrSyntax, 4, `entries[1]`},
		{"wrong type", entries(`{"host": "b.example.com", "ports": "tcp/443", "role": "relay", "source": "s"}`), ErrSyntax, 4, `entries[1]`},
		{"syntax", entries(`{"host": "b.example.com" "ports": ["tcp/443"]}`), ErrSyntax, 4, `entries[1]`},
		{"entries not array", "{\"version\": 1,\n\"entries\": {}}", ErrSyntax, 2, "entries"},
		{"top level array", "[]", ErrSyntax, 1, ""},
		{"unknown top-level field", "{\"version\": 1,\n\"entry\": []}", ErrSyntax, 2, ""},
		{"missing version", `{"entries": []}`, ErrVersion, 0, "version"},
		{"repeated field", "{\"version\": 1,\n\"entries\": [],\n\"entries\": []}", ErrSyntax, 3, ""},
		{"version 2", `{"version": 2}`, ErrVersion, 0, "version"},
		{"trailing data", "{\"version\": 1}\n{}", ErrSyntax, 2, ""},
		{"trailing bracket", "{\"version\": 1}\n]", ErrSyntax, 2, ""},
		{"empty", "", ErrSyntax, 1, ""},
		{"issuer kind", issuers(`{"name": "X CA", "kind": "intermediate", "source": "s"}`), ErrIssuer, 3, `issuers[0] ("X CA")`},
		{"issuer no name", issuers(`{"kind": "root", "source": "s"}`), ErrIssuer, 3, `issuers[0]`},
		{"issuer only family marker", issuers(`{"name": " NN", "kind": "root", "source": "s"}`), ErrIssuer, 3, `issuers[0] (" NN")`},
		{"issuer padded", issuers(`{"name": "X CA ", "kind": "root", "source": "s"}`), ErrIssuer, 3, `issuers[0] ("X CA ")`},
		{"issuer source", issuers(`{"name": "X CA", "kind": "root"}`), ErrSource, 3, `issuers[0] ("X CA")`},
		{"issuer duplicate", issuers(`{"name": "X CA", "kind": "root", "source": "s"},` + "\n" + `{"name": "X CA", "kind": "issuing", "source": "s"}`), ErrIssuer, 4, `issuers[1] ("X CA")`},
		{"too large", `{"version": 1, "entries": [], "note": "` + strings.Repeat("x", MaxFileBytes) + `"}`, ErrTooLarge, 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tt.in))
			if !errors.Is(err, tt.sentinel) {
				t.Fatalf("Load error = %v, want %v", err, tt.sentinel)
			}
			e, ok := errors.AsType[*Error](err)
			if !ok {
				t.Fatalf("Load error %T is not *Error", err)
			}
			type where struct {
				Line int
				Item string
			}
			if diff := cmp.Diff(where{tt.line, tt.item}, where{e.Line, e.Item}); diff != "" {
				t.Errorf("error %q location (-want +got):\n%s", err, diff)
			}
			if !strings.HasPrefix(err.Error(), "catalog: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}

func TestLoadDisjointDuplicate(t *testing.T) {
	c := mustLoad(t, `{"version": 1, "entries": [
{"host": "turn.example.com", "ports": ["tcp/443"], "role": "media", "source": "a"},
{"host": "turn.example.com", "ports": ["udp/443", "udp/3478"], "role": "media", "source": "b"}]}`)
	if n := len(c.Entries()); n != 2 {
		t.Errorf("got %d entries, want 2", n)
	}
	m, _ := c.MatchHost("turn.example.com")
	if m.Source != "a" {
		t.Errorf("MatchHost source = %q, want the first entry's", m.Source)
	}
}

func TestErrorString(t *testing.T) {
	e := &Error{File: "x.json", Line: 7, Item: `entries[2] (host "h")`, Err: ErrSource}
	want := `catalog: x.json: line 7: entries[2] (host "h"): missing source`
	if diff := cmp.Diff(want, e.Error()); diff != "" {
		t.Errorf("Error() (-want +got):\n%s", diff)
	}
}

func TestLoadFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "extra.json")
	extra := `{"version": 1, "entries": [
{"host": "remoteassistance.support.services.microsoft.com", "ports": ["tcp/8443"], "role": "relay", "source": "local proxy"},
{"host": "qa.corp.example", "ports": ["tcp/443"], "role": "service", "source": "ticket 42"}]}`
	if err := os.WriteFile(path, []byte(extra), 0o600); err != nil {
		t.Fatal(err)
	}
	base := Default()
	ext, err := LoadFile(path, false, base)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(ext.Entries()), len(base.Entries())+1; got != want {
		t.Errorf("extended catalog has %d entries, want %d", got, want)
	}
	if m, _ := ext.MatchHost("remoteassistance.support.services.microsoft.com"); m.Role != RoleRelay || m.Source != "local proxy" {
		t.Errorf("extension did not override: %+v", m)
	}
	if _, ok := ext.MatchHost("login.microsoftonline.com"); !ok {
		t.Error("extension lost a base entry")
	}
	if !ext.IsMicrosoftIssuer("DigiCert Global Root G2", "") {
		t.Error("extension lost the base issuers")
	}

	repl, err := LoadFile(path, true, base)
	if err != nil {
		t.Fatal(err)
	}
	if got := len(repl.Entries()); got != 2 {
		t.Errorf("replacement catalog has %d entries, want 2", got)
	}
	if _, ok := repl.MatchHost("login.microsoftonline.com"); ok {
		t.Error("replacement kept a base entry")
	}

	bad := filepath.Join(dir, "bad.json")
	if err := os.WriteFile(bad, []byte("{\"version\": 1,\n\"entries\": [\n"+goodEntry+",\n{\"host\": \"x.example.com\", \"ports\": [\"tcp/443\"], \"role\": \"chat\", \"source\": \"s\"}]}"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = LoadFile(bad, false, base)
	want := `catalog: ` + bad + `: line 4: entries[1] (host "x.example.com"): unknown role "chat"`
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("LoadFile error = %v, want prefix %q", err, want)
	}
	if _, err := LoadFile(filepath.Join(dir, "missing.json"), false, base); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("LoadFile missing file error = %v, want os.ErrNotExist", err)
	}
}
