package diagnose

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode/decodetest"
)

// tlCap is an in-memory test capture for the TLS detectors' tests: frames
// numbered from 1 in the order added.
type tlCap struct {
	frames [][]byte
	times  []time.Time
	now    time.Time
	port   uint16
}

func newTLCap() *tlCap {
	return &tlCap{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), port: 50000}
}

// add appends frames, the first d after the previous frame and the rest
// 0.1 ms apart, and returns the number of the last.
func (c *tlCap) add(d time.Duration, frames ...[]byte) uint64 {
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

func (c *tlCap) result(t *testing.T) *analyze.Result {
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

func (c *tlCap) diagnose(t *testing.T) *Verdict {
	t.Helper()
	return Diagnose(c.result(t), nil)
}

// tlConn is one TCP connection of a test capture.
type tlConn struct {
	c      *tlCap
	s      *decodetest.Session
	rtt    time.Duration
	synack uint64
}

const (
	tlC2S = decodetest.ClientToServer
	tlS2C = decodetest.ServerToClient
)

// dial opens a connection from the Windows client to server (TTL 114, 14
// hops) with the given round trip: SYN, SYN-ACK, ACK.
func (c *tlCap) dial(server string, rtt time.Duration) *tlConn { return c.dialTTL(server, rtt, 0) }

// dialTTL is dial with the server's packets arriving with TTL ttl (0: 114).
func (c *tlCap) dialTTL(server string, rtt time.Duration, ttl uint8) *tlConn {
	c.port++
	s := decodetest.NewSession(netip.AddrPortFrom(netip.MustParseAddr("10.20.30.11"), c.port), netip.MustParseAddrPort(server))
	if ttl != 0 {
		s.Server.IP.TTL = ttl
	}
	k := &tlConn{c: c, s: s, rtt: rtt}
	c.add(10*time.Millisecond, s.SYN(nil))
	k.synack = c.add(rtt, s.SYNACK(nil))
	c.add(100*time.Microsecond, s.ACK(nil, tlC2S))
	return k
}

// send appends payload from dir in segments, the first d after the
// previous frame, and returns the last frame.
func (k *tlConn) send(d time.Duration, dir decodetest.Dir, payload []byte) uint64 {
	var frames [][]byte
	k.s.Segments(dir, payload, func(f []byte) { frames = append(frames, slices.Clone(f)) })
	return k.c.add(d, frames...)
}

// hello sends a Chromium ClientHello for sni (two segments) and returns
// its last frame.
func (k *tlConn) hello(sni string) uint64 {
	return k.send(time.Millisecond, tlC2S, decodetest.ClientHello(decodetest.ChromiumHello(sni, rand.New(rand.NewPCG(1, 2)))))
}

// flags appends a bare segment with flags from dir.
func (k *tlConn) flags(d time.Duration, dir decodetest.Dir, flags uint8) uint64 {
	return k.c.add(d, k.s.Segment(nil, dir, flags, nil))
}

// forged appends a segment from dir whose TTL is ttl, as another box sends
// it, advancing the sender's sequence number as the real one would.
func (k *tlConn) forged(d time.Duration, dir decodetest.Dir, flags uint8, payload []byte, ttl uint8) uint64 {
	seg := k.s.TCP(dir, flags, payload)
	seg.TTL = ttl
	n := k.c.add(d, seg.Frame())
	if dir == tlS2C {
		k.s.Server.Next += uint32(len(payload))
	} else {
		k.s.Client.Next += uint32(len(payload))
	}
	return n
}

// tlFlight12 is a TLS 1.2 server flight with chain.
func tlFlight12(chain [][]byte) []byte {
	return slices.Concat(decodetest.ServerHello(decodetest.VersionTLS12, decodetest.SuiteECDHERSAAES128GCMSHA256, false),
		decodetest.Certificate(chain), decodetest.ServerHelloDone())
}

// finishTLS12 completes a TLS 1.2 handshake and exchanges some data.
func (k *tlConn) finishTLS12() {
	k.send(time.Millisecond, tlC2S, slices.Concat(decodetest.AppendClientKeyExchange(nil, 32), decodetest.ChangeCipherSpec(), decodetest.AppendEncryptedHandshake(nil, 40)))
	k.send(k.rtt, tlS2C, slices.Concat(decodetest.ChangeCipherSpec(), decodetest.AppendEncryptedHandshake(nil, 40)))
	k.send(time.Millisecond, tlC2S, decodetest.ApplicationData(400))
	k.send(k.rtt, tlS2C, decodetest.ApplicationData(3000))
}

// okTLS12 captures a complete TLS 1.2 connection to server for sni with a
// certificate issued by issuer (O org).
func (c *tlCap) okTLS12(server, sni, issuer, org string) *tlConn {
	k := c.dial(server, 30*time.Millisecond)
	k.hello(sni)
	k.send(k.rtt, tlS2C, tlFlight12(decodetest.CertChain(sni, issuer, org)))
	k.finishTLS12()
	return k
}

const (
	tlSNI       = "remoteassistance.support.services.microsoft.com"
	tlServer    = "20.42.65.90:443"
	tlMSIssuer  = "Microsoft Azure RSA TLS Issuing CA 03"
	tlMSOrg     = "Microsoft Corporation"
	tlOtherName = "azure.microsoft.com"
)

// findings returns the findings of cause.
func tlFindings(v *Verdict, cause string) []Finding {
	var out []Finding
	for _, f := range v.Findings {
		if f.Cause == cause {
			out = append(out, f)
		}
	}
	return out
}

// only returns the one finding of cause, failing otherwise.
func tlOnly(t *testing.T, v *Verdict, cause string) Finding {
	t.Helper()
	fs := tlFindings(v, cause)
	if len(fs) != 1 {
		t.Fatalf("%d %s findings, want 1\n%s", len(fs), cause, describe(v))
	}
	return fs[0]
}

func tlNone(t *testing.T, v *Verdict, cause string) {
	t.Helper()
	if fs := tlFindings(v, cause); len(fs) > 0 {
		t.Errorf("unexpected %s finding (%.3f)\n%s", cause, fs[0].Score, describe(v))
	}
}

// cites fails unless the finding's evidence cites every frame of want.
func tlCites(t *testing.T, f Finding, want ...uint64) {
	t.Helper()
	got := citedFrames(f)
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("%s cites frames %v, want frame %d among them", f.Cause, got, w)
		}
	}
}

