package diagnose

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// TestInspectionCAs checks the embedded product list: it parses, every
// entry names a product, strings to match, a bypass action and an https
// source (research/heuristics.md section 2b).
func TestInspectionCAs(t *testing.T) {
	var file struct {
		Version  int                 `json:"version"`
		Products []inspectionProduct `json:"products"`
	}
	if err := json.Unmarshal(inspectionCAsJSON, &file); err != nil {
		t.Fatal(err)
	}
	if file.Version != 1 || len(file.Products) == 0 || len(inspectionProducts()) != len(file.Products) {
		t.Fatalf("version %d, %d products, %d loaded", file.Version, len(file.Products), len(inspectionProducts()))
	}
	for _, p := range file.Products {
		if p.Product == "" || len(p.Contains) == 0 || p.Bypass == "" || !strings.HasPrefix(p.Source, "https://") {
			t.Errorf("incomplete entry %+v", p)
		}
		for _, s := range p.Contains {
			if len(s) < 4 {
				t.Errorf("%s: match string %q is too short to be specific", p.Product, s)
			}
		}
	}
	for cn, want := range map[string]string{
		"Zscaler Intermediate Root CA (zscaler.net) (t)": "Zscaler",
		"ca.contoso.goskope.com":                         "Netskope",
		"Fortinet_CA_SSL":                                "Fortinet FortiGate",
		"SecurityAppliance_SSL_CA":                       "Sophos Firewall",
		"Microsoft Azure RSA TLS Issuing CA 03":          "",
	} {
		got := ""
		if p := matchProduct(cn); p != nil {
			got = p.Product
		}
		if got != want {
			t.Errorf("matchProduct(%q) = %q, want %q", cn, got, want)
		}
	}
}

// intercepted captures a connection to tlServer answered by an inspecting
// peer with a chain from issuer, then the client's fatal alert and FIN.
func (c *tlCap) intercepted(sni, issuer, org string, rtt, upstream time.Duration, ttl, alert uint8) (k *tlConn, cert, al uint64) {
	k = c.dialTTL(tlServer, rtt, ttl)
	k.hello(sni)
	cert = k.send(rtt+upstream, tlS2C, tlFlight12(decodetest.CertChain(sni, issuer, org)))
	al = k.send(time.Millisecond, tlC2S, decodetest.Alert(decodetest.AlertFatal, alert))
	k.flags(100*time.Microsecond, tlC2S, decodetest.FlagFIN|decodetest.FlagACK)
	return k, cert, al
}

func TestTLSInterception(t *testing.T) {
	t.Run("zscaler, unknown_ca", func(t *testing.T) {
		c := newTLCap()
		_, cert, al := c.intercepted(tlSNI, "Zscaler Intermediate Root CA (zscaler.net) (t)", "Zscaler Inc.", 8*time.Millisecond, 24*time.Millisecond, 55, decodetest.AlertUnknownCA)
		v := c.diagnose(t)
		f := tlOnly(t, v, TLSInterception)
		if v.Cause != TLSInterception || f.Level != Confirmed || f.Score != Combine(Strong, Weak, Strong) {
			t.Errorf("verdict %s, finding %.3f %s; want tls_interception confirmed %.3f\n%s", v.Cause, f.Score, f.Level, Combine(Strong, Weak, Strong), describe(v))
		}
		tlCites(t, f, cert, al)
		rem := strings.Join(f.Remediation, "\n")
		for _, want := range []string{"Zscaler", "Do Not Inspect", tlSNI, "TCP/443", "Trusted Root"} {
			if !strings.Contains(rem, want) {
				t.Errorf("remediation %q lacks %q", rem, want)
			}
		}
		tlNone(t, v, TLSFailure)
		tlNone(t, v, SNIBlocking)
	})
	t.Run("near and slow peer", func(t *testing.T) {
		c := newTLCap()
		k, cert, al := c.intercepted(tlSNI, "Fortinet_CA_SSL", "Fortinet", time.Millisecond, 48*time.Millisecond, 64, decodetest.AlertBadCertificate)
		f := tlOnly(t, c.diagnose(t), TLSInterception)
		tlCites(t, f, k.synack, cert, al)
		var split bool
		for _, e := range f.Evidence {
			for _, val := range e.Values {
				if val.Name == "hello_delay_min" && val.Num >= 48 {
					split = true
				}
			}
		}
		if !split {
			t.Errorf("no ClientHello-to-ServerHello delay evidence: %+v", f.Evidence)
		}
	})
	t.Run("established through a trusted corporate root", func(t *testing.T) {
		c := newTLCap()
		k := c.dial(tlServer, 20*time.Millisecond)
		k.hello(tlSNI)
		k.send(k.rtt, tlS2C, tlFlight12(decodetest.CertChain(tlSNI, "Contoso Forward Trust CA", "Contoso Ltd")))
		k.finishTLS12()
		v := c.diagnose(t)
		f := tlOnly(t, v, TLSInterception)
		if f.Score != Medium || v.Cause == TLSInterception {
			t.Errorf("finding %.3f, verdict %s; want a possible finding (%.1f), not the verdict", f.Score, v.Cause, Medium)
		}
		if strings.Contains(strings.Join(f.Remediation, "\n"), "Trusted Root") {
			t.Errorf("remediation suggests deploying a root that is already trusted: %q", f.Remediation)
		}
	})
	t.Run("broad name, public CA refused", func(t *testing.T) {
		c := newTLCap()
		c.intercepted("go.trouter.skype.com", "GlobalSign Atlas R3 DV TLS CA 2020", "GlobalSign nv-sa", 20*time.Millisecond, 0, 0, decodetest.AlertUnknownCA)
		f := tlOnly(t, c.diagnose(t), TLSInterception)
		if f.Score != Combine(Weak, Strong) {
			t.Errorf("score %.3f, want %.3f", f.Score, Combine(Weak, Strong))
		}
	})
	t.Run("tls 1.3 alert in place of Finished", func(t *testing.T) {
		c := newTLCap()
		k := c.dial(tlServer, 20*time.Millisecond)
		k.hello(tlSNI)
		k.send(k.rtt, tlS2C, tls13Flight())
		rec := k.send(2*time.Millisecond, tlC2S, append(decodetest.ChangeCipherSpec(), decodetest.ApplicationData(tls13AlertLen)...))
		k.flags(100*time.Microsecond, tlC2S, decodetest.FlagFIN|decodetest.FlagACK)
		f := tlOnly(t, c.diagnose(t), TLSInterception)
		if f.Score != Weak {
			t.Errorf("score %.3f, want %.2f (weak)", f.Score, Weak)
		}
		tlCites(t, f, rec)
	})
	t.Run("explicit proxy names itself", func(t *testing.T) {
		c := newTLCap()
		k := c.dial("10.20.0.5:8080", time.Millisecond)
		k.send(time.Millisecond, tlC2S, decodetest.ConnectRequest(tlSNI+":443", false))
		k.send(30*time.Millisecond, tlS2C, decodetest.HTTPResponseReason(200, "Connection established", [2]string{"Proxy-Agent", "Zscaler/6.2"}))
		k.hello(tlSNI)
		k.send(40*time.Millisecond, tlS2C, tlFlight12(decodetest.CertChain(tlSNI, "GE External Issuing CA 201901141000", "General Electric Company")))
		k.send(time.Millisecond, tlC2S, decodetest.Alert(decodetest.AlertFatal, decodetest.AlertUnknownCA))
		f := tlOnly(t, c.diagnose(t), TLSInterception)
		if !strings.Contains(f.Explanation, "Zscaler") || !strings.Contains(strings.Join(f.Remediation, "\n"), "Zscaler") {
			t.Errorf("the proxy's product is not named: %q %q", f.Explanation, f.Remediation)
		}
		for _, e := range f.Evidence {
			if strings.Contains(e.Text, "local network") || strings.Contains(e.Text, "dialled") {
				t.Errorf("tunnel flow judged by the proxy's own distance: %s", e.Text)
			}
		}
	})
}

