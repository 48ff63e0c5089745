package diagnose

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode/decodetest"
)

// refused captures a connection to tlServer whose ClientHello the server
// answers with a fatal alert and a FIN.
func (c *tlCap) refused(hello []byte, desc uint8) (k *tlConn, ch, al uint64) {
	k = c.dial(tlServer, 30*time.Millisecond)
	ch = k.send(time.Millisecond, tlC2S, hello)
	al = k.send(k.rtt, tlS2C, decodetest.Alert(decodetest.AlertFatal, desc))
	k.flags(100*time.Microsecond, tlS2C, decodetest.FlagFIN|decodetest.FlagACK)
	return k, ch, al
}

func TestTLSFailure(t *testing.T) {
	t.Run("protocol_version to a TLS 1.1 client, twice", func(t *testing.T) {
		c := newTLCap()
		k, ch, al := c.refused(tlLegacyHello(tlSNI, 0x0302), decodetest.AlertProtocolVersion)
		_, _, al2 := c.refused(tlLegacyHello(tlSNI, 0x0302), decodetest.AlertProtocolVersion)
		v := c.diagnose(t)
		f := tlOnly(t, v, TLSFailure)
		if v.Cause != TLSFailure || f.Score != Combine(Strong, Medium, Weak) {
			t.Errorf("verdict %s, finding %.3f; want tls_failure %.3f\n%s", v.Cause, f.Score, Combine(Strong, Medium, Weak), describe(v))
		}
		tlCites(t, f, k.synack, ch, al, al2)
		if !strings.Contains(strings.Join(f.Remediation, "\n"), `TLS 1.2\Client`) {
			t.Errorf("remediation %q does not say to enable TLS 1.2", f.Remediation)
		}
		tlNone(t, v, SNIBlocking)
	})
	t.Run("handshake_failure to a modern client", func(t *testing.T) {
		c := newTLCap()
		_, _, al := c.refused(decodetest.ClientHello(decodetest.SchannelHello(tlSNI, nil)), decodetest.AlertHandshakeFailure)
		v := c.diagnose(t)
		f := tlOnly(t, v, TLSFailure)
		if f.Score != Strong || v.Cause != TLSFailure {
			t.Errorf("verdict %s, finding %.3f; want tls_failure %.1f\n%s", v.Cause, f.Score, Strong, describe(v))
		}
		tlCites(t, f, al)
		// The name filter reading stays below.
		if s := tlOnly(t, v, SNIBlocking); s.Score >= f.Score {
			t.Errorf("sni_blocking %.3f outranks tls_failure %.3f", s.Score, f.Score)
		}
	})
	t.Run("handshake_failure where the address serves other names", func(t *testing.T) {
		c := newTLCap()
		c.refused(decodetest.ClientHello(decodetest.SchannelHello(tlSNI, nil)), decodetest.AlertHandshakeFailure)
		c.okTLS12(tlServer, tlOtherName, tlMSIssuer, tlMSOrg)
		v := c.diagnose(t)
		f := tlOnly(t, v, TLSFailure)
		if f.Score != Medium || v.Cause != SNIBlocking {
			t.Errorf("verdict %s, tls_failure %.3f; want sni_blocking first and tls_failure %.1f\n%s", v.Cause, f.Score, Medium, describe(v))
		}
	})
}

