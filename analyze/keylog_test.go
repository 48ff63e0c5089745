package analyze_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"flag"
	"io"
	"math/big"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"github.com/qadiag/qadiag/analyze/diagnose"
	"github.com/qadiag/qadiag/decode/decodetest"
	"github.com/qadiag/qadiag/decode/tlskeys"
	"github.com/qadiag/qadiag/internal/tshark"
	"github.com/qadiag/qadiag/report"
)

// regenKeylog rewrites the committed key log captures from new loopback
// handshakes: go test ./analyze -run TestKeyLogCaptures -regen-keylog.
var regenKeylog = flag.Bool("regen-keylog", false, "rewrite testdata/pcaps/keylog from new loopback TLS sessions")

const keylogDir = "../testdata/pcaps/keylog"

const (
	qaHost       = "remoteassistance.support.services.microsoft.com"
	alertBadCert = 42 // bad_certificate (RFC 8446 6.2)
)

// The chains the loopback servers present: Microsoft's shape, and an
// inspection proxy's re-signed copy.
var (
	msRoot  = pkix.Name{Country: []string{"US"}, Organization: []string{"DigiCert Inc"}, OrganizationalUnit: []string{"www.digicert.com"}, CommonName: "DigiCert Global Root G2"}
	msInter = pkix.Name{Country: []string{"US"}, Organization: []string{"Microsoft Corporation"}, CommonName: "Microsoft Azure RSA TLS Issuing CA 03"}
	qaLeaf  = pkix.Name{Country: []string{"US"}, Province: []string{"WA"}, Locality: []string{"Redmond"}, Organization: []string{"Microsoft Corporation"}, CommonName: qaHost}
	zsRoot  = pkix.Name{Country: []string{"US"}, Province: []string{"California"}, Locality: []string{"San Jose"}, Organization: []string{"Zscaler Inc."}, OrganizationalUnit: []string{"Zscaler Inc."}, CommonName: "Zscaler Root CA"}
	zsInter = pkix.Name{Country: []string{"US"}, Province: []string{"California"}, Locality: []string{"San Jose"}, Organization: []string{"Zscaler Inc."}, OrganizationalUnit: []string{"Zscaler Inc."}, CommonName: "Zscaler Intermediate Root CA (zscaler.net)"}
)

// captureStart is the time of the first frame; the certificates are valid
// then, and the loopback client checks them at that time.
var captureStart = time.Date(2026, 6, 10, 9, 0, 0, 0, time.UTC)

// keylogCase is one committed capture. keys is "" when the secrets are in
// the capture (pcapng Decryption Secrets Block).
type keylogCase struct {
	file, keys   string
	version      uint16
	chain        [3]pkix.Name // leaf, intermediate, root
	interception bool
}

var keylogCases = []keylogCase{
	{"healthy-tls13-microsoft.pcap", "healthy-tls13-microsoft.keys", tls.VersionTLS13, [3]pkix.Name{qaLeaf, msInter, msRoot}, false},
	{"tls_interception-tls13-zscaler.pcap", "tls_interception-tls13-zscaler.keys", tls.VersionTLS13, [3]pkix.Name{qaLeaf, zsInter, zsRoot}, true},
	{"healthy-tls12-ecdhe-rsa.pcap", "healthy-tls12-ecdhe-rsa.keys", tls.VersionTLS12, [3]pkix.Name{qaLeaf, msInter, msRoot}, false},
	{"tls_interception-tls13-zscaler-dsb.pcapng", "", tls.VersionTLS13, [3]pkix.Name{qaLeaf, zsInter, zsRoot}, true},
}

// chain is a generated certificate chain and the leaf's key.
type chain struct {
	der  [][]byte // leaf, intermediate
	key  crypto.Signer
	root *x509.Certificate
}

