//go:debug tlsrsakex=1

// The directive above re-enables RSA key exchange in crypto/tls for this
// test binary, so the TLS_RSA_WITH_AES_* suites can be tested. The
// CBC_SHA256 and 3DES suites need no GODEBUG: naming them in
// Config.CipherSuites on both sides enables them.

package tlskeys

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

// record is one TLS record as written on the wire.
type record struct {
	hdr     [5]byte
	payload []byte
}

// splitRecords cuts a byte stream into records, dropping an incomplete tail.
func splitRecords(b []byte) []record {
	var recs []record
	for len(b) >= 5 {
		n := int(b[3])<<8 | int(b[4])
		if len(b) < 5+n {
			break
		}
		var r record
		copy(r.hdr[:], b)
		r.payload = b[5 : 5+n]
		recs = append(recs, r)
		b = b[5+n:]
	}
	return recs
}

// recorder records the bytes written to a connection; mutate, if set,
// rewrites the first write.
type recorder struct {
	net.Conn
	mu     sync.Mutex
	buf    bytes.Buffer
	mutate func([]byte)
}

func (r *recorder) Write(b []byte) (int, error) {
	out := b
	r.mu.Lock()
	if r.mutate != nil {
		out = bytes.Clone(b)
		r.mutate(out)
		r.mutate = nil
	}
	r.buf.Write(out)
	r.mu.Unlock()
	n, err := r.Conn.Write(out)
	return min(n, len(b)), err
}

func (r *recorder) bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return bytes.Clone(r.buf.Bytes())
}

// lockedBuffer is a key log shared by both ends.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lockedBuffer) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(b)
}

// testCert is a self-signed certificate for "test.example".
type testCert struct {
	der  []byte
	cert tls.Certificate
	pool *x509.CertPool
}

var (
	certOnce           sync.Once
	ecdsaCert, rsaCert testCert
)

func certs(t testing.TB) (ecdsaC, rsaC testCert) {
	t.Helper()
	certOnce.Do(func() {
		ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			panic(err)
		}
		rk, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		ecdsaCert, rsaCert = makeCert(ek), makeCert(rk)
	})
	return ecdsaCert, rsaCert
}

func makeCert(key crypto.Signer) testCert {
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "test.example"},
		DNSNames:              []string{"test.example"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		panic(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		panic(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(c)
	return testCert{der: der, cert: tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, pool: pool}
}

// sessionConfig chooses a scenario.
type sessionConfig struct {
	cert       testCert
	maxVersion uint16
	suites     []uint16 // TLS 1.2 suites offered by the client
	untrusted  bool     // the client does not trust the server's certificate
	only13     uint16   // rewrite the ClientHello to offer only this TLS 1.3 suite
}

// session is what a connection left behind.
type session struct {
	client, server []byte // bytes written by each side
	keyLog         []byte
	clientErr      error
	serverErr      error
}

// runSession runs one connection over loopback TCP: the client writes
// "ping", the server answers "pong", both close.
func runSession(t testing.TB, cfg sessionConfig) session {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	clientLog, serverLog := &lockedBuffer{}, &lockedBuffer{}
	var srec *recorder
	var s session
	done := make(chan struct{})
	go func() {
		defer close(done)
		c, err := ln.Accept()
		if err != nil {
			s.serverErr = err
			return
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		srec = &recorder{Conn: c}
		conn := tls.Server(srec, &tls.Config{
			Certificates: []tls.Certificate{cfg.cert.cert},
			CipherSuites: cfg.suites, // enables CBC_SHA256 and 3DES, off by default
			KeyLogWriter: serverLog,
		})
		defer conn.Close()
		buf := make([]byte, 4)
		if _, s.serverErr = io.ReadFull(conn, buf); s.serverErr == nil {
			_, s.serverErr = conn.Write([]byte("pong"))
		}
	}()
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	crec := &recorder{Conn: c}
	if cfg.only13 != 0 {
		crec.mutate = func(b []byte) { offerOnly(t, b, cfg.only13) }
	}
	pool := cfg.cert.pool
	if cfg.untrusted {
		pool = x509.NewCertPool()
	}
	conn := tls.Client(crec, &tls.Config{
		ServerName:   "test.example",
		RootCAs:      pool,
		MaxVersion:   cfg.maxVersion,
		CipherSuites: cfg.suites,
		KeyLogWriter: clientLog,
	})
	if _, s.clientErr = conn.Write([]byte("ping")); s.clientErr == nil {
		buf := make([]byte, 4)
		_, s.clientErr = io.ReadFull(conn, buf)
	}
	conn.Close()
	<-done
	if srec == nil {
		t.Fatalf("server: %v", s.serverErr)
	}
	s.client, s.server = crec.bytes(), srec.bytes()
	// The client's secrets differ from the server's when the ClientHello
	// was rewritten (different transcript); the server's are the ones that
	// protect what it sent.
	s.keyLog = serverLog.buf.Bytes()
	if cfg.only13 == 0 {
		s.keyLog = append(s.keyLog, clientLog.buf.Bytes()...)
	}
	return s
}

// offerOnly rewrites the cipher suites of the ClientHello record in b so
// that suite is its only TLS 1.3 suite: the others become GREASE values
// (RFC 8701), which servers ignore. Lengths do not change.
func offerOnly(t testing.TB, b []byte, suite uint16) {
	// record header 5, handshake header 4, version 2, random 32
	off := 5 + 4 + 2 + 32
	off += 1 + int(b[off]) // session id
	n := int(b[off])<<8 | int(b[off+1])
	off += 2
	found := false
	for i := off; i < off+n; i += 2 {
		id := uint16(b[i])<<8 | uint16(b[i+1])
		switch {
		case id == suite:
			found = true
		case id>>8 == 0x13:
			b[i], b[i+1] = 0x0a, 0x0a
		}
	}
	if !found {
		t.Errorf("ClientHello does not offer 0x%04x", suite)
	}
}

// helloRandom returns the random of a ClientHello or ServerHello record.
func helloRandom(t *testing.T, r record) [32]byte {
	t.Helper()
	var rnd [32]byte
	if r.hdr[0] != TypeHandshake || len(r.payload) < 4+2+32 {
		t.Fatalf("first record is not a hello: % x", r.hdr)
	}
	copy(rnd[:], r.payload[6:])
	return rnd
}

// serverSuite returns the cipher suite chosen in a ServerHello record.
func serverSuite(t *testing.T, r record) uint16 {
	t.Helper()
	off := 4 + 2 + 32
	off += 1 + int(r.payload[off])
	return uint16(r.payload[off])<<8 | uint16(r.payload[off+1])
}

// handshakeMsg is one handshake message (RFC 8446 4).
type handshakeMsg struct {
	typ  uint8
	body []byte
}

// splitHandshake cuts concatenated handshake bytes into messages.
func splitHandshake(t *testing.T, b []byte) []handshakeMsg {
	t.Helper()
	var msgs []handshakeMsg
	for len(b) > 0 {
		if len(b) < 4 {
			t.Fatalf("handshake bytes end inside a header: % x", b)
		}
		n := int(b[1])<<16 | int(b[2])<<8 | int(b[3])
		if len(b) < 4+n {
			t.Fatalf("handshake message type %d: %d bytes, want %d", b[0], len(b)-4, n)
		}
		msgs = append(msgs, handshakeMsg{b[0], b[4 : 4+n]})
		b = b[4+n:]
	}
	return msgs
}
