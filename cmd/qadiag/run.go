package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/report"
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

const usage = `usage: qadiag flows [flags] CAPTURE

commands:
  flows CAPTURE     the flow table: every TCP and UDP flow with packets,
                    bytes, Zeek conn_state and history (like tshark -z conv)

flags:
`

type options struct {
	format string
	output string
	quiet  bool
}

// run is the whole program behind main: it parses args, reads the capture,
// writes the report to stdout (or -o) and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var opt options
	fs := pflag.NewFlagSet("qadiag", pflag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVarP(&opt.format, "format", "f", "text", "output format: text or json")
	fs.StringVarP(&opt.output, "output", "o", "", "write the report to `FILE` instead of standard output")
	fs.BoolVarP(&opt.quiet, "quiet", "q", false, "print nothing on standard error but errors")
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
	cmd, rest := rest[0], rest[1:]
	switch cmd {
	case "flows":
	default:
		fmt.Fprintf(stderr, "qadiag: unknown command %q\n", cmd)
		return exitUsage
	}
	if len(rest) != 1 {
		fmt.Fprintf(stderr, "qadiag: %s takes one capture file, got %d\n", cmd, len(rest))
		return exitUsage
	}
	if opt.format != "text" && opt.format != "json" {
		fmt.Fprintf(stderr, "qadiag: unknown format %q (text or json)\n", opt.format)
		return exitUsage
	}
	return flows(ctx, rest[0], &opt, stdout, stderr)
}

func flows(ctx context.Context, path string, opt *options, stdout, stderr io.Writer) int {
	res, readErr := readCapture(ctx, path)
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
func readCapture(ctx context.Context, path string) (*analyze.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return analyze.Read(ctx, f, path)
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
