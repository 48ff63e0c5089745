package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"
)

// runClient plays the Quick Assist PC: it resolves -name through -dns (A and
// AAAA, as Windows does), opens TLS with SNI -sni (default -name) and sends
// -requests GETs on one kept-alive connection, -idle apart. -connect skips
// DNS and dials that address. Failures are printed, not fatal: the lab
// records what the network does to the client.
func runClient(args []string) error {
	fs := flag.NewFlagSet("client", flag.ContinueOnError)
	dns := fs.String("dns", "10.20.30.1:53", "DNS server")
	name := fs.String("name", "", "host name")
	sni := fs.String("sni", "", "server name to send (default -name)")
	connect := fs.String("connect", "", "dial this IP instead of resolving")
	caFile := fs.String("ca", "root.pem", "trusted root")
	tries := fs.Int("tries", 1, "connection attempts")
	requests := fs.Int("requests", 1, "requests per attempt")
	idle := fs.Duration("idle", 0, "pause between requests")
	size := fs.Int("size", 600, "response size to ask for")
	timeout := fs.Duration("timeout", 10*time.Second, "per request timeout")
	gap := fs.Duration("gap", time.Second, "pause between attempts")
	tls12 := fs.Bool("tls12", false, "offer TLS 1.2 only")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *sni == "" {
		*sni = *name
	}
	pem, err := os.ReadFile(*caFile)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	res := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp4", *dns)
	}}
	dial := func(ctx context.Context, _, addr string) (net.Conn, error) {
		_, port, _ := net.SplitHostPort(addr)
		ip := *connect
		if ip == "" {
			ips, err := res.LookupIPAddr(ctx, *name)
			if err != nil {
				return nil, err
			}
			for _, a := range ips {
				if a.IP.To4() != nil {
					ip = a.IP.String()
					break
				}
			}
			if ip == "" {
				return nil, fmt.Errorf("no IPv4 address for %s", *name)
			}
		}
		// No TCP keep-alives (Go sends one every 15 s by default; Windows
		// waits two hours), so an idle connection is really idle.
		d := net.Dialer{KeepAlive: -1}
		return d.DialContext(ctx, "tcp4", net.JoinHostPort(ip, port))
	}
	cfg := &tls.Config{ServerName: *sni, RootCAs: pool}
	if *tls12 {
		cfg.MaxVersion = tls.VersionTLS12
	}
	for i := 0; i < *tries; i++ {
		tr := &http.Transport{DialContext: dial, TLSClientConfig: cfg, ForceAttemptHTTP2: false,
			DisableKeepAlives: false, IdleConnTimeout: time.Hour, MaxIdleConnsPerHost: 1}
		c := &http.Client{Transport: tr, Timeout: *timeout}
		ok := true
		for j := 0; j < *requests && ok; j++ {
			if j > 0 {
				time.Sleep(*idle)
			}
			resp, err := c.Get(fmt.Sprintf("https://%s/?size=%d&n=%d", *sni, *size, j))
			if err != nil {
				fmt.Printf("%s try %d request %d: %v\n", *sni, i, j, err)
				ok = false
				continue
			}
			n, _ := io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			fmt.Printf("%s try %d request %d: %s %d bytes\n", *sni, i, j, resp.Status, n)
		}
		tr.CloseIdleConnections()
		if ok {
			return nil
		}
		time.Sleep(*gap)
	}
	return nil
}
