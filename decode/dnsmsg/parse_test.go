package dnsmsg

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestParseCorpus parses DNS payloads cut from captures in the shared corpus
// (testdata/README.md gives their origin). The wanted values restate what
// tshark 4.0.17 prints for the same frame, quoted in each comment.
func TestParseCorpus(t *testing.T) {
	addr := netip.MustParseAddr
	tests := []struct {
		fixture string
		tcp     bool // strip the RFC 1035 4.2.2 length prefix first
		want    Message
	}{
		{
			// tshark: "Standard query 0x8295 A dne.oisf.net OPT".
			fixture: "dns-nxdomain-soa-f1",
			want: Message{ID: 0x8295, QuestionCount: 1,
				Questions: []Question{{"dne.oisf.net", TypeA}}},
		},
		{
			// tshark: flags 0x8183 "No such name", 0 answers, 1 authority (SOA),
			// 1 additional (OPT).
			fixture: "dns-nxdomain-soa-f2",
			want: Message{ID: 0x8295, Response: true, Rcode: 3, QuestionCount: 1,
				Questions: []Question{{"dne.oisf.net", TypeA}}},
		},
		{
			// tshark: 0xc319 "A teams.skype.com CNAME s-0001.s-msedge.net A
			// 13.107.3.128", TTLs 2051, 168.
			fixture: "ms-dns-teams-skype-nxdomain-f4",
			want: Message{ID: 0xc319, Response: true, QuestionCount: 1, AnswerCount: 2,
				Questions: []Question{{"teams.skype.com", TypeA}},
				Answers: []Answer{
					{Name: "teams.skype.com", Type: TypeCNAME, TTL: 2051, Target: "s-0001.s-msedge.net"},
					{Name: "s-0001.s-msedge.net", Type: TypeA, TTL: 168, Addr: addr("13.107.3.128")},
				}},
		},
		{
			// tshark: 0xdbbb, three CNAMEs (TTL 3219, 236, 141) then A
			// 52.113.194.131 (TTL 141).
			fixture: "ms-dns-teams-skype-nxdomain-f6",
			want: Message{ID: 0xdbbb, Response: true, QuestionCount: 1, AnswerCount: 4,
				Questions: []Question{{"api.teams.skype.com", TypeA}},
				Answers: []Answer{
					{Name: "api.teams.skype.com", Type: TypeCNAME, TTL: 3219, Target: "teams-afd.trafficmanager.net"},
					{Name: "teams-afd.trafficmanager.net", Type: TypeCNAME, TTL: 236,
						Target: "teams-afd-trafficmanager-net.s-0004.s-msedge.net"},
					{Name: "teams-afd-trafficmanager-net.s-0004.s-msedge.net", Type: TypeCNAME, TTL: 141,
						Target: "s-0004.s-msedge.net"},
					{Name: "s-0004.s-msedge.net", Type: TypeA, TTL: 141, Addr: addr("52.113.194.131")},
				}},
		},
		{
			// tshark: 0xb562 "No such name A *.teams.microsoft.com SOA".
			fixture: "ms-dns-teams-skype-nxdomain-f12",
			want: Message{ID: 0xb562, Response: true, Rcode: 3, QuestionCount: 1,
				Questions: []Question{{"*.teams.microsoft.com", TypeA}}},
		},
		{
			// tshark (TCP): 0x4319, 2 answers A 192.139.46.66 and 198.199.88.104,
			// TTL 60, then NS and glue records.
			fixture: "dns-over-tcp-f6", tcp: true,
			want: Message{ID: 0x4319, Response: true, QuestionCount: 1, AnswerCount: 2,
				Questions: []Question{{"www.tcpdump.org", TypeA}},
				Answers: []Answer{
					{Name: "www.tcpdump.org", Type: TypeA, TTL: 60, Addr: addr("192.139.46.66")},
					{Name: "www.tcpdump.org", Type: TypeA, TTL: 60, Addr: addr("198.199.88.104")},
				}},
		},
		{
			// tshark: 0xad21 "AAAA enabled.tls13.com AAAA 2606:4700::6810:7d22 AAAA
			// 2606:4700::6810:7e22", TTL 188.
			fixture: "tls13-curl-with-dns-f4",
			want: Message{ID: 0xad21, Response: true, QuestionCount: 1, AnswerCount: 2,
				Questions: []Question{{"enabled.tls13.com", TypeAAAA}},
				Answers: []Answer{
					{Name: "enabled.tls13.com", Type: TypeAAAA, TTL: 188, Addr: addr("2606:4700::6810:7d22")},
					{Name: "enabled.tls13.com", Type: TypeAAAA, TTL: 188, Addr: addr("2606:4700::6810:7e22")},
				}},
		},
		{
			// tshark: 0x687a flags 0x8505 "Refused", AAAA
			// www.wireshark.org.gateway.2wire.net, "Extraneous Data (459 bytes)".
			fixture: "dns-refused-teredo-f61",
			want: Message{ID: 0x687a, Response: true, Rcode: 5, QuestionCount: 1,
				Questions: []Question{{"www.wireshark.org.gateway.2wire.net", TypeAAAA}}},
		},
		{
			// tshark: 0xc51f "Server failure MX 5bee01fdf552234195.skullseclabs.org".
			fixture: "dns-unanswered-servfail-tunnel-f362",
			want: Message{ID: 0xc51f, Response: true, Rcode: 2, QuestionCount: 1,
				Questions: []Question{{"5bee01fdf552234195.skullseclabs.org", TypeMX}}},
		},
		{
			// tshark: "Standard query 0x5de5 HTTPS wdcp.microsoft.com".
			fixture: "ms-defender-wdcp-tls12-cert-f39",
			want: Message{ID: 0x5de5, QuestionCount: 1,
				Questions: []Question{{"wdcp.microsoft.com", TypeHTTPS}}},
		},
		{
			// tshark: 0x5de5 HTTPS query answered by CNAME wd-prod-cp.trafficmanager.net
			// (TTL 3552) and CNAME wd-prod-cp-eu-north-1-fe.northeurope.cloudapp.azure.com
			// (TTL 109), then SOA in the authority section; no HTTPS record.
			fixture: "ms-defender-wdcp-tls12-cert-f44",
			want: Message{ID: 0x5de5, Response: true, QuestionCount: 1, AnswerCount: 2,
				Questions: []Question{{"wdcp.microsoft.com", TypeHTTPS}},
				Answers: []Answer{
					{Name: "wdcp.microsoft.com", Type: TypeCNAME, TTL: 3552, Target: "wd-prod-cp.trafficmanager.net"},
					{Name: "wd-prod-cp.trafficmanager.net", Type: TypeCNAME, TTL: 109,
						Target: "wd-prod-cp-eu-north-1-fe.northeurope.cloudapp.azure.com"},
				}},
		},
	}
	var p Parser
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			b := fixture(t, tt.fixture)
			if tt.tcp {
				var rest []byte
				var ok bool
				if b, rest, ok = SplitTCP(b); !ok || len(rest) != 0 {
					t.Fatalf("SplitTCP: ok %v, %d bytes left", ok, len(rest))
				}
			}
			var got Message
			if err := p.Parse(b, &got); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpOpts...); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseSynthetic(t *testing.T) {
	const resp = 0x8180 // QR, RD, RA, NOERROR
	var many []rr
	var manyWant []Answer
	for i := range MaxAnswers + 6 {
		ip := [4]byte{192, 0, 2, byte(i)}
		many = append(many, rr{"relay.example", TypeA, 30, ip[:]})
		if i < MaxAnswers {
			manyWant = append(manyWant, Answer{Name: "relay.example", Type: TypeA, TTL: 30, Addr: netip.AddrFrom4(ip)})
		}
	}
	tests := []struct {
		name string
		in   []byte
		want Message
	}{
		{
			name: "https record with target",
			in: msg(7, resp, "Quick.Example", TypeHTTPS,
				[]rr{{"quick.example", TypeHTTPS, 300, svcb(1, "svc.Example.NET", true)}}, -1, -1),
			want: Message{ID: 7, Response: true, QuestionCount: 1, AnswerCount: 1,
				Questions: []Question{{"quick.example", TypeHTTPS}},
				Answers:   []Answer{{Name: "quick.example", Type: TypeHTTPS, TTL: 300, Target: "svc.example.net"}}},
		},
		{
			name: "svcb alias mode",
			in: msg(8, resp, "_443._https.a.example", TypeSVCB,
				[]rr{{"_443._https.a.example", TypeSVCB, 60, svcb(0, "alias.example", false)}}, -1, -1),
			want: Message{ID: 8, Response: true, QuestionCount: 1, AnswerCount: 1,
				Questions: []Question{{"_443._https.a.example", TypeSVCB}},
				Answers:   []Answer{{Name: "_443._https.a.example", Type: TypeSVCB, TTL: 60, Target: "alias.example"}}},
		},
		{
			name: "https record with root target",
			in: msg(9, resp, "b.example", TypeHTTPS,
				[]rr{{"b.example", TypeHTTPS, 60, svcb(1, "", true)}}, -1, -1),
			want: Message{ID: 9, Response: true, QuestionCount: 1, AnswerCount: 1,
				Questions: []Question{{"b.example", TypeHTTPS}},
				Answers:   []Answer{{Name: "b.example", Type: TypeHTTPS, TTL: 60}}},
		},
		{
			name: "answers beyond the cap are dropped",
			in:   msg(10, resp, "relay.example", TypeA, many, -1, -1),
			want: Message{ID: 10, Response: true, QuestionCount: 1, AnswerCount: MaxAnswers + 6,
				Questions: []Question{{"relay.example", TypeA}}, Answers: manyWant},
		},
		{
			name: "truncated bit and opcode",
			in:   msg(11, 0x8000|2<<11|0x0200, "x.example", TypeTXT, nil, -1, -1),
			want: Message{ID: 11, Response: true, Opcode: 2, Truncated: true, QuestionCount: 1,
				Questions: []Question{{"x.example", TypeTXT}}},
		},
		{
			name: "root question",
			in:   msg(12, 0, "", TypeSOA, nil, -1, -1),
			want: Message{ID: 12, QuestionCount: 1, Questions: []Question{{"", TypeSOA}}},
		},
	}
	var p Parser
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Message
			if err := p.Parse(tt.in, &got); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpOpts...); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseError(t *testing.T) {
	good := msg(1, 0x8180, "a.example", TypeA,
		[]rr{{"a.example", TypeA, 5, []byte{192, 0, 2, 1}}, {"a.example", TypeA, 5, []byte{192, 0, 2, 2}}}, -1, -1)
	loop := append(msg(2, 0, "", TypeA, nil, 1, 0)[:12], 0xc0, 12, 0, 1, 0, 1) // name points at itself
	tests := []struct {
		name    string
		in      []byte
		wantErr error
		want    Message
	}{
		{name: "empty", in: nil, wantErr: ErrTruncated},
		{name: "short header", in: good[:11], wantErr: ErrTruncated},
		{
			name: "answer cut off keeps the question", in: good[:len(good)-2], wantErr: ErrMalformed,
			want: Message{ID: 1, Response: true, QuestionCount: 1, AnswerCount: 2,
				Questions: []Question{{"a.example", TypeA}},
				Answers:   []Answer{{Name: "a.example", Type: TypeA, TTL: 5, Addr: netip.MustParseAddr("192.0.2.1")}}},
		},
		{
			name: "more answers announced than present", in: msg(3, 0x8180, "a.example", TypeA, nil, -1, 3),
			wantErr: ErrMalformed,
			want: Message{ID: 3, Response: true, QuestionCount: 1, AnswerCount: 3,
				Questions: []Question{{"a.example", TypeA}}},
		},
		{
			name: "compression loop", in: loop, wantErr: ErrMalformed,
			want: Message{ID: 2, QuestionCount: 1},
		},
		{
			name: "a record of three bytes", wantErr: ErrMalformed,
			in: msg(4, 0x8180, "a.example", TypeA, []rr{{"a.example", TypeA, 5, []byte{1, 2, 3}}}, -1, -1),
			want: Message{ID: 4, Response: true, QuestionCount: 1, AnswerCount: 1,
				Questions: []Question{{"a.example", TypeA}}},
		},
		{
			name: "https record without target", wantErr: ErrMalformed,
			in: msg(5, 0x8180, "a.example", TypeHTTPS, []rr{{"a.example", TypeHTTPS, 5, []byte{0, 1}}}, -1, -1),
			want: Message{ID: 5, Response: true, QuestionCount: 1, AnswerCount: 1,
				Questions: []Question{{"a.example", TypeHTTPS}}},
		},
		{
			name: "huge question count", in: msg(6, 0, "a.example", TypeA, nil, 65535, 0),
			wantErr: ErrMalformed,
			want:    Message{ID: 6, QuestionCount: 65535, Questions: []Question{{"a.example", TypeA}}},
		},
	}
	var p Parser
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Message
			err := p.Parse(tt.in, &got)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmpOpts...); diff != "" {
				t.Errorf("partial result mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseReuse(t *testing.T) {
	var p Parser
	var m Message
	if err := p.Parse(fixture(t, "ms-dns-teams-skype-nxdomain-f6"), &m); err != nil {
		t.Fatal(err)
	}
	if err := p.Parse(fixture(t, "dns-nxdomain-soa-f1"), &m); err != nil {
		t.Fatal(err)
	}
	want := Message{ID: 0x8295, QuestionCount: 1, Questions: []Question{{"dne.oisf.net", TypeA}}}
	if diff := cmp.Diff(want, m, cmpOpts...); diff != "" {
		t.Errorf("reused Message mismatch (-want +got):\n%s", diff)
	}
}
