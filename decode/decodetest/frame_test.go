package decodetest

import (
	"net/netip"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gopacket/gopacket/layers"
)

var (
	client4 = netip.MustParseAddrPort("10.20.30.11:50000")
	server4 = netip.MustParseAddrPort("20.42.65.90:443")
	client6 = netip.MustParseAddrPort("[2001:db8:20::11]:50001")
	server6 = netip.MustParseAddrPort("[2603:1030:20c::5]:443")
)

// tcpSummary is what TestTCPFrame compares after decoding.
type tcpSummary struct {
	Src, Dst      string
	TTL           uint8
	IPID          uint16
	DF            bool
	Seq, Ack      uint32
	SYN, ACK, PSH bool
	Window        uint16
	Options       []layers.TCPOptionKind
	Payload       int
	VLAN          uint16
}

func summarize(t *testing.T, frame []byte, lt LinkType) tcpSummary {
	t.Helper()
	p := decodeFrame(t, frame, lt)
	tcp, ok := p.TransportLayer().(*layers.TCP)
	if !ok {
		t.Fatalf("no TCP layer in %v", p)
	}
	s := tcpSummary{
		Src: p.NetworkLayer().NetworkFlow().Src().String(), Dst: p.NetworkLayer().NetworkFlow().Dst().String(),
		Seq: tcp.Seq, Ack: tcp.Ack, SYN: tcp.SYN, ACK: tcp.ACK, PSH: tcp.PSH, Window: tcp.Window,
		Payload: len(tcp.Payload),
	}
	for _, o := range tcp.Options {
		if o.OptionType != layers.TCPOptionKindNop {
			s.Options = append(s.Options, o.OptionType)
		}
	}
	if ip4, ok := p.NetworkLayer().(*layers.IPv4); ok {
		s.TTL, s.IPID, s.DF = ip4.TTL, ip4.Id, ip4.Flags&layers.IPv4DontFragment != 0
	}
	if ip6, ok := p.NetworkLayer().(*layers.IPv6); ok {
		s.TTL = ip6.HopLimit
	}
	if d, ok := p.Layer(layers.LayerTypeDot1Q).(*layers.Dot1Q); ok {
		s.VLAN = d.VLANIdentifier
	}
	return s
}

func TestTCPFrame(t *testing.T) {
	syn := TCP{
		IP:  IP{TTL: 128, IPID: 7, DF: true},
		Src: client4, Dst: server4, Seq: 1000, Flags: FlagSYN, Window: 64240,
		MSS: 1460, WScale: 8, SACKPerm: true,
	}
	tests := []struct {
		name string
		tcp  TCP
		link LinkType
		want tcpSummary
	}{
		{
			name: "ipv4 syn with options",
			tcp:  syn,
			want: tcpSummary{
				Src: "10.20.30.11", Dst: "20.42.65.90", TTL: 128, IPID: 7, DF: true, Seq: 1000, SYN: true,
				Window: 64240, Options: []layers.TCPOptionKind{2, 3, 4},
			},
		},
		{
			name: "ipv6 data with timestamps and sack",
			tcp: TCP{
				IP: IP{TTL: 50}, Src: server6, Dst: client6, Seq: 5, Ack: 9, Flags: FlagACK | FlagPSH,
				Window: 512, WScale: -1, Timestamps: true, TSVal: 1, TSEcr: 2,
				SACK:    []SACKBlock{{1, 2}, {3, 4}, {5, 6}, {7, 8}},
				Payload: []byte("hello"),
			},
			want: tcpSummary{
				Src: "2603:1030:20c::5", Dst: "2001:db8:20::11", TTL: 50, Seq: 5, Ack: 9, ACK: true, PSH: true,
				Window: 512, Options: []layers.TCPOptionKind{8, 5}, Payload: 5,
			},
		},
		{
			name: "vlan tagged, padded ack",
			tcp: TCP{
				Link: Link{VLAN: 42, Pad: true}, Src: server4, Dst: client4, Seq: 1, Ack: 2,
				Flags: FlagACK, WScale: -1, Window: 100,
			},
			want: tcpSummary{
				Src: "20.42.65.90", Dst: "10.20.30.11", TTL: 64, Seq: 1, Ack: 2, ACK: true, Window: 100, VLAN: 42,
			},
		},
		{
			name: "sll2",
			tcp:  TCP{Link: Link{Type: LinkSLL2, SLLPacketType: 4}, Src: client6, Dst: server6, Flags: FlagACK, WScale: -1},
			link: LinkSLL2,
			want: tcpSummary{Src: "2001:db8:20::11", Dst: "2603:1030:20c::5", TTL: 64, ACK: true},
		},
		{
			name: "raw",
			tcp:  TCP{Link: Link{Type: LinkRaw}, Src: client4, Dst: server4, Flags: FlagACK, WScale: -1},
			link: LinkRaw,
			want: tcpSummary{Src: "10.20.30.11", Dst: "20.42.65.90", TTL: 64, ACK: true},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := summarize(t, tt.tcp.Frame(), tt.link)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("decoded frame (-want +got):\n%s", diff)
			}
		})
	}
}