// TestTLSFailureLookAlikes must not be blamed on the server's TLS refusal.
func TestTLSFailureLookAlikes(t *testing.T) {
	tests := []struct {
		name  string
		build func(c *tlCap)
	}{{
		name: "alert from another box (other TTL)",
		build: func(c *tlCap) {
			k := c.dial(tlServer, 30*time.Millisecond)
			k.hello(tlSNI)
			k.forged(time.Millisecond, tlS2C, decodetest.FlagPSH|decodetest.FlagACK, decodetest.Alert(decodetest.AlertFatal, decodetest.AlertHandshakeFailure), 64)
		},
	}, {
		name: "close_notify after the session",
		build: func(c *tlCap) {
			k := c.okTLS12(tlServer, tlSNI, tlMSIssuer, tlMSOrg)
			k.send(time.Second, tlS2C, decodetest.Alert(decodetest.AlertWarning, decodetest.AlertCloseNotify))
			k.flags(100*time.Microsecond, tlS2C, decodetest.FlagFIN|decodetest.FlagACK)
		},
	}, {
		name: "the client's own certificate alert to an interceptor",
		build: func(c *tlCap) {
			c.intercepted(tlSNI, "Zscaler Intermediate Root CA (zscaler.net) (t)", "Zscaler Inc.", 8*time.Millisecond, 20*time.Millisecond, 55, decodetest.AlertUnknownCA)
		},
	}, {
		name: "server alert on an intercepted flow",
		build: func(c *tlCap) {
			k := c.dial(tlServer, 30*time.Millisecond)
			k.hello(tlSNI)
			k.send(k.rtt, tlS2C, tlFlight12(decodetest.CertChain(tlSNI, "Contoso Forward Trust CA", "Contoso Ltd")))
			k.send(time.Millisecond, tlS2C, decodetest.Alert(decodetest.AlertFatal, decodetest.AlertInternalError))
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTLCap()
			tt.build(c)
			tlNone(t, c.diagnose(t), TLSFailure)
		})
	}
}

// tlCorpusDir holds real public captures (see its MANIFEST.md).
const tlCorpusDir = "../../../shared/corpus"

// TestCorpusTLSCauses runs the three TLS detectors over the real corpus.
// With the built-in catalog none may fire: the corpus holds no Quick
// Assist traffic, and its Microsoft flows (Teams, Bing, Defender) carry
// Microsoft chains, retired generations included. Then every TLS name and
// every TCP/443 address is made a (broad) Quick Assist endpoint, so the
// rules meet real failures of other sites: only the captures whose
// MANIFEST.md entries describe such a failure may fire, with the cause
// that fits.
func TestCorpusTLSCauses(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(tlCorpusDir, "*.pcap*"))
	if len(files) == 0 {
		t.Skipf("no corpus at %s", tlCorpusDir)
	}
	type outcome struct {
		cause   string
		verdict bool // the finding is also the verdict
	}
	want := map[string]outcome{
		"tls-alert-protocol-version.pcapng":       {TLSFailure, true},      // TLS 1.0 client, server alert 70
		"tls12-alert-handshake-failure.pcap":      {TLSFailure, true},      // TLS 1.2-only client, server alert 40
		"tls12-alert-cert-unknown-curveball.pcap": {TLSInterception, true}, // spoofed chain refused with alert 46
		// A Zscaler CONNECT proxy re-signing with a corporate CA the
		// client trusts: inspected but working, so only possible.
		"proxy-connect-zscaler-tls-intercept.pcap": {TLSInterception, false},
	}
	mine := []string{SNIBlocking, TLSInterception, TLSFailure}
	for _, path := range files {
		name := filepath.Base(path)
		res, _ := tlReadFile(path)
		if res == nil {
			continue
		}
		v := Diagnose(res, nil)
		for _, f := range v.Findings {
			if slices.Contains(mine, f.Cause) {
				t.Errorf("%s: %s %.3f with the built-in catalog\n%s", name, f.Cause, f.Score, describe(v))
			}
		}
		v = Diagnose(res, stressCatalog(t, res))
		var got []string
		for _, f := range v.Findings {
			if slices.Contains(mine, f.Cause) {
				got = append(got, fmt.Sprintf("%s %.3f", f.Cause, f.Score))
			}
		}
		switch w := want[name]; {
		case w.cause == "" && len(got) > 0:
			t.Errorf("%s: %v, want none\n%s", name, got, describe(v))
		case w.cause != "" && (len(got) != 1 || !strings.HasPrefix(got[0], w.cause) || (v.Cause == w.cause) != w.verdict):
			t.Errorf("%s: %v, verdict %s; want %+v\n%s", name, got, v.Cause, w, describe(v))
		}
	}
}

// tlReadFile reads a capture, keeping the partial result of a damaged one.
func tlReadFile(path string) (*analyze.Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return analyze.Read(context.Background(), f, filepath.Base(path))
}