func newCert(t testing.TB, name pkix.Name, pub any, parent *x509.Certificate, signer crypto.Signer, ca bool) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      name,
		NotBefore:    captureStart.AddDate(0, -3, 0),
		NotAfter:     captureStart.AddDate(0, 9, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
	}
	if ca {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	} else {
		tmpl.DNSNames = []string{qaHost, "*.support.services.microsoft.com"}
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func makeChain(t testing.TB, names [3]pkix.Name) chain {
	t.Helper()
	var keys [3]*rsa.PrivateKey
	for i := range keys {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			t.Fatal(err)
		}
		keys[i] = k
	}
	root := newCert(t, names[2], &keys[2].PublicKey, nil, keys[2], true)
	inter := newCert(t, names[1], &keys[1].PublicKey, root, keys[2], true)
	leaf := newCert(t, names[0], &keys[0].PublicKey, inter, keys[1], false)
	return chain{der: [][]byte{leaf.Raw, inter.Raw}, key: keys[0], root: root}
}

// chunk is one Write of one side of the connection.
type chunk struct {
	dir decodetest.Dir
	b   []byte
}

type wireLog struct {
	mu     sync.Mutex
	chunks []chunk
}

// recConn records every Write before passing it on, so the log's order is
// causal: a peer cannot read bytes before they are logged.
type recConn struct {
	net.Conn
	dir decodetest.Dir
	log *wireLog
}

func (c recConn) Write(b []byte) (int, error) {
	c.log.mu.Lock()
	c.log.chunks = append(c.log.chunks, chunk{c.dir, bytes.Clone(b)})
	c.log.mu.Unlock()
	return c.Conn.Write(b)
}

var (
	httpRequest  = []byte("GET /api/v1/health HTTP/1.1\r\nHost: " + qaHost + "\r\nUser-Agent: QuickAssist/2.0\r\n\r\n")
	httpResponse = []byte("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"status\":\"ok\"}")
)

