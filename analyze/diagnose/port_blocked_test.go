package diagnose

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"github.com/qadiag/qadiag/decode/decodetest"
)

// blkCap is an in-memory capture for the path detectors' tests
// (port_blocked, icmp_unreachable, mtu_blackhole), taken on the client:
// frames are numbered from 1 in the order added.
type blkCap struct {
	frames [][]byte
	times  []time.Time
	now    time.Time
	port   uint16 // next client port
	dnsID  uint16
}

// Addresses of the test network: the client, its resolver and gateway, and
// the servers it talks to.
var (
	blkClient4   = netip.MustParseAddr("10.20.30.40")
	blkClient6   = netip.MustParseAddr("2001:db8:10:20::40")
	blkResolver  = netip.MustParseAddr("10.20.30.1")
	blkFirewall  = netip.MustParseAddr("10.20.0.254")
	blkService4  = netip.MustParseAddr("20.42.65.90")
	blkService6  = netip.MustParseAddr("2603:1030:20e:3::23a")
	blkRelay4    = netip.MustParseAddr("20.185.82.115")
	blkBing4     = netip.MustParseAddr("13.107.21.200")
	blkServiceQA = "remoteassistance.support.services.microsoft.com"
	blkRelayQA   = "rdprelayv3eastusprod-4.support.services.microsoft.com"
)

func newBlkCap() *blkCap {
	return &blkCap{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), port: 50000, dnsID: 0x100}
}

// add appends frames, the first d after the previous frame and the rest
// 0.1 ms apart, and returns the number of the last.
func (c *blkCap) add(d time.Duration, frames ...[]byte) uint64 {
	for i, f := range frames {
		if i > 0 {
			d = 100 * time.Microsecond
		}
		c.now = c.now.Add(d)
		c.frames = append(c.frames, slices.Clone(f))
		c.times = append(c.times, c.now)
	}
	return uint64(len(c.frames))
}

// session opens a new connection from the client's address of server's
// family on the next port.
func (c *blkCap) session(server netip.Addr, port uint16) *decodetest.Session {
	client := blkClient4
	if server.Is6() {
		client = blkClient6
	}
	c.port++
	return decodetest.NewSession(netip.AddrPortFrom(client, c.port), netip.AddrPortFrom(server, port))
}

// resolve adds a DNS query and its answer resolving name to addr (A or
// AAAA by addr's family), over IPv4.
func (c *blkCap) resolve(name string, addr netip.Addr) {
	c.dnsID++
	c.port++
	qtype := decodetest.DNSTypeA
	if addr.Is6() {
		qtype = decodetest.DNSTypeAAAA
	}
	cl, rs := netip.AddrPortFrom(blkClient4, c.port), netip.AddrPortFrom(blkResolver, 53)
	q := decodetest.UDP{Link: decodetest.Link{SrcMAC: decodetest.DefaultClientMAC, DstMAC: decodetest.DefaultGatewayMAC},
		IP: decodetest.IP{TTL: 128}, Src: cl, Dst: rs, Payload: decodetest.DNSQuery(c.dnsID, name, qtype)}
	a := decodetest.UDP{Link: decodetest.Link{SrcMAC: decodetest.DefaultGatewayMAC, DstMAC: decodetest.DefaultClientMAC},
		IP: decodetest.IP{TTL: 64}, Src: rs, Dst: cl,
		Payload: decodetest.AppendDNSResponse(nil, c.dnsID, name, qtype, decodetest.DNSRcodeNoError,
			[]decodetest.DNSAnswer{{TTL: 300, Addr: addr}})}
	c.add(time.Millisecond, q.Frame())
	c.add(8*time.Millisecond, a.Frame())
}

// handshake adds a complete TCP handshake to server and returns the
// session and the SYN-ACK's frame.
func (c *blkCap) handshake(server netip.Addr, port uint16) (*decodetest.Session, uint64) {
	s := c.session(server, port)
	c.add(time.Millisecond, s.SYN(nil))
	synack := c.add(20*time.Millisecond, s.SYNACK(nil))
	c.add(100*time.Microsecond, s.ACK(nil, decodetest.ClientToServer))
	return s, synack
}

// unanswered adds SYNs to server on the RFC 6298 backoff (1, 2, 4 s ...)
// and returns the first SYN's frame.
func (c *blkCap) unanswered(server netip.Addr, port uint16, syns int) uint64 {
	s := c.session(server, port)
	syn := s.TCP(decodetest.ClientToServer, decodetest.FlagSYN, nil).Frame()
	first := c.add(time.Millisecond, syn)
	for i := 1; i < syns; i++ {
		c.add(time.Duration(1<<(i-1))*time.Second, syn)
	}
	return first
}

