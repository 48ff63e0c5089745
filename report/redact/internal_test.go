package redact

import (
	"testing"

	"github.com/qadiag/qadiag/decode/tlsmsg"
)

func TestProduct(t *testing.T) {
	for in, want := range map[string]string{
		"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36": "Mozilla/5.0 (redacted) AppleWebKit/537.36 (redacted) Chrome/131.0.0.0 Safari/537.36",
		"squid/6.10":                     "squid/6.10",
		"Contoso Agent for alice@corp":   "Contoso Agent for redacted",
		"Apache/2.4 (Ubuntu) ((nested))": "Apache/2.4 (redacted)",
		"":                               "",
	} {
		if got := product(in); got != want {
			t.Errorf("product(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDN(t *testing.T) {
	for _, dn := range []string{"CN=www.contoso.com,O=Contoso\\, Ltd,L=Redmond,C=US", "CN=a+OU=b,O=c", "", "CN=x"} {
		if got := formatDN(parseDN(dn)); got != dn {
			t.Errorf("formatDN(parseDN(%q)) = %q", dn, got)
		}
	}
	r := New(nil, []byte("k"))
	c := r.cert(tlsmsg.Certificate{Subject: "CN=intranet.contoso.com,O=Contoso\\, Ltd,C=US", SubjectCN: "intranet.contoso.com",
		SANs: []string{"intranet.contoso.com", "*.contoso.com", "10.1.2.3"}, Issuer: "CN=Contoso Issuing CA,O=Contoso\\, Ltd"})
	want := "CN=" + r.name("intranet.contoso.com") + ",O=redacted,C=US"
	if c.Subject != want || c.SANs[1] != "*."+r.name("contoso.com") || c.SANs[2] != r.host("10.1.2.3") ||
		c.Issuer != "CN=Contoso Issuing CA,O=Contoso\\, Ltd" {
		t.Errorf("cert: %+v", c)
	}
	ms := tlsmsg.Certificate{Subject: "CN=remoteassistance.support.services.microsoft.com,O=Microsoft Corporation",
		SubjectCN: "remoteassistance.support.services.microsoft.com", SANs: []string{"*.support.services.microsoft.com"}}
	if got := r.cert(ms); got.Subject != ms.Subject || got.SANs[0] != ms.SANs[0] {
		t.Errorf("catalog cert changed: %+v", got)
	}
}

func TestCaptureExt(t *testing.T) {
	for in, want := range map[string]string{"a.pcapng": ".pcapng", "A.PCAP.GZ": ".pcap.gz", "trace": "", "x.cap": ".cap"} {
		if got := captureExt(in); got != want {
			t.Errorf("captureExt(%q) = %q, want %q", in, got, want)
		}
	}
}
