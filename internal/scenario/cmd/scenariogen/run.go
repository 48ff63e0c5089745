package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/qadiag/qadiag/internal/scenario"
)

// run parses args, writes every scenario into the output directory and
// prints one line per file.
func run(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scenariogen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output `directory` (created if missing)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *out == "" || fs.NArg() > 0 {
		fs.Usage()
		return errors.New("usage: scenariogen -o DIR")
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	index, err := scenario.WriteDir(*out)
	if err != nil {
		return err
	}
	for _, e := range index {
		fmt.Fprintf(stdout, "%-48s %-24s key frames %v\n", e.File, e.Cause, e.KeyFrames)
	}
	fmt.Fprintf(stdout, "wrote %d captures, %s and %s to %s\n", len(index), scenario.ExpectedFile, scenario.ReadmeFile, *out)
	return nil
}
