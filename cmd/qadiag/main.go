// Command qadiag reads a packet capture of a failed Microsoft Quick Assist
// session and says which network fault caused it, with the frames that prove
// it and what to change.
package main

import (
	"context"
	"os"
	"os/signal"

	"github.com/qadiag/qadiag/internal/gcfloor"
)

func main() {
	// The collector stays off until the heap reaches gcfloor.Floor: what
	// an analysis allocates lives to its end, and collecting it as it
	// grows costs a fifth of a large capture's time for nothing.
	gcfloor.Set(gcfloor.Floor)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
