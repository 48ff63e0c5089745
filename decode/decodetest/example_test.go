package decodetest_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/qadiag/qadiag/decode/decodetest"
)

// A TLS connection reset by a forged RST right after a two-segment
// Chromium ClientHello, written as a pcap file.
func ExampleSession() {
	s := decodetest.NewSession(
		netip.MustParseAddrPort("10.20.30.11:50000"),
		netip.MustParseAddrPort("20.42.65.90:443"),
	)
	frames := s.Handshake()
	hello := decodetest.ClientHello(decodetest.ChromiumHello("remoteassistance.support.services.microsoft.com", rand.New(rand.NewPCG(1, 2))))
	s.Segments(decodetest.ClientToServer, hello, func(f []byte) { frames = append(frames, slices.Clone(f)) })
	rst := s.TCP(decodetest.ServerToClient, decodetest.FlagRST|decodetest.FlagACK, nil)
	rst.TTL = 64 // the server's own packets arrive with TTL 114
	frames = append(frames, rst.Frame())

	var file bytes.Buffer
	w, err := decodetest.NewPcapWriter(&file, layers.LinkTypeEthernet, false)
	if err != nil {
		panic(err)
	}
	t0 := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for i, f := range frames {
		if err := w.WritePacket(t0.Add(time.Duration(i)*time.Millisecond), f); err != nil {
			panic(err)
		}
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	fmt.Println(len(frames), "frames,", len(hello), "byte ClientHello")
	// Output: 6 frames, 1789 byte ClientHello
}
