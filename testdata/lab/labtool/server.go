package main

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// runServer serves HTTPS on every -listen address with the lab's Microsoft
// chain. GET /?size=N answers N bytes; -delay holds each response (a far
// server); -tls13 refuses TLS 1.2 and older.
func runServer(args []string) error {
	fs := flag.NewFlagSet("server", flag.ContinueOnError)
	listen := fs.String("listen", "", "comma-separated host:port list")
	chain := fs.String("chain", "chain.pem", "certificate chain")
	key := fs.String("key", "leaf.key", "private key")
	delay := fs.Duration("delay", 0, "delay before each response")
	tls13 := fs.Bool("tls13", false, "accept TLS 1.3 only")
	hsDelay := fs.Duration("hsdelay", 0, "delay after reading the ClientHello (a far server)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cert, err := tls.LoadX509KeyPair(*chain, *key)
	if err != nil {
		return err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if *tls13 {
		cfg.MinVersion = tls.VersionTLS13
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(*delay)
		n, _ := strconv.Atoi(r.URL.Query().Get("size"))
		if n <= 0 {
			n = 600
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.Itoa(n))
		w.Write([]byte(strings.Repeat("q", n)))
	})
	errc := make(chan error)
	for _, a := range strings.Split(*listen, ",") {
		// No TCP keep-alives on accepted connections (Go's default probes
		// every 15 s would refresh a firewall's state and make an idle
		// connection not idle; Microsoft's servers send none that often).
		lc := net.ListenConfig{KeepAlive: -1}
		ln, err := lc.Listen(context.Background(), "tcp4", a)
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h, TLSConfig: cfg, IdleTimeout: 30 * time.Minute,
			ErrorLog: nil}
		go func() { errc <- srv.Serve(tls.NewListener(slowListener{ln, *hsDelay}, cfg)) }()
	}
	if *listen == "" {
		return errors.New("no -listen address")
	}
	fmt.Println("serving", *listen)
	return <-errc
}

// slowListener hands out connections whose first read is followed by a
// pause, so the server's first flight leaves one "distance" after the
// ClientHello, as from a server far away.
type slowListener struct {
	net.Listener
	d time.Duration
}

func (l slowListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil || l.d == 0 {
		return c, err
	}
	return &slowConn{Conn: c, d: l.d}, nil
}

type slowConn struct {
	net.Conn
	d    time.Duration
	read bool
}

func (c *slowConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if !c.read {
		c.read = true
		time.Sleep(c.d)
	}
	return n, err
}