// tls13Flight is a TLS 1.3 server flight: ServerHello, change_cipher_spec
// and the encrypted rest of the handshake.
func tls13Flight() []byte {
	return append(append(decodetest.ServerHello(decodetest.VersionTLS13, decodetest.SuiteAES128GCMSHA256, false), decodetest.ChangeCipherSpec()...),
		decodetest.ApplicationData(3000)...)
}

// TestTLSInterceptionLookAlikes must not be blamed on an interceptor.
func TestTLSInterceptionLookAlikes(t *testing.T) {
	tests := []struct {
		name  string
		build func(c *tlCap)
	}{{
		name: "Microsoft chain refused by a PC missing the root",
		build: func(c *tlCap) {
			c.intercepted(tlSNI, tlMSIssuer, tlMSOrg, 30*time.Millisecond, 0, 0, decodetest.AlertUnknownCA)
		},
	}, {
		name: "retired Microsoft CA generation",
		build: func(c *tlCap) {
			c.okTLS12(tlServer, tlSNI, "Microsoft IT TLS CA 4", tlMSOrg)
		},
	}, {
		name: "public CA on a broad name, trusted",
		build: func(c *tlCap) {
			c.okTLS12(tlServer, "go.trouter.skype.com", "DigiCert Global G2 TLS RSA SHA256 2020 CA1", "DigiCert Inc")
		},
	}, {
		name: "public CA on a broad name, capture ends before the client's answer",
		build: func(c *tlCap) {
			k := c.dial(tlServer, 30*time.Millisecond)
			k.hello("go.trouter.skype.com")
			k.send(k.rtt, tlS2C, tlFlight12(decodetest.CertChain("go.trouter.skype.com", "GlobalSign Atlas R3 DV TLS CA 2020", "GlobalSign nv-sa")))
		},
	}, {
		name: "tls 1.3 with a normal Finished",
		build: func(c *tlCap) {
			k := c.dial(tlServer, 20*time.Millisecond)
			k.hello(tlSNI)
			k.send(k.rtt, tlS2C, tls13Flight())
			k.send(2*time.Millisecond, tlC2S, append(decodetest.ChangeCipherSpec(), decodetest.ApplicationData(53)...))
			k.send(time.Millisecond, tlC2S, decodetest.ApplicationData(600))
			k.send(k.rtt, tlS2C, decodetest.ApplicationData(4000))
			k.flags(time.Second, tlC2S, decodetest.FlagFIN|decodetest.FlagACK)
		},
	}, {
		name: "nearby edge that answers at once",
		build: func(c *tlCap) {
			k := c.dialTTL(tlServer, time.Millisecond, 64)
			k.hello(tlSNI)
			k.send(k.rtt, tlS2C, tlFlight12(decodetest.CertChain(tlSNI, tlMSIssuer, tlMSOrg)))
			k.finishTLS12()
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTLCap()
			tt.build(c)
			tlNone(t, c.diagnose(t), TLSInterception)
		})
	}
}
