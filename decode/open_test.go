package decode

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// TestOpenFileReadsWholeFile checks the mapped reader gives the file's bytes
// in chunks of any size, and that a pipe-like or empty file still opens.
func TestOpenFileReadsWholeFile(t *testing.T) {
	dir := t.TempDir()
	want := bytes.Repeat([]byte("0123456789abcdef"), 100000)
	path := filepath.Join(dir, "c.pcap")
	if err := os.WriteFile(path, want, 0o644); err != nil {
		t.Fatal(err)
	}
	rc, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := rc.(*mapped); !ok {
		t.Logf("not mapped on this platform: %T", rc)
	}
	var got bytes.Buffer
	buf := make([]byte, 7777)
	for {
		n, err := rc.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("read %d bytes, want %d", got.Len(), len(want))
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.pcap")
	if err := os.WriteFile(empty, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	rc, err = OpenFile(empty)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := rc.Read(buf); n != 0 || err != io.EOF {
		t.Fatalf("empty file: %d, %v", n, err)
	}
	rc.Close()
	if _, err := OpenFile(filepath.Join(dir, "missing")); err == nil {
		t.Fatal("missing file opened")
	}
}

// TestOpenFileTruncatedUnderMapping shrinks a mapped file while it is read:
// the reader must return an error, not crash the process.
func TestOpenFileTruncatedUnderMapping(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.pcap")
	if err := os.WriteFile(path, make([]byte, 1<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	rc, err := OpenFile(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if _, ok := rc.(*mapped); !ok {
		t.Skip("SKIP: files are not mapped on this platform")
	}
	if err := os.Truncate(path, 0); err != nil {
		t.Fatal(err)
	}
	_, err = io.ReadAll(rc)
	if err == nil {
		t.Fatal("no error reading a mapping whose file was truncated")
	}
	t.Log(err)
}
