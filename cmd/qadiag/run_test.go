package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/internal/golden"
)

const pcapDir = "../../testdata/pcaps"

func runQadiag(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = run(context.Background(), args, &out, &errb)
	return out.String(), errb.String(), code
}

func captures(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(pcapDir, "*.pcap*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in %s", pcapDir)
	}
	return files
}

// TestGoldenFlows renders `qadiag flows` for every capture in testdata/pcaps
// as text and JSON and compares with the reviewed files in testdata/golden.
func TestGoldenFlows(t *testing.T) {
	for _, path := range captures(t) {
		for _, format := range []string{"text", "json"} {
			name := filepath.Base(path) + ".flows." + map[string]string{"text": "txt", "json": "json"}[format]
			t.Run(name, func(t *testing.T) {
				out, _, code := runQadiag(t, "flows", "-f", format, path)
				wantCode := exitOK
				if strings.HasPrefix(filepath.Base(path), "damaged-") {
					wantCode = exitUnreadable
				}
				if code != wantCode {
					t.Errorf("exit code %d, want %d", code, wantCode)
				}
				if format == "json" && !json.Valid([]byte(out)) {
					t.Fatalf("invalid JSON:\n%s", out)
				}
				golden.Check(t, filepath.Join("testdata", "golden", name), out)
			})
		}
	}
}

// TestGoldenAnalyze renders the default command's report for every capture
// in testdata/pcaps, its scenarios and its lab captures, text and JSON, against the
// reviewed files in testdata/golden, and checks the exit status agrees with
// the verdict.
func TestGoldenAnalyze(t *testing.T) {
	scen, _ := filepath.Glob(filepath.Join(pcapDir, "scenarios", "*.pcap*"))
	lab, _ := filepath.Glob(filepath.Join(pcapDir, "lab", "*.pcap*"))
	for _, path := range append(append(captures(t), scen...), lab...) {
		for _, format := range []string{"text", "json"} {
			name := filepath.Base(path) + ".analyze." + map[string]string{"text": "txt", "json": "json"}[format]
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				out, _, code := runQadiag(t, "-f", format, path)
				if format == "json" {
					var doc struct {
						Verdict struct{ Fault bool } `json:"verdict"`
					}
					if err := json.Unmarshal([]byte(out), &doc); err != nil {
						t.Fatalf("invalid JSON: %v", err)
					}
					want := exitOK
					switch {
					case strings.HasPrefix(filepath.Base(path), "damaged-"):
						want = exitUnreadable
					case doc.Verdict.Fault:
						want = exitFault
					}
					if code != want {
						t.Errorf("exit code %d, want %d", code, want)
					}
				}
				golden.Check(t, filepath.Join("testdata", "golden", name), out)
			})
		}
	}
}

// TestDeterministic checks two runs give byte-identical output.
func TestDeterministic(t *testing.T) {
	for _, path := range captures(t) {
		for _, cmd := range []string{"flows", "analyze"} {
			a, _, _ := runQadiag(t, cmd, "-f", "json", path)
			b, _, _ := runQadiag(t, cmd, "-f", "json", path)
			if a != b {
				t.Errorf("%s %s: two runs differ", cmd, path)
			}
		}
	}
}

