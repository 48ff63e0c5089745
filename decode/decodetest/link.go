package decodetest

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

// EtherType values used in frames built here (IEEE 802).
const (
	EtherTypeIPv4 uint16 = 0x0800
	EtherTypeVLAN uint16 = 0x8100 // IEEE 802.1Q tag
	EtherTypeIPv6 uint16 = 0x86dd
)

// MinFrameLen is the shortest Ethernet frame on the wire without its FCS
// (IEEE 802.3 4.4.2: 64 bytes with the 4-byte FCS). Frames a host receives
// are captured padded to it; frames it sends are captured before the NIC
// pads them, so they can be shorter.
const MinFrameLen = 60

// EthernetHeaderLen is the length of an untagged Ethernet II header; an
// 802.1Q tag adds 4 bytes.
const EthernetHeaderLen = 14

// SLL2HeaderLen is the length of a Linux "cooked" v2 header (LINKTYPE_LINUX_SLL2).
const SLL2HeaderLen = 20

// LinkType selects the link-layer header in front of an IP packet.
type LinkType uint8

// Link-layer headers the builders can write.
const (
	LinkEthernet LinkType = iota // Ethernet II, optionally with an 802.1Q tag
	LinkSLL2                     // Linux cooked capture v2
	LinkRaw                      // no header: the frame is the IP packet
)

// PcapLinkType returns the pcap LINKTYPE_ value for captures of frames with
// this header.
func (t LinkType) PcapLinkType() layers.LinkType {
	switch t {
	case LinkSLL2:
		return layers.LinkTypeLinuxSLL2
	case LinkRaw:
		return layers.LinkTypeRaw
	default:
		return layers.LinkTypeEthernet
	}
}

// MAC is an IEEE 802 MAC-48 address. It is a comparable value, unlike
// net.HardwareAddr, so a frame template needs no allocation.
type MAC [6]byte

// Link describes the link-layer header of a frame. The zero value is an
// untagged Ethernet II header with all-zero addresses and no padding.
type Link struct {
	// Type selects the header; the zero value is Ethernet.
	Type LinkType
	// SrcMAC and DstMAC are the Ethernet addresses. An SLL2 header carries
	// SrcMAC as its link-layer address.
	SrcMAC, DstMAC MAC
	// VLAN is the 802.1Q VLAN ID (1-4094); 0 writes no tag. Ethernet only.
	VLAN uint16
	// Pad pads Ethernet frames shorter than MinFrameLen with zeros, as
	// received frames are captured. It does not change IP lengths.
	Pad bool
	// SLLPacketType is the SLL2 packet type: 0 to this host, 4 outgoing.
	SLLPacketType uint8
	// IfIndex is the SLL2 interface index.
	IfIndex uint32
}

// AppendLink appends the link-layer header of l for a payload of the given
// EtherType.
func AppendLink(dst []byte, l *Link, etherType uint16) []byte {
	switch l.Type {
	case LinkRaw:
		return dst
	case LinkSLL2:
		return AppendSLL2(dst, etherType, l.IfIndex, l.SLLPacketType, l.SrcMAC)
	default:
		return AppendEthernet(dst, l.SrcMAC, l.DstMAC, l.VLAN, etherType)
	}
}

// AppendEthernet appends an Ethernet II header (IEEE 802.3 3.1.1), with an
// 802.1Q tag carrying vlan when vlan is not 0.
func AppendEthernet(dst []byte, src, dstMAC MAC, vlan uint16, etherType uint16) []byte {
	dst = append(dst, dstMAC[:]...)
	dst = append(dst, src[:]...)
	if vlan != 0 {
		dst = binary.BigEndian.AppendUint16(dst, EtherTypeVLAN)
		dst = binary.BigEndian.AppendUint16(dst, vlan&0x0fff)
	}
	return binary.BigEndian.AppendUint16(dst, etherType)
}

// AppendSLL2 appends a Linux cooked capture v2 header
// (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html) for an
// Ethernet interface (ARPHRD_ETHER) with the given link-layer address.
func AppendSLL2(dst []byte, etherType uint16, ifIndex uint32, pktType uint8, addr MAC) []byte {
	dst = binary.BigEndian.AppendUint16(dst, etherType)
	dst = append(dst, 0, 0) // reserved
	dst = binary.BigEndian.AppendUint32(dst, ifIndex)
	dst = binary.BigEndian.AppendUint16(dst, 1) // ARPHRD_ETHER
	dst = append(dst, pktType, 6)
	dst = append(dst, addr[:]...)
	return append(dst, 0, 0) // address field is 8 bytes
}

// pad extends an Ethernet frame that starts at start to MinFrameLen when l
// asks for padding.
func pad(dst []byte, start int, l *Link) []byte {
	if !l.Pad || l.Type != LinkEthernet {
		return dst
	}
	for len(dst)-start < MinFrameLen {
		dst = append(dst, 0)
	}
	return dst
}
