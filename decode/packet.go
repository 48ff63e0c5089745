package decode

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// IP protocol numbers used by qadiag (IANA "Assigned Internet Protocol Numbers").
const (
	ProtoICMP   = 1
	ProtoTCP    = 6
	ProtoUDP    = 17
	ProtoICMPv6 = 58
)

// TCP flag bits as they sit in byte 13 of the header (RFC 9293 3.1).
const (
	FlagFIN = 0x01
	FlagSYN = 0x02
	FlagRST = 0x04
	FlagPSH = 0x08
	FlagACK = 0x10
	FlagURG = 0x20
	FlagECE = 0x40
	FlagCWR = 0x80
)

// Packet is one frame decoded down to the transport layer. A Decoder fills
// the same Packet for every frame; nothing in it outlives the next Decode
// except the comparable values (addresses, numbers). Payload aliases the
// frame's data.
type Packet struct {
	IPVersion uint8 // 4 or 6; 0 when the frame carries no IP packet qadiag can read
	Src, Dst  netip.Addr
	Proto     uint8  // IP protocol of the transport header (after IPv6 extension headers)
	TTL       uint8  // IPv4 TTL or IPv6 hop limit
	IPID      uint16 // IPv4 identification; 0 for IPv6
	DF        bool   // IPv4 don't-fragment
	// Fragment is set for an IPv4/IPv6 fragment that did not complete a
	// datagram: it has no transport header of its own.
	Fragment bool
	// Reassembled is set when this frame completed a fragmented datagram;
	// the transport fields describe the whole datagram.
	Reassembled bool

	SrcPort, DstPort uint16

	// TCP (RFC 9293 3.1).
	Seq, Ack uint32
	Flags    uint8
	Window   uint16 // unscaled, as on the wire
	MSS      uint16 // MSS option, 0 if absent
	WScale   int8   // window scale option shift, -1 if absent
	SACKPerm bool
	SACK     uint8 // number of SACK blocks
	HasTS    bool  // timestamps option present
	TSVal    uint32
	TSEcr    uint32

	// ICMP and ICMPv6: type and code, and the packet the message quotes.
	ICMPType, ICMPCode uint8
	Inner              Quoted
	MTU                uint16 // ICMP fragmentation needed / packet too big

	// Transport is set when a TCP or UDP header was decoded (Proto says which).
	Transport bool
	Payload   []byte // transport payload (TCP or UDP data), padding removed

	// Truncated is set when the frame was cut by the capture's snaplen inside
	// a header or payload the IP length promised.
	Truncated bool
	// Malformed is why decoding stopped early, or nil. Layer-level: the frame
	// is still counted, and what decoded before the fault stays valid.
	Malformed error
}

// Quoted is the invoking packet an ICMP error carries (RFC 792, RFC 4443 2.4).
type Quoted struct {
	Valid    bool
	Proto    uint8
	Src, Dst netip.AddrPort
	Seq      uint32 // TCP sequence number from the quoted header, if present
}

func (p *Packet) reset() {
	*p = Packet{WScale: -1}
}

// Decoder decodes frames with gopacket's DecodingLayerParser over layers it
// allocates once, so decoding a frame allocates nothing. One Decoder serves
// one goroutine.
type Decoder struct {
	eth    layers.Ethernet
	dot1q  layers.Dot1Q
	sll    layers.LinuxSLL
	sll2   layers.LinuxSLL2
	loop   layers.Loopback
	ip4    layers.IPv4
	ip6    layers.IPv6
	tcp    layers.TCP
	udp    layers.UDP
	icmp4  layers.ICMPv4
	icmp6  layers.ICMPv6
	parser map[gopacket.LayerType]*gopacket.DecodingLayerParser
	types  []gopacket.LayerType
	frag   defragmenter
	// parserOnly turns the hand-written fast path off, for tests that
	// compare the two paths.
	parserOnly bool
}