func TestExitCodes(t *testing.T) {
	good := filepath.Join(pcapDir, "mixed-quickassist.pcap")
	tests := []struct {
		name      string
		args      []string
		code      int
		stdoutHas string
		stderrHas string
	}{
		{"help", []string{"-h"}, exitOK, "", "usage: qadiag"},
		{"version", []string{"--version"}, exitOK, "qadiag", ""},
		{"no args", nil, exitUsage, "", "usage: qadiag"},
		{"unknown command", []string{"frobnicate", good}, exitUsage, "", `unknown command "frobnicate"`},
		{"unknown flag", []string{"flows", "--nope", good}, exitUsage, "", "unknown flag"},
		{"bad format", []string{"flows", "-f", "xml", good}, exitUsage, "", `unknown format "xml"`},
		{"two files", []string{"flows", good, good}, exitUsage, "", "one capture file"},
		{"missing file", []string{"flows", "does-not-exist.pcap"}, exitUnreadable, "", "no such file"},
		{"not a capture", []string{"flows", "run_test.go"}, exitUnreadable, "not a pcap or pcapng capture", "not a pcap or pcapng capture"},
		{"damaged keeps partial result", []string{"flows", filepath.Join(pcapDir, "damaged-cut-mid-record.pcap")}, exitUnreadable, "frames 1-", "capture truncated"},
		{"ok", []string{"flows", good}, exitOK, "20.202.15.47:3478", ""},
		{"analyze healthy", []string{good}, exitOK, "VERDICT  healthy", ""},
		{"analyze fault", []string{filepath.Join(pcapDir, "scenarios", "proxy_blocking-403.pcap")}, exitFault, "VERDICT  proxy_blocking", ""},
		{"analyze several, worst status", []string{"-f", "json", good, filepath.Join(pcapDir, "scenarios", "proxy_blocking-403.pcap")}, exitFault, `"cause": "proxy_blocking"`, ""},
		{"analyze damaged", []string{filepath.Join(pcapDir, "damaged-cut-mid-record.pcap")}, exitUnreadable, "VERDICT", "capture truncated"},
		{"analyze no capture", []string{"analyze"}, exitUsage, "", "at least one capture"},
		{"analyze not a capture", []string{"analyze", "run_test.go"}, exitUnreadable, "", "run_test.go: decode: frame 1 at offset 0x0: file header: not a pcap or pcapng capture"},
		{"endpoints missing", []string{"--endpoints", "nope.json", good}, exitUsage, "", "nope.json"},
		{"markdown", []string{"-f", "markdown", filepath.Join(pcapDir, "scenarios", "proxy_blocking-403.pcap")}, exitFault, "- [ ] ", ""},
		{"html", []string{"-f", "html", filepath.Join(pcapDir, "scenarios", "proxy_blocking-403.pcap")}, exitFault, "<svg", ""},
		{"html several", []string{"-f", "html", good, good}, exitUsage, "", "one capture file"},
		{"flows html", []string{"flows", "-f", "html", good}, exitUsage, "", "text or json"},
		{"endpoints-replace alone", []string{"--endpoints-replace", good}, exitUsage, "", "needs --endpoints"},
		{"negative keep-flows", []string{"--keep-flows", "-1", good}, exitUsage, "", "take a count"},
		{"negative jobs", []string{"batch", "-j", "-2", good}, exitUsage, "", "take a count"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, errs, code := runQadiag(t, tt.args...)
			if code != tt.code {
				t.Errorf("exit code %d, want %d (stderr %q)", code, tt.code, errs)
			}
			if !strings.Contains(out, tt.stdoutHas) {
				t.Errorf("stdout lacks %q:\n%s", tt.stdoutHas, out)
			}
			if !strings.Contains(errs, tt.stderrHas) {
				t.Errorf("stderr lacks %q:\n%s", tt.stderrHas, errs)
			}
		})
	}
}

// TestOutputFile checks -o writes the same bytes as standard output.
func TestOutputFile(t *testing.T) {
	good := filepath.Join(pcapDir, "mixed-quickassist.pcap")
	dst := filepath.Join(t.TempDir(), "flows.json")
	want, _, _ := runQadiag(t, "flows", "-f", "json", good)
	out, _, code := runQadiag(t, "flows", "-f", "json", "-o", dst, good)
	if code != exitOK || out != "" {
		t.Fatalf("code %d, stdout %q", code, out)
	}
	got, err := os.ReadFile(dst)
	if err != nil || string(got) != want {
		t.Errorf("file differs from stdout (err %v)", err)
	}
}

// TestImportBoundaries pins DESIGN.md's import direction:
// cmd → report → analyze → decode, never back.
func TestImportBoundaries(t *testing.T) {
	forbidden := map[string][]string{
		"decode":  {"analyze", "report", "cmd"},
		"analyze": {"report", "cmd"},
		"report":  {"cmd"},
	}
	for pkg, bad := range forbidden {
		out, err := exec.Command("go", "list", "-deps", "github.com/qadiag/qadiag/"+pkg+"/...").Output()
		if err != nil {
			t.Skipf("SKIP: go list failed: %v", err)
		}
		for _, dep := range strings.Fields(string(out)) {
			for _, b := range bad {
				if strings.HasPrefix(dep, "github.com/qadiag/qadiag/"+b) {
					t.Errorf("%s imports %s", pkg, dep)
				}
			}
		}
	}
}

