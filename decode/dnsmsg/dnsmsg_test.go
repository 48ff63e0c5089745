package dnsmsg

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSplitTCP(t *testing.T) {
	type result struct {
		Msg, Rest []byte
		OK        bool
	}
	// tshark: frame 6 of dns-over-tcp.pcap is one 226-byte segment holding
	// a 224-byte response behind its length prefix 0x00e0.
	seg := fixture(t, "dns-over-tcp-f6")
	tests := []struct {
		name string
		in   []byte
		want result
	}{
		{"corpus one message", seg, result{seg[2:], []byte{}, true}},
		{"two messages", []byte{0, 1, 0xaa, 0, 2, 0xbb, 0xcc}, result{[]byte{0xaa}, []byte{0, 2, 0xbb, 0xcc}, true}},
		{"zero length", []byte{0, 0, 7}, result{[]byte{}, []byte{7}, true}},
		{"needs more", seg[:100], result{nil, seg[:100], false}},
		{"one byte", []byte{0}, result{nil, []byte{0}, false}},
		{"empty", nil, result{nil, nil, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got result
			got.Msg, got.Rest, got.OK = SplitTCP(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("SplitTCP mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestTypeName(t *testing.T) {
	tests := map[uint16]string{1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT",
		28: "AAAA", 33: "SRV", 41: "OPT", 64: "SVCB", 65: "HTTPS", 255: "ANY", 0: "TYPE0", 99: "TYPE99", 65535: "TYPE65535"}
	for in, want := range tests {
		if got := TypeName(in); got != want {
			t.Errorf("TypeName(%d) = %q, want %q", in, got, want)
		}
	}
}

func TestRcodeName(t *testing.T) {
	tests := map[uint8]string{0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP",
		5: "REFUSED", 9: "NOTAUTH", 10: "NOTZONE", 11: "RCODE11", 16: "BADVERS", 255: "RCODE255"}
	for in, want := range tests {
		if got := RcodeName(in); got != want {
			t.Errorf("RcodeName(%d) = %q, want %q", in, got, want)
		}
	}
}