// NewDecoder returns a Decoder ready for any supported link type.
func NewDecoder() *Decoder {
	d := &Decoder{parser: map[gopacket.LayerType]*gopacket.DecodingLayerParser{}, types: make([]gopacket.LayerType, 0, 16)}
	for _, first := range []gopacket.LayerType{layers.LayerTypeEthernet, layers.LayerTypeLinuxSLL, layers.LayerTypeLinuxSLL2,
		layers.LayerTypeLoopback, layers.LayerTypeIPv4, layers.LayerTypeIPv6} {
		p := gopacket.NewDecodingLayerParser(first, &d.eth, &d.dot1q, &d.sll, &d.sll2, &d.loop,
			&d.ip4, &d.ip6, &d.tcp, &d.udp, &d.icmp4, &d.icmp6)
		p.IgnoreUnsupported = true
		d.parser[first] = p
	}
	return d
}

// Decode decodes f into p. It never fails: what cannot be decoded is left
// zero and p.Malformed says why.
func (d *Decoder) Decode(f *Frame, p *Packet) {
	p.reset()
	if !d.parserOnly && d.decodeFast(f, p) {
		return
	}
	p.reset()
	data, first, err := peelLink(f.LinkType, f.Data)
	if err != nil {
		p.Malformed = err
		return
	}
	d.decodeFrom(first, data, f, p)
}

func (d *Decoder) decodeFrom(first gopacket.LayerType, data []byte, f *Frame, p *Packet) {
	parser := d.parser[first]
	d.types = d.types[:0]
	err := parser.DecodeLayers(data, &d.types)
	p.Truncated = parser.Truncated || f.CapLen < f.OrigLen && err != nil
	for _, t := range d.types {
		switch t {
		case layers.LayerTypeIPv4:
			if d.ip4.Version != 4 {
				// gopacket trusts the EtherType; Wireshark checks the
				// version nibble and stops at a bogus one, and so does qadiag.
				p.Malformed = fmt.Errorf("decode: IPv4 header with version %d", d.ip4.Version)
				return
			}
			d.fromIPv4(p)
		case layers.LayerTypeIPv6:
			if d.ip6.Version != 6 {
				p.Malformed = fmt.Errorf("decode: IPv6 header with version %d", d.ip6.Version)
				return
			}
			d.fromIPv6(p)
		case layers.LayerTypeTCP:
			d.fromTCP(p)
		case layers.LayerTypeUDP:
			d.fromUDP(p)
		case layers.LayerTypeICMPv4:
			p.Proto, p.ICMPType, p.ICMPCode = ProtoICMP, d.icmp4.TypeCode.Type(), d.icmp4.TypeCode.Code()
			d.fromICMPv4(p)
		case layers.LayerTypeICMPv6:
			p.Proto, p.ICMPType, p.ICMPCode = ProtoICMPv6, d.icmp6.TypeCode.Type(), d.icmp6.TypeCode.Code()
			d.fromICMPv6(p)
		}
	}
	if err != nil {
		p.Malformed = layerError(d.types, err)
		return
	}
	if len(d.types) == 0 {
		return
	}
	d.afterLast(d.types[len(d.types)-1], f, p)
}

// afterLast continues where the DecodingLayerParser stopped at a layer it has
// no decoder for: PPPoE sessions, IPv6 extension headers, fragments.
func (d *Decoder) afterLast(last gopacket.LayerType, f *Frame, p *Packet) {
	switch last {
	case layers.LayerTypeEthernet, layers.LayerTypeDot1Q, layers.LayerTypeLinuxSLL, layers.LayerTypeLinuxSLL2:
		etype, payload := d.linkPayload(last)
		if etype == layers.EthernetTypePPPoESession {
			if next, inner, ok := peelPPPoE(payload); ok {
				d.decodeFrom(next, inner, f, p)
			}
		}
	case layers.LayerTypeIPv4:
		if d.ip4.Flags&layers.IPv4MoreFragments != 0 || d.ip4.FragOffset != 0 {
			d.reassemble4(f, p)
		}
	case layers.LayerTypeIPv6:
		d.ipv6Extensions(f, p)
	}
}

func (d *Decoder) linkPayload(last gopacket.LayerType) (layers.EthernetType, []byte) {
	switch last {
	case layers.LayerTypeEthernet:
		return d.eth.EthernetType, d.eth.Payload
	case layers.LayerTypeDot1Q:
		return d.dot1q.Type, d.dot1q.Payload
	case layers.LayerTypeLinuxSLL:
		return d.sll.EthernetType, d.sll.Payload
	case layers.LayerTypeLinuxSLL2:
		return d.sll2.ProtocolType, d.sll2.Payload
	}
	return 0, nil
}