func (c *blkCap) result(t *testing.T) *analyze.Result {
	t.Helper()
	var buf bytes.Buffer
	w, err := decodetest.NewPcapWriter(&buf, layers.LinkTypeEthernet, false)
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range c.frames {
		if err := w.WritePacket(c.times[i], f); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	res, err := analyze.Read(context.Background(), &buf, "test.pcap")
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func (c *blkCap) verdict(t *testing.T) *Verdict {
	t.Helper()
	return Diagnose(c.result(t), nil)
}

// findingFor returns the verdict's finding of cause, or nil.
func findingFor(v *Verdict, cause string) *Finding {
	for i := range v.Findings {
		if v.Findings[i].Cause == cause {
			return &v.Findings[i]
		}
	}
	return nil
}

// checkFinding checks that v has a finding of cause at level, citing every
// frame of want, and whether it is the verdict.
func checkFinding(t *testing.T, v *Verdict, cause, level string, primary bool, want ...uint64) *Finding {
	t.Helper()
	f := findingFor(v, cause)
	if f == nil {
		t.Fatalf("no %s finding\n%s", cause, describe(v))
	}
	if f.Level != level {
		t.Errorf("%s is %s (%.3f), want %s\n%s", cause, f.Level, f.Score, level, describe(v))
	}
	if got := v.Cause == cause; got != primary {
		t.Errorf("verdict %s, want %s primary: %v\n%s", v.Cause, cause, primary, describe(v))
	}
	cited := citedFrames(*f)
	for _, w := range want {
		if !slices.Contains(cited, w) {
			t.Errorf("%s cites frames %v, not %d", cause, cited, w)
		}
	}
	if len(f.Remediation) == 0 || f.Explanation == "" {
		t.Errorf("%s has no explanation or remediation", cause)
	}
	return f
}

func checkNoFinding(t *testing.T, v *Verdict, causes ...string) {
	t.Helper()
	for _, c := range causes {
		if f := findingFor(v, c); f != nil {
			t.Errorf("unexpected %s finding %.3f\n%s", c, f.Score, describe(v))
		}
	}
}

func TestPortBlockedSilentDrop(t *testing.T) {
	c := newBlkCap()
	c.resolve("www.bing.com", blkBing4)
	_, bingSYNACK := c.handshake(blkBing4, 443)
	c.resolve(blkServiceQA, blkService4)
	first := c.unanswered(blkService4, 443, 4)
	second := c.unanswered(blkService4, 443, 4)
	v := c.verdict(t)
	f := checkFinding(t, v, PortBlocked, Likely, true, first, second, bingSYNACK)
	if !slices.Equal(f.Hosts, []string{blkServiceQA}) {
		t.Errorf("hosts %v, want the name the client resolved", f.Hosts)
	}
	if f.Score != Combine(Strong, Weak) {
		t.Errorf("score %.3f, want strong (differential) and weak (every attempt)", f.Score)
	}
	checkNoFinding(t, v, ICMPUnreachable, MTUBlackhole)
}

func TestPortBlockedWithoutDifferential(t *testing.T) {
	c := newBlkCap()
	c.resolve(blkServiceQA, blkService4)
	first := c.unanswered(blkService4, 443, 3)
	v := c.verdict(t)
	f := checkFinding(t, v, PortBlocked, Possible, false, first)
	if f.Score != Medium {
		t.Errorf("score %.3f, want medium alone", f.Score)
	}
	if !bytes.Contains([]byte(f.Conclusive), []byte("miss inbound traffic")) {
		t.Errorf("conclusive %q does not say the capture may miss inbound traffic", f.Conclusive)
	}
}

func TestPortBlockedLookalikes(t *testing.T) {
	tests := []struct {
		name  string
		build func(c *blkCap)
	}{
		{"happy eyeballs: IPv6 abandoned once IPv4 works", func(c *blkCap) {
			c.resolve(blkServiceQA, blkService6)
			c.resolve(blkServiceQA, blkService4)
			c.unanswered(blkService6, 443, 2)
			c.handshake(blkService4, 443)
		}},
		{"one SYN: the capture ended before a retransmission", func(c *blkCap) {
			c.handshake(blkBing4, 443)
			c.resolve(blkServiceQA, blkService4)
			c.unanswered(blkService4, 443, 1)
		}},
		{"a lost SYN: the next connection to the address works", func(c *blkCap) {
			c.handshake(blkBing4, 443)
			c.resolve(blkServiceQA, blkService4)
			c.unanswered(blkService4, 443, 3)
			c.handshake(blkService4, 443)
		}},
		{"not Quick Assist: another site dropped", func(c *blkCap) {
			c.handshake(blkService4, 443)
			c.resolve("discord.com", netip.MustParseAddr("162.159.135.232"))
			c.unanswered(netip.MustParseAddr("162.159.135.232"), 443, 4)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newBlkCap()
			tt.build(c)
			checkNoFinding(t, c.verdict(t), PortBlocked, ICMPUnreachable)
		})
	}
}

// rejected adds a SYN to server answered by a RST-ACK with ttl and returns
// both frames.
func (c *blkCap) rejected(server netip.Addr, port uint16, ttl uint8) (uint64, uint64) {
	s := c.session(server, port)
	syn := c.add(time.Millisecond, s.SYN(nil))
	rst := s.TCP(decodetest.ServerToClient, decodetest.FlagRST|decodetest.FlagACK, nil)
	rst.Ack = s.Client.Next
	rst.TTL = ttl
	return syn, c.add(time.Millisecond, rst.Frame())
}

func TestPortBlockedRejected(t *testing.T) {
	t.Run("reset by a near box", func(t *testing.T) {
		c := newBlkCap()
		c.handshake(blkBing4, 443) // TTL 114: 14 hops
		c.resolve(blkServiceQA, blkService4)
		syn, rst := c.rejected(blkService4, 443, 254)
		v := c.verdict(t)
		f := checkFinding(t, v, PortBlocked, Possible, false, syn, rst)
		if f.Score != Combine(Medium, Weak) {
			t.Errorf("score %.3f, want medium (REJ) and weak (nearer than every server)", f.Score)
		}
		checkNoFinding(t, v, RSTInjection)
	})
	t.Run("reset with another TTL than the same server", func(t *testing.T) {
		c := newBlkCap()
		c.resolve(blkServiceQA, blkService4)
		_, synack := c.handshake(blkService4, 80) // the server itself, TTL 114
		syn, rst := c.rejected(blkService4, 443, 64)
		f := checkFinding(t, c.verdict(t), PortBlocked, Likely, true, syn, rst)
		if f.Score != Combine(Medium, Medium) {
			t.Errorf("score %.3f, want medium (REJ) and medium (TTL differs from frame %d)", f.Score, synack)
		}
	})
	t.Run("the server's own reset", func(t *testing.T) {
		c := newBlkCap()
		c.resolve(blkServiceQA, blkService4)
		c.handshake(blkService4, 80)
		c.rejected(blkService4, 443, 114)
		f := checkFinding(t, c.verdict(t), PortBlocked, Possible, false)
		if f.Score != Medium {
			t.Errorf("score %.3f, want medium alone: a closed port", f.Score)
		}
	})
}

// pathCorpusDir holds real public captures (MANIFEST.md beside them), next to
// the repository.
const pathCorpusDir = "../../../shared/corpus"

// TestPathDetectorsCorpus runs the three path detectors over the public
// corpus, first with the built-in catalog, then with one that makes every
// flow Quick Assist's (every address, every name the captures' TLS asks
// for): no capture shows a silent SYN drop, a filter's ICMP refusal or an
// MTU black hole, so none may reach a fault score. Refused connections
// (REJ) stay possible: closed ports look the same.
func TestPathDetectorsCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(pathCorpusDir, "*.pcap*"))
	if len(files) == 0 {
		t.Skipf("SKIP: no corpus at %s", pathCorpusDir)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			res := readCorpusFile(t, path)
			for _, cat := range []*catalog.Catalog{nil, everythingCatalog(t, res)} {
				v := Diagnose(res, cat)
				for _, f := range v.Findings {
					switch f.Cause {
					case PortBlocked, ICMPUnreachable, MTUBlackhole:
						if f.Score >= minFaultScore || cat == nil {
							t.Errorf("%s %.3f (all flows Quick Assist's: %v)\n%s", f.Cause, f.Score, cat != nil, describe(v))
						}
					}
				}
			}
		})
	}
}

