package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// keylogDir holds loopback TLS captures with their key logs (see its
// README.md and analyze/keylog_test.go, which generates them).
var keylogDir = filepath.Join(pcapDir, "keylog")

func keylogFiles(name string) (capture, keys string) {
	return filepath.Join(keylogDir, name+".pcap"), filepath.Join(keylogDir, name+".keys")
}

// TestKeyLogInterception: with the key log, the TLS 1.3 chain and the
// client's bad_certificate alert are read and the verdict is interception.
func TestKeyLogInterception(t *testing.T) {
	capture, keys := keylogFiles("tls_interception-tls13-zscaler")
	_, _, plainCode := runQadiag(t, capture)
	out, errs, code := runQadiag(t, "--keylog", keys, capture)
	t.Logf("exit without key log %d, with it %d", plainCode, code)
	if code != exitFault {
		t.Errorf("exit %d, want %d; stderr:\n%s", code, exitFault, errs)
	}
	if !strings.Contains(out, "VERDICT  tls_interception") {
		t.Errorf("no tls_interception verdict:\n%s", out)
	}
	jsonOut, _, _ := runQadiag(t, "-f", "json", "--keylog", keys, capture)
	for _, want := range []string{`"certificates_decrypted": true`, `"decrypted": true`} {
		if !strings.Contains(jsonOut, want) {
			t.Errorf("JSON report lacks %s", want)
		}
	}
	if !strings.Contains(out, "TLS 1.3 (decrypted)") {
		t.Errorf("the text report does not say the handshake was decrypted:\n%s", out)
	}
	if errs != "" {
		t.Errorf("stderr: %s", errs)
	}
}

func TestKeyLogMissingFile(t *testing.T) {
	capture, _ := keylogFiles("tls_interception-tls13-zscaler")
	missing := filepath.Join(t.TempDir(), "none.keys")
	out, errs, code := runQadiag(t, "--keylog", missing, capture)
	if code != exitUsage {
		t.Errorf("exit %d, want %d", code, exitUsage)
	}
	if !strings.Contains(errs, "none.keys") || out != "" {
		t.Errorf("stdout %q, stderr %q: want only an error naming the file", out, errs)
	}
}

// TestKeyLogBadLine: a bad line is a warning on stderr naming the line;
// the other lines still decrypt.
func TestKeyLogBadLine(t *testing.T) {
	capture, keys := keylogFiles("tls_interception-tls13-zscaler")
	good, err := os.ReadFile(keys)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "bad.keys")
	if err := os.WriteFile(bad, append([]byte("# SSLKEYLOGFILE\nCLIENT_RANDOM nothex 00\n"), good...), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errs, code := runQadiag(t, "--keylog", bad, capture)
	if code != exitFault || !strings.Contains(out, "VERDICT  tls_interception") {
		t.Errorf("exit %d, want %d with tls_interception:\n%s", code, exitFault, out)
	}
	if !strings.Contains(errs, "bad.keys") || !strings.Contains(errs, "line 2") {
		t.Errorf("stderr %q: want a warning naming bad.keys line 2", errs)
	}
	for _, line := range strings.Split(string(good), "\n") {
		if f := strings.Fields(line); len(f) == 3 && (strings.Contains(errs, f[2]) || strings.Contains(out, f[2])) {
			t.Errorf("output contains the secret of %s", f[0])
		}
	}
}