// loopbackTLS runs one crypto/tls client and server on 127.0.0.1 and
// returns what each side wrote and the client's key log.
func loopbackTLS(t testing.TB, c keylogCase) ([]chunk, []byte) {
	t.Helper()
	served := makeChain(t, c.chain)
	trusted := served.root
	if c.interception {
		trusted = makeChain(t, [3]pkix.Name{qaLeaf, msInter, msRoot}).root
	}
	roots := x509.NewCertPool()
	roots.AddCert(trusted)
	srvCfg := &tls.Config{Certificates: []tls.Certificate{{Certificate: served.der, PrivateKey: served.key}}, MaxVersion: c.version}
	var keys bytes.Buffer
	cliCfg := &tls.Config{ServerName: qaHost, RootCAs: roots, MaxVersion: c.version, KeyLogWriter: &keys,
		Time: func() time.Time { return captureStart }}
	if c.version == tls.VersionTLS12 {
		cliCfg.CipherSuites = []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	wl := &wireLog{}
	done := make(chan error, 1)
	go func() {
		raw, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer raw.Close()
		if c.interception {
			// An intercepting proxy: it opens its own TLS connection to
			// the real server (Microsoft's chain, which it trusts), then
			// answers the client with a certificate of its own CA.
			up, err := upstreamTLS(t)
			if err != nil {
				done <- err
				return
			}
			defer up.Close()
		}
		s := tls.Server(recConn{raw, decodetest.ServerToClient, wl}, srvCfg)
		if err := s.Handshake(); err != nil {
			done <- err
			return
		}
		buf := make([]byte, len(httpRequest))
		if _, err := io.ReadFull(s, buf); err != nil {
			done <- err
			return
		}
		if _, err := s.Write(httpResponse); err != nil {
			done <- err
			return
		}
		_, err = io.Copy(io.Discard, s) // until the client's close_notify
		s.Close()
		done <- err
	}()
	raw, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	cl := tls.Client(recConn{raw, decodetest.ClientToServer, wl}, cliCfg)
	herr := cl.Handshake()
	if herr == nil {
		if _, err := cl.Write(httpRequest); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(cl, make([]byte, len(httpResponse))); err != nil {
			t.Fatal(err)
		}
		cl.CloseWrite()
		io.Copy(io.Discard, cl)
	}
	cl.Close()
	serr := <-done
	if c.interception != (herr != nil) {
		t.Fatalf("client handshake: %v (server: %v)", herr, serr)
	}
	return wl.chunks, keys.Bytes()
}

// upstreamTLS starts the real server (Microsoft's chain) on loopback and
// connects to it as the intercepting proxy does, trusting that chain.
func upstreamTLS(t testing.TB) (*tls.Conn, error) {
	real := makeChain(t, [3]pkix.Name{qaLeaf, msInter, msRoot})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	go func() {
		defer ln.Close()
		c, err := ln.Accept()
		if err != nil {
			return
		}
		s := tls.Server(c, &tls.Config{Certificates: []tls.Certificate{{Certificate: real.der, PrivateKey: real.key}}})
		if s.Handshake() == nil {
			io.Copy(io.Discard, s)
		}
		s.Close()
	}()
	roots := x509.NewCertPool()
	roots.AddCert(real.root)
	return tls.Dial("tcp", ln.Addr().String(), &tls.Config{ServerName: qaHost, RootCAs: roots,
		Time: func() time.Time { return captureStart }})
}

// stamped is one frame and its capture time.
type stamped struct {
	ts    time.Time
	frame []byte
}

// tcpFrames turns what the two sides wrote into the TCP connection a
// capture on the client (10.20.30.40) would show: a 28 ms round trip to
// 20.42.65.90:443, MSS-sized segments, an ACK after each burst, FINs.
func tcpFrames(chunks []chunk) []stamped {
	s := decodetest.NewSession(netip.MustParseAddrPort("10.20.30.40:50112"), netip.MustParseAddrPort("20.42.65.90:443"))
	ts := captureStart
	last := decodetest.ServerToClient
	var out []stamped
	add := func(d decodetest.Dir, f []byte) {
		step := 150 * time.Microsecond
		if d == decodetest.ServerToClient && last == decodetest.ClientToServer {
			step = 28 * time.Millisecond
		}
		ts, last = ts.Add(step), d
		out = append(out, stamped{ts, bytes.Clone(f)})
	}
	hs := s.Handshake()
	add(decodetest.ClientToServer, hs[0])
	add(decodetest.ServerToClient, hs[1])
	add(decodetest.ClientToServer, hs[2])
	other := func(d decodetest.Dir) decodetest.Dir { return 1 - d }
	for i, c := range chunks {
		s.Segments(c.dir, c.b, func(f []byte) { add(c.dir, f) })
		if i == len(chunks)-1 || chunks[i+1].dir != c.dir {
			add(other(c.dir), s.ACK(nil, other(c.dir)))
		}
	}
	add(decodetest.ClientToServer, s.FIN(nil, decodetest.ClientToServer))
	add(decodetest.ServerToClient, s.FIN(nil, decodetest.ServerToClient))
	add(decodetest.ClientToServer, s.ACK(nil, decodetest.ClientToServer))
	return out
}

func captureBytes(t testing.TB, format decodetest.Format, frames []stamped) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := decodetest.NewWriter(&buf, decodetest.WriterOptions{Format: format, LinkType: layers.LinkTypeEthernet})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		if err := w.WritePacket(f.ts, f.frame); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// generateKeylog writes the four captures and their key logs into dir.
// The DSB capture needs editcap; without it it is left out, saying why.
func generateKeylog(t *testing.T, dir string) {
	t.Helper()
	var icptFrames []stamped
	var icptKeys string
	for _, c := range keylogCases[:3] {
		chunks, keys := loopbackTLS(t, c)
		frames := tcpFrames(chunks)
		write(t, filepath.Join(dir, c.file), captureBytes(t, decodetest.FormatPcap, frames))
		write(t, filepath.Join(dir, c.keys), keys)
		if c.interception {
			icptFrames, icptKeys = frames, filepath.Join(dir, c.keys)
		}
	}
	editcap, err := exec.LookPath("editcap")
	if err != nil {
		t.Logf("SKIP: editcap not installed (apt-get install wireshark-common); %s not generated", keylogCases[3].file)
		return
	}
	plain := filepath.Join(t.TempDir(), "plain.pcapng")
	write(t, plain, captureBytes(t, decodetest.FormatPcapng, icptFrames))
	if out, err := exec.Command(editcap, "--inject-secrets", "tls,"+icptKeys, plain, filepath.Join(dir, keylogCases[3].file)).CombinedOutput(); err != nil {
		t.Fatalf("editcap: %v\n%s", err, out)
	}
}

func write(t testing.TB, path string, b []byte) {
	t.Helper()
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readWith(t testing.TB, path, keys string) (*analyze.Result, []tlskeys.Warning) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var opts analyze.Options
	var warns []tlskeys.Warning
	if keys != "" {
		kf, err := os.Open(keys)
		if err != nil {
			t.Fatal(err)
		}
		defer kf.Close()
		opts.KeyLog, warns = tlskeys.ParseKeyLog(kf)
	}
	res, err := analyze.ReadWith(context.Background(), f, filepath.Base(path), opts)
	if err != nil {
		t.Fatalf("ReadWith(%s): %v", path, err)
	}
	return res, warns
}

// qaTLS returns the TLS facts of the capture's one Quick Assist connection.
func qaTLS(t testing.TB, res *analyze.Result) *analyze.TLSInfo {
	t.Helper()
	for _, f := range res.Flows {
		if f.TLS != nil && f.TLS.SNI == qaHost {
			return f.TLS
		}
	}
	t.Fatalf("no TLS flow for %s among %d flows", qaHost, len(res.Flows))
	return nil
}

// TestKeyLogCaptures checks the committed captures, and captures made now
// by the same generator, with and without their key logs.
func TestKeyLogCaptures(t *testing.T) {
	if *regenKeylog {
		generateKeylog(t, keylogDir)
	}
	fresh := t.TempDir()
	generateKeylog(t, fresh)
	for _, dir := range []string{keylogDir, fresh} {
		for _, c := range keylogCases {
			name := filepath.Base(dir) + "/" + c.file
			t.Run(name, func(t *testing.T) {
				path := filepath.Join(dir, c.file)
				if _, err := os.Stat(path); err != nil {
					t.Skipf("SKIP: %v (generated only when editcap is installed)", err)
				}
				checkKeylogCase(t, dir, c)
			})
		}
	}
}

func checkKeylogCase(t *testing.T, dir string, c keylogCase) {
	path, keys := filepath.Join(dir, c.file), ""
	if c.keys != "" {
		keys = filepath.Join(dir, c.keys)
	}
	cat := catalog.Default()
	// Without keys: the DSB capture has nothing to leave out, so its
	// "without" is the plain capture of the same session.
	plainPath := path
	if c.keys == "" {
		plainPath = filepath.Join(dir, keylogCases[1].file)
	}
	res0, _ := readWith(t, plainPath, "")
	tls0, v0 := qaTLS(t, res0), diagnose.Diagnose(res0, cat)
	res1, warns := readWith(t, path, keys)
	tls1, v1 := qaTLS(t, res1), diagnose.Diagnose(res1, cat)
	if len(warns) > 0 || len(res1.Capture.Warnings) > 0 {
		t.Errorf("warnings: key log %v, capture %q", warns, res1.Capture.Warnings)
	}
	t.Logf("verdict without key log %s (%.2f), with it %s (%.2f); decrypted %d records", v0.Cause, v0.Score, v1.Cause, v1.Score, tls1.Details().Decrypted)

	if tls1.Version != c.version || tls1.Details().Decrypted == 0 || tls1.Details().DecryptErrors != 0 {
		t.Errorf("version %#x decrypted %d errors %d, want %#x, >0, 0", tls1.Version, tls1.Details().Decrypted, tls1.Details().DecryptErrors, c.version)
	}
	if c.version == tls.VersionTLS13 {
		if len(tls0.Details().Certificates) != 0 || tls0.CertsDecrypted || tls0.Details().Decrypted != 0 {
			t.Errorf("without key log: %d certificates, decrypted %v/%d", len(tls0.Details().Certificates), tls0.CertsDecrypted, tls0.Details().Decrypted)
		}
		for _, a := range tls0.Details().Alerts {
			if !a.Encrypted || a.Decrypted {
				t.Errorf("without key log: alert %+v, want encrypted only", a)
			}
		}
		if !tls1.CertsDecrypted {
			t.Error("CertsDecrypted = false with the key log")
		}
	} else if tls1.CertsDecrypted {
		t.Error("CertsDecrypted = true for a TLS 1.2 chain sent in clear")
	}
	if len(tls1.Details().Certificates) != 2 {
		t.Fatalf("%d certificates, want 2", len(tls1.Details().Certificates))
	}
	for i, cert := range tls1.Details().Certificates {
		if want := c.chain[i].String(); cert.Subject != want {
			t.Errorf("certificate %d subject %q, want %q", i, cert.Subject, want)
		}
		if want := c.chain[i+1].String(); cert.Issuer != want {
			t.Errorf("certificate %d issuer %q, want %q", i, cert.Issuer, want)
		}
	}
	var badCert bool
	for _, a := range tls1.Details().Alerts {
		if a.Encrypted && !a.Decrypted {
			t.Errorf("alert at frame %d still encrypted with the key log", a.Frame)
		}
		badCert = badCert || (a.Decrypted && a.Description == alertBadCert && a.Level == 2 && a.From == analyze.Direction(0))
	}
	if c.interception {
		if !badCert {
			t.Errorf("no decrypted bad_certificate from the client in %+v", tls1.Details().Alerts)
		}
		if v1.Cause != diagnose.TLSInterception || v0.Cause == diagnose.TLSInterception {
			t.Errorf("verdict %s without key log, %s with it; want not %s, then %[3]s", v0.Cause, v1.Cause, diagnose.TLSInterception)
		}
	} else if v1.Cause != diagnose.Healthy {
		t.Errorf("verdict %s with key log, want %s", v1.Cause, diagnose.Healthy)
	}
	checkNoSecrets(t, path, keys, res1, v1)
	checkTshark(t, path, keys, tls1)
}

// secretsOf returns the secret column of every key log line.
func secretsOf(t testing.TB, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) == 3 {
			out = append(out, f[2])
		}
	}
	return out
}

