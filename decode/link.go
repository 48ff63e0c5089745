package decode

import (
	"fmt"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// Link types beyond gopacket's named constants (tcpdump.org/linktypes.html).
const (
	linkTypeRawOpenBSD = 12  // DLT_RAW on OpenBSD: raw IPv4 or IPv6
	linkTypeNFLog      = 239 // Linux netfilter NFLOG
)

// peelLink maps a frame's link type to the first layer the parser decodes,
// stripping by hand the link headers gopacket has no DecodingLayer for.
func peelLink(lt layers.LinkType, data []byte) ([]byte, gopacket.LayerType, error) {
	switch lt {
	case layers.LinkTypeEthernet:
		return data, layers.LayerTypeEthernet, nil
	case layers.LinkTypeLinuxSLL:
		return data, layers.LayerTypeLinuxSLL, nil
	case layers.LinkTypeLinuxSLL2:
		return data, layers.LayerTypeLinuxSLL2, nil
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		return data, layers.LayerTypeLoopback, nil
	case layers.LinkTypeRaw, linkTypeRawOpenBSD, layers.LinkTypeIPv4, layers.LinkTypeIPv6:
		return rawIP(data)
	case linkTypeNFLog:
		return nflogPayload(data)
	}
	return nil, 0, fmt.Errorf("decode: link type %d: %w", lt, ErrUnsupportedLinkType)
}

// rawIP picks IPv4 or IPv6 from the version nibble (LINKTYPE_RAW carries
// either; LINKTYPE_IPV4/IPV6 promise one but the nibble is what counts).
func rawIP(data []byte) ([]byte, gopacket.LayerType, error) {
	if len(data) == 0 {
		return nil, 0, fmt.Errorf("decode: raw IP: empty frame")
	}
	switch data[0] >> 4 {
	case 4:
		return data, layers.LayerTypeIPv4, nil
	case 6:
		return data, layers.LayerTypeIPv6, nil
	}
	return nil, 0, fmt.Errorf("decode: raw IP: version %d", data[0]>>4)
}

// nflogPayload finds the packet inside an NFLOG record: a 4-byte header
// (family, version, resource id) then TLVs whose length and type are in host
// byte order, little-endian on the captures that exist; NFULA_PAYLOAD (9)
// holds the IP packet (tcpdump.org/linktypes/LINKTYPE_NFLOG.html).
func nflogPayload(data []byte) ([]byte, gopacket.LayerType, error) {
	if len(data) < 4 {
		return nil, 0, fmt.Errorf("decode: nflog: %d-byte header", len(data))
	}
	b := data[4:]
	for len(b) >= 4 {
		tlen := int(b[0]) | int(b[1])<<8
		typ := (int(b[2]) | int(b[3])<<8) & 0x7fff
		if tlen < 4 || tlen > len(b) {
			return nil, 0, fmt.Errorf("decode: nflog: TLV length %d with %d bytes left", tlen, len(b))
		}
		if typ == 9 {
			return rawIP(b[4:tlen])
		}
		adv := (tlen + 3) &^ 3
		if adv > len(b) {
			break
		}
		b = b[adv:]
	}
	return nil, 0, fmt.Errorf("decode: nflog: no payload TLV")
}

// peelPPPoE strips a PPPoE session header (RFC 2516 4) and the PPP protocol
// field (RFC 1661 2), returning the IP packet inside.
func peelPPPoE(b []byte) (gopacket.LayerType, []byte, bool) {
	if len(b) < 8 {
		return 0, nil, false
	}
	n := int(be16(b[4:])) // PPPoE payload length, which includes the PPP protocol field
	body := b[6:]
	if n >= 2 && n <= len(body) {
		body = body[:n]
	}
	switch be16(body) {
	case 0x0021:
		return layers.LayerTypeIPv4, body[2:], true
	case 0x0057:
		return layers.LayerTypeIPv6, body[2:], true
	}
	return 0, nil, false
}
