package decode_test

import (
	"bytes"
	"encoding/binary"
	"io"
	"net/netip"
	"reflect"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"

	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/decode/decodetest"
)

var (
	cli4 = netip.MustParseAddrPort("192.0.2.10:51000")
	srv4 = netip.MustParseAddrPort("203.0.113.5:443")
	cli6 = netip.MustParseAddrPort("[2001:db8::10]:51000")
	srv6 = netip.MustParseAddrPort("[2001:db8::53]:53")
)

func synFrame() []byte {
	return decodetest.TCP{IP: decodetest.IP{TTL: 57, IPID: 0x1234, DF: true}, Src: cli4, Dst: srv4, Seq: 1000, Flags: decodetest.FlagSYN,
		Window: 64240, MSS: 1460, WScale: 7, SACKPerm: true, Timestamps: true, TSVal: 111, TSEcr: 0}.Frame()
}

func udp6Frame() []byte {
	return decodetest.UDP{IP: decodetest.IP{TTL: 33}, Src: cli6, Dst: srv6, Payload: []byte("query")}.Frame()
}

func vlanFrame() []byte {
	return decodetest.TCP{Link: decodetest.Link{VLAN: 42}, Src: cli4, Dst: srv4, Seq: 5, Ack: 6, Flags: decodetest.FlagACK,
		Window: 500, WScale: -1, Payload: []byte("data")}.Frame()
}

// fragments splits a raw-IP UDP datagram into two IPv4 fragments at byte 16
// of the IP payload.
func fragments() (first, second []byte, payload []byte) {
	payload = bytes.Repeat([]byte("0123456789"), 4)
	pkt := decodetest.UDP{IP: decodetest.IP{IPID: 0xbeef}, Src: cli4, Dst: srv4, Payload: payload}.AppendPacket(nil)
	hdr, body := pkt[:20], pkt[20:]
	mk := func(part []byte, fragOff uint16, more bool) []byte {
		b := append(bytes.Clone(hdr), part...)
		binary.BigEndian.PutUint16(b[2:], uint16(20+len(part)))
		fl := fragOff
		if more {
			fl |= 0x2000
		}
		binary.BigEndian.PutUint16(b[6:], fl)
		b[10], b[11] = 0, 0
		binary.BigEndian.PutUint16(b[10:], decodetest.Checksum(b[:20]))
		return b
	}
	return mk(body[:16], 0, true), mk(body[16:], 2, false), payload
}

