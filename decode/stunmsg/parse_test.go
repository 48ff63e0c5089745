package stunmsg

import (
	"errors"
	"net"
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/pion/stun/v3"
)

// cmpOpts compares netip values with == and treats nil and empty slices
// alike.
var cmpOpts = []cmp.Option{cmpopts.EquateComparable(netip.AddrPort{}), cmpopts.EquateEmpty()}

// RFC 5769 test vectors, byte for byte (sections 2.1 to 2.4).
const (
	rfc5769Request = "\x00\x01\x00\x58" + "\x21\x12\xa4\x42" +
		"\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae" +
		"\x80\x22\x00\x10" + "STUN test client" +
		"\x00\x24\x00\x04" + "\x6e\x00\x01\xff" +
		"\x80\x29\x00\x08" + "\x93\x2f\xf9\xb1\x51\x26\x3b\x36" +
		"\x00\x06\x00\x09" + "\x65\x76\x74\x6a\x3a\x68\x36\x76\x59\x20\x20\x20" +
		"\x00\x08\x00\x14" + "\x9a\xea\xa7\x0c\xbf\xd8\xcb\x56\x78\x1e\xf2\xb5" +
		"\xb2\xd3\xf2\x49\xc1\xb5\x71\xa2" +
		"\x80\x28\x00\x04" + "\xe5\x7a\x3b\xcf"
	rfc5769IPv4Response = "\x01\x01\x00\x3c" + "\x21\x12\xa4\x42" +
		"\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae" +
		"\x80\x22\x00\x0b" + "\x74\x65\x73\x74\x20\x76\x65\x63\x74\x6f\x72\x20" +
		"\x00\x20\x00\x08" + "\x00\x01\xa1\x47\xe1\x12\xa6\x43" +
		"\x00\x08\x00\x14" + "\x2b\x91\xf5\x99\xfd\x9e\x90\xc3\x8c\x74\x89\xf9" +
		"\x2a\xf9\xba\x53\xf0\x6b\xe7\xd7" +
		"\x80\x28\x00\x04" + "\xc0\x7d\x4c\x96"
	rfc5769IPv6Response = "\x01\x01\x00\x48" + "\x21\x12\xa4\x42" +
		"\xb7\xe7\xa7\x01\xbc\x34\xd6\x86\xfa\x87\xdf\xae" +
		"\x80\x22\x00\x0b" + "\x74\x65\x73\x74\x20\x76\x65\x63\x74\x6f\x72\x20" +
		"\x00\x20\x00\x14" + "\x00\x02\xa1\x47" +
		"\x01\x13\xa9\xfa\xa5\xd3\xf1\x79" + "\xbc\x25\xf4\xb5\xbe\xd2\xb9\xd9" +
		"\x00\x08\x00\x14" + "\xa3\x82\x95\x4e\x4b\xe6\x7b\xf1\x17\x84\xc9\x7c" +
		"\x82\x92\xc2\x75\xbf\xe3\xed\x41" +
		"\x80\x28\x00\x04" + "\xc8\xfb\x0b\x4c"
	rfc5769LongTermRequest = "\x00\x01\x00\x60" + "\x21\x12\xa4\x42" +
		"\x78\xad\x34\x33\xc6\xad\x72\xc0\x29\xda\x41\x2e" +
		"\x00\x06\x00\x12" + "\xe3\x83\x9e\xe3\x83\x88\xe3\x83\xaa\xe3\x83\x83" +
		"\xe3\x82\xaf\xe3\x82\xb9\x00\x00" +
		"\x00\x15\x00\x1c" + "\x66\x2f\x2f\x34\x39\x39\x6b\x39\x35\x34\x64\x36" +
		"\x4f\x4c\x33\x34\x6f\x4c\x39\x46\x53\x54\x76\x79" + "\x36\x34\x73\x41" +
		"\x00\x14\x00\x0b" + "\x65\x78\x61\x6d\x70\x6c\x65\x2e\x6f\x72\x67\x00" +
		"\x00\x08\x00\x14" + "\xf6\x70\x24\x65\x6d\xd6\x4a\x3e\x02\xb8\xe0\x71" +
		"\x2e\x85\xc9\xa2\x8c\xa8\x96\x66"
)