func TestSNIBlocking(t *testing.T) {
	t.Run("reset with differential", func(t *testing.T) {
		c := newTLCap()
		k := c.dial(tlServer, 30*time.Millisecond)
		ch := k.hello(tlSNI)
		rst := k.flags(k.rtt, tlS2C, decodetest.FlagRST|decodetest.FlagACK) // the server's own TTL: a filter near it
		ok := c.okTLS12(tlServer, tlOtherName, tlMSIssuer, tlMSOrg)
		v := c.diagnose(t)
		f := tlOnly(t, v, SNIBlocking)
		if v.Cause != SNIBlocking || f.Level != Likely || f.Score < 0.8 {
			t.Errorf("verdict %s, finding %.3f %s; want sni_blocking, likely ≥ 0.8\n%s", v.Cause, f.Score, f.Level, describe(v))
		}
		tlCites(t, f, k.synack, ch, rst, ok.synack)
		tlNone(t, v, TLSFailure)
		if !strings.Contains(strings.Join(f.Remediation, "\n"), tlSNI) {
			t.Errorf("remediation %q does not name %s", f.Remediation, tlSNI)
		}
	})
	t.Run("drop without differential stays possible", func(t *testing.T) {
		c := newTLCap()
		k := c.dial(tlServer, 30*time.Millisecond)
		seq := k.s.Client.Next
		ch := k.hello(tlSNI)
		first := decodetest.ClientHello(decodetest.ChromiumHello(tlSNI, rand.New(rand.NewPCG(1, 2))))[:1440]
		for i := range 3 {
			seg := k.s.TCP(tlC2S, decodetest.FlagACK, first)
			seg.Seq = seq
			c.add(time.Duration(300<<i)*time.Millisecond, seg.Frame())
		}
		rst := k.flags(2*time.Second, tlC2S, decodetest.FlagRST|decodetest.FlagACK)
		v := c.diagnose(t)
		f := tlOnly(t, v, SNIBlocking)
		if f.Level != Possible || f.Score != Combine(Medium, Weak) {
			t.Errorf("finding %.3f %s, want %.3f possible", f.Score, f.Level, Combine(Medium, Weak))
		}
		tlCites(t, f, ch, rst, k.synack)
	})
	t.Run("block page", func(t *testing.T) {
		c := newTLCap()
		k := c.dial(tlServer, 30*time.Millisecond)
		ch := k.hello(tlSNI)
		k.send(k.rtt, tlS2C, decodetest.HTTPResponse(403, [2]string{"Content-Type", "text/html"}))
		k.flags(100*time.Microsecond, tlS2C, decodetest.FlagFIN|decodetest.FlagACK)
		v := c.diagnose(t)
		f := tlOnly(t, v, SNIBlocking)
		if f.Score != Combine(Strong, Weak) {
			t.Errorf("score %.3f, want %.3f\n%s", f.Score, Combine(Strong, Weak), describe(v))
		}
		tlCites(t, f, ch)
	})
	t.Run("forged alert", func(t *testing.T) {
		c := newTLCap()
		k := c.dial(tlServer, 30*time.Millisecond)
		k.hello(tlSNI)
		al := k.forged(2*time.Millisecond, tlS2C, decodetest.FlagPSH|decodetest.FlagACK, decodetest.Alert(decodetest.AlertFatal, decodetest.AlertAccessDenied), 63)
		v := c.diagnose(t)
		f := tlOnly(t, v, SNIBlocking)
		if f.Score != Combine(Medium, Medium, Weak) {
			t.Errorf("score %.3f, want %.3f\n%s", f.Score, Combine(Medium, Medium, Weak), describe(v))
		}
		tlCites(t, f, al, k.synack)
		tlNone(t, v, TLSFailure) // another box spoke, not the server
	})
}