func (d *Decoder) fromIPv4(p *Packet) {
	p.IPVersion = 4
	p.Src = addr4(d.ip4.SrcIP)
	p.Dst = addr4(d.ip4.DstIP)
	p.Proto = uint8(d.ip4.Protocol)
	p.TTL = d.ip4.TTL
	p.IPID = d.ip4.Id
	p.DF = d.ip4.Flags&layers.IPv4DontFragment != 0
}

func (d *Decoder) fromIPv6(p *Packet) {
	p.IPVersion = 6
	p.Src, _ = netip.AddrFromSlice(d.ip6.SrcIP)
	p.Dst, _ = netip.AddrFromSlice(d.ip6.DstIP)
	p.Proto = d.ip6NextHeader()
	p.TTL = d.ip6.HopLimit
}

// ip6NextHeader is the header after the base header and the hop-by-hop
// options, which gopacket's IPv6 layer consumes with the base header.
func (d *Decoder) ip6NextHeader() uint8 {
	if d.ip6.HopByHop != nil {
		return uint8(d.ip6.HopByHop.NextHeader)
	}
	return uint8(d.ip6.NextHeader)
}

func addr4(ip []byte) netip.Addr {
	if len(ip) != 4 {
		a, _ := netip.AddrFromSlice(ip)
		return a.Unmap()
	}
	return netip.AddrFrom4([4]byte(ip))
}

func (d *Decoder) fromUDP(p *Packet) {
	p.Proto, p.Transport = ProtoUDP, true
	p.SrcPort, p.DstPort, p.Payload = uint16(d.udp.SrcPort), uint16(d.udp.DstPort), d.udp.Payload
}

func (d *Decoder) fromTCP(p *Packet) {
	t := &d.tcp
	p.Proto, p.Transport = ProtoTCP, true
	p.SrcPort, p.DstPort = uint16(t.SrcPort), uint16(t.DstPort)
	p.Seq, p.Ack, p.Window = t.Seq, t.Ack, t.Window
	p.Flags = tcpFlags(t)
	p.Payload = t.Payload
	for i := range t.Options {
		o := &t.Options[i]
		switch o.OptionType {
		case layers.TCPOptionKindMSS:
			if len(o.OptionData) == 2 {
				p.MSS = uint16(o.OptionData[0])<<8 | uint16(o.OptionData[1])
			}
		case layers.TCPOptionKindWindowScale:
			if len(o.OptionData) == 1 {
				p.WScale = int8(min(o.OptionData[0], 14)) // RFC 7323 2.3: larger shifts mean 14
			}
		case layers.TCPOptionKindSACKPermitted:
			p.SACKPerm = true
		case layers.TCPOptionKindSACK:
			p.SACK = uint8(len(o.OptionData) / 8)
		case layers.TCPOptionKindTimestamps:
			if len(o.OptionData) == 8 {
				p.HasTS = true
				p.TSVal = be32(o.OptionData)
				p.TSEcr = be32(o.OptionData[4:])
			}
		}
	}
}

func tcpFlags(t *layers.TCP) uint8 {
	var f uint8
	for _, b := range [...]struct {
		on  bool
		bit uint8
	}{{t.FIN, FlagFIN}, {t.SYN, FlagSYN}, {t.RST, FlagRST}, {t.PSH, FlagPSH}, {t.ACK, FlagACK}, {t.URG, FlagURG}, {t.ECE, FlagECE}, {t.CWR, FlagCWR}} {
		if b.on {
			f |= b.bit
		}
	}
	return f
}

func be32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
func be16(b []byte) uint16 { return uint16(b[0])<<8 | uint16(b[1]) }

// layerError names the layer after the last one decoded, keeping gopacket's
// message (whose capitalisation is its own).
func layerError(decoded []gopacket.LayerType, err error) error {
	var unsupported gopacket.UnsupportedLayerType
	if errors.As(err, &unsupported) {
		return nil
	}
	after := "link"
	if len(decoded) > 0 {
		after = decoded[len(decoded)-1].String()
	}
	return fmt.Errorf("decode: after %s: %w", after, err)
}
