package main

import (
	"fmt"
	"io"
	"os"
	"sync/atomic"
	"time"

	"github.com/mattn/go-isatty"
)

// isTerminal reports whether f is an interactive terminal.
func isTerminal(f *os.File) bool {
	return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
}

// startProgress prints, every quarter second until stop is called, how much
// of the capture has been read, overwriting one line of w (stderr); the
// line is cleared at the end so that nothing is left between the user's
// prompt and the report. Reading is not slowed: it only stores how far it
// got in read now and then (analyze.Options.Progress).
func startProgress(w io.Writer, name string, size int64, read *atomic.Int64) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		start := time.Now()
		shown := false
		for {
			select {
			case <-done:
				if shown {
					fmt.Fprint(w, "\r\033[K")
				}
				return
			case <-t.C:
				n := read.Load()
				line := fmt.Sprintf("reading %s: %s", name, mib(n))
				if size > 0 {
					line += fmt.Sprintf(" of %s (%d%%)", mib(size), n*100/size)
				}
				if s := time.Since(start).Seconds(); s > 0 {
					line += fmt.Sprintf(", %.0f MB/s", float64(n)/1e6/s)
				}
				fmt.Fprint(w, "\r\033[K"+line)
				shown = true
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
