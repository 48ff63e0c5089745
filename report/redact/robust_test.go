package redact_test

import (
	"bytes"
	"testing"

	"github.com/gopacket/gopacket/layers"
	"github.com/qadiag/qadiag/report/redact"
)

// TestPacketCut redacts every frame of two captures cut at every length:
// no panic, the length kept (the crypto/tls prefix test, applied to
// frames).
func TestPacketCut(t *testing.T) {
	for _, path := range []string{"../../testdata/pcaps/mixed-quickassist.pcap",
		"../../testdata/pcaps/scenarios/tls_interception-paloalto-ipv6.pcap"} {
		rd := redact.New(nil, testKey)
		for _, fr := range frames(t, path) {
			for n := range len(fr.data) + 1 {
				if out := rd.Packet(fr.lt, fr.data[:n]); len(out) != n {
					t.Fatalf("%s: cut at %d: %d bytes", path, n, len(out))
				}
			}
		}
	}
}

func TestPacketUnknownLink(t *testing.T) {
	rd := redact.New(nil, testKey)
	if out := rd.Packet(layers.LinkTypeIEEE802_11, []byte("secret payload")); !bytes.Equal(out, make([]byte, 14)) {
		t.Errorf("unknown link type: %q, want zeros", out)
	}
	// An Ethernet frame of an unknown EtherType keeps its (mapped) header.
	frame := append(bytes.Repeat([]byte{0x02}, 12), 0x88, 0xcc, 's', 'e', 'c', 'r', 'e', 't')
	out := rd.Packet(layers.LinkTypeEthernet, frame)
	if !bytes.Equal(out[12:], []byte{0x88, 0xcc, 0, 0, 0, 0, 0, 0}) || bytes.Equal(out[:12], frame[:12]) {
		t.Errorf("LLDP frame: % x", out)
	}
}

func FuzzPacket(f *testing.F) {
	for _, path := range []string{"../../testdata/pcaps/mixed-quickassist.pcap",
		"../../testdata/pcaps/scenarios/healthy-sll2.pcapng", "../../testdata/pcaps/scenarios/nat_timeout-stun-rebinding.pcap"} {
		for i, fr := range frames(f, path) {
			if i%7 == 0 {
				f.Add(uint32(fr.lt), fr.data)
			}
		}
	}
	rd := redact.New(nil, testKey)
	f.Fuzz(func(t *testing.T, lt uint32, data []byte) {
		in := bytes.Clone(data)
		out := rd.Packet(layers.LinkType(lt%300), data)
		if len(out) != len(data) || !bytes.Equal(in, data) {
			t.Fatalf("length %d -> %d, or the input changed", len(data), len(out))
		}
	})
}

// TestConcurrent uses one Redactor from several goroutines (run with
// -race): reports and the evidence file may be written in parallel.
func TestConcurrent(t *testing.T) {
	path := "../../testdata/pcaps/mixed-quickassist.pcap"
	res, v := read(t, path)
	fs := frames(t, path)
	rd := redact.New(nil, nil)
	done := make(chan bool)
	for g := range 4 {
		go func() {
			defer func() { done <- true }()
			rd.Result(res, v)
			for i := g; i < len(fs); i += 4 {
				rd.Packet(fs[i].lt, fs[i].data)
				rd.Text("10.20.30.18 www.bing.com")
			}
		}()
	}
	for range 4 {
		<-done
	}
}
