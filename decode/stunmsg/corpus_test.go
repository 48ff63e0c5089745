package stunmsg

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestParseCorpus parses payloads cut from captures in the shared corpus
// (testdata/README.md gives their origin). The wanted values restate what
// tshark 4.0.17 prints for the same frame, quoted in each comment.
func TestParseCorpus(t *testing.T) {
	tests := []struct {
		fixture string
		want    Message
		ignore  []string // fields tshark does not show in printable form
	}{
		{
			// tshark: Allocate Request, cookie 2112a442, id b2343f6e67f41d58acba639f,
			// MAGIC-COOKIE 0x72c64bc6, MS-APP-ID, MS-VERSION 6, 0x8006, BANDWIDTH 12000,
			// MS-SERVICE-QUALITY.
			fixture: "ms-teams-client-session-f1238",
			want: Message{Class: "request", Method: "allocate", MSTURN: true,
				TransactionID: tid(t, "b2343f6e67f41d58acba639f"),
				Attributes:    []uint16{0x000F, 0x8037, 0x8008, 0x8006, 0x0010, 0x8055}},
		},
		{
			// tshark: Allocate Error Response, message length 167 "not multiple of 4
			// bytes" [Malformed], ERROR-CODE class 4 number 1 "The request did not
			// contain a Message-Integrity attribute" (length 61), then it misreads
			// the rest as attribute 0x0800. Read without padding (MS-TURN) the body
			// continues with 0x000E, 0x0014 (MS-TURN NONCE), 0x0015 (MS-TURN REALM
			// "\"rtcmedia\""), MAPPED-ADDRESS, 0x8095 and XOR-MAPPED-ADDRESS 0x8020,
			// whose values match frame 1275's.
			fixture: "ms-teams-client-session-f1245",
			want: Message{Class: "error", Method: "allocate", MSTURN: true, Unpadded: true,
				TransactionID: tid(t, "b2343f6e67f41d58acba639f"),
				ErrorCode:     401, ErrorReason: "The request did not contain a Message-Integrity attribute",
				Realm:            `"rtcmedia"`,
				MappedAddress:    ap("52.114.250.141:3480"),
				XORMappedAddress: ap("80.181.206.72:57543"),
				Attributes:       []uint16{0x000F, 0x8008, 0x0009, 0x000E, 0x0014, 0x0015, 0x0001, 0x8095, 0x8020}},
		},
		{
			// tshark: Allocate Success Response [Malformed: length 133 not a multiple
			// of 4], LIFETIME 60, MAPPED-ADDRESS 52.114.250.141:3480, MS-VERSION,
			// XOR-MAPPED-ADDRESS 80.181.206.72:57543, MS-SEQUENCE-NUMBER, SOFTWARE
			// "2.0.1.211" (length 9), then it misreads the padding as attribute
			// 0x0400. Unpadded, SOFTWARE is followed by BANDWIDTH 0x0010 (12000) and
			// a 32-byte MESSAGE-INTEGRITY.
			fixture: "ms-teams-client-session-f1275",
			want: Message{Class: "success", Method: "allocate", MSTURN: true, Unpadded: true,
				TransactionID: tid(t, "222fefc7f3924bd1b99727e4"),
				Lifetime:      60, HasLifetime: true,
				MappedAddress:    ap("52.114.250.141:3480"),
				XORMappedAddress: ap("80.181.206.72:57543"),
				Software:         "2.0.1.211", HasIntegrity: true,
				Attributes: []uint16{0x000F, 0x000D, 0x0001, 0x8008, 0x8020, 0x8050, 0x8022, 0x0010, 0x0008}},
		},
		{
			// tshark: Binding Request, USERNAME "o5/I:FY32", ICE-CONTROLLING,
			// MS-IMPLEMENTATION-VERSION 7, "Unknown attribute 0x8036", PRIORITY,
			// MS-APP-ID, MESSAGE-INTEGRITY, FINGERPRINT (CRC correct).
			fixture: "ms-teams-client-session-f1404",
			want: Message{Class: "request", Method: "binding",
				TransactionID: tid(t, "c6429a8034aea2ac958d0a81"),
				Username:      "o5/I:FY32", HasIntegrity: true, HasFingerprint: true,
				Attributes: []uint16{0x0006, 0x802A, 0x8070, 0x8036, 0x0024, 0x8037, 0x0008, 0x8028}},
		},
		{
			// tshark: Binding Success Response, XOR-MAPPED-ADDRESS 93.71.110.205:16332.
			fixture: "ms-teams-client-session-f1409",
			want: Message{Class: "success", Method: "binding",
				TransactionID:    tid(t, "6941fae438498937822a5008"),
				XORMappedAddress: ap("93.71.110.205:16332"),
				HasIntegrity:     true, HasFingerprint: true,
				Attributes: []uint16{0x8070, 0x0020, 0x8037, 0x8036, 0x0008, 0x8028}},
		},
		{
			// tshark: type 0x0004 "Refresh Request" (RFC 8489 reading); with the
			// MS-TURN MAGIC-COOKIE attribute it is the MS-TURN Send request
			// ([MS-TURN] 2.2.1). USERNAME is 56 binary bytes; DESTINATION-ADDRESS
			// 93.71.110.205:16332; DATA (124 bytes); MESSAGE-INTEGRITY of 32 bytes.
			fixture: "ms-teams-client-session-f1413",
			want: Message{Class: "request", Method: "send", MSTURN: true,
				TransactionID: tid(t, "2c34521e47aef1fca493b9d5"), HasIntegrity: true,
				Attributes: []uint16{0x000F, 0x8008, 0x0006, 0x0011, 0x0013, 0x0008}},
			ignore: []string{"Username"},
		},
		{
			// tshark: Binding Request, attributes 0x0006,0x0024,0x802a,0x8054,0x8070,
			// 0x0008,0x8028, USERNAME "gppe:zWyk".
			fixture: "ms-skype-conference-call-stun-f1",
			want: Message{Class: "request", Method: "binding",
				TransactionID: tid(t, "c55a4fdfde0c325e304c60c7"),
				Username:      "gppe:zWyk", HasIntegrity: true, HasFingerprint: true,
				Attributes: []uint16{0x0006, 0x0024, 0x802A, 0x8054, 0x8070, 0x0008, 0x8028}},
		},
		{
			// tshark: CLASSIC-STUN Binding Request, id 9429ef88294dd52632c72931cb8dbb4c,
			// CHANGE-REQUEST (no flags).
			fixture: "stun-classic-rfc3489-f1",
			want: Message{Class: "request", Method: "binding", Classic: true,
				TransactionID: tid(t, "294dd52632c72931cb8dbb4c"),
				Attributes:    []uint16{0x0003}},
		},
		{
			// tshark: CLASSIC-STUN Binding Response, MAPPED-ADDRESS 172.16.63.224:55050.
			fixture: "stun-classic-rfc3489-f2",
			want: Message{Class: "success", Method: "binding", Classic: true,
				TransactionID: tid(t, "294dd52632c72931cb8dbb4c"),
				MappedAddress: ap("172.16.63.224:55050"),
				Attributes:    []uint16{0x0001}},
		},
		{
			// tshark: Binding Success Response, MAPPED-ADDRESS 70.199.128.46:4604.
			fixture: "stun-ice-checks-401-500-errors-f2",
			want: Message{Class: "success", Method: "binding",
				MappedAddress: ap("70.199.128.46:4604"), Attributes: []uint16{0x0001}},
			ignore: []string{"TransactionID"},
		},
		{
			// tshark: Binding Success Response, SOFTWARE "Net-Net OS-E E3.7.0 ",
			// XOR-MAPPED-ADDRESS 70.199.128.46:4587.
			fixture: "stun-ice-checks-401-500-errors-f13",
			want: Message{Class: "success", Method: "binding",
				TransactionID:    tid(t, "3559536e427170567761394f"),
				Software:         "Net-Net OS-E E3.7.0 ",
				XORMappedAddress: ap("70.199.128.46:4587"),
				HasIntegrity:     true, HasFingerprint: true,
				Attributes: []uint16{0x8022, 0x0020, 0x0008, 0x8028}},
		},
		{
			// tshark: Binding Error Response, error-code 500 "SERVER ERROR".
			fixture: "stun-ice-checks-401-500-errors-f25",
			want: Message{Class: "error", Method: "binding", ErrorCode: 500, ErrorReason: "SERVER ERROR",
				HasIntegrity: true, HasFingerprint: true, Attributes: []uint16{0x0009, 0x0008, 0x8028}},
			ignore: []string{"TransactionID"},
		},
		{
			// tshark: Binding Error Response, error-code 401 "UNAUTHORIZED".
			fixture: "stun-ice-checks-401-500-errors-f32",
			want: Message{Class: "error", Method: "binding", ErrorCode: 401, ErrorReason: "UNAUTHORIZED",
				HasFingerprint: true, Attributes: []uint16{0x0009, 0x8028}},
			ignore: []string{"TransactionID"},
		},
		{
			// tshark: Allocate Error Response, 401, realm "turn.l.google.com", nonce.
			fixture: "stun-turn-mixed-vlan-ipv6-f19",
			want: Message{Class: "error", Method: "allocate", ErrorCode: 401,
				TransactionID: tid(t, "536e4c665278533665516e54"),
				Realm:         "turn.l.google.com", Attributes: []uint16{0x0009, 0x0014, 0x0015}},
		},
		{
			// tshark: Allocate Success Response, XOR-RELAYED-ADDRESS 10.2.0.86:44908,
			// lifetime 120, XOR-MAPPED-ADDRESS 93.47.225.225:23616.
			fixture: "stun-turn-mixed-vlan-ipv6-f21",
			want: Message{Class: "success", Method: "allocate",
				TransactionID:     tid(t, "494343786141736b5a4a5474"),
				XORRelayedAddress: ap("10.2.0.86:44908"), Lifetime: 120, HasLifetime: true,
				XORMappedAddress: ap("93.47.225.225:23616"), HasIntegrity: true,
				Attributes: []uint16{0x0016, 0x000D, 0x0020, 0x0008}},
		},
		{
			// tshark (TCP 3478): Allocate Success Response, XOR-RELAYED-ADDRESS
			// 10.13.0.62:15530, lifetime 120, XOR-MAPPED-ADDRESS 93.35.170.27:64994.
			fixture: "turn-tcp-dtls-rtp-f48",
			want: Message{Class: "success", Method: "allocate",
				TransactionID:     tid(t, "5a77775047417379646b6f48"),
				XORRelayedAddress: ap("10.13.0.62:15530"), Lifetime: 120, HasLifetime: true,
				XORMappedAddress: ap("93.35.170.27:64994"), HasIntegrity: true,
				Attributes: []uint16{0x0016, 0x000D, 0x0020, 0x0008}},
		},
		{
			// tshark (TCP 3478): Channel-Bind Request ChannelNumber=0x4000,
			// XOR-PEER-ADDRESS 10.13.0.50:1259, realm "turn.l.google.com".
			fixture: "turn-tcp-dtls-rtp-f58",
			want: Message{Class: "request", Method: "channel_bind",
				TransactionID:  tid(t, "4135494b4b63656862636b78"),
				ChannelNumber:  0x4000,
				XORPeerAddress: ap("10.13.0.50:1259"),
				Username:       "COjv4K8GEgYUyLSpSGoY5vz/h7MLIICjBTABSNG+tiQ",
				Realm:          "turn.l.google.com", HasIntegrity: true,
				Attributes: []uint16{0x000C, 0x0012, 0x0006, 0x0014, 0x0015, 0x0008}},
		},
		{
			// tshark -d tcp.port==80,stun: Allocate Error Response, error class 4
			// number 1, nonce, realm "turn.cloudflare.com".
			fixture: "turn-tcp80-allocate-401-f6",
			want: Message{Class: "error", Method: "allocate", ErrorCode: 401,
				TransactionID: tid(t, "4a5a6766714b33552f38664f"),
				Realm:         "turn.cloudflare.com", Attributes: []uint16{0x0009, 0x0015, 0x0014}},
		},
	}
	var p Parser
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			b := fixture(t, tt.fixture)
			var got Message
			if err := p.Parse(b, &got); err != nil {
				t.Fatalf("Parse: %v", err)
			}
			opts := append([]cmp.Option{cmpopts.IgnoreFields(Message{}, tt.ignore...)}, cmpOpts...)
			if diff := cmp.Diff(tt.want, got, opts...); diff != "" {
				t.Errorf("Parse mismatch (-want +got):\n%s", diff)
			}
			if got, want := IsClassicSTUN(b), tt.want.Classic; got != want {
				t.Errorf("IsClassicSTUN = %v, want %v", got, want)
			}
			if got, want := IsSTUN(b), !tt.want.Classic; got != want {
				t.Errorf("IsSTUN = %v, want %v", got, want)
			}
		})
	}
}

func TestNotSTUNCorpus(t *testing.T) {
	// tshark: "UDP 13958 → 55050 Len=32", media after the classic binding
	// exchange (first byte 0x80: RTP version 2).
	b := fixture(t, "stun-classic-rfc3489-f3")
	if IsSTUN(b) || IsClassicSTUN(b) {
		t.Errorf("IsSTUN = %v, IsClassicSTUN = %v; want false", IsSTUN(b), IsClassicSTUN(b))
	}
	var m Message
	if err := Parse(b, &m); err == nil {
		t.Errorf("Parse succeeded on RTP: %+v", m)
	}
}