func checkNoSecrets(t *testing.T, path, keys string, res *analyze.Result, v *diagnose.Verdict) {
	if keys == "" {
		keys = filepath.Join(filepath.Dir(path), keylogCases[1].keys)
	}
	var text, js bytes.Buffer
	if err := report.AnalysisText(&text, res, v, true); err != nil {
		t.Fatal(err)
	}
	if err := report.AnalysisJSON(&js, res, v); err != nil {
		t.Fatal(err)
	}
	secrets := secretsOf(t, keys)
	if len(secrets) == 0 {
		t.Fatal("no secrets in " + keys)
	}
	for _, s := range secrets {
		for _, out := range []string{text.String(), js.String()} {
			low := strings.ToLower(out)
			if strings.Contains(low, strings.ToLower(s)) || strings.Contains(low, strings.ToLower(s[:16])) {
				t.Errorf("report contains secret %s...", s[:8])
			}
		}
	}
}

// checkTshark compares the decrypted certificate names and alert
// descriptions with Wireshark's.
func checkTshark(t *testing.T, path, keys string, got *analyze.TLSInfo) {
	tshark.Require(t)
	args := []string{"-n", "-r", path, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=|"}
	if keys != "" {
		abs, _ := filepath.Abs(keys)
		args = append(args, "-o", "tls.keylog_file:"+abs)
	}
	certOut := tshark.Run(t, append(args, "-Y", "tls.handshake.type == 11", "-e", "x509sat.printableString", "-e", "x509sat.uTF8String")...)
	var names []string
	for _, v := range strings.FieldsFunc(string(certOut), func(r rune) bool { return r == '|' || r == '\t' || r == '\n' }) {
		names = append(names, v)
	}
	if len(names) == 0 {
		t.Fatalf("tshark shows no certificate names in %s", path)
	}
	var dn strings.Builder
	for _, c := range got.Details().Certificates {
		dn.WriteString(c.Subject + "\n" + c.Issuer + "\n")
		for _, v := range []string{c.SubjectCN, c.IssuerCN, c.IssuerOrg} {
			if !slices.Contains(names, v) {
				t.Errorf("qadiag's %q is not among tshark's certificate names %q", v, names)
			}
		}
	}
	for _, v := range names {
		if !strings.Contains(dn.String(), "="+v) {
			t.Errorf("tshark's certificate name %q is not in qadiag's names:\n%s", v, dn.String())
		}
	}
	// qadiag stops following a flow once both directions sent
	// tlsFollowRecords application_data records (apptls.go): compare the
	// alerts up to the last record it followed.
	var followed uint64
	for d := range analyze.Direction(2) {
		recs := got.FirstAppData(d)
		for _, r := range recs[:got.AppData[d]] {
			followed = max(followed, r.Frame)
		}
	}
	filter := "tls.alert_message"
	if got.AppData[0] >= 2 && got.AppData[1] >= 2 {
		filter += " && frame.number <= " + strconv.FormatUint(followed, 10)
	}
	alertOut := tshark.Run(t, append(args, "-Y", filter, "-e", "tls.alert_message.desc")...)
	var want []int
	for _, v := range strings.FieldsFunc(string(alertOut), func(r rune) bool { return r == '|' || r == '\n' }) {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			t.Fatalf("tshark alert description %q", v)
		}
		want = append(want, n)
	}
	var have []int
	for _, a := range got.Details().Alerts {
		have = append(have, int(a.Description))
	}
	if !slices.Equal(have, want) {
		t.Errorf("alert descriptions: qadiag %v, tshark %v", have, want)
	}
}

