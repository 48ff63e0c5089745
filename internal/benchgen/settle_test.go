package benchgen

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestSettleKeepsFile checks that settling a file into the page cache
// leaves its bytes as they were, and that a missing file is an error.
func TestSettleKeepsFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.pcap")
	want := bytes.Repeat([]byte("settle"), 100000)
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Settle(path); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("settled file changed: %d bytes, want %d", len(got), len(want))
	}
	if err := Settle(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("no error settling a missing file")
	}
}