// TestSNIBlockingLookAlikes are failures and oddities that must not be
// blamed on a name filter.
func TestSNIBlockingLookAlikes(t *testing.T) {
	tests := []struct {
		name  string
		build func(c *tlCap)
	}{{
		name: "reset after the ServerHello",
		build: func(c *tlCap) {
			k := c.dial(tlServer, 30*time.Millisecond)
			k.hello(tlSNI)
			k.send(k.rtt, tlS2C, tlFlight12(decodetest.CertChain(tlSNI, tlMSIssuer, tlMSOrg)))
			k.flags(time.Millisecond, tlS2C, decodetest.FlagRST|decodetest.FlagACK)
		},
	}, {
		name: "large ClientHello segment lost, the server acknowledges the rest",
		build: func(c *tlCap) {
			k := c.dial(tlServer, 30*time.Millisecond)
			seq := k.s.Client.Next
			k.hello(tlSNI)
			k.flags(k.rtt, tlS2C, decodetest.FlagACK) // a duplicate ACK: the small segment arrived
			seg := k.s.TCP(tlC2S, decodetest.FlagACK, make([]byte, 1440))
			seg.Seq = seq
			c.add(300*time.Millisecond, seg.Frame())
			k.flags(time.Second, tlC2S, decodetest.FlagRST|decodetest.FlagACK)
		},
	}, {
		name: "capture ends after the ClientHello",
		build: func(c *tlCap) {
			k := c.dial(tlServer, 30*time.Millisecond)
			k.hello(tlSNI)
		},
	}, {
		name: "client gives up quickly",
		build: func(c *tlCap) {
			k := c.dial(tlServer, 30*time.Millisecond)
			k.hello(tlSNI)
			k.flags(k.rtt, tlS2C, decodetest.FlagACK)
			k.flags(200*time.Millisecond, tlC2S, decodetest.FlagFIN|decodetest.FlagACK)
		},
	}, {
		name: "protocol_version explained by a TLS 1.1 ClientHello",
		build: func(c *tlCap) {
			k := c.dial(tlServer, 30*time.Millisecond)
			k.send(time.Millisecond, tlC2S, tlLegacyHello(tlSNI, 0x0302))
			k.send(k.rtt, tlS2C, decodetest.Alert(decodetest.AlertFatal, decodetest.AlertProtocolVersion))
			k.flags(100*time.Microsecond, tlS2C, decodetest.FlagFIN|decodetest.FlagACK)
		},
	}, {
		name: "not a Quick Assist name",
		build: func(c *tlCap) {
			k := c.dial(tlServer, 30*time.Millisecond)
			k.hello("discord.com")
			k.flags(time.Millisecond, tlS2C, decodetest.FlagRST|decodetest.FlagACK)
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTLCap()
			tt.build(c)
			tlNone(t, c.diagnose(t), SNIBlocking)
		})
	}
}

// TestSNIBlockingSameNameWorks: the name answered on another connection
// removes the differential and repetition signals.
func TestSNIBlockingSameNameWorks(t *testing.T) {
	c := newTLCap()
	k := c.dial(tlServer, 30*time.Millisecond)
	k.hello(tlSNI)
	k.flags(k.rtt, tlS2C, decodetest.FlagRST|decodetest.FlagACK)
	c.okTLS12(tlServer, tlOtherName, tlMSIssuer, tlMSOrg)
	c.okTLS12("20.42.65.91:443", tlSNI, tlMSIssuer, tlMSOrg)
	v := c.diagnose(t)
	f := tlOnly(t, v, SNIBlocking)
	if f.Score >= minFaultScore {
		t.Errorf("score %.3f, want below %.1f when the same name works elsewhere\n%s", f.Score, minFaultScore, describe(v))
	}
	if v.Cause == SNIBlocking {
		t.Errorf("verdict sni_blocking although the name works on another connection")
	}
}

// legacyHello is a Schannel ClientHello offering at most version, with no
// supported_versions or key_share.
func tlLegacyHello(sni string, version uint16) []byte {
	o := decodetest.SchannelHello(sni, rand.New(rand.NewPCG(3, 4)))
	o.Version, o.SupportedVersions, o.KeyShares = version, nil, nil
	o.Extensions = slices.DeleteFunc(o.Extensions, func(e decodetest.Extension) bool { return e.Type == decodetest.ExtPSKModes })
	return decodetest.ClientHello(o)
}