// TestKeyLogMalformed: bad key log lines are warnings that name the line
// and never quote a secret; the good lines still decrypt.
func TestKeyLogMalformed(t *testing.T) {
	c := keylogCases[1]
	good, err := os.ReadFile(filepath.Join(keylogDir, c.keys))
	if err != nil {
		t.Fatal(err)
	}
	secrets := secretsOf(t, filepath.Join(keylogDir, c.keys))
	bad := []string{
		"CLIENT_RANDOM zz " + strings.Repeat("ab", 48),
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET " + strings.Repeat("00", 31) + " " + secrets[0],
		secrets[0] + " " + secrets[0],
		"SERVER_TRAFFIC_SECRET_0 " + strings.Repeat("11", 32) + " " + secrets[0][:10],
		"\x00\xff garbage",
	}
	kl := strings.Join(bad, "\n") + "\n" + string(good)
	klog, warns := tlskeys.ParseKeyLog(strings.NewReader(kl))
	if len(warns) != len(bad) {
		t.Errorf("%d warnings, want %d: %v", len(warns), len(bad), warns)
	}
	for i, w := range warns {
		if !strings.HasPrefix(w.String(), "line "+strconv.Itoa(i+1)+":") {
			t.Errorf("warning %q does not name line %d", w, i+1)
		}
		for _, s := range secrets {
			if strings.Contains(strings.ToLower(w.String()), strings.ToLower(s[:10])) {
				t.Errorf("warning %q quotes a secret", w)
			}
		}
	}
	f, err := os.Open(filepath.Join(keylogDir, c.file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := analyze.ReadWith(context.Background(), f, c.file, analyze.Options{KeyLog: klog})
	if err != nil {
		t.Fatal(err)
	}
	if tl := qaTLS(t, res); !tl.CertsDecrypted || tl.Details().DecryptErrors != 0 {
		t.Errorf("with bad lines: certs decrypted %v, errors %d", tl.CertsDecrypted, tl.Details().DecryptErrors)
	}
}

// FuzzDecryptedStream flips bits in the TLS bytes of loopback sessions and
// in their key logs, or in the bytes of the DSB capture, and reads the
// result with the key log: decryption must never panic.
func FuzzDecryptedStream(f *testing.F) {
	type session struct {
		chunks []chunk
		keys   []byte
	}
	var sessions []session
	for _, c := range keylogCases[:3] {
		chunks, keys := loopbackTLS(f, c)
		sessions = append(sessions, session{chunks, keys})
	}
	dsb, err := os.ReadFile(filepath.Join(keylogDir, keylogCases[3].file))
	if err != nil {
		f.Fatal(err)
	}
	dsbStart, dsbEnd := dsbBlock(f, dsb)
	f.Add(uint8(0), []byte{}, []byte{})
	f.Add(uint8(1), []byte{0x01, 0x10, 0x03}, []byte{})
	f.Add(uint8(1), []byte{}, []byte{0x00, 0x70, 0x05})
	f.Add(uint8(2), []byte{0x02, 0x00, 0x07, 0x00, 0x05, 0x00}, []byte{0x01, 0x00, 0x00})
	f.Add(uint8(3), []byte{0x03, 0x00, 0x01}, []byte{})
	f.Fuzz(func(t *testing.T, which uint8, flips, keyFlips []byte) {
		var capture, keys []byte
		if int(which)%4 == 3 {
			// Only the Decryption Secrets Block: a flipped packet
			// timestamp hangs the flow table (see the README).
			capture = bytes.Clone(dsb)
			flipBits(capture[dsbStart:dsbEnd], flips)
		} else {
			s := sessions[int(which)%4]
			var all []byte
			for _, c := range s.chunks {
				all = append(all, c.b...)
			}
			all = flipBits(all, flips)
			chunks := make([]chunk, len(s.chunks))
			off := 0
			for i, c := range s.chunks {
				chunks[i] = chunk{c.dir, all[off : off+len(c.b)]}
				off += len(c.b)
			}
			capture = captureBytes(t, decodetest.FormatPcap, tcpFrames(chunks))
			keys = flipBits(bytes.Clone(s.keys), keyFlips)
		}
		kl, _ := tlskeys.ParseKeyLog(bytes.NewReader(keys))
		res, _ := analyze.ReadWith(context.Background(), bytes.NewReader(capture), "fuzz", analyze.Options{KeyLog: kl})
		if res != nil {
			diagnose.Diagnose(res, catalog.Default())
		}
	})
}

// flipBits flips one bit per 3 bytes of flips: a 16-bit offset into b
// and a bit number.
func flipBits(b, flips []byte) []byte {
	if len(b) == 0 {
		return b
	}
	for ; len(flips) >= 3; flips = flips[3:] {
		off := int(binary.BigEndian.Uint16(flips)) % len(b)
		b[off] ^= 1 << (flips[2] & 7)
	}
	return b
}

// dsbBlock returns where the first Decryption Secrets Block (pcapng 4.7,
// type 0x0a) of a little-endian pcapng file lies.
func dsbBlock(t testing.TB, b []byte) (start, end int) {
	t.Helper()
	for off := 0; off+8 <= len(b); {
		typ, n := binary.LittleEndian.Uint32(b[off:]), int(binary.LittleEndian.Uint32(b[off+4:]))
		if n < 12 || off+n > len(b) {
			break
		}
		if typ == 0x0a {
			return off, off + n
		}
		off += n
	}
	t.Fatal("no decryption secrets block")
	return 0, 0
}
