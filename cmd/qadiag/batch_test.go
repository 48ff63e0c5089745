package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestBatch runs batch over a directory holding a healthy capture, a
// faulty one, a damaged one and a file that is not a capture: one
// well-formed JSON line per file in name order, an error line for the two
// bad ones without stopping the others, and the worst exit status.
func TestBatch(t *testing.T) {
	dir := t.TempDir()
	copyFile := func(src, dst string) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, dst), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(filepath.Join(pcapDir, "mixed-quickassist.pcap"), "a-healthy.pcap")
	copyFile(filepath.Join(pcapDir, "scenarios", "proxy_blocking-403.pcap"), "b-fault.pcap")
	copyFile(filepath.Join(pcapDir, "damaged-cut-mid-record.pcap"), "c-damaged.pcap")
	copyFile("run_test.go", "d-junk.pcapng")
	copyFile("run_test.go", "e-ignored.txt") // not a capture name: not picked up

	out, errs, code := runQadiag(t, "batch", "-j", "3", dir)
	if code != exitUnreadable {
		t.Errorf("exit %d, want %d (a capture could not be read)", code, exitUnreadable)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d lines, want 4:\n%s", len(lines), out)
	}
	want := []struct {
		file, cause string
		err         bool
	}{
		{"a-healthy.pcap", "healthy", false},
		{"b-fault.pcap", "proxy_blocking", false},
		{"c-damaged.pcap", "healthy", true},
		{"d-junk.pcapng", "", true},
	}
	for i, l := range lines {
		var got batchLine
		if err := json.Unmarshal([]byte(l), &got); err != nil {
			t.Fatalf("line %d not JSON: %v\n%s", i, err, l)
		}
		w := want[i]
		if filepath.Base(got.File) != w.file || got.Cause != w.cause || (got.Error != "") != w.err {
			t.Errorf("line %d: %s cause %q error %q; want %+v", i, got.File, got.Cause, got.Error, w)
		}
	}
	// The summary has a row per verdict, and the rows add up to the
	// captures: the damaged one counts under its verdict, with a read
	// error, and the junk file under no verdict.
	if !strings.Contains(errs, "4 captures, 2 with errors") {
		t.Errorf("summary on stderr:\n%s", errs)
	}
	for _, row := range [][]string{{"(no verdict)", "1", "1"}, {"healthy", "2", "1"}, {"proxy_blocking", "1", "0"}} {
		re := regexp.MustCompile(`(?m)^\|\s*` + regexp.QuoteMeta(row[0]) + `\s*\|\s*` + row[1] + `\s*\|\s*` + row[2] + `\s*\|$`)
		if !re.MatchString(errs) {
			t.Errorf("summary has no row %q:\n%s", row, errs)
		}
	}
	// Only faults: exit 3.
	_, _, code = runQadiag(t, "batch", "-q", filepath.Join(pcapDir, "scenarios", "proxy_blocking-*.pcap*"))
	if code != exitFault {
		t.Errorf("glob of faulty captures: exit %d, want %d", code, exitFault)
	}
	if _, errs, code := runQadiag(t, "batch", filepath.Join(dir, "nothing-*.pcap")); code != exitUsage || !strings.Contains(errs, "no such file") {
		t.Errorf("empty glob: exit %d, %s", code, errs)
	}
}
