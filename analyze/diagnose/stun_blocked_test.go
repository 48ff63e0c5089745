package diagnose

import (
	"bytes"
	"cmp"
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/pion/stun/v3"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode/decodetest"
)

// capBuild collects the frames of a capture built in memory, in any order;
// diagnose writes them sorted by time. Builders return handles (cbH) that
// frames turns into frame numbers (1-based, as Wireshark counts) once the
// order is known. The helpers below are shared by the stun_blocked,
// nat_timeout and dns_failure tests.
type capBuild struct {
	t      *testing.T
	frames [][]byte
	times  []time.Duration
	num    []uint64 // frame number by handle, set by diagnose
	r      *rand.Rand
}

// cbH is a frame added to a capBuild.
type cbH int

var cbEpoch = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// The client, its resolver, and two ACS media relays in 20.202.0.0/16.
var (
	cbClient   = netip.MustParseAddr("10.20.30.40")
	cbResolver = netip.AddrPortFrom(netip.MustParseAddr("10.20.30.1"), 53)
	cbRelay1   = netip.MustParseAddr("20.202.144.73")
	cbRelay2   = netip.MustParseAddr("20.202.145.12")
	cbRDPRelay = netip.MustParseAddr("20.185.82.115")
)

func newCapBuild(t *testing.T) *capBuild {
	return &capBuild{t: t, r: rand.New(rand.NewPCG(1, 2))}
}

// add adds a frame captured at.
func (b *capBuild) add(at time.Duration, frame []byte) cbH {
	b.frames = append(b.frames, slices.Clone(frame))
	b.times = append(b.times, at)
	return cbH(len(b.frames) - 1)
}

// nums returns the frame numbers of handles, after diagnose.
func (b *capBuild) nums(hs ...cbH) []uint64 {
	out := make([]uint64, len(hs))
	for i, h := range hs {
		out[i] = b.num[h]
	}
	return out
}

// udp appends a datagram; ttl 128 is the client's, 113 a relay's.
func (b *capBuild) udp(at time.Duration, src, dst netip.AddrPort, ttl uint8, payload []byte) cbH {
	return b.add(at, decodetest.UDP{IP: decodetest.IP{TTL: ttl}, Src: src, Dst: dst, Payload: payload}.Frame())
}

// dnsQuery appends a query from port to the resolver; dnsAnswer its response.
func (b *capBuild) dnsQuery(at time.Duration, port uint16, id uint16, name string, qtype uint16) cbH {
	return b.udp(at, netip.AddrPortFrom(cbClient, port), cbResolver, 128, decodetest.DNSQuery(id, name, qtype))
}

func (b *capBuild) dnsAnswer(at time.Duration, port uint16, id uint16, name string, qtype uint16, rcode uint8, addrs ...netip.Addr) cbH {
	var ans []decodetest.DNSAnswer
	for _, a := range addrs {
		ans = append(ans, decodetest.DNSAnswer{TTL: 60, Addr: a})
	}
	return b.udp(at, cbResolver, netip.AddrPortFrom(cbClient, port), 64, decodetest.DNSResponse(id, name, qtype, rcode, ans))
}

// resolve appends a query for name and its answer with addrs, 10 ms later.
func (b *capBuild) resolve(at time.Duration, port uint16, name string, addrs ...netip.Addr) time.Duration {
	id := uint16(b.r.Uint32())
	b.dnsQuery(at, port, id, name, decodetest.DNSTypeA)
	b.dnsAnswer(at+10*time.Millisecond, port, id, name, decodetest.DNSTypeA, decodetest.DNSRcodeNoError, addrs...)
	return at + 10*time.Millisecond
}

// diagnose writes the frames as a pcap file and runs the analysis.
func (b *capBuild) diagnose() (*analyze.Result, *Verdict) {
	b.t.Helper()
	var buf bytes.Buffer
	w, err := decodetest.NewPcapWriter(&buf, layers.LinkTypeEthernet, false)
	if err != nil {
		b.t.Fatal(err)
	}
	order := make([]int, len(b.frames))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(b.times[x], b.times[y]) })
	b.num = make([]uint64, len(order))
	for n, i := range order {
		b.num[i] = uint64(n + 1)
		if err := w.WritePacket(cbEpoch.Add(b.times[i]), b.frames[i]); err != nil {
			b.t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		b.t.Fatal(err)
	}
	res, err := analyze.Read(context.Background(), &buf, "test.pcap")
	if err != nil {
		b.t.Fatal(err)
	}
	return res, Diagnose(res, nil)
}

