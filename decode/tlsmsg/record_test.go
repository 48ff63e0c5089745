package tlsmsg

import "testing"

func TestLooksLikeTLS(t *testing.T) {
	tests := []struct {
		name string
		b    []byte
		want bool
	}{
		{"client hello", []byte{22, 3, 1, 2, 0, 1, 0, 1, 0xfc}, true},
		{"server hello", []byte{22, 3, 3, 0, 0x7a, 2}, true},
		{"header only", []byte{22, 3, 1, 2, 0}, true},
		{"alert", []byte{21, 3, 3, 0, 2, 2, 40}, true},
		{"ssl 3.0", []byte{22, 3, 0, 0, 0x30, 1}, true},
		{"short", []byte{22, 3, 1, 2}, false},
		{"finished first", []byte{22, 3, 3, 0, 0x28, 20}, false},
		{"application data", []byte{23, 3, 3, 0, 0x20}, false},
		{"http", []byte("GET / HTTP/1.1\r\n"), false},
		{"version 3.5", []byte{22, 3, 5, 0, 0x20, 1}, false},
		{"zero length", []byte{22, 3, 1, 0, 0}, false},
		{"too long", []byte{22, 3, 1, 0x48, 0x01, 1}, false},
		{"stun", []byte{0, 1, 0, 0, 0x21, 0x12, 0xa4, 0x42}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := LooksLikeTLS(tt.b); got != tt.want {
				t.Errorf("LooksLikeTLS(% x) = %v, want %v", tt.b, got, tt.want)
			}
		})
	}
}

// TestSetTLS13Encrypted checks that a client's Stream told that the server
// selected TLS 1.3 counts later handshake records without parsing them.
func TestSetTLS13Encrypted(t *testing.T) {
	var s Stream
	s.Feed(record(recordHandshake, handshakeMsg(1, buildClientHello([]uint16{0x1301}, nil))), 1)
	s.SetTLS13Encrypted()
	s.Feed(record(recordHandshake, []byte{1, 0, 0, 9, 0xff}), 2)
	s.Feed(record(recordAlert, []byte{2, 50}), 3)
	sum := s.Summary()
	if sum.Err != nil || sum.HandshakeRecords != 2 || sum.ClientHelloFrame != 1 {
		t.Errorf("summary %+v", sum)
	}
	if want := []Alert{{Level: 2, Description: 50, Frame: 3}}; cmpDiff(want, sum.Alerts) != "" {
		t.Errorf("alerts %v, want %v", sum.Alerts, want)
	}
}

func TestReset(t *testing.T) {
	var s Stream
	s.Feed([]byte{99, 3, 3, 0, 0}, 1)
	if s.Summary().Err == nil {
		t.Fatal("no error")
	}
	s.Reset()
	s.Feed(record(recordAlert, []byte{1, 0}), 1)
	if sum := s.Summary(); sum.Err != nil || sum.AlertRecords != 1 {
		t.Errorf("after Reset: %+v", sum)
	}
}
