package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync/atomic"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"github.com/qadiag/qadiag/analyze/diagnose"
	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/decode/tlskeys"
	"github.com/qadiag/qadiag/report"
	"github.com/qadiag/qadiag/report/evidence"
	"github.com/qadiag/qadiag/report/redact"
	"github.com/spf13/pflag"
)

// Exit codes (DESIGN.md): a public contract for scripts.
const (
	exitOK         = 0 // no fault found
	exitUnreadable = 1 // the capture could not be read (a partial report may still be printed)
	exitUsage      = 2
	exitFault      = 3 // a fault was diagnosed
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `usage: qadiag [analyze] [flags] CAPTURE...
       qadiag flows [flags] CAPTURE
       qadiag batch [flags] DIR|GLOB|CAPTURE...

commands:
  analyze CAPTURE...  (default) why the Quick Assist session failed: the
                      verdict, the stages reached, each finding with the
                      frames that prove it and what to change
  flows CAPTURE       the flow table: every TCP and UDP flow with packets,
                      bytes, Zeek conn_state and history, and what its
                      TLS, HTTP, STUN or DNS showed (like tshark -z conv;
                      past --keep-flows, ordinary flows are counted)
  batch DIR|GLOB...   many captures in parallel (-j N), one JSON line each
                      (file, verdict, findings, or error), a summary on
                      stderr; .pcap.gz and .pcapng.gz are read directly

exit status: 0 no fault found, 3 a fault diagnosed, 1 a capture could not
be read (the partial report is still printed), 2 usage

flags:
`

type options struct {
	format     string
	output     string
	quiet      bool
	noProgress bool
	// progressTo receives the progress line; nil when there must be none
	// (not a terminal, -q, --no-progress).
	progressTo io.Writer
	color      bool
	verbose    bool
	endpoints  string
	replace    bool
	evidence   string
	redact     bool
	jobs       int
	keepFlows  int
	// oneGoroutine: captures are read side by side (batch), so each is
	// read on one goroutine.
	oneGoroutine bool
	keylogPath   string
	keyLog       *tlskeys.KeyLog
	catalog      *catalog.Catalog
}

// run is the whole program behind main: it parses args, reads the capture,
// writes the report to stdout (or -o) and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var opt options
	fs := pflag.NewFlagSet("qadiag", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVarP(&opt.format, "format", "f", "text", "output format: text, json, markdown or html (flows: text or json)")
	fs.StringVarP(&opt.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	fs.BoolVarP(&opt.quiet, "quiet", "q", false, "print nothing on standard error but errors")
	fs.BoolVarP(&opt.verbose, "verbose", "v", false, "list every flow, not only Quick Assist's")
	fs.BoolVar(&opt.noProgress, "no-progress", false, "do not show reading progress on standard error")
	fs.StringVar(&opt.evidence, "evidence", "", "write the frames that prove the findings, each with a comment, to `FILE.pcapng`")
	fs.StringVar(&opt.keylogPath, "keylog", "", "decrypt TLS handshakes with the secrets in `FILE` (SSLKEYLOGFILE format) to see TLS 1.3 certificates and alerts")
	fs.IntVarP(&opt.jobs, "jobs", "j", 0, "batch: analyse `N` captures at once (default: the number of CPUs)")
	fs.BoolVar(&opt.redact, "redact", false, "pseudonymise client addresses, MACs and names outside the endpoint catalog in every output, for sharing")
	fs.IntVar(&opt.keepFlows, "keep-flows", analyze.DefaultKeepFlows, "past `N` flows, count ordinary ones (clean handshakes and closes, not Quick Assist's) instead of keeping each; 0 keeps every flow")
	fs.StringVar(&opt.endpoints, "endpoints", "", "extend the built-in endpoint catalog with `FILE` (JSON, same format)")
	fs.BoolVar(&opt.replace, "endpoints-replace", false, "with --endpoints: replace the built-in catalog instead of extending it")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return exitOK
		}
		fmt.Fprintf(stderr, "qadiag: %v\n", err)
		return exitUsage
	}
	if *showVersion {
		fmt.Fprintln(stdout, "qadiag", version)
		return exitOK
	}
	rest := fs.Args()
	if len(rest) == 0 {
		fs.Usage()
		return exitUsage
	}
	cmd := "analyze"
	switch rest[0] {
	case "analyze", "flows", "batch":
		cmd, rest = rest[0], rest[1:]
	default:
		// Not a command: a capture for the default command, unless it
		// looks like a mistyped command rather than a file.
		if _, err := os.Stat(rest[0]); err != nil && !strings.ContainsAny(rest[0], "./\\") {
			fmt.Fprintf(stderr, "qadiag: unknown command %q\n", rest[0])
			return exitUsage
		}
	}
	switch opt.format {
	case "text", "json":
	case "markdown", "md", "html":
		if cmd == "flows" {
			fmt.Fprintf(stderr, "qadiag: flows prints text or json, not %s\n", opt.format)
			return exitUsage
		}
	default:
		fmt.Fprintf(stderr, "qadiag: unknown format %q (text, json, markdown or html)\n", opt.format)
		return exitUsage
	}
	if opt.keepFlows < 0 || opt.jobs < 0 {
		fmt.Fprintln(stderr, "qadiag: --keep-flows and --jobs take a count: 0 or more")
		return exitUsage
	}
	// Progress and colour only for a person at a terminal: never in a pipe,
	// a file or a test, and colour never when NO_COLOR is set
	// (no-color.org).
	if f, ok := stderr.(*os.File); ok && !opt.quiet && !opt.noProgress && isTerminal(f) {
		opt.progressTo = stderr
	}
	if f, ok := stdout.(*os.File); ok && opt.output == "" && os.Getenv("NO_COLOR") == "" && isTerminal(f) {
		opt.color = true
	}
	if opt.replace && opt.endpoints == "" {
		fmt.Fprintln(stderr, "qadiag: --endpoints-replace needs --endpoints FILE")
		return exitUsage
	}
	if opt.keylogPath != "" {
		f, err := os.Open(opt.keylogPath)
		if err != nil {
			fmt.Fprintf(stderr, "qadiag: %v\n", err)
			return exitUsage
		}
		kl, warns := tlskeys.ParseKeyLog(f)
		f.Close()
		// A bad line is reported and skipped; the secrets themselves
		// never reach any output.
		for _, w := range warns {
			if !opt.quiet {
				fmt.Fprintf(stderr, "qadiag: %s: %s\n", opt.keylogPath, w)
			}
		}
		opt.keyLog = kl
	}
	// The catalog also tells which flows never fold (--keep-flows).
	opt.catalog = catalog.Default()
	if opt.endpoints != "" {
		c, err := catalog.LoadFile(opt.endpoints, opt.replace, catalog.Default())
		if err != nil {
			fmt.Fprintf(stderr, "qadiag: %v\n", err)
			return exitUsage
		}
		opt.catalog = c
	}
	if cmd == "flows" {
		if len(rest) != 1 {
			fmt.Fprintf(stderr, "qadiag: %s takes one capture file, got %d\n", cmd, len(rest))
			return exitUsage
		}
		return flows(ctx, rest[0], &opt, stdout, stderr)
	}
	if len(rest) == 0 {
		fmt.Fprintf(stderr, "qadiag: %s needs at least one capture file\n", cmd)
		return exitUsage
	}
	if opt.format == "html" && len(rest) != 1 {
		fmt.Fprintln(stderr, "qadiag: --format html takes one capture file (one page per capture)")
		return exitUsage
	}
	if opt.evidence != "" && len(rest) != 1 || opt.evidence == "-" {
		fmt.Fprintln(stderr, "qadiag: --evidence takes a file name and one capture file")
		return exitUsage
	}
	if cmd == "batch" {
		if opt.format != "json" && opt.format != "text" || opt.evidence != "" || opt.output != "" {
			fmt.Fprintln(stderr, "qadiag: batch prints one JSON line per capture: no --format, --evidence or --output")
			return exitUsage
		}
		return runBatch(ctx, rest, &opt, stdout, stderr)
	}
	return analyzeAll(ctx, rest, &opt, stdout, stderr)
}

