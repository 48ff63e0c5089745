package decodetest

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"
)

// segView is what TestSession compares per segment.
type segView struct {
	FromClient bool
	Flags      string
	Seq, Ack   uint32
	Len        int
}

func flagString(t *layers.TCP) string {
	var s string
	for _, f := range []struct {
		on   bool
		name string
	}{{t.SYN, "S"}, {t.FIN, "F"}, {t.RST, "R"}, {t.PSH, "P"}, {t.ACK, "."}} {
		if f.on {
			s += f.name
		}
	}
	return s
}

func TestSession(t *testing.T) {
	s := NewSession(client4, server4)
	frames := s.Handshake()
	hello := ClientHello(ChromiumHello("remoteassistance.support.services.microsoft.com", rand.New(rand.NewPCG(1, 1))))
	s.Segments(ClientToServer, hello, func(f []byte) { frames = append(frames, slices.Clone(f)) })
	frames = append(frames, s.ACK(nil, ServerToClient))
	frames = append(frames, s.Data(nil, ServerToClient, Alert(AlertFatal, AlertHandshakeFailure)))
	frames = append(frames, s.FIN(nil, ServerToClient), s.RST(nil, ClientToServer))

	const c, sv = 0x10000000, 0x20000000
	n := uint32(len(hello))
	want := []segView{
		{true, "S", c, 0, 0},
		{false, "S.", sv, c + 1, 0},
		{true, ".", c + 1, sv + 1, 0},
		{true, ".", c + 1, sv + 1, 1440},
		{true, "P.", c + 1 + 1440, sv + 1, int(n) - 1440},
		{false, ".", sv + 1, c + 1 + n, 0},
		{false, "P.", sv + 1, c + 1 + n, 7},
		{false, "F.", sv + 8, c + 1 + n, 0},
		{true, "R.", c + 1 + n, sv + 9, 0},
	}
	var got []segView
	for _, f := range frames {
		p := decodeFrame(t, f, LinkEthernet)
		tcp := p.TransportLayer().(*layers.TCP)
		got = append(got, segView{
			FromClient: tcp.DstPort == 443, Flags: flagString(tcp), Seq: tcp.Seq, Ack: tcp.Ack, Len: len(tcp.Payload),
		})
		if tcp.DstPort != 443 && len(f) < MinFrameLen {
			t.Errorf("server frame of %d bytes is not padded", len(f))
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("segments (-want +got):\n%s", diff)
	}
}

func TestSessionForgedReset(t *testing.T) {
	s := NewSession(client6, server6)
	rst := s.TCP(ServerToClient, FlagRST|FlagACK, nil)
	rst.TTL = 64
	p := decodeFrame(t, rst.Frame(), LinkEthernet)
	if hl := p.NetworkLayer().(*layers.IPv6).HopLimit; hl != 64 {
		t.Errorf("hop limit %d, want 64", hl)
	}
	if s.Server.Next != 0x20000000 {
		t.Error("TCP advanced the session")
	}
}