// TestEndpointsFlag checks --endpoints extends the catalog (a site becomes
// Quick Assist's) and --endpoints-replace drops the built-in entries.
func TestEndpointsFlag(t *testing.T) {
	capture := filepath.Join(pcapDir, "scenarios", "no_quick_assist_traffic-background.pcap")
	extra := filepath.Join(t.TempDir(), "extra.json")
	if err := os.WriteFile(extra, []byte(`{"version": 1, "entries": [
		{"host": "github.com", "ports": ["tcp/443"], "role": "service", "required": true, "source": "https://example.invalid/test"}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runQadiag(t, capture)
	if code != exitOK || !strings.Contains(out, "VERDICT  no_quick_assist_traffic") {
		t.Fatalf("built-in catalog: code %d\n%s%s", code, out, errs)
	}
	out, errs, code = runQadiag(t, "--endpoints", extra, capture)
	if code != exitOK || !strings.Contains(out, "VERDICT  healthy") || !strings.Contains(out, "github.com") {
		t.Fatalf("extended catalog: code %d\n%s%s", code, out, errs)
	}
	good := filepath.Join(pcapDir, "mixed-quickassist.pcap")
	out, errs, code = runQadiag(t, "--endpoints", extra, "--endpoints-replace", good)
	if code != exitOK || !strings.Contains(out, "VERDICT  no_quick_assist_traffic") {
		t.Fatalf("replaced catalog: code %d\n%s%s", code, out, errs)
	}
}

// TestRedactEverywhere runs every output format and the evidence pcapng
// with --redact and checks no client address (as text or as raw bytes in
// the pcapng), no name outside the catalog and not the file name survives,
// while the Quick Assist names do.
func TestRedactEverywhere(t *testing.T) {
	for _, name := range []string{"proxy_blocking-407-basic.pcapng", "tls_interception-zscaler.pcap", "healthy-ipv6.pcapng"} {
		t.Run(name, func(t *testing.T) {
			capture := filepath.Join(pcapDir, "scenarios", name)
			f, err := os.Open(capture)
			if err != nil {
				t.Fatal(err)
			}
			res, err := analyze.Read(context.Background(), f, capture)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			var secrets []string
			var raw [][]byte
			for _, fl := range res.Flows {
				a := fl.Client.Addr()
				secrets = append(secrets, a.String())
				raw = append(raw, a.AsSlice())
			}
			secrets = append(secrets, strings.TrimSuffix(name, filepath.Ext(name)))
			// Not t.TempDir: its path holds the test's name, the file name.
			dir, err := os.MkdirTemp("", "qadiag-ev")
			if err != nil {
				t.Fatal(err)
			}
			defer os.RemoveAll(dir)
			ev := filepath.Join(dir, "ev.pcapng")
			var outputs []string
			for _, format := range []string{"text", "json", "markdown", "html"} {
				args := []string{"--redact", "-v", "-f", format, capture}
				if format == "text" {
					args = append([]string{"--evidence", ev}, args...)
				}
				out, errs, _ := runQadiag(t, args...)
				outputs = append(outputs, out+errs)
			}
			pcap, err := os.ReadFile(ev)
			if err != nil {
				t.Fatal(err)
			}
			for i, out := range outputs {
				for _, s := range secrets {
					if strings.Contains(out, s) {
						t.Errorf("output %d holds %q", i, s)
					}
				}
				if !strings.Contains(out, "microsoft.com") {
					t.Errorf("output %d lost the Microsoft names", i)
				}
			}
			for _, b := range raw {
				if bytes.Contains(pcap, b) {
					t.Errorf("evidence pcapng holds the client address %v", b)
				}
			}
			if bytes.Contains(pcap, []byte(name)) {
				t.Error("evidence pcapng holds the file name")
			}
		})
	}
}

// TestOutputNotClobberedOnError checks a failed write leaves an existing
// output file as it was: outputs go to a temporary file renamed at the end.
func TestOutputNotClobberedOnError(t *testing.T) {
	dir := t.TempDir()
	ev := filepath.Join(dir, "ev.pcapng")
	if err := os.WriteFile(ev, []byte("OLD"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, _, code := runQadiag(t, "--evidence", ev, "run_test.go") // not a capture: the evidence cannot be written
	if code != exitUnreadable {
		t.Errorf("exit code %d, want %d", code, exitUnreadable)
	}
	if b, _ := os.ReadFile(ev); string(b) != "OLD" {
		t.Errorf("existing file changed to %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
		t.Errorf("temporary files left behind: %v", left)
	}
}
