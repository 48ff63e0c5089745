package redact_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/internal/tshark"
	"github.com/qadiag/qadiag/report/redact"
)

type frame struct {
	ci   gopacket.CaptureInfo
	lt   layers.LinkType
	data []byte
}

func frames(t testing.TB, path string) []frame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := decode.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var out []frame
	for {
		var fr decode.Frame
		if err := rd.Next(&fr); err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatal(err)
			}
			return out
		}
		if fr.LinkType == decode.LinkTypeCustomBlock {
			continue
		}
		out = append(out, frame{gopacket.CaptureInfo{Timestamp: fr.Time, CaptureLength: len(fr.Data), Length: fr.OrigLen},
			fr.LinkType, slices.Clone(fr.Data)})
	}
}

// checksums verifies a frame's IPv4 header, TCP, UDP and ICMP checksums
// from scratch (RFC 1071), independently of the package's incremental
// update. ok is false when the frame has none to check (cut, fragment).
func checksums(lt layers.LinkType, data []byte) (valid, ok bool) {
	p := gopacket.NewPacket(data, lt, gopacket.NoCopy)
	var src, dst []byte
	var proto uint8
	var seg []byte
	if ip := p.Layer(layers.LayerTypeIPv4); ip != nil {
		v4 := ip.(*layers.IPv4)
		hdr := v4.Contents
		if sum(hdr, 0) != 0xffff {
			return false, true
		}
		if v4.Flags&layers.IPv4MoreFragments != 0 || v4.FragOffset != 0 || int(v4.Length) > len(hdr)+len(v4.Payload) {
			return true, false
		}
		src, dst, proto, seg = v4.SrcIP.To4(), v4.DstIP.To4(), uint8(v4.Protocol), v4.Payload[:int(v4.Length)-len(hdr)]
	} else if ip := p.Layer(layers.LayerTypeIPv6); ip != nil {
		v6 := ip.(*layers.IPv6)
		if int(v6.Length) != len(v6.Payload) || v6.NextHeader != layers.IPProtocolTCP && v6.NextHeader != layers.IPProtocolUDP &&
			v6.NextHeader != layers.IPProtocolICMPv6 {
			return true, false
		}
		src, dst, proto, seg = v6.SrcIP, v6.DstIP, uint8(v6.NextHeader), v6.Payload
	} else {
		return true, false
	}
	var pseudo []byte
	if proto != 1 {
		pseudo = append(append(slices.Clone(src), dst...), 0, proto)
		pseudo = binary.BigEndian.AppendUint16(pseudo, uint16(len(seg)))
	}
	switch proto {
	case 17:
		if len(seg) >= 8 && binary.BigEndian.Uint16(seg[6:]) == 0 && len(src) == 4 {
			return true, true
		}
	case 1, 6, 58:
	default:
		return true, false
	}
	return sum(seg, uint32(sum(pseudo, 0))) == 0xffff, true
}

func sum(b []byte, acc uint32) uint16 {
	for i := 0; i+1 < len(b); i += 2 {
		acc += uint32(b[i])<<8 | uint32(b[i+1])
	}
	if len(b)%2 == 1 {
		acc += uint32(b[len(b)-1]) << 8
	}
	for acc > 0xffff {
		acc = acc>>16 + acc&0xffff
	}
	return uint16(acc)
}

