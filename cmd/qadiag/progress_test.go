package main

import (
	"bytes"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestProgressLine checks the progress line shows how far reading got and
// is cleared when reading ends.
func TestProgressLine(t *testing.T) {
	var out lockedBuffer
	var read atomic.Int64
	stop := startProgress(&out, "c.pcap", 2<<20, &read)
	read.Store(1 << 20)
	time.Sleep(600 * time.Millisecond)
	stop()
	s := out.String()
	if !strings.Contains(s, "reading c.pcap: 1.0 MiB of 2.0 MiB (50%)") {
		t.Errorf("progress line missing: %q", s)
	}
	if !strings.HasSuffix(s, "\r\033[K") {
		t.Errorf("line not cleared at the end: %q", s)
	}
}

// TestNoProgressOrColorWhenNotATerminal checks that nothing but the report
// reaches stdout and nothing reaches stderr when they are not terminals.
func TestNoProgressOrColorWhenNotATerminal(t *testing.T) {
	out, errs, _ := runQadiag(t, "../../testdata/pcaps/scenarios/proxy_blocking-403.pcap")
	if strings.Contains(out, "\033[") || errs != "" {
		t.Errorf("escape codes on stdout or text on stderr: %q", errs)
	}
}