// cbConn is one TCP connection of a capBuild.
type cbConn struct {
	b *capBuild
	s *decodetest.Session
}

func (b *capBuild) dial(port uint16, server netip.AddrPort) *cbConn {
	return &cbConn{b: b, s: decodetest.NewSession(netip.AddrPortFrom(cbClient, port), server)}
}

// seg adds one segment.
func (k *cbConn) seg(at time.Duration, d decodetest.Dir, flags uint8, payload []byte) cbH {
	return k.b.add(at, k.s.Segment(nil, d, flags, payload))
}

// send adds payload in MSS-sized segments and returns the first.
func (k *cbConn) send(at time.Duration, d decodetest.Dir, payload []byte) cbH {
	first := cbH(-1)
	k.s.Segments(d, payload, func(f []byte) {
		if h := k.b.add(at, f); first < 0 {
			first = h
		}
		at += 100 * time.Microsecond
	})
	return first
}

// open adds the handshake from at with a 30 ms round trip and returns the
// SYN-ACK.
func (k *cbConn) open(at time.Duration) cbH {
	k.seg(at, decodetest.ClientToServer, decodetest.FlagSYN, nil)
	synack := k.seg(at+30*time.Millisecond, decodetest.ServerToClient, decodetest.FlagSYN|decodetest.FlagACK, nil)
	k.seg(at+30*time.Millisecond+200*time.Microsecond, decodetest.ClientToServer, decodetest.FlagACK, nil)
	return synack
}

// tls13 opens the connection and completes a TLS 1.3 handshake for sni
// with data both ways; it returns the SYN-ACK, the ServerHello and the
// time the exchange ended.
func (k *cbConn) tls13(at time.Duration, sni string) (synack, hello cbH, end time.Duration) {
	synack = k.open(at)
	at += 31 * time.Millisecond
	k.send(at, decodetest.ClientToServer, decodetest.ClientHello(decodetest.ChromiumHello(sni, k.b.r)))
	flight := decodetest.ServerHello(decodetest.VersionTLS13, 0x1301, false)
	flight = append(flight, decodetest.ChangeCipherSpec()...)
	flight = decodetest.AppendApplicationData(flight, 2500)
	hello = k.send(at+31*time.Millisecond, decodetest.ServerToClient, flight)
	k.send(at+32*time.Millisecond, decodetest.ClientToServer, append(decodetest.ChangeCipherSpec(), decodetest.ApplicationData(53)...))
	k.send(at+40*time.Millisecond, decodetest.ClientToServer, decodetest.ApplicationData(300))
	k.send(at+71*time.Millisecond, decodetest.ServerToClient, decodetest.ApplicationData(900))
	k.seg(at+72*time.Millisecond, decodetest.ClientToServer, decodetest.FlagACK, nil)
	return synack, hello, at + 72*time.Millisecond
}

// stunSchedule is RFC 8489 6.2.1's: RTO 500 ms doubling, Rc = 7.
var stunSchedule = []time.Duration{0, 500 * time.Millisecond, 1500 * time.Millisecond, 3500 * time.Millisecond,
	7500 * time.Millisecond, 15500 * time.Millisecond, 31500 * time.Millisecond}

// unanswered appends msg from port to relay at each of the first n send
// times of the schedule, offset by at, and returns the frames.
func (b *capBuild) unanswered(at time.Duration, port uint16, relay netip.Addr, msg []byte, n int) []cbH {
	var frames []cbH
	for _, d := range stunSchedule[:n] {
		frames = append(frames, b.udp(at+d, netip.AddrPortFrom(cbClient, port), netip.AddrPortFrom(relay, decodetest.STUNPort), 128, msg))
	}
	return frames
}

// transact appends a request from port to relay and the relay's response
// 20 ms later; it returns the response.
func (b *capBuild) transact(at time.Duration, port uint16, relay netip.Addr, req, resp []byte) cbH {
	local, remote := netip.AddrPortFrom(cbClient, port), netip.AddrPortFrom(relay, decodetest.STUNPort)
	b.udp(at, local, remote, 128, req)
	return b.udp(at+20*time.Millisecond, remote, local, 113, resp)
}