// wireLabels returns the labels of non-catalog names, in DNS wire form, that
// no catalog name of the capture shares: they must not survive in any frame.
func wireLabels(res *analyze.Result, names []string) [][]byte {
	cat := catalog.Default()
	kept := map[string]bool{}
	keep := func(n string) {
		if _, ok := cat.MatchHost(n); ok {
			for _, l := range strings.Split(strings.ToLower(n), ".") {
				kept[l] = true
			}
		}
	}
	for _, f := range res.Flows {
		if f.TLS != nil {
			keep(f.TLS.SNI)
		}
		for _, n := range f.Names() {
			keep(n.Name)
		}
		if f.DNS != nil {
			for _, q := range f.DNS.Queries {
				keep(q.Name)
				for _, a := range q.Answers {
					keep(a.Name)
					keep(a.Target)
				}
			}
		}
	}
	var out [][]byte
	for _, n := range names {
		labels := strings.Split(strings.ToLower(n), ".")
		for i, l := range labels {
			if _, ok := cat.MatchHost(strings.Join(labels[i:], ".")); ok || len(l) < 5 || kept[l] {
				continue
			}
			out = append(out, append([]byte{byte(len(l))}, l...))
		}
	}
	return out
}

func TestPacket(t *testing.T) {
	for _, path := range captures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			res, v := read(t, path)
			rd := redact.New(nil, testKey)
			rd.Result(res, v)
			addrs, names := secrets(res)
			labels := wireLabels(res, names)
			clients := map[netip.Addr]bool{}
			// The bytes of client addresses, as they are and XOR-ed as in
			// STUN's XOR-MAPPED-ADDRESS (RFC 8489 14.2), must not survive
			// anywhere: not in an ICMP error's quoted packet, not in STUN.
			var raw [][]byte
			for _, a := range addrs {
				clients[a] = true
				if rd.Addr(a) == a {
					t.Errorf("client address %s maps to itself", a)
				}
				raw = append(raw, a.AsSlice())
				if a.Is4() {
					x := a.As4()
					raw = append(raw, []byte{x[0] ^ 0x21, x[1] ^ 0x12, x[2] ^ 0xa4, x[3] ^ 0x42})
				}
			}
			dec := decode.NewDecoder()
			var in, out decode.Packet
			for i, fr := range frames(t, path) {
				red := rd.Packet(fr.lt, fr.data)
				if len(red) != len(fr.data) {
					t.Fatalf("frame %d: length %d -> %d", i+1, len(fr.data), len(red))
				}
				dec.Decode(&decode.Frame{Number: uint64(i + 1), LinkType: fr.lt, Data: fr.data, CapLen: len(fr.data), OrigLen: fr.ci.Length}, &in)
				inSrc, inDst, inProto, inSport, inDport, inVer := in.Src, in.Dst, in.Proto, in.SrcPort, in.DstPort, in.IPVersion
				dec.Decode(&decode.Frame{Number: uint64(i + 1), LinkType: fr.lt, Data: red, CapLen: len(red), OrigLen: fr.ci.Length}, &out)
				if out.IPVersion != inVer || out.Proto != inProto || out.SrcPort != inSport || out.DstPort != inDport {
					t.Errorf("frame %d: decodes differently after redaction", i+1)
				}
				if out.Src != rd.Addr(inSrc) || out.Dst != rd.Addr(inDst) {
					t.Errorf("frame %d: %s > %s became %s > %s, the reports say %s > %s", i+1, inSrc, inDst, out.Src, out.Dst,
						rd.Addr(inSrc), rd.Addr(inDst))
				}
				if clients[out.Src] || clients[out.Dst] {
					t.Errorf("frame %d: a client address survives: %s > %s", i+1, out.Src, out.Dst)
				}
				if wasValid, ok := checksums(fr.lt, fr.data); ok && wasValid {
					if valid, _ := checksums(fr.lt, red); !valid {
						t.Errorf("frame %d: checksum invalid after redaction", i+1)
					}
				}
				if fr.lt == layers.LinkTypeEthernet && fr.data[6]&1 == 0 && (bytes.Equal(red[6:12], fr.data[6:12]) || red[6]&2 == 0) {
					t.Errorf("frame %d: source MAC % x became % x", i+1, fr.data[6:12], red[6:12])
				}
				for _, b := range raw {
					if bytes.Contains(red, b) {
						t.Errorf("frame %d: client address bytes % x survive", i+1, b)
					}
				}
				for _, n := range names {
					if containsToken(string(red), n) {
						t.Errorf("frame %d: name %s survives", i+1, n)
					}
				}
				for _, l := range labels {
					if bytes.Contains(bytes.ToLower(red), l) {
						t.Errorf("frame %d: DNS label %q survives", i+1, l[1:])
					}
				}
			}
		})
	}
}

