package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/qadiag/qadiag/internal/benchgen"
)

// run parses args, writes the capture and prints its statistics to stdout.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("benchgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	out := fs.String("o", "", "output `file` (required)")
	var cfg benchgen.Config
	fs.Int64Var(&cfg.Seed, "seed", 1, "random seed")
	fs.IntVar(&cfg.Flows, "flows", benchgen.DefaultFlows, "TCP connections")
	fs.StringVar(&cfg.Format, "format", "pcap", "file format: pcap or pcapng")
	fs.Float64Var(&cfg.MsgScale, "msgscale", 1, "multiplier of requests per connection")
	fs.IntVar(&cfg.STUNSessions, "sessions", 0, "TURN sessions (0: 1.5 % of -flows, negative: none)")
	fs.IntVar(&cfg.DNSExchanges, "dns", 0, "DNS lookups (0: half of -flows, negative: none)")
	fs.DurationVar(&cfg.Duration, "duration", benchgen.DefaultDuration, "capture length")
	settle := fs.Bool("settle", false, "write nothing: settle the existing -o file into the page cache as read from disk")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if *out == "" {
		fs.Usage()
		return errors.New("-o is required")
	}
	if *settle {
		return benchgen.Settle(*out)
	}
	f, err := os.Create(*out)
	if err != nil {
		return err
	}
	began := time.Now()
	st, err := generate(ctx, f, cfg)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	took := time.Since(began)
	// Cached as a capture read from disk is, not as written (benchgen.Settle).
	if err := benchgen.Settle(*out); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "wrote %s in %.1f s\n", *out, took.Seconds())
	fmt.Fprintf(stdout, "packets        %d (IPv6 %d)\n", st.Packets, st.IPv6Packets)
	fmt.Fprintf(stdout, "file bytes     %d\n", st.FileBytes)
	fmt.Fprintf(stdout, "frame bytes    %d (average %.0f)\n", st.FrameBytes, float64(st.FrameBytes)/float64(max(st.Packets, 1)))
	fmt.Fprintf(stdout, "tcp flows      %d\n", st.TCPFlows)
	fmt.Fprintf(stdout, "udp flows      %d\n", st.UDPFlows)
	fmt.Fprintf(stdout, "client hellos  %d\n", st.ClientHellos)
	return nil
}

// generate runs benchgen.Generate and stops it when ctx is cancelled by
// failing its writes.
func generate(ctx context.Context, w io.Writer, cfg benchgen.Config) (benchgen.Stats, error) {
	return benchgen.Generate(ctxWriter{ctx, w}, cfg)
}

// ctxWriter fails writes once its context is done.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

// Write writes p unless the context is done.
func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}
