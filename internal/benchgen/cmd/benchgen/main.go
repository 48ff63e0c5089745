// Command benchgen writes the benchmark capture of
// shared/research/performance.md to a file and prints what it wrote.
//
//	go run ./internal/benchgen/cmd/benchgen -o /tmp/big.pcap
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "benchgen:", err)
		os.Exit(1)
	}
}