// analyzeAll diagnoses each capture in turn. The exit status is the worst
// of them: unreadable before fault before none.
func analyzeAll(ctx context.Context, paths []string, opt *options, stdout, stderr io.Writer) int {
	code := exitOK
	var results []analysis
	for _, p := range paths {
		res, v, c := analyzeOne(ctx, p, opt, stderr)
		if res != nil {
			results = append(results, analysis{res, v})
		}
		switch {
		case c == exitUnreadable:
			code = exitUnreadable
		case c == exitFault && code == exitOK:
			code = exitFault
		}
		if ctx.Err() != nil {
			break
		}
	}
	err := writeOutput(opt.output, stdout, func(w io.Writer) error {
		if opt.format == "json" {
			if len(paths) > 1 {
				io.WriteString(w, "[\n")
			}
			for i, a := range results {
				if i > 0 {
					io.WriteString(w, ",\n")
				}
				if err := report.AnalysisJSON(w, a.res, a.v); err != nil {
					return err
				}
			}
			if len(paths) > 1 {
				io.WriteString(w, "]\n")
			}
			return nil
		}
		for i, a := range results {
			if i > 0 {
				io.WriteString(w, "\n")
			}
			var err error
			switch opt.format {
			case "markdown", "md":
				err = report.AnalysisMarkdown(w, a.res, a.v)
			case "html":
				err = report.AnalysisHTML(w, a.res, a.v)
			default:
				err = report.AnalysisTextOpts(w, a.res, a.v, report.TextOptions{AllFlows: opt.verbose, Color: opt.color})
			}
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		fmt.Fprintf(stderr, "qadiag: %v\n", err)
		return exitUnreadable
	}
	return code
}

type analysis struct {
	res *analyze.Result
	v   *diagnose.Verdict
}

// analyzeOne reads and diagnoses one capture; a damaged capture is still
// diagnosed from what was read.
func analyzeOne(ctx context.Context, path string, opt *options, stderr io.Writer) (*analyze.Result, *diagnose.Verdict, int) {
	res, readErr := readCapture(ctx, path, opt)
	if res == nil {
		fmt.Fprintf(stderr, "qadiag: %v\n", readErr) // names the file (os.PathError)
		return nil, nil, exitUnreadable
	}
	if errors.Is(readErr, decode.ErrNotCapture) {
		// Not a capture at all: a verdict about it would mislead.
		fmt.Fprintf(stderr, "qadiag: %s: %v\n", path, readErr)
		return nil, nil, exitUnreadable
	}
	v := diagnose.Diagnose(res, opt.catalog)
	var rd *redact.Redactor
	var ev evidence.Options
	if opt.redact {
		rd = redact.New(opt.catalog, nil)
		ev = evidence.Options{Packet: rd.Packet, Text: rd.Text, Name: rd.FileName}
	}
	if opt.evidence != "" {
		err := writeOutput(opt.evidence, nil, func(w io.Writer) error {
			st, err := evidence.WriteWith(w, path, res, v, ev)
			if err == nil && !opt.quiet {
				fmt.Fprintf(stderr, "qadiag: %s: %d frames, %d of them cited\n", opt.evidence, st.Frames, st.Cited)
			}
			var de *decode.Error
			if errors.As(err, &de) && !errors.Is(err, decode.ErrNotCapture) {
				return nil // damaged capture: the evidence read before the damage is kept; the damage is reported below
			}
			return err
		})
		if err != nil {
			fmt.Fprintf(stderr, "qadiag: evidence: %v\n", err)
			return res, v, exitUnreadable
		}
	}
	if rd != nil {
		// Evidence is planned from the original; everything printed is the
		// redacted copy.
		res, v = rd.Result(res, v)
		if readErr != nil {
			readErr = errors.New(rd.Text(readErr.Error()))
		}
		path = rd.FileName(path)
	}
	if readErr != nil {
		if errors.Is(readErr, context.Canceled) {
			n := res.Capture.Packets
			fmt.Fprintf(stderr, "qadiag: %s: interrupted after frame %d: the report covers frames 1-%d\n", path, n, n)
		} else {
			fmt.Fprintf(stderr, "qadiag: %s: %v\n", path, readErr)
		}
		return res, v, exitUnreadable
	}
	if v.Fault() {
		return res, v, exitFault
	}
	return res, v, exitOK
}

func flows(ctx context.Context, path string, opt *options, stdout, stderr io.Writer) int {
	res, readErr := readCapture(ctx, path, opt)
	if res == nil {
		fmt.Fprintf(stderr, "qadiag: %v\n", readErr)
		return exitUnreadable
	}
	render := report.FlowsText
	if opt.format == "json" {
		render = report.JSON
	}
	if err := writeOutput(opt.output, stdout, func(w io.Writer) error { return render(w, res) }); err != nil {
		fmt.Fprintf(stderr, "qadiag: %v\n", err)
		return exitUnreadable
	}
	if readErr != nil {
		fmt.Fprintf(stderr, "qadiag: %v\n", readErr)
		return exitUnreadable
	}
	return exitOK
}

// readCapture opens and reads one capture. A nil Result means nothing could
// be read at all (the file does not open).
func readCapture(ctx context.Context, path string, opt *options) (*analyze.Result, error) {
	f, err := decode.OpenFile(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ro := analyze.Options{KeyLog: opt.keyLog, OneGoroutine: opt.oneGoroutine, KeepFlows: opt.keepFlows, Relevant: diagnose.Relevant(opt.catalog)}
	progress := opt.progressTo
	if progress == nil {
		return analyze.ReadWith(ctx, f, path, ro)
	}
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	ro.Progress = new(atomic.Int64)
	stop := startProgress(progress, path, size, ro.Progress)
	defer stop()
	return analyze.ReadWith(ctx, f, path, ro)
}

// writeOutput renders to stdout, or to a file written whole or not at all:
// a temporary file in the same directory renamed over the target.
func writeOutput(path string, stdout io.Writer, render func(io.Writer) error) error {
	if path == "" || path == "-" {
		return render(stdout)
	}
	dir, base := ".", path
	if i := strings.LastIndexByte(path, os.PathSeparator); i >= 0 {
		dir, base = path[:i+1], path[i+1:]
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := render(tmp); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