func TestDecode(t *testing.T) {
	udp4 := decodetest.UDP{Src: cli4, Dst: srv4, Payload: []byte("ping")}
	frag1, frag2, fragPayload := fragments()
	ipv6Ext := decodetest.UDP{Link: decodetest.Link{Type: decodetest.LinkRaw}, Src: cli6, Dst: srv6}.Frame()
	ipv6Ext[6] = 60                            // next header: destination options
	binary.BigEndian.PutUint16(ipv6Ext[4:], 4) // payload length
	ipv6Ext = ipv6Ext[:40+4]                   // 4 of the 8 bytes of the extension header
	badVersion := udp4.Frame()
	badVersion[decodetest.EthernetHeaderLen] = 0x25
	syn := synFrame()
	shortTCP := syn[:decodetest.EthernetHeaderLen+20+19]

	tests := []struct {
		name   string
		link   layers.LinkType
		frames [][]byte // decoded in order; the last one is checked
		check  func(t *testing.T, p *decode.Packet)
	}{
		{"ipv4-tcp-syn-options", layers.LinkTypeEthernet, [][]byte{syn}, func(t *testing.T, p *decode.Packet) {
			want := decode.Packet{IPVersion: 4, Src: cli4.Addr(), Dst: srv4.Addr(), Proto: decode.ProtoTCP, TTL: 57, IPID: 0x1234, DF: true,
				SrcPort: cli4.Port(), DstPort: srv4.Port(), Seq: 1000, Flags: decode.FlagSYN, Window: 64240, MSS: 1460, WScale: 7,
				SACKPerm: true, HasTS: true, TSVal: 111, Transport: true}
			eqPacket(t, p, &want)
		}},
		{"ipv6-udp", layers.LinkTypeEthernet, [][]byte{udp6Frame()}, func(t *testing.T, p *decode.Packet) {
			want := decode.Packet{IPVersion: 6, Src: cli6.Addr(), Dst: srv6.Addr(), Proto: decode.ProtoUDP, TTL: 33,
				SrcPort: cli6.Port(), DstPort: srv6.Port(), WScale: -1, Transport: true, Payload: []byte("query")}
			eqPacket(t, p, &want)
		}},
		{"vlan-tcp", layers.LinkTypeEthernet, [][]byte{vlanFrame()}, func(t *testing.T, p *decode.Packet) {
			want := decode.Packet{IPVersion: 4, Src: cli4.Addr(), Dst: srv4.Addr(), Proto: decode.ProtoTCP, TTL: decodetest.DefaultTTL,
				SrcPort: cli4.Port(), DstPort: srv4.Port(), Seq: 5, Ack: 6, Flags: decode.FlagACK, Window: 500, WScale: -1,
				Transport: true, Payload: []byte("data")}
			eqPacket(t, p, &want)
		}},
		{"sll2-udp", layers.LinkTypeLinuxSLL2, [][]byte{decodetest.UDP{Link: decodetest.Link{Type: decodetest.LinkSLL2, IfIndex: 3}, Src: cli4, Dst: srv4, Payload: []byte("x")}.Frame()},
			func(t *testing.T, p *decode.Packet) {
				want := decode.Packet{IPVersion: 4, Src: cli4.Addr(), Dst: srv4.Addr(), Proto: decode.ProtoUDP, TTL: decodetest.DefaultTTL,
					SrcPort: cli4.Port(), DstPort: srv4.Port(), WScale: -1, Transport: true, Payload: []byte("x")}
				eqPacket(t, p, &want)
			}},
		{"raw-ipv6-udp", layers.LinkTypeRaw, [][]byte{decodetest.UDP{Link: decodetest.Link{Type: decodetest.LinkRaw}, Src: cli6, Dst: srv6, Payload: []byte("r")}.Frame()},
			func(t *testing.T, p *decode.Packet) {
				want := decode.Packet{IPVersion: 6, Src: cli6.Addr(), Dst: srv6.Addr(), Proto: decode.ProtoUDP, TTL: decodetest.DefaultTTL,
					SrcPort: cli6.Port(), DstPort: srv6.Port(), WScale: -1, Transport: true, Payload: []byte("r")}
				eqPacket(t, p, &want)
			}},
		{"ethernet-padding-removed", layers.LinkTypeEthernet, [][]byte{decodetest.UDP{Link: decodetest.Link{Pad: true}, Src: cli4, Dst: srv4, Payload: []byte("p")}.Frame()},
			func(t *testing.T, p *decode.Packet) {
				if !p.Transport || string(p.Payload) != "p" || p.Malformed != nil {
					t.Errorf("Transport %v Payload %q Malformed %v", p.Transport, p.Payload, p.Malformed)
				}
			}},
		{"ipv4-fragment-first-only", layers.LinkTypeRaw, [][]byte{frag1}, func(t *testing.T, p *decode.Packet) {
			if !p.Fragment || p.Reassembled || p.Transport || p.Malformed != nil {
				t.Errorf("Fragment %v Reassembled %v Transport %v Malformed %v", p.Fragment, p.Reassembled, p.Transport, p.Malformed)
			}
		}},
		{"ipv4-fragments-reassembled", layers.LinkTypeRaw, [][]byte{frag1, frag2}, func(t *testing.T, p *decode.Packet) {
			if !p.Reassembled || p.Fragment || !p.Transport || p.Malformed != nil {
				t.Fatalf("Fragment %v Reassembled %v Transport %v Malformed %v", p.Fragment, p.Reassembled, p.Transport, p.Malformed)
			}
			if p.Proto != decode.ProtoUDP || p.SrcPort != cli4.Port() || p.DstPort != srv4.Port() || p.IPID != 0xbeef {
				t.Errorf("Proto %d ports %d>%d IPID %#x", p.Proto, p.SrcPort, p.DstPort, p.IPID)
			}
			if !bytes.Equal(p.Payload, fragPayload) {
				t.Errorf("Payload %q, want %q", p.Payload, fragPayload)
			}
		}},
		{"ipv4-fragments-reversed", layers.LinkTypeRaw, [][]byte{frag2, frag1}, func(t *testing.T, p *decode.Packet) {
			if !p.Reassembled || !p.Transport || !bytes.Equal(p.Payload, fragPayload) {
				t.Errorf("Reassembled %v Transport %v Payload %q", p.Reassembled, p.Transport, p.Payload)
			}
		}},
		{"icmp-port-unreachable-quoting-udp", layers.LinkTypeEthernet, [][]byte{decodetest.ICMPUnreachable{
			Src: srv4.Addr(), Dst: cli4.Addr(), Code: decodetest.ICMPv4PortUnreachable, Quote: udp4.AppendPacket(nil)}.Frame()},
			func(t *testing.T, p *decode.Packet) {
				if p.Proto != decode.ProtoICMP || p.ICMPType != 3 || p.ICMPCode != 3 || p.Transport {
					t.Errorf("Proto %d type %d code %d Transport %v", p.Proto, p.ICMPType, p.ICMPCode, p.Transport)
				}
				want := decode.Quoted{Valid: true, Proto: decode.ProtoUDP, Src: cli4, Dst: srv4}
				if p.Inner != want {
					t.Errorf("Inner = %+v, want %+v", p.Inner, want)
				}
			}},
		{"icmpv6-packet-too-big-quoting-udp", layers.LinkTypeEthernet, [][]byte{decodetest.ICMPUnreachable{
			Src: srv6.Addr(), Dst: cli6.Addr(), TooBig: true, MTU: 1280, Quote: decodetest.UDP{Src: cli6, Dst: srv6}.AppendPacket(nil)}.Frame()},
			func(t *testing.T, p *decode.Packet) {
				if p.Proto != decode.ProtoICMPv6 || p.ICMPType != 2 || p.MTU != 1280 {
					t.Errorf("Proto %d type %d MTU %d", p.Proto, p.ICMPType, p.MTU)
				}
				want := decode.Quoted{Valid: true, Proto: decode.ProtoUDP, Src: cli6, Dst: srv6}
				if p.Inner != want {
					t.Errorf("Inner = %+v, want %+v", p.Inner, want)
				}
			}},
		{"hostile-tcp-header-one-byte-short", layers.LinkTypeEthernet, [][]byte{shortTCP}, func(t *testing.T, p *decode.Packet) {
			if p.Transport || p.Malformed == nil || p.IPVersion != 4 {
				t.Errorf("Transport %v Malformed %v IPVersion %d", p.Transport, p.Malformed, p.IPVersion)
			}
		}},
		{"hostile-ipv4-version-2", layers.LinkTypeEthernet, [][]byte{badVersion}, func(t *testing.T, p *decode.Packet) {
			if p.Malformed == nil || p.Transport || p.IPVersion != 0 {
				t.Errorf("Malformed %v Transport %v IPVersion %d", p.Malformed, p.Transport, p.IPVersion)
			}
		}},
		{"hostile-ipv6-extension-header-truncated", layers.LinkTypeRaw, [][]byte{ipv6Ext}, func(t *testing.T, p *decode.Packet) {
			if !p.Truncated || p.Transport || p.IPVersion != 6 {
				t.Errorf("Truncated %v Transport %v IPVersion %d Malformed %v", p.Truncated, p.Transport, p.IPVersion, p.Malformed)
			}
		}},
		{"hostile-raw-ip-empty", layers.LinkTypeRaw, [][]byte{{}}, func(t *testing.T, p *decode.Packet) {
			if p.Malformed == nil || p.Transport {
				t.Errorf("Malformed %v Transport %v", p.Malformed, p.Transport)
			}
		}},
		{"unsupported-link-type", layers.LinkType(147), [][]byte{syn}, func(t *testing.T, p *decode.Packet) {
			if p.Malformed == nil || p.IPVersion != 0 {
				t.Errorf("Malformed %v IPVersion %d", p.Malformed, p.IPVersion)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := decode.NewDecoder()
			var p decode.Packet
			for i, fr := range tt.frames {
				f := decode.Frame{Number: uint64(i + 1), Time: t0.Add(time.Duration(i) * time.Millisecond), CapLen: len(fr), OrigLen: len(fr), LinkType: tt.link, Data: fr}
				d.Decode(&f, &p)
			}
			tt.check(t, &p)
		})
	}
}

func eqPacket(t *testing.T, got, want *decode.Packet) {
	t.Helper()
	if got.Malformed != nil {
		t.Errorf("Malformed: %v", got.Malformed)
	}
	g, w := *got, *want
	if !bytes.Equal(g.Payload, w.Payload) {
		t.Errorf("Payload %q, want %q", g.Payload, w.Payload)
	}
	g.Payload, w.Payload, g.Malformed = nil, nil, nil
	if g.Inner != w.Inner {
		t.Errorf("Inner %+v, want %+v", g.Inner, w.Inner)
	}
	g.Inner, w.Inner = decode.Quoted{}, decode.Quoted{}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("Packet\n got %+v\nwant %+v", g, w)
	}
}

func TestDecodeNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("SKIP: allocation counts differ under the race detector")
	}
	for _, tc := range []struct {
		name  string
		frame []byte
	}{{"tcp", synFrame()}, {"udp", udp6Frame()}, {"vlan", vlanFrame()}} {
		d := decode.NewDecoder()
		var p decode.Packet
		f := decode.Frame{CapLen: len(tc.frame), OrigLen: len(tc.frame), LinkType: layers.LinkTypeEthernet, Data: tc.frame}
		if n := testing.AllocsPerRun(200, func() { d.Decode(&f, &p) }); n != 0 {
			t.Errorf("Decode %s: %v allocs per frame", tc.name, n)
		}
	}
	const runs = 500
	frames := make([][]byte, 0, 2*runs+10)
	for range cap(frames) {
		frames = append(frames, synFrame())
	}
	file := buildPcap(t, false, frames)
	r, err := decode.NewReader(bytes.NewReader(file))
	if err != nil {
		t.Fatal(err)
	}
	var f decode.Frame
	n := testing.AllocsPerRun(runs, func() {
		if err := r.Next(&f); err != nil && err != io.EOF {
			t.Fatal(err)
		}
	})
	if n != 0 {
		t.Errorf("Reader.Next: %v allocs per frame", n)
	}
	if f.Number != runs+1 {
		t.Errorf("read %d frames, want %d", f.Number, runs+1)
	}
}

func BenchmarkDecode(b *testing.B) {
	for _, bc := range []struct {
		name  string
		frame []byte
	}{
		{"tcp", synFrame()},
		{"udp", decodetest.UDP{Src: cli4, Dst: srv4, Payload: make([]byte, 100)}.Frame()},
		{"ipv6", udp6Frame()},
		{"vlan", vlanFrame()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			d := decode.NewDecoder()
			var p decode.Packet
			f := decode.Frame{CapLen: len(bc.frame), OrigLen: len(bc.frame), LinkType: layers.LinkTypeEthernet, Data: bc.frame}
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.frame)))
			for b.Loop() {
				d.Decode(&f, &p)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "packets/s")
		})
	}
}
