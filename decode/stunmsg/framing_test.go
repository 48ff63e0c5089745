package stunmsg

import (
	"math/rand/v2"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestIsClassicSTUN(t *testing.T) {
	tid16 := "9429ef88294dd52632c72931cb8dbb4c"
	tests := []struct {
		name string
		in   []byte
		want bool
	}{
		{"rfc3489 binding request", fixture(t, "stun-classic-rfc3489-f1"), true},
		{"rfc3489 binding response", fixture(t, "stun-classic-rfc3489-f2"), true},
		{"bare binding request", unhex(t, "00010000"+tid16), true},
		{"ms-turn data indication", unhex(t, "01150008"+tid16+"00130004deadbeef"), true},
		{"unpadded error code", unhex(t, "0111000d"+tid16+"00090009000004017878787878"), true},
		{"rtp media", fixture(t, "stun-classic-rfc3489-f3"), false},
		{"rfc5389 message with cookie", []byte(rfc5769Request), false},
		{"short", unhex(t, "0001000000000000"), false},
		{"all zero", make([]byte, 20), false},
		{"unknown type", unhex(t, "00170000"+tid16), false},
		{"trailing byte", unhex(t, "00010000"+tid16+"00"), false},
		{"length short of the datagram", unhex(t, "00010004"+tid16+"0003000400000000"), false},
		{"attribute of type zero", unhex(t, "00010008"+tid16+"0000000400000000"), false},
		{"attribute overruns", unhex(t, "00010008"+tid16+"0003000800000000"), false},
		{"dns query with id 1", unhex(t, "00010100000100000000000003777777076578616d706c6503636f6d0000010001"), false},
		{"dtls client hello", unhex(t, "16fefd0000000000000000009d010000910000000000000091fefd"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := IsClassicSTUN(tt.in); got != tt.want {
				t.Errorf("IsClassicSTUN(%x) = %v, want %v", tt.in, got, tt.want)
			}
			if !tt.want {
				return
			}
			var m Message
			if err := Parse(tt.in, &m); err != nil || !m.Classic {
				t.Errorf("Parse = %v, Classic = %v; want nil, true", err, m.Classic)
			}
		})
	}
}

func TestIsClassicSTUNRandom(t *testing.T) {
	// Random datagrams of typical media sizes must not look like classic STUN.
	r := rand.New(rand.NewPCG(1, 2))
	buf := make([]byte, 1200)
	for i := range 100000 {
		b := buf[:20+r.IntN(len(buf)-20)]
		for j := range b {
			b[j] = byte(r.Uint32())
		}
		if IsClassicSTUN(b) {
			t.Fatalf("iteration %d: random %x looks like classic STUN", i, b)
		}
	}
}

func TestParseChannelData(t *testing.T) {
	type result struct {
		Channel uint16
		Length  int
		OK      bool
	}
	tests := []struct {
		name string
		in   []byte
		want result
	}{
		// tshark: "ChannelData TURN Message", channel 0x4003, length 22, UDP
		// payload 26 bytes (no padding).
		{"corpus unpadded udp", fixture(t, "stun-turn-mixed-vlan-ipv6-f113"), result{0x4003, 22, true}},
		{"padded udp", unhex(t, "40000005 0102030405 000000"), result{0x4000, 5, true}},
		{"empty data", unhex(t, "4fff0000"), result{0x4fff, 0, true}},
		{"rfc 5766 range", unhex(t, "7fff0001 aa"), result{0x7fff, 1, true}},
		{"below channel range", unhex(t, "3fff0001 aa"), result{}},
		{"above channel range", unhex(t, "80000001 aa"), result{}},
		{"data shorter than length", unhex(t, "40000008 01020304"), result{}},
		{"more than padding after data", unhex(t, "40000001 aa 00000000"), result{}},
		{"short header", unhex(t, "4000"), result{}},
		{"stun message", []byte(rfc5769Request), result{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got result
			got.Channel, got.Length, got.OK = ParseChannelData(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseChannelData mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// split is one step of NextTCPMessage, for comparison.
type split struct {
	Msg  []byte
	Kind Kind
	OK   bool
}

// splitAll calls NextTCPMessage until it fails and returns every step and
// the bytes left.
func splitAll(b []byte) ([]split, []byte) {
	var out []split
	for {
		msg, rest, kind, ok := NextTCPMessage(b)
		out = append(out, split{msg, kind, ok})
		if !ok {
			return out, rest
		}
		b = rest
	}
}

func TestNextTCPMessage(t *testing.T) {
	three := fixture(t, "stun-tcp-multiple-msgs-per-segment-f5")
	framed := fixture(t, "stun-turn-mixed-vlan-ipv6-f3")
	e401 := fixture(t, "turn-tcp-dtls-rtp-f46")
	okAlloc := fixture(t, "turn-tcp-dtls-rtp-f48")
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	chData := unhex(t, "40010005 0102030405")
	tests := []struct {
		name     string
		in       []byte
		want     []split
		wantRest []byte
	}{
		{
			// tshark: one 84-byte TCP segment holding three 28-byte Allocate
			// requests (stun.length 8,8,8).
			name: "corpus three back to back",
			in:   three,
			want: []split{{three[:28], KindSTUN, true}, {three[28:56], KindSTUN, true},
				{three[56:], KindSTUN, true}, {nil, KindUnknown, false}},
			wantRest: []byte{},
		},
		{
			// tshark: "TCP Frame Length: 104" then a Binding Request of length 84
			// (RFC 4571 framing, ICE-TCP).
			name:     "corpus rfc 4571 framed",
			in:       framed,
			want:     []split{{framed[2:], KindFramed4571STUN, true}, {nil, KindUnknown, false}},
			wantRest: []byte{},
		},
		{
			name: "corpus 401 then success",
			in:   cat(e401, okAlloc),
			want: []split{{e401, KindSTUN, true}, {okAlloc, KindSTUN, true},
				{nil, KindUnknown, false}},
			wantRest: []byte{},
		},
		{
			name: "channel data padded then stun",
			in:   cat(chData, []byte{0, 0, 0}, e401),
			want: []split{{chData, KindChannelData, true}, {e401, KindSTUN, true},
				{nil, KindUnknown, false}},
			wantRest: []byte{},
		},
		{
			name:     "stun needs more",
			in:       e401[:30],
			want:     []split{{nil, KindSTUN, false}},
			wantRest: e401[:30],
		},
		{
			name:     "framed needs more",
			in:       framed[:50],
			want:     []split{{nil, KindFramed4571STUN, false}},
			wantRest: framed[:50],
		},
		{
			name:     "channel data padding not yet here",
			in:       chData,
			want:     []split{{nil, KindChannelData, false}},
			wantRest: chData,
		},
		{
			name:     "header too short to tell",
			in:       e401[:6],
			want:     []split{{nil, KindUnknown, false}},
			wantRest: e401[:6],
		},
		{
			name:     "tls record",
			in:       unhex(t, "160301020001 0001fc0303 0000"),
			want:     []split{{nil, KindUnknown, false}},
			wantRest: unhex(t, "160301020001 0001fc0303 0000"),
		},
		{
			name:     "framed length disagrees with stun length",
			in:       cat([]byte{0, 105}, framed[2:]),
			want:     []split{{nil, KindUnknown, false}},
			wantRest: cat([]byte{0, 105}, framed[2:]),
		},
		{
			name:     "rtp first byte",
			in:       fixture(t, "stun-classic-rfc3489-f3"),
			want:     []split{{nil, KindUnknown, false}},
			wantRest: fixture(t, "stun-classic-rfc3489-f3"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rest := splitAll(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("NextTCPMessage steps mismatch (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantRest, rest); diff != "" {
				t.Errorf("rest mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestFramedMessageParses(t *testing.T) {
	// tshark: Binding Request, id f3439453b698fb2950bb06ed, USERNAME
	// "/pI0:ToEd", attributes 0x0006,0x0024,0x8029,0x8054,0x8070,0x0008,0x8028.
	msg, _, kind, ok := NextTCPMessage(fixture(t, "stun-turn-mixed-vlan-ipv6-f3"))
	if !ok || kind != KindFramed4571STUN {
		t.Fatalf("NextTCPMessage = %v, %v", kind, ok)
	}
	var got Message
	if err := Parse(msg, &got); err != nil {
		t.Fatal(err)
	}
	want := Message{Class: "request", Method: "binding",
		TransactionID: tid(t, "f3439453b698fb2950bb06ed"),
		Username:      "/pI0:ToEd", HasIntegrity: true, HasFingerprint: true,
		Attributes: []uint16{0x0006, 0x0024, 0x8029, 0x8054, 0x8070, 0x0008, 0x8028}}
	if diff := cmp.Diff(want, got, cmpOpts...); diff != "" {
		t.Errorf("Parse mismatch (-want +got):\n%s", diff)
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{KindUnknown: "unknown", KindSTUN: "stun",
		KindChannelData: "channel_data", KindFramed4571STUN: "framed_4571_stun", Kind(9): "unknown"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", k, got, want)
		}
	}
}
