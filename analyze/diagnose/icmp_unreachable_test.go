package diagnose

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// refused adds SYNs to server, each answered 1 ms later by an ICMP error
// from `from` quoting it, and returns the first SYN and the ICMP frames.
func (c *blkCap) refused(server netip.Addr, port uint16, from netip.Addr, code uint8, syns int) (uint64, []uint64) {
	s := c.session(server, port)
	syn := s.TCP(decodetest.ClientToServer, decodetest.FlagSYN, nil)
	var first uint64
	var icmps []uint64
	for i := range syns {
		d := time.Millisecond
		if i > 0 {
			d = time.Duration(1<<(i-1)) * time.Second
		}
		n := c.add(d, syn.Frame())
		if first == 0 {
			first = n
		}
		icmps = append(icmps, c.add(time.Millisecond, c.icmp(s, from, code, false, 0)))
	}
	return first, icmps
}

// icmp is an ICMP or ICMPv6 destination unreachable (or, with tooBig,
// fragmentation needed / Packet Too Big) from `from` to the client, quoting
// the client's next segment to the server of s.
func (c *blkCap) icmp(s *decodetest.Session, from netip.Addr, code uint8, tooBig bool, mtu uint32) []byte {
	quote := s.TCP(decodetest.ClientToServer, decodetest.FlagSYN, nil).AppendPacket(nil)
	return decodetest.ICMPUnreachable{
		Link: decodetest.Link{SrcMAC: decodetest.DefaultGatewayMAC, DstMAC: decodetest.DefaultClientMAC},
		IP:   decodetest.IP{TTL: 254}, Src: from, Dst: s.Client.Addr.Addr(),
		Code: code, TooBig: tooBig, MTU: mtu, Quote: quote,
	}.Frame()
}

func TestICMPUnreachableAdminProhibited(t *testing.T) {
	c := newBlkCap()
	c.handshake(blkBing4, 443)
	c.resolve(blkServiceQA, blkService4)
	syn, icmps := c.refused(blkService4, 443, blkFirewall, decodetest.ICMPv4AdminProhibited, 3)
	v := c.verdict(t)
	f := checkFinding(t, v, ICMPUnreachable, Likely, true, append(icmps, syn)...)
	if f.Score != Combine(Strong, Medium) {
		t.Errorf("score %.3f, want strong (admin prohibited) and medium (every time)", f.Score)
	}
	if !strings.Contains(f.Explanation, blkFirewall.String()) || !strings.Contains(f.Remediation[0], blkFirewall.String()) {
		t.Errorf("the reporting firewall %s is not named: %q / %q", blkFirewall, f.Explanation, f.Remediation[0])
	}
	// The SYNs did get an answer: not a silent drop.
	checkNoFinding(t, v, PortBlocked, MTUBlackhole)
}

func TestICMPUnreachableCodes(t *testing.T) {
	router6 := netip.MustParseAddr("2001:db8:10:ff::1")
	tests := []struct {
		name   string
		server netip.Addr
		from   netip.Addr
		code   uint8
		level  string
		score  float64
	}{
		{"ICMPv6 admin prohibited", blkService6, router6, decodetest.ICMPv6AdminProhibited, Likely, Strong},
		{"ICMPv6 reject route", blkService6, router6, decodetest.ICMPv6RejectRoute, Likely, Strong},
		{"ICMP host unreachable", blkService4, blkFirewall, decodetest.ICMPv4HostUnreachable, Possible, Medium},
		{"ICMP net unreachable", blkService4, blkFirewall, decodetest.ICMPv4NetUnreachable, Possible, Medium},
		{"ICMPv6 address unreachable", blkService6, router6, decodetest.ICMPv6AddrUnreachable, Possible, Medium},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newBlkCap()
			c.handshake(blkBing4, 443)
			c.resolve(blkServiceQA, tt.server)
			syn, icmps := c.refused(tt.server, 443, tt.from, tt.code, 1)
			f := checkFinding(t, c.verdict(t), ICMPUnreachable, tt.level, tt.level != Possible, syn, icmps[0])
			if f.Score != tt.score {
				t.Errorf("score %.3f, want %.3f", f.Score, tt.score)
			}
		})
	}
}

func TestICMPUnreachableLookalikes(t *testing.T) {
	other := netip.MustParseAddr("162.159.135.232")
	tests := []struct {
		name  string
		build func(c *blkCap)
	}{
		{"fragmentation needed is an MTU signal", func(c *blkCap) {
			c.resolve(blkServiceQA, blkService4)
			s, _ := c.handshake(blkService4, 443)
			c.add(time.Millisecond, c.icmp(s, blkFirewall, 0, true, 1400))
		}},
		{"not Quick Assist", func(c *blkCap) {
			c.handshake(blkService4, 443)
			c.resolve("discord.com", other)
			c.refused(other, 443, blkFirewall, decodetest.ICMPv4AdminProhibited, 2)
		}},
		{"port unreachable where the address serves another port", func(c *blkCap) {
			c.resolve(blkServiceQA, blkService4)
			c.handshake(blkService4, 80)
			c.refused(blkService4, 443, blkService4, decodetest.ICMPv4PortUnreachable, 2)
		}},
		{"soft error: the connection went on", func(c *blkCap) {
			c.resolve(blkServiceQA, blkService4)
			s := c.session(blkService4, 443)
			c.add(time.Millisecond, s.SYN(nil))
			c.add(time.Millisecond, c.icmp(s, blkFirewall, decodetest.ICMPv4HostUnreachable, false, 0))
			c.add(20*time.Millisecond, s.SYNACK(nil))
			c.add(time.Millisecond, s.ACK(nil, decodetest.ClientToServer))
		}},
		{"IPv6 refused, IPv4 to the same name works", func(c *blkCap) {
			c.resolve(blkServiceQA, blkService6)
			c.resolve(blkServiceQA, blkService4)
			c.refused(blkService6, 443, netip.MustParseAddr("2001:db8:10:ff::1"), decodetest.ICMPv6AdminProhibited, 1)
			c.handshake(blkService4, 443)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newBlkCap()
			tt.build(c)
			checkNoFinding(t, c.verdict(t), ICMPUnreachable, PortBlocked)
		})
	}
}
