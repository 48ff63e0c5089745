// Command qadiag reads a packet capture of a failed Microsoft Quick Assist
// session and says which network fault caused it, with the frames that prove
// it and what to change.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
