package tlsmsg

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
)

// chunk is one Write on a connection: the frame it was sent in and its
// bytes.
type chunk struct {
	frame uint64
	data  []byte
}

// recorder numbers the writes of both ends of a connection in the order
// they start, like frames in a capture.
type recorder struct {
	mu    sync.Mutex
	frame uint64
}

// recConn records each Write and hands it to a goroutine that writes it
// to the unbuffered net.Pipe, so that both ends may write at once (as TLS
// 1.3 does around a HelloRetryRequest) without deadlock.
type recConn struct {
	net.Conn
	rec    *recorder
	chunks *[]chunk
	q      chan []byte
	done   chan struct{}
	once   sync.Once
}

func newRecConn(c net.Conn, rec *recorder, chunks *[]chunk) *recConn {
	rc := &recConn{Conn: c, rec: rec, chunks: chunks, q: make(chan []byte, 1024), done: make(chan struct{})}
	go func() {
		defer close(rc.done)
		for p := range rc.q {
			c.Write(p)
		}
	}()
	return rc
}

func (c *recConn) Write(p []byte) (int, error) {
	d := append([]byte(nil), p...)
	c.rec.mu.Lock()
	c.rec.frame++
	*c.chunks = append(*c.chunks, chunk{c.rec.frame, d})
	c.rec.mu.Unlock()
	c.q <- d
	return len(p), nil
}

// Close flushes the queued writes, then closes the pipe.
func (c *recConn) Close() error {
	c.once.Do(func() { close(c.q) })
	<-c.done
	return c.Conn.Close()
}

// transcript is what each side of a handshake wrote.
type transcript struct {
	client, server       []chunk
	clientErr, serverErr error
}

func concat(cs []chunk) []byte {
	var b []byte
	for _, c := range cs {
		b = append(b, c.data...)
	}
	return b
}

// runHandshake runs crypto/tls's client and server over net.Pipe and
// records the bytes each wrote. After a successful handshake the client
// sends "ping" and the server answers "pong", so both sides write
// application data and the client reads the server's session tickets.
func runHandshake(t testing.TB, ccfg, scfg *tls.Config) transcript {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cp, sp := net.Pipe()
	deadline, _ := ctx.Deadline()
	cp.SetDeadline(deadline)
	sp.SetDeadline(deadline)
	var tr transcript
	rec := &recorder{}
	crc, src := newRecConn(cp, rec, &tr.client), newRecConn(sp, rec, &tr.server)
	cc, sc := tls.Client(crc, ccfg), tls.Server(src, scfg)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		defer crc.Close()
		if tr.clientErr = cc.HandshakeContext(ctx); tr.clientErr != nil {
			return
		}
		if _, err := cc.Write([]byte("ping")); err != nil {
			tr.clientErr = err
			return
		}
		buf := make([]byte, 4)
		_, tr.clientErr = io.ReadFull(cc, buf)
	}()
	go func() {
		defer wg.Done()
		defer src.Close()
		if tr.serverErr = sc.HandshakeContext(ctx); tr.serverErr != nil {
			return
		}
		buf := make([]byte, 4)
		if _, err := io.ReadFull(sc, buf); err != nil {
			tr.serverErr = err
			return
		}
		_, tr.serverErr = sc.Write([]byte("pong"))
	}()
	wg.Wait()
	return tr
}

// testCert returns a self-signed ECDSA certificate for the names Quick
// Assist uses, valid through 2026.
func testCert(t testing.TB) (tls.Certificate, []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(4711),
		Subject: pkix.Name{
			CommonName:   "remoteassistance.support.services.microsoft.com",
			Organization: []string{"qadiag test"},
		},
		NotBefore:   time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:    time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC),
		DNSNames:    []string{"remoteassistance.support.services.microsoft.com", "*.support.services.microsoft.com"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, der
}

// ext is one extension for buildClientHello.
type ext struct {
	typ  uint16
	data []byte
}

// buildClientHello builds a ClientHello body with the given cipher suites
// and extensions, in order.
func buildClientHello(suites []uint16, exts []ext) []byte {
	var b cryptobyte.Builder
	b.AddUint16(0x0303)
	b.AddBytes(make([]byte, 32))
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, s := range suites {
			b.AddUint16(s)
		}
	})
	b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddUint8(0) })
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, e := range exts {
			b.AddUint16(e.typ)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(e.data) })
		}
	})
	return b.BytesOrPanic()
}

// Extension bodies for buildClientHello.

func sniExt(host string) ext {
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		b.AddUint8(0)
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(host)) })
	})
	return ext{extServerName, b.BytesOrPanic()}
}

func alpnExt(protos ...string) ext {
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, p := range protos {
			b.AddUint8LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes([]byte(p)) })
		}
	})
	return ext{extALPN, b.BytesOrPanic()}
}

// u16List is a uint16-prefixed list of uint16 (lenLen 2) or a
// uint8-prefixed one (lenLen 1).
func u16List(typ uint16, lenLen int, vs ...uint16) ext {
	var b cryptobyte.Builder
	add := func(b *cryptobyte.Builder) {
		for _, v := range vs {
			b.AddUint16(v)
		}
	}
	if lenLen == 1 {
		b.AddUint8LengthPrefixed(add)
	} else {
		b.AddUint16LengthPrefixed(add)
	}
	return ext{typ, b.BytesOrPanic()}
}

func keyShareExt(groups ...uint16) ext {
	var b cryptobyte.Builder
	b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) {
		for _, g := range groups {
			b.AddUint16(g)
			b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(make([]byte, 32)) })
		}
	})
	return ext{extKeyShare, b.BytesOrPanic()}
}

// record wraps payload in one record of the given content type.
func record(typ uint8, payload []byte) []byte {
	b := []byte{typ, 3, 3, byte(len(payload) >> 8), byte(len(payload))}
	return append(b, payload...)
}

// handshakeMsg prefixes body with a handshake header.
func handshakeMsg(typ uint8, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}
