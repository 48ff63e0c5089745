package tlsmsg_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/qadiag/qadiag/decode/decodetest"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// TestStreamReusedServerHello feeds the server side of several connections
// through one Stream, Reset between them, as the flow table reuses parser
// state. A Stream parses its first ServerHello into storage it keeps, so
// each connection's summary must still equal a fresh Stream's, and a
// HelloRetryRequest must survive the ServerHello that follows it.
func TestStreamReusedServerHello(t *testing.T) {
	hrr := decodetest.ServerHello(decodetest.VersionTLS13, 0x1301, true)
	sh13 := decodetest.ServerHello(decodetest.VersionTLS13, 0x1302, false)
	sh12 := decodetest.AppendServerHello(nil, &decodetest.ServerHelloOpts{Version: decodetest.VersionTLS12, CipherSuite: 0xc02f, ALPN: "h2"})
	conns := []struct {
		name    string
		records [][]byte
		cipher  uint16
		retry   bool
	}{
		{"hrr then hello", [][]byte{hrr, sh13}, 0x1302, true},
		{"tls 1.2 with alpn", [][]byte{sh12}, 0xc02f, false},
		{"hrr then hello again", [][]byte{hrr, sh13}, 0x1302, true},
		{"tls 1.3", [][]byte{sh13}, 0x1302, false},
		{"tls 1.2 twice", [][]byte{sh12, sh12}, 0xc02f, false},
	}
	var reused tlsmsg.Stream
	for _, c := range conns {
		reused.Reset()
		var fresh tlsmsg.Stream
		for i, r := range c.records {
			reused.Feed(r, uint64(i+1))
			fresh.Feed(r, uint64(i+1))
		}
		got, want := reused.Summary(), fresh.Summary()
		if d := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmpopts.EquateErrors(), cmpopts.IgnoreUnexported(tlsmsg.ClientHello{})); d != "" {
			t.Fatalf("%s: reused Stream differs from a fresh one (-fresh +reused):\n%s", c.name, d)
		}
		if got.ServerHello == nil || got.ServerHello.HelloRetryRequest || got.ServerHello.CipherSuite != c.cipher {
			t.Fatalf("%s: ServerHello %+v, want cipher %#x", c.name, got.ServerHello, c.cipher)
		}
		if retry := got.HelloRetryRequest != nil; retry != c.retry || retry && !got.HelloRetryRequest.HelloRetryRequest {
			t.Fatalf("%s: HelloRetryRequest %+v, want one: %v", c.name, got.HelloRetryRequest, c.retry)
		}
		if c.cipher == 0xc02f && got.ServerHello.ALPN != "h2" {
			t.Fatalf("%s: ALPN %q, want h2", c.name, got.ServerHello.ALPN)
		}
	}
}