func (b *capBuild) txID() [stun.TransactionIDSize]byte { return decodetest.STUNTxID(b.r) }

var cbAuth = decodetest.STUNAuth{Username: "u", Realm: "rtcmedia", Nonce: "n1", Password: "p"}

// findingOf returns the verdict's finding for cause, or nil.
func findingOf(v *Verdict, cause string) *Finding {
	for i := range v.Findings {
		if v.Findings[i].Cause == cause {
			return &v.Findings[i]
		}
	}
	return nil
}

// cites reports whether the finding's evidence cites every frame.
func cites(f *Finding, frames ...uint64) bool {
	got := citedFrames(*f)
	for _, n := range frames {
		if !slices.Contains(got, n) {
			return false
		}
	}
	return true
}

func TestSTUNBlocked(t *testing.T) {
	tests := []struct {
		name      string
		build     func(b *capBuild) []cbH // returns frames the finding must cite
		level     string                  // "" means no stun_blocked finding
		score     float64
		verdict   bool // stun_blocked is the verdict
		wantInExp string
	}{{
		name: "two relays silent, TLS fallback works",
		build: func(b *capBuild) []cbH {
			b.resolve(0, 50000, "www.bing.com", netip.MustParseAddr("13.107.21.200"))
			f1 := b.unanswered(time.Second, 50001, cbRelay1, decodetest.AllocateRequest(b.txID(), nil), 7)
			b.unanswered(time.Second+30*time.Millisecond, 50002, cbRelay2, decodetest.BindingRequest(b.txID()), 3)
			synack, hello, _ := b.dial(50003, netip.AddrPortFrom(cbRelay1, 443)).tls13(34*time.Second, "relay.communication.microsoft.com")
			return append(f1, synack, hello)
		},
		level: Likely, score: 0.82, verdict: true, wantInExp: "fell back to TCP 443",
	}, {
		name: "one relay silent, no fallback: possible only",
		build: func(b *capBuild) []cbH {
			b.resolve(0, 50000, "www.bing.com", netip.MustParseAddr("13.107.21.200"))
			return b.unanswered(time.Second, 50001, cbRelay1, decodetest.BindingRequest(b.txID()), 7)
		},
		level: Possible, score: 0.4, wantInExp: "No TCP 443 fallback",
	}, {
		name: "no inbound UDP in the capture: weak",
		build: func(b *capBuild) []cbH {
			b.unanswered(0, 50001, cbRelay1, decodetest.BindingRequest(b.txID()), 7)
			return b.unanswered(10*time.Millisecond, 50002, cbRelay2, decodetest.BindingRequest(b.txID()), 7)
		},
		level: Possible, score: 0.15,
	}, {
		name: "look-alike: 401 challenge then authenticated success",
		build: func(b *capBuild) []cbH {
			id := b.txID()
			b.transact(0, 50001, cbRelay1, decodetest.AllocateRequest(id, nil), decodetest.AllocateUnauthorized(id, cbAuth.Realm, cbAuth.Nonce))
			id = b.txID()
			b.transact(100*time.Millisecond, 50001, cbRelay1, decodetest.AllocateRequest(id, &cbAuth),
				decodetest.AllocateSuccess(id, netip.AddrPortFrom(cbRelay1, 51000), netip.MustParseAddrPort("203.0.113.7:40000"), 600*time.Second, &cbAuth))
			return nil
		},
	}, {
		name: "look-alike: one dead relay beside a live one",
		build: func(b *capBuild) []cbH {
			b.unanswered(0, 50001, cbRelay1, decodetest.BindingRequest(b.txID()), 7)
			id := b.txID()
			b.transact(40*time.Second, 50002, cbRelay2, decodetest.BindingRequest(id), decodetest.BindingSuccess(id, netip.MustParseAddrPort("203.0.113.7:40000")))
			return nil
		},
	}, {
		name: "look-alike: sent twice, the capture ends",
		build: func(b *capBuild) []cbH {
			b.resolve(0, 50000, "www.bing.com", netip.MustParseAddr("13.107.21.200"))
			b.unanswered(time.Second, 50001, cbRelay1, decodetest.BindingRequest(b.txID()), 2)
			return b.unanswered(time.Second, 50002, cbRelay2, decodetest.BindingRequest(b.txID()), 2)
		},
	}, {
		name: "look-alike: answered by ICMP (icmp_unreachable's evidence)",
		build: func(b *capBuild) []cbH {
			b.resolve(0, 50000, "www.bing.com", netip.MustParseAddr("13.107.21.200"))
			for _, relay := range []netip.Addr{cbRelay1, cbRelay2} {
				req := decodetest.UDP{IP: decodetest.IP{TTL: 128}, Src: netip.AddrPortFrom(cbClient, 50001), Dst: netip.AddrPortFrom(relay, 3478),
					Payload: decodetest.BindingRequest(b.txID())}
				for i, d := range stunSchedule[:3] {
					b.add(time.Second+d, req.Frame())
					icmp := decodetest.ICMPUnreachable{IP: decodetest.IP{TTL: 254}, Src: netip.MustParseAddr("10.20.0.254"), Dst: cbClient,
						Code: decodetest.ICMPv4AdminProhibited, Quote: req.AppendPacket(nil)}
					b.add(time.Second+d+time.Duration(i+1)*time.Millisecond, icmp.Frame())
				}
			}
			return nil
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newCapBuild(t)
			frames := tt.build(b)
			_, v := b.diagnose()
			fd := findingOf(v, STUNBlocked)
			if tt.level == "" {
				if fd != nil {
					t.Fatalf("stun_blocked fired on a look-alike\n%s", describe(v))
				}
				return
			}
			if fd == nil {
				t.Fatalf("no stun_blocked finding\n%s", describe(v))
			}
			if fd.Level != tt.level || fd.Score != tt.score || (v.Cause == STUNBlocked) != tt.verdict {
				t.Errorf("level %s (%.2f), verdict %s; want %s (%.2f), verdict %v\n%s", fd.Level, fd.Score, v.Cause, tt.level, tt.score, tt.verdict, describe(v))
			}
			if !cites(fd, b.nums(frames...)...) {
				t.Errorf("evidence cites %v, want all of %v", citedFrames(*fd), b.nums(frames...))
			}
			if !bytes.Contains([]byte(fd.Explanation), []byte(tt.wantInExp)) {
				t.Errorf("explanation %q lacks %q", fd.Explanation, tt.wantInExp)
			}
			if len(fd.Remediation) == 0 || !bytes.Contains([]byte(fd.Remediation[0]), []byte("UDP 3478-3481")) {
				t.Errorf("remediation %q does not name the ports", fd.Remediation)
			}
		})
	}
}

