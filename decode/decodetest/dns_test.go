package decodetest

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// dnsView is what TestDNS compares after decoding with gopacket.
type dnsView struct {
	ID       uint16
	QR       bool
	Rcode    layers.DNSResponseCode
	Question string
	QType    layers.DNSType
	Answers  []string
}

func viewDNS(t *testing.T, b []byte) dnsView {
	t.Helper()
	var d layers.DNS
	if err := d.DecodeFromBytes(b, gopacket.NilDecodeFeedback); err != nil {
		t.Fatalf("decoding %x: %v", b, err)
	}
	v := dnsView{ID: d.ID, QR: d.QR, Rcode: d.ResponseCode}
	if len(d.Questions) == 1 {
		v.Question, v.QType = string(d.Questions[0].Name), d.Questions[0].Type
	}
	for _, a := range d.Answers {
		s := string(a.Name) + " " + a.Type.String() + " "
		switch a.Type {
		case layers.DNSTypeCNAME:
			s += string(a.CNAME)
		default:
			s += a.IP.String()
		}
		v.Answers = append(v.Answers, s)
	}
	return v
}

func TestDNS(t *testing.T) {
	const name = "remoteassistance.support.services.microsoft.com"
	const edge = "remoteassistance.support.services.microsoft.com.trafficmanager.net"
	tests := []struct {
		name string
		msg  []byte
		want dnsView
	}{
		{"query A", DNSQuery(0x1234, name, DNSTypeA), dnsView{ID: 0x1234, Question: name, QType: layers.DNSTypeA}},
		{"query HTTPS", DNSQuery(7, name, DNSTypeHTTPS), dnsView{ID: 7, Question: name, QType: 65}},
		{
			"cname chain",
			DNSResponse(0x1234, name, DNSTypeA, DNSRcodeNoError, []DNSAnswer{
				{TTL: 300, CNAME: edge},
				{Name: edge, TTL: 60, Addr: netip.MustParseAddr("20.42.65.90")},
				{Name: edge, TTL: 60, Addr: netip.MustParseAddr("20.42.65.91")},
			}),
			dnsView{ID: 0x1234, QR: true, Question: name, QType: layers.DNSTypeA, Answers: []string{
				name + " CNAME " + edge, edge + " A 20.42.65.90", edge + " A 20.42.65.91",
			}},
		},
		{
			"aaaa",
			DNSResponse(9, "login.microsoftonline.com", DNSTypeAAAA, DNSRcodeNoError, []DNSAnswer{{TTL: 30, Addr: netip.MustParseAddr("2603:1037:1:c8::8")}}),
			dnsView{ID: 9, QR: true, Question: "login.microsoftonline.com", QType: layers.DNSTypeAAAA, Answers: []string{"login.microsoftonline.com AAAA 2603:1037:1:c8::8"}},
		},
		{"nxdomain", DNSResponse(3, "wpad.corp.example", DNSTypeA, DNSRcodeNXDomain, nil), dnsView{ID: 3, QR: true, Rcode: layers.DNSResponseCodeNXDomain, Question: "wpad.corp.example", QType: layers.DNSTypeA}},
		{"servfail", DNSResponse(4, name, DNSTypeA, DNSRcodeServFail, nil), dnsView{ID: 4, QR: true, Rcode: layers.DNSResponseCodeServFail, Question: name, QType: layers.DNSTypeA}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, viewDNS(t, tt.msg)); diff != "" {
				t.Errorf("decoded (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDNSCompression(t *testing.T) {
	const name = "login.microsoftonline.com"
	a := netip.MustParseAddr("20.190.128.1")
	two := DNSResponse(1, name, DNSTypeA, 0, []DNSAnswer{{TTL: 1, Addr: a}, {TTL: 1, Addr: a}})
	one := DNSResponse(1, name, DNSTypeA, 0, []DNSAnswer{{TTL: 1, Addr: a}})
	if got := len(two) - len(one); got != 2+10+4 {
		t.Errorf("second answer adds %d bytes, want 16 (owner name compressed)", got)
	}
}
