// Command scenariogen writes the scenario captures of internal/scenario,
// their expected.json and README.md into a directory:
//
//	go run ./internal/scenario/cmd/scenariogen -o testdata/pcaps/scenarios
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "scenariogen:", err)
		os.Exit(1)
	}
}