func TestPadding(t *testing.T) {
	ack := TCP{Src: server4, Dst: client4, Flags: FlagACK, WScale: -1}
	if n := len(ack.Frame()); n != 54 {
		t.Errorf("unpadded ACK is %d bytes, want 54", n)
	}
	ack.Pad = true
	if n := len(ack.Frame()); n != MinFrameLen {
		t.Errorf("padded ACK is %d bytes, want %d", n, MinFrameLen)
	}
	u := UDP{Link: Link{Pad: true}, Src: client4, Dst: server4, Payload: []byte{1}}
	p := decodeFrame(t, u.Frame(), LinkEthernet)
	if n := len(p.ApplicationLayer().Payload()); n != 1 {
		t.Errorf("padded UDP payload is %d bytes, want 1", n)
	}
}

func TestUDPFrame(t *testing.T) {
	for _, pair := range [][2]netip.AddrPort{{client4, server4}, {client6, server6}} {
		u := UDP{Src: pair[0], Dst: pair[1], Payload: []byte("payload")}
		p := decodeFrame(t, u.Frame(), LinkEthernet)
		udp := p.TransportLayer().(*layers.UDP)
		if int(udp.SrcPort) != int(pair[0].Port()) || string(udp.Payload) != "payload" {
			t.Errorf("decoded %v", udp)
		}
	}
}

func TestICMPUnreachable(t *testing.T) {
	quote4 := TCP{Src: client4, Dst: server4, Flags: FlagSYN, MSS: 1460, WScale: 8}.AppendPacket(nil)
	quote6 := UDP{Src: client6, Dst: netip.AddrPortFrom(server6.Addr(), 3478), Payload: make([]byte, 1500)}.AppendPacket(nil)
	router4 := netip.MustParseAddr("10.20.30.1")
	router6 := netip.MustParseAddr("2001:db8:20::1")
	tests := []struct {
		name     string
		icmp     ICMPUnreachable
		typeCode string
		quoteLen int
	}{
		{"v4 admin prohibited", ICMPUnreachable{Src: router4, Dst: client4.Addr(), Code: ICMPv4AdminProhibited, Quote: quote4}, "DestinationUnreachable(CommAdminProhibited)", len(quote4)},
		{"v4 frag needed", ICMPUnreachable{Src: router4, Dst: client4.Addr(), TooBig: true, MTU: 1400, Quote: quote4}, "DestinationUnreachable(FragmentationNeeded)", len(quote4)},
		{"v6 port unreachable", ICMPUnreachable{Src: router6, Dst: client6.Addr(), Code: ICMPv6PortUnreachable, Quote: quote6}, "DestinationUnreachable(PortUnreachable)", icmpv6MaxQuote},
		{"v6 packet too big", ICMPUnreachable{Src: router6, Dst: client6.Addr(), TooBig: true, MTU: 1280, Quote: quote6}, "PacketTooBig", icmpv6MaxQuote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := tt.icmp.Frame()
			p := decodeFrame(t, frame, LinkEthernet)
			var tc string
			if l, ok := p.Layer(layers.LayerTypeICMPv4).(*layers.ICMPv4); ok {
				tc = l.TypeCode.String()
			} else if l, ok := p.Layer(layers.LayerTypeICMPv6).(*layers.ICMPv6); ok {
				tc = l.TypeCode.String()
			}
			if tc != tt.typeCode {
				t.Errorf("type/code %q, want %q", tc, tt.typeCode)
			}
			hdr := EthernetHeaderLen + IPv4HeaderLen
			if !tt.icmp.Src.Is4() {
				hdr = EthernetHeaderLen + IPv6HeaderLen
			}
			if got := len(frame) - hdr - 8; got != tt.quoteLen {
				t.Errorf("quote is %d bytes, want %d", got, tt.quoteLen)
			}
		})
	}
}

func TestChecksum(t *testing.T) {
	// RFC 1071 3 example words.
	b := []byte{0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7}
	if got, want := Checksum(b), ^uint16(0xddf2); got != want {
		t.Errorf("Checksum = %#04x, want %#04x", got, want)
	}
	for n := range 100 { // odd lengths and the unrolled loops agree with a plain sum
		buf := filler[:n]
		var acc uint32
		for i := 0; i+1 < n; i += 2 {
			acc += uint32(buf[i])<<8 | uint32(buf[i+1])
		}
		if n%2 == 1 {
			acc += uint32(buf[n-1]) << 8
		}
		for acc>>16 != 0 {
			acc = acc&0xffff + acc>>16
		}
		if got := Checksum(buf); got != ^uint16(acc) {
			t.Errorf("len %d: Checksum = %#04x, want %#04x", n, got, ^uint16(acc))
		}
	}
}

func TestFamilyMismatchPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for an IPv4 source with an IPv6 destination")
		}
	}()
	TCP{Src: client4, Dst: server6}.Frame()
}

func TestAppendFrameAllocs(t *testing.T) {
	buf := make([]byte, 0, 2048)
	payload := make([]byte, 1400)
	tcp := TCP{Link: Link{Pad: true}, Src: client4, Dst: server4, Flags: FlagACK | FlagPSH, WScale: -1, Payload: payload}
	allocs := testing.AllocsPerRun(100, func() {
		buf = tcp.AppendFrame(buf[:0])
		buf = UDP{Src: client6, Dst: server6, Payload: payload}.AppendFrame(buf[:0])
	})
	if allocs != 0 {
		t.Errorf("AppendFrame allocates %v times per call, want 0", allocs)
	}
}
