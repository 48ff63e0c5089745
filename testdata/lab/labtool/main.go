// Command labtool holds the small programs the Quick Assist lab
// (testdata/lab/run.sh) runs inside its network namespaces: a certificate
// maker, a TLS server, a TLS client, a TCP reset injector and an offline
// capture address rewriter. It is not part of qadiag and is built only by
// the lab script; the go tool ignores testdata for ./... patterns.
package main

import (
	"fmt"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: labtool certs|server|client|inject|rewrite ...")
		os.Exit(2)
	}
	var err error
	args := os.Args[2:]
	switch os.Args[1] {
	case "certs":
		err = runCerts(args)
	case "server":
		err = runServer(args)
	case "client":
		err = runClient(args)
	case "inject":
		err = runInject(args)
	case "rewrite":
		err = runRewrite(args)
	default:
		err = fmt.Errorf("unrecognized command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "labtool:", err)
		os.Exit(1)
	}
}