func TestTURNRefusal(t *testing.T) {
	relayed, mapped := netip.AddrPortFrom(cbRelay1, 51000), netip.MustParseAddrPort("203.0.113.7:40000")
	tests := []struct {
		name  string
		codes []int // Allocate error codes in order; 0 is a success
		want  int   // the code blamed, 0 for none
	}{
		{"second 401: credentials refused", []int{401, 401}, 401},
		{"quota reached", []int{401, 486}, 486},
		{"insufficient capacity", []int{508}, 508},
		{"stale nonce loop", []int{401, 438, 438}, 438},
		{"look-alike: single stale nonce then success", []int{401, 438, 0}, 0},
		{"look-alike: 401 challenge then success", []int{401, 0}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newCapBuild(t)
			var last cbH
			for i, code := range tt.codes {
				id := b.txID()
				at := time.Duration(i) * 100 * time.Millisecond
				var auth *decodetest.STUNAuth
				if i > 0 {
					auth = &cbAuth
				}
				resp := decodetest.AllocateSuccess(id, relayed, mapped, 600*time.Second, &cbAuth)
				if code != 0 {
					resp = decodetest.STUNError(stun.MethodAllocate, id, code, cbAuth.Realm, "n2")
				}
				last = b.transact(at, 50001, cbRelay1, decodetest.AllocateRequest(id, auth), resp)
			}
			_, v := b.diagnose()
			fd := findingOf(v, STUNBlocked)
			if tt.want == 0 {
				if fd != nil {
					t.Fatalf("stun_blocked fired on a look-alike\n%s", describe(v))
				}
				return
			}
			if fd == nil || fd.Level != Likely || !cites(fd, b.nums(last)...) {
				t.Fatalf("want a likely finding citing frame %d\n%s", b.nums(last)[0], describe(v))
			}
			if got := fd.Evidence[0].Values[0].Num; int(got) != tt.want {
				t.Errorf("blamed error %v, want %d", got, tt.want)
			}
		})
	}
}
