package diagnose

import (
	"math/rand/v2"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// pqHello is a Chromium ClientHello with the X25519MLKEM768 key share,
// about 1.8 kB: more than one full-size segment.
func pqHello(sni string) []byte {
	return decodetest.ClientHello(decodetest.ChromiumHello(sni, rand.New(rand.NewPCG(1, 2))))
}

// bigHelloLost adds a connection to server whose ClientHello's first,
// full-size segment never gets through: the small second segment is SACKed
// (when sacked), the large one is retransmitted retrans times, and the
// client gives up with a reset. With icmpMTU, a fragmentation needed for
// it arrives after the first try. It returns the session, the first large
// segment's frame and the server's SACK.
func (c *blkCap) bigHelloLost(server netip.Addr, sacked bool, retrans int, icmpMTU uint32) (*decodetest.Session, uint64, uint64) {
	s, _ := c.handshake(server, 443)
	hello := pqHello(blkServiceQA)
	size := s.SegmentSize(decodetest.ClientToServer)
	start := s.Client.Next
	big := s.TCP(decodetest.ClientToServer, decodetest.FlagACK, hello[:size]).Frame()
	first := c.add(time.Millisecond, big)
	s.Client.Next += uint32(size)
	c.add(100*time.Microsecond, s.Data(nil, decodetest.ClientToServer, hello[size:]))
	if icmpMTU != 0 {
		c.add(time.Millisecond, c.icmp(s, blkFirewall, 0, true, icmpMTU))
	}
	var sack uint64
	if sacked {
		ack := s.TCP(decodetest.ServerToClient, decodetest.FlagACK, nil)
		ack.Ack = start
		ack.SACK = []decodetest.SACKBlock{{Left: start + uint32(size), Right: s.Client.Next}}
		sack = c.add(30*time.Millisecond, ack.Frame())
	}
	for i := range retrans {
		c.add(time.Duration(300<<i)*time.Millisecond, big)
	}
	c.add(time.Second, s.RST(nil, decodetest.ClientToServer))
	return s, first, sack
}

// tlsWorks adds a TLS 1.3 connection to server that completes, the client
// sending hello, and returns its session.
func (c *blkCap) tlsWorks(server netip.Addr, hello []byte) *decodetest.Session {
	s, _ := c.handshake(server, 443)
	c.segments(s, decodetest.ClientToServer, hello)
	c.tlsFinish(s)
	return s
}

// tlsFinish acknowledges the client's data and completes a TLS 1.3
// handshake with application data both ways.
func (c *blkCap) tlsFinish(s *decodetest.Session) {
	c.add(30*time.Millisecond, s.ACK(nil, decodetest.ServerToClient))
	flight := decodetest.ServerHello(decodetest.VersionTLS13, decodetest.SuiteAES128GCMSHA256, false)
	flight = append(flight, decodetest.ChangeCipherSpec()...)
	flight = decodetest.AppendApplicationData(flight, 4000)
	c.segments(s, decodetest.ServerToClient, flight)
	c.add(time.Millisecond, s.ACK(nil, decodetest.ClientToServer))
	c.segments(s, decodetest.ClientToServer, append(decodetest.ChangeCipherSpec(), decodetest.ApplicationData(80)...))
	c.segments(s, decodetest.ServerToClient, decodetest.ApplicationData(600))
	c.add(time.Millisecond, s.ACK(nil, decodetest.ClientToServer))
}

// segments adds payload from one side in MSS-sized segments.
func (c *blkCap) segments(s *decodetest.Session, d decodetest.Dir, payload []byte) {
	s.Segments(d, payload, func(f []byte) { c.add(100*time.Microsecond, f) })
}

func TestMTUBlackholeLargeClientHello(t *testing.T) {
	c := newBlkCap()
	c.resolve(blkServiceQA, blkService4)
	_, first, sack := c.bigHelloLost(blkService4, true, 4, 0)
	v := c.verdict(t)
	// The flow keeps no frame numbers of retransmitted segments: the
	// evidence cites the ClientHello's last segment and the server's SACK.
	f := checkFinding(t, v, MTUBlackhole, Likely, true, first+1, sack)
	if f.Score != Combine(Strong, Weak) {
		t.Errorf("score %.3f, want strong (4 retransmissions) and weak (post-quantum ClientHello)", f.Score)
	}
	if !strings.Contains(strings.Join(f.Remediation, "\n"), "MSS") || !strings.Contains(strings.Join(f.Remediation, "\n"), "ICMPv6 type 2") {
		t.Errorf("remediation lacks MSS clamping or ICMP: %q", f.Remediation)
	}
	checkNoFinding(t, v, PortBlocked, ICMPUnreachable)
}

func TestMTUBlackholeICMPIgnored(t *testing.T) {
	c := newBlkCap()
	c.resolve(blkServiceQA, blkService4)
	c.bigHelloLost(blkService4, true, 3, 1400)
	v := c.verdict(t)
	f := checkFinding(t, v, MTUBlackhole, Possible, false)
	if f.Score != Combine(Combine(Medium, Weak)) {
		t.Errorf("score %.3f, want medium (ICMP seen but ignored) and weak", f.Score)
	}
	if !strings.Contains(citedText(f), "ignored") {
		t.Errorf("the evidence does not say the sender ignored the ICMP:\n%s", describe(v))
	}
	checkNoFinding(t, v, ICMPUnreachable)
}

func citedText(f *Finding) string {
	var b strings.Builder
	for _, e := range f.Evidence {
		b.WriteString(e.Text + "\n")
	}
	return b.String()
}

// serverFlightLost adds a connection to the relay whose small ClientHello
// is acknowledged but whose server flight loses every full-size segment:
// only the short last one arrives, twice (the tail probe), SACKed by the
// client. It returns the SYN-ACK and the ClientHello's frames.
func (c *blkCap) serverFlightLost() (uint64, uint64) {
	s, synack := c.handshake(blkRelay4, 443)
	ch := c.add(time.Millisecond, s.Data(nil, decodetest.ClientToServer,
		decodetest.ClientHello(decodetest.SchannelHello(blkRelayQA, rand.New(rand.NewPCG(3, 4))))))
	c.add(30*time.Millisecond, s.ACK(nil, decodetest.ServerToClient))
	// A TLS 1.2 flight of three full segments and a 200-byte tail, sized
	// with the ServerKeyExchange signature.
	size := s.SegmentSize(decodetest.ServerToClient)
	flight := func(sigLen int) []byte {
		b := decodetest.ServerHello(decodetest.VersionTLS12, decodetest.SuiteECDHERSAAES128GCMSHA256, false)
		b = decodetest.AppendCertificate(b, decodetest.CertChain(blkRelayQA, "Microsoft Azure RSA TLS Issuing CA 04", "Microsoft Corporation"))
		b = decodetest.AppendServerKeyExchange(b, 0x001d, 32, 0x0807, sigLen)
		return append(b, decodetest.ServerHelloDone()...)
	}
	all := flight(64)
	all = flight(64 + 3*size + 200 - len(all))
	start := s.Server.Next
	var tail []byte
	s.Segments(decodetest.ServerToClient, all, func(f []byte) { tail = append(tail[:0], f...) })
	c.add(31*time.Millisecond, tail)
	dup := s.TCP(decodetest.ClientToServer, decodetest.FlagACK, nil)
	dup.Ack = start
	dup.SACK = []decodetest.SACKBlock{{Left: start + uint32(3*size), Right: s.Server.Next}}
	c.add(100*time.Microsecond, dup.Frame())
	c.add(250*time.Millisecond, tail)
	c.add(100*time.Microsecond, dup.Frame())
	c.add(15*time.Second, s.FIN(nil, decodetest.ClientToServer))
	return synack, ch
}

func TestMTUBlackholeServerSegments(t *testing.T) {
	c := newBlkCap()
	c.resolve(blkServiceQA, blkService4)
	c.tlsWorks(blkService4, pqHello(blkServiceQA))
	c.resolve(blkRelayQA, blkRelay4)
	synack, ch := c.serverFlightLost()
	v := c.verdict(t)
	f := checkFinding(t, v, MTUBlackhole, Likely, true, synack, ch)
	if f.Score != Combine(Strong, Weak) {
		t.Errorf("score %.3f, want strong and weak (the service delivered full-size segments)", f.Score)
	}
	if got := citedText(f); !strings.Contains(got, "not visible in a capture taken at the client") {
		t.Errorf("the evidence does not qualify the missing ICMP:\n%s", got)
	}
	checkNoFinding(t, v, PortBlocked, ICMPUnreachable)
}

func TestMTUBlackholeLookalikes(t *testing.T) {
	tests := []struct {
		name  string
		build func(c *blkCap)
	}{
		{"a filter drops the ClientHello: nothing acknowledged", func(c *blkCap) {
			c.resolve(blkServiceQA, blkService4)
			c.bigHelloLost(blkService4, false, 4, 0)
		}},
		{"the same address took the same ClientHello", func(c *blkCap) {
			c.resolve(blkServiceQA, blkService4)
			c.tlsWorks(blkService4, pqHello("azure.microsoft.com"))
			c.bigHelloLost(blkService4, true, 4, 0)
		}},
		{"full-size retransmissions that are acknowledged in the end", func(c *blkCap) {
			c.resolve(blkServiceQA, blkService4)
			s, _ := c.handshake(blkService4, 443)
			hello := pqHello(blkServiceQA)
			size := s.SegmentSize(decodetest.ClientToServer)
			big := s.TCP(decodetest.ClientToServer, decodetest.FlagACK, hello[:size]).Frame()
			c.add(time.Millisecond, big)
			s.Client.Next += uint32(size)
			c.add(100*time.Microsecond, s.Data(nil, decodetest.ClientToServer, hello[size:]))
			for range 3 {
				c.add(300*time.Millisecond, big)
			}
			c.tlsFinish(s)
		}},
		{"a working session with full-size segments both ways", func(c *blkCap) {
			c.resolve(blkServiceQA, blkService4)
			c.tlsWorks(blkService4, pqHello(blkServiceQA))
			c.resolve(blkRelayQA, blkRelay4)
			c.tlsWorks(blkRelay4, pqHello(blkRelayQA))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newBlkCap()
			tt.build(c)
			checkNoFinding(t, c.verdict(t), MTUBlackhole)
		})
	}
}
