package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/qadiag/qadiag/analyze/diagnose"
	"github.com/qadiag/qadiag/report"
)

// batchLine is one capture's result in `qadiag batch`: a JSON object per
// line (documented in docs/json-schema.md).
type batchLine struct {
	File         string         `json:"file"`
	Cause        string         `json:"cause,omitempty"`
	Fault        bool           `json:"fault"`
	Confidence   float64        `json:"confidence,omitempty"`
	Level        string         `json:"level,omitempty"`
	StageReached string         `json:"stage_reached,omitempty"`
	StageFailed  string         `json:"stage_failed,omitempty"`
	Findings     []batchFinding `json:"findings,omitempty"`
	Packets      uint64         `json:"packets"`
	Flows        int            `json:"flows"`
	QuickAssist  int            `json:"quick_assist_flows"`
	Error        string         `json:"error,omitempty"`
	code         int
}

type batchFinding struct {
	Cause      string   `json:"cause"`
	Confidence float64  `json:"confidence"`
	Level      string   `json:"level"`
	Flows      int      `json:"flows"`
	Hosts      []string `json:"hosts,omitempty"`
}

// captureExts are the file names batch picks up in a directory.
var captureExts = []string{".pcap", ".pcapng", ".cap", ".pcap.gz", ".pcapng.gz", ".cap.gz"}

// batchFiles expands directories (recursively, capture file names only)
// and globs into a sorted list of files.
func batchFiles(args []string) ([]string, error) {
	var files []string
	for _, a := range args {
		fi, err := os.Stat(a)
		switch {
		case err == nil && fi.IsDir():
			err = filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				name := strings.ToLower(d.Name())
				if !d.IsDir() && slices.ContainsFunc(captureExts, func(ext string) bool { return strings.HasSuffix(name, ext) }) {
					files = append(files, p)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
		case err == nil:
			files = append(files, a)
		default:
			m, gerr := filepath.Glob(a)
			if gerr != nil || len(m) == 0 {
				return nil, fmt.Errorf("%s: no such file, directory or matching glob", a)
			}
			files = append(files, m...)
		}
	}
	slices.Sort(files)
	return slices.Compact(files), nil
}

// runBatch analyses many captures in parallel (jobs workers) and prints one
// JSON line per capture, in file order, as soon as it and those before it
// are done; a summary goes to stderr. The exit status is the worst: a
// capture that could not be read, then a fault, then none.
func runBatch(ctx context.Context, args []string, opt *options, stdout, stderr io.Writer) int {
	files, err := batchFiles(args)
	if err != nil {
		fmt.Fprintf(stderr, "qadiag: %v\n", err)
		return exitUsage
	}
	jobs := opt.jobs
	if jobs <= 0 {
		jobs = runtime.NumCPU()
	}
	bopt := *opt
	bopt.progressTo = nil // several reads at once: no progress line
	bopt.oneGoroutine = jobs > 1 && len(files) > 1
	results := make([]chan batchLine, len(files))
	for i := range results {
		results[i] = make(chan batchLine, 1)
	}
	work := make(chan int)
	var wg sync.WaitGroup
	for range min(jobs, max(len(files), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				results[i] <- analyzeForBatch(ctx, files[i], &bopt)
			}
		}()
	}
	go func() {
		defer close(work)
		for i := range files {
			select {
			case work <- i:
			case <-ctx.Done():
				for j := i; j < len(files); j++ {
					results[j] <- batchLine{File: files[j], Error: "not analysed: interrupted", code: exitUnreadable}
				}
				return
			}
		}
	}()
	code := exitOK
	counts := map[string]*verdictCount{}
	enc := json.NewEncoder(stdout)
	for i := range files {
		l := <-results[i]
		if err := enc.Encode(l); err != nil {
			fmt.Fprintf(stderr, "qadiag: %v\n", err)
			return exitUnreadable
		}
		switch {
		case l.code == exitUnreadable:
			code = exitUnreadable
		case l.code == exitFault && code == exitOK:
			code = exitFault
		}
		cause := l.Cause
		if cause == "" {
			cause = noVerdict
		}
		c := counts[cause]
		if c == nil {
			c = new(verdictCount)
			counts[cause] = c
		}
		c.captures++
		if l.Error != "" {
			c.errors++
		}
	}
	wg.Wait()
	if !opt.quiet {
		batchSummary(stderr, len(files), counts)
	}
	return code
}

func analyzeForBatch(ctx context.Context, path string, opt *options) batchLine {
	l := batchLine{File: path}
	res, readErr := readCapture(ctx, path, opt)
	if res == nil {
		l.Error, l.code = readErr.Error(), exitUnreadable
		return l
	}
	l.Packets, l.Flows = res.Capture.Packets, res.FlowCount()
	if readErr != nil {
		l.Error, l.code = readErr.Error(), exitUnreadable
		if res.Capture.Packets == 0 {
			return l // nothing to diagnose
		}
	}
	v := diagnose.Diagnose(res, opt.catalog)
	l.Cause, l.Fault, l.Confidence, l.Level = v.Cause, v.Fault(), v.Score, v.Level
	l.StageReached, l.StageFailed, l.QuickAssist = v.StageReached, v.StageFailed, len(v.QuickAssist)
	for _, f := range v.Findings {
		l.Findings = append(l.Findings, batchFinding{Cause: f.Cause, Confidence: f.Score, Level: f.Level, Flows: len(f.Flows), Hosts: f.Hosts})
	}
	if l.code == exitOK && v.Fault() {
		l.code = exitFault
	}
	return l
}

// verdictCount is a row of the batch summary: the captures that gave one
// verdict, and how many of them carry an error (a capture read up to its
// damage has a verdict from the frames before it, and an error).
type verdictCount struct {
	captures, errors int
}

// noVerdict is the summary's row for captures that gave no verdict: not a
// capture, unreadable from the start, or not analysed before an interrupt.
const noVerdict = "(no verdict)"

// batchSummary prints how many captures gave each verdict and how many of
// those carry an error: each capture counts in one row, so the rows add up
// to n.
func batchSummary(w io.Writer, n int, counts map[string]*verdictCount) {
	var keys []string
	errors := 0
	for k, c := range counts {
		keys = append(keys, k)
		errors += c.errors
	}
	slices.Sort(keys)
	if errors == 0 {
		fmt.Fprintf(w, "%d captures\n", n)
	} else {
		fmt.Fprintf(w, "%d captures, %d with errors (their JSON lines say which)\n", n, errors)
	}
	t := report.NewTable(w)
	t.Header("verdict", "captures", "with errors")
	for _, k := range keys {
		if err := t.Append([]string{k, fmt.Sprint(counts[k].captures), fmt.Sprint(counts[k].errors)}); err != nil {
			return
		}
	}
	_ = t.Render()
}