func TestParseRFC5769(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want Message
	}{
		{
			name: "2.1 sample request",
			in:   rfc5769Request,
			want: Message{
				Class: "request", Method: "binding",
				TransactionID: tid(t, "b7e7a701bc34d686fa87dfae"),
				Software:      "STUN test client", Username: "evtj:h6vY",
				HasIntegrity: true, HasFingerprint: true,
				Attributes: []uint16{0x8022, 0x0024, 0x8029, 0x0006, 0x0008, 0x8028},
			},
		},
		{
			name: "2.2 IPv4 response",
			in:   rfc5769IPv4Response,
			want: Message{
				Class: "success", Method: "binding",
				TransactionID:    tid(t, "b7e7a701bc34d686fa87dfae"),
				XORMappedAddress: ap("192.0.2.1:32853"),
				Software:         "test vector",
				HasIntegrity:     true, HasFingerprint: true,
				Attributes: []uint16{0x8022, 0x0020, 0x0008, 0x8028},
			},
		},
		{
			name: "2.3 IPv6 response",
			in:   rfc5769IPv6Response,
			want: Message{
				Class: "success", Method: "binding",
				TransactionID:    tid(t, "b7e7a701bc34d686fa87dfae"),
				XORMappedAddress: ap("[2001:db8:1234:5678:11:2233:4455:6677]:32853"),
				Software:         "test vector",
				HasIntegrity:     true, HasFingerprint: true,
				Attributes: []uint16{0x8022, 0x0020, 0x0008, 0x8028},
			},
		},
		{
			name: "2.4 long-term authentication request",
			in:   rfc5769LongTermRequest,
			want: Message{
				Class: "request", Method: "binding",
				TransactionID: tid(t, "78ad3433c6ad72c029da412e"),
				Username:      "\u30DE\u30C8\u30EA\u30C3\u30AF\u30B9",
				Realm:         "example.org",
				HasIntegrity:  true,
				Attributes:    []uint16{0x0006, 0x0015, 0x0014, 0x0008},
			},
		},
	}
	var p Parser
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := []byte(tt.in)
			if !IsSTUN(b) || IsClassicSTUN(b) {
				t.Errorf("IsSTUN = %v, IsClassicSTUN = %v; want true, false", IsSTUN(b), IsClassicSTUN(b))
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

// xorAddrAs adds an XOR address under any attribute type (pion's own
// XORMappedAddress setter always uses 0x0020).
type xorAddrAs struct {
	addr stun.XORMappedAddress
	typ  stun.AttrType
}

func (a xorAddrAs) AddTo(m *stun.Message) error { return a.addr.AddToAs(m, a.typ) }

// build encodes a message with pion and fails the test on error.
func build(tb testing.TB, setters ...stun.Setter) []byte {
	tb.Helper()
	m, err := stun.Build(setters...)
	if err != nil {
		tb.Fatal(err)
	}
	return m.Raw
}

func TestParseBuilt(t *testing.T) {
	id := stun.NewTransactionIDSetter([12]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12})
	wantID := [12]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}
	relayed := xorAddrAs{stun.XORMappedAddress{IP: net.ParseIP("203.0.113.7"), Port: 49152}, stun.AttrXORRelayedAddress}
	peer := xorAddrAs{stun.XORMappedAddress{IP: net.ParseIP("2001:db8::5"), Port: 5000}, stun.AttrXORPeerAddress}
	tests := []struct {
		name string
		in   []byte
		want Message
	}{
		{
			name: "binding request",
			in:   build(t, id, stun.BindingRequest, stun.NewSoftware("qadiag"), stun.Fingerprint),
			want: Message{Class: "request", Method: "binding", TransactionID: wantID,
				Software: "qadiag", HasFingerprint: true, Attributes: []uint16{0x8022, 0x8028}},
		},
		{
			name: "allocate 401 with realm and nonce",
			in: build(t, id, stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse),
				stun.ErrorCodeAttribute{Code: 401, Reason: []byte("Unauthorized")},
				stun.NewRealm("relay.example.com"), stun.NewNonce("abcdef0123")),
			want: Message{Class: "error", Method: "allocate", TransactionID: wantID,
				ErrorCode: 401, ErrorReason: "Unauthorized", Realm: "relay.example.com",
				Attributes: []uint16{0x0009, 0x0014, 0x0015}},
		},
		{
			name: "allocate success with relayed address and lifetime",
			in: build(t, id, stun.NewType(stun.MethodAllocate, stun.ClassSuccessResponse), relayed,
				stun.XORMappedAddress{IP: net.ParseIP("198.51.100.2"), Port: 61000},
				stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0x02, 0x58}},
				stun.NewShortTermIntegrity("secret"), stun.Fingerprint),
			want: Message{Class: "success", Method: "allocate", TransactionID: wantID,
				XORRelayedAddress: ap("203.0.113.7:49152"), XORMappedAddress: ap("198.51.100.2:61000"),
				Lifetime: 600, HasLifetime: true, HasIntegrity: true, HasFingerprint: true,
				Attributes: []uint16{0x0016, 0x0020, 0x000D, 0x0008, 0x8028}},
		},
		{
			name: "refresh with zero lifetime",
			in: build(t, id, stun.NewType(stun.MethodRefresh, stun.ClassRequest),
				stun.RawAttribute{Type: stun.AttrLifetime, Value: []byte{0, 0, 0, 0}}),
			want: Message{Class: "request", Method: "refresh", TransactionID: wantID,
				HasLifetime: true, Attributes: []uint16{0x000D}},
		},
		{
			name: "refresh 438 stale nonce",
			in: build(t, id, stun.NewType(stun.MethodRefresh, stun.ClassErrorResponse),
				stun.CodeStaleNonce, stun.NewNonce("fresh")),
			want: Message{Class: "error", Method: "refresh", TransactionID: wantID,
				ErrorCode: 438, ErrorReason: "Stale Nonce", Attributes: []uint16{0x0009, 0x0015}},
		},
		{
			name: "channel bind request",
			in: build(t, id, stun.NewType(stun.MethodChannelBind, stun.ClassRequest),
				stun.RawAttribute{Type: stun.AttrChannelNumber, Value: []byte{0x40, 0x01, 0, 0}}, peer,
				stun.NewUsername("alice"), stun.NewRealm("example.org")),
			want: Message{Class: "request", Method: "channel_bind", TransactionID: wantID,
				ChannelNumber: 0x4001, XORPeerAddress: ap("[2001:db8::5]:5000"),
				Username: "alice", Realm: "example.org",
				Attributes: []uint16{0x000C, 0x0012, 0x0006, 0x0014}},
		},
		{
			name: "send indication",
			in:   build(t, id, stun.NewType(stun.MethodSend, stun.ClassIndication), peer),
			want: Message{Class: "indication", Method: "send", TransactionID: wantID,
				XORPeerAddress: ap("[2001:db8::5]:5000"), Attributes: []uint16{0x0012}},
		},
		{
			name: "unknown method",
			in:   build(t, id, stun.NewType(stun.Method(0x0ab), stun.ClassRequest)),
			want: Message{Class: "request", Method: "0x0ab", TransactionID: wantID, Attributes: []uint16{}},
		},
		{
			name: "microsoft attributes kept in order",
			in: build(t, id, stun.BindingRequest,
				stun.RawAttribute{Type: 0x8008, Value: []byte{0, 0, 0, 6}},
				stun.RawAttribute{Type: 0x8050, Value: make([]byte, 24)},
				stun.RawAttribute{Type: 0x8054, Value: []byte("cand-1")},
				stun.RawAttribute{Type: 0x8055, Value: []byte{0, 2, 0, 2}},
				stun.RawAttribute{Type: 0x8070, Value: []byte{0, 0, 0, 7}}),
			want: Message{Class: "request", Method: "binding", TransactionID: wantID,
				Attributes: []uint16{0x8008, 0x8050, 0x8054, 0x8055, 0x8070}},
		},
		{
			name: "first occurrence wins",
			in: build(t, id, stun.BindingSuccess,
				stun.XORMappedAddress{IP: net.ParseIP("192.0.2.1"), Port: 1},
				stun.XORMappedAddress{IP: net.ParseIP("192.0.2.2"), Port: 2}),
			want: Message{Class: "success", Method: "binding", TransactionID: wantID,
				XORMappedAddress: ap("192.0.2.1:1"), Attributes: []uint16{0x0020, 0x0020}},
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

func TestParseReuse(t *testing.T) {
	// A Message reused for a smaller message must not keep old fields.
	var p Parser
	var m Message
	if err := p.Parse([]byte(rfc5769Request), &m); err != nil {
		t.Fatal(err)
	}
	small := build(t, stun.NewTransactionIDSetter([12]byte{9}), stun.BindingRequest)
	if err := p.Parse(small, &m); err != nil {
		t.Fatal(err)
	}
	want := Message{Class: "request", Method: "binding", TransactionID: [12]byte{9}, Attributes: []uint16{}}
	if diff := cmp.Diff(want, m, cmpOpts...); diff != "" {
		t.Errorf("reused Message mismatch (-want +got):\n%s", diff)
	}
}

func TestParseTrailingBytes(t *testing.T) {
	b := append([]byte(rfc5769IPv4Response), 0xde, 0xad)
	var m Message
	if err := Parse(b, &m); err != nil {
		t.Fatalf("Parse with trailing bytes: %v", err)
	}
	if got, want := m.XORMappedAddress, ap("192.0.2.1:32853"); got != want {
		t.Errorf("XORMappedAddress = %v, want %v", got, want)
	}
}

func TestParseError(t *testing.T) {
	hdr := func(typ, length string) string { return typ + length + "2112a442" + "000102030405060708090a0b" }
	tests := []struct {
		name    string
		in      string // hex
		wantErr error
		want    Message // partial result
	}{
		{name: "empty", in: "", wantErr: ErrTruncated},
		{name: "short header", in: "000100002112a442", wantErr: ErrTruncated},
		{name: "top bits set", in: hdr("c001", "0000"), wantErr: ErrNotSTUN},
		{name: "rtp-like first byte", in: hdr("8001", "0000"), wantErr: ErrNotSTUN},
		{name: "length beyond buffer", in: hdr("0001", "0008") + "00060004", wantErr: ErrTruncated},
		{
			name: "no cookie unknown type", in: "0017000000000000000102030405060708090a0b",
			wantErr: ErrNotSTUN,
		},
		{
			name: "attribute overruns body", in: hdr("0001", "0008") + "0006000c61616161",
			wantErr: ErrMalformed,
			want:    Message{Class: "request", Method: "binding", TransactionID: [12]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}},
		},
		{
			name: "bad address family keeps the rest", in: hdr("0101", "0014") + "0020000800071234abcdabcd" + "80220004" + "61626364",
			wantErr: ErrMalformed,
			want: Message{Class: "success", Method: "binding", TransactionID: [12]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
				Software: "abcd", Attributes: []uint16{0x0020, 0x8022}},
		},
		{
			name: "ipv4 address with ipv6 length", in: hdr("0101", "0018") + "00010014" + "00011234" + "c0000201" + "0000000000000000" + "00000000",
			wantErr: ErrMalformed,
			want: Message{Class: "success", Method: "binding", TransactionID: [12]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
				Attributes: []uint16{0x0001}},
		},
		{
			// Fuzzer find (testdata/fuzz/FuzzSTUN/398f16646476b183): classic
			// shape, XOR-MAPPED-ADDRESS with family 0x30.
			name:    "classic with bad address family",
			in:      "0101000c" + "30303030303030303030303030303030" + "00200008" + "3030303030303030",
			wantErr: ErrMalformed,
			want: Message{Class: "success", Method: "binding", Classic: true,
				TransactionID: [12]byte{'0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0', '0'},
				Attributes:    []uint16{0x0020}},
		},
		{
			name: "lifetime of two bytes", in: hdr("0103", "0008") + "000d0002" + "02580000",
			wantErr: ErrMalformed,
			want: Message{Class: "success", Method: "allocate", TransactionID: [12]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
				Attributes: []uint16{0x000D}},
		},
		{
			name: "short error code", in: hdr("0111", "0008") + "00090002" + "04010000",
			wantErr: ErrMalformed,
			want: Message{Class: "error", Method: "binding", TransactionID: [12]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
				Attributes: []uint16{0x0009}},
		},
		{
			name: "channel number of eight bytes", in: hdr("0009", "000c") + "000c0008" + "4000000000000000",
			wantErr: ErrMalformed,
			want: Message{Class: "request", Method: "channel_bind", TransactionID: [12]byte{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11},
				Attributes: []uint16{0x000C}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Message
			err := Parse(unhex(t, tt.in), &got)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Parse error = %v, want %v", err, tt.wantErr)
			}
			if diff := cmp.Diff(tt.want, got, cmpOpts...); diff != "" {
				t.Errorf("partial result mismatch (-want +got):\n%s", diff)
			}
		})
	}
}
