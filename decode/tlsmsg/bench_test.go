package tlsmsg

import (
	"crypto/tls"
	"testing"
)

// BenchmarkStreamClientHello feeds crypto/tls's post-quantum ClientHello
// (X25519MLKEM768 key share, about 1.5 kB) to a reused Stream, whole and
// cut at a 1460-byte TCP segment boundary.
func BenchmarkStreamClientHello(b *testing.B) {
	tr := runHandshake(b, &tls.Config{ServerName: qaHost, NextProtos: []string{"h2"}, InsecureSkipVerify: true},
		&tls.Config{Certificates: []tls.Certificate{mustCert(b)}})
	hello := tr.client[0].data
	b.Logf("ClientHello record: %d bytes", len(hello))
	for _, bc := range []struct {
		name string
		cut  int
	}{{"whole", len(hello)}, {"two-segments", min(1460, len(hello))}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(hello)))
			var s Stream
			for b.Loop() {
				s.Reset()
				s.Feed(hello[:bc.cut], 1)
				s.Feed(hello[bc.cut:], 2)
				if s.sum.ClientHello == nil {
					b.Fatal("no ClientHello")
				}
			}
		})
	}
}

func mustCert(b *testing.B) tls.Certificate {
	c, _ := testCert(b)
	return c
}