// TestPacketKeepsMicrosoft checks that Microsoft's server addresses, the
// Quick Assist names and the TLS structure survive.
func TestPacketKeepsMicrosoft(t *testing.T) {
	path := "../../testdata/pcaps/scenarios/sni_blocking-reset.pcapng"
	res, v := read(t, path)
	rd := redact.New(nil, testKey)
	rd.Result(res, v)
	server := netip.MustParseAddr("20.42.65.90")
	if rd.Addr(server) != server {
		t.Fatalf("Microsoft server %s mapped to %s", server, rd.Addr(server))
	}
	seen := false
	for _, fr := range frames(t, path) {
		red := rd.Packet(fr.lt, fr.data)
		if bytes.Contains(fr.data, []byte("remoteassistance.support.services.microsoft.com")) {
			seen = true
			if !bytes.Contains(red, []byte("remoteassistance.support.services.microsoft.com")) {
				t.Errorf("the Quick Assist SNI was redacted")
			}
		}
	}
	if !seen {
		t.Fatal("no ClientHello for the Quick Assist name in the capture")
	}
}

// TestPacketTshark writes the frames of every capture, as they are and
// redacted, into two files and has tshark verify the checksums: every
// frame with a bad checksum or a malformed packet in the redacted file must
// have had one in the original.
func TestPacketTshark(t *testing.T) {
	tshark.Require(t)
	var orig, red []frame
	for _, path := range captures(t) {
		res, v := read(t, path)
		rd := redact.New(nil, testKey)
		rd.Result(res, v)
		for _, f := range frames(t, path) {
			orig = append(orig, f)
			red = append(red, frame{f.ci, f.lt, rd.Packet(f.lt, f.data)})
		}
	}
	dir := t.TempDir()
	bad := func(name string, fs []frame) map[string]bool {
		file := filepath.Join(dir, name)
		write(t, file, fs)
		out := tshark.Run(t, "-n", "-r", file, "-o", "tcp.check_checksum:TRUE", "-o", "udp.check_checksum:TRUE",
			"-o", "ip.check_checksum:TRUE", "-Y", "tcp.checksum.status == 0 || udp.checksum.status == 0 || "+
				"ip.checksum.status == 0 || icmp.checksum.status == 0 || icmpv6.checksum.status == 0 || _ws.malformed",
			"-T", "fields", "-e", "frame.number")
		set := map[string]bool{}
		for _, n := range strings.Fields(string(out)) {
			set[n] = true
		}
		return set
	}
	before, after := bad("orig.pcapng", orig), bad("red.pcapng", red)
	for n := range after {
		if !before[n] {
			t.Errorf("frame %s: tshark finds a bad checksum or a malformed packet after redaction only", n)
		}
	}
	t.Logf("%d frames checked; %d flagged before redaction, %d after", len(orig), len(before), len(after))
}

func write(t *testing.T, path string, fs []frame) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	links := map[layers.LinkType]int{}
	var order []layers.LinkType
	for _, fr := range fs {
		if _, ok := links[fr.lt]; !ok {
			links[fr.lt] = len(order)
			order = append(order, fr.lt)
		}
	}
	w, err := pcapgo.NewNgWriterInterface(f, pcapgo.NgInterface{LinkType: order[0], SnapLength: 0x40000}, pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, lt := range order[1:] {
		if _, err := w.AddInterface(pcapgo.NgInterface{LinkType: lt, SnapLength: 0x40000}); err != nil {
			t.Fatal(err)
		}
	}
	for _, fr := range fs {
		ci := fr.ci
		ci.InterfaceIndex = links[fr.lt]
		if err := w.WritePacket(ci, fr.data); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
}