func readCorpusFile(t *testing.T, path string) *analyze.Result {
	t.Helper()
	fh, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	res, _ := analyze.Read(context.Background(), fh, filepath.Base(path)) // damaged files still give a partial result
	return res
}

// everythingCatalog makes every address, and every SNI's registered domain
// and its subdomains, a required Quick Assist endpoint on every port.
func everythingCatalog(t *testing.T, res *analyze.Result) *catalog.Catalog {
	t.Helper()
	entry := func(key, pattern, ports string) string {
		return fmt.Sprintf(`{%q: %q, "ports": [%s], "role": "service", "required": true, "broad": false, "source": "https://example.invalid/", "note": "test"}`,
			key, pattern, ports)
	}
	all := `"tcp/1-65535", "udp/1-65535"`
	entries := []string{entry("prefix", "0.0.0.0/0", all), entry("prefix", "::/0", all)}
	seen := map[string]bool{}
	for _, f := range res.Flows {
		if f.TLS == nil {
			continue
		}
		labels := strings.Split(strings.ToLower(strings.TrimSuffix(f.TLS.SNI, ".")), ".")
		if len(labels) < 2 {
			continue
		}
		dom := strings.Join(labels[len(labels)-2:], ".")
		if seen[dom] || !domainRE.MatchString(dom) {
			continue
		}
		seen[dom] = true
		entries = append(entries, entry("host", dom, `"tcp/1-65535"`), entry("host", "*."+dom, `"tcp/1-65535"`))
	}
	cat, err := catalog.Load(strings.NewReader(`{"version": 1, "entries": [` + strings.Join(entries, ",\n") + `]}`))
	if err != nil {
		t.Fatal(err)
	}
	return cat
}

var domainRE = regexp.MustCompile(`^[a-z0-9-]+\.[a-z][a-z0-9-]*$`)
