package diagnose

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/pion/stun/v3"

	"github.com/qadiag/qadiag/decode/decodetest"
)

const cbRelayName = "rdprelayv3eastusprod-4.support.services.microsoft.com"

// deadData adds client data at and n retransmissions of it, the RTO
// doubling from Windows's 300 ms floor, and returns them all.
func (k *cbConn) deadData(at time.Duration, n int) []cbH {
	payload := decodetest.ApplicationData(120)
	seq := k.s.Client.Next
	hs := []cbH{k.seg(at, decodetest.ClientToServer, decodetest.FlagACK|decodetest.FlagPSH, payload)}
	rto := 300 * time.Millisecond
	for range n {
		at += rto
		rto *= 2
		t := k.s.TCP(decodetest.ClientToServer, decodetest.FlagACK|decodetest.FlagPSH, payload)
		t.Seq = seq
		k.s.Client.IP.IPID++
		hs = append(hs, k.b.add(at, t.Frame()))
	}
	return hs
}

// relayIdle opens a working relay connection, goes silent for idle and
// returns the connection, the last frame before the silence and the time
// the silence ends.
func (b *capBuild) relayIdle(idle time.Duration) (*cbConn, cbH, time.Duration) {
	k := b.dial(51000, netip.AddrPortFrom(cbRDPRelay, 443))
	_, _, end := k.tls13(0, cbRelayName)
	last := k.send(end+time.Second, decodetest.ServerToClient, decodetest.ApplicationData(800))
	return k, last, end + time.Second + idle
}

func TestNATTimeoutTCP(t *testing.T) {
	tests := []struct {
		name    string
		build   func(b *capBuild) []cbH // frames the finding must cite
		level   string                  // "" means no nat_timeout finding
		score   float64
		verdict bool
		text    string // in the evidence or remediation
	}{{
		name: "silent drop after 380 s, a new connection works",
		build: func(b *capBuild) []cbH {
			k, last, at := b.relayIdle(380 * time.Second)
			dead := k.deadData(at, 5)
			k.seg(at+20*time.Second, decodetest.ClientToServer, decodetest.FlagRST|decodetest.FlagACK, nil)
			synack, _, _ := b.dial(51001, netip.AddrPortFrom(cbRDPRelay, 443)).tls13(at+20*time.Second+200*time.Millisecond, cbRelayName)
			return []cbH{last, dead[0], synack}
		},
		level: Likely, score: 0.64, verdict: true, text: "Raise the idle timeout for established TCP",
	}, {
		name: "silent drop, no new connection: possible only",
		build: func(b *capBuild) []cbH {
			k, last, at := b.relayIdle(380 * time.Second)
			return append([]cbH{last}, k.deadData(at, 5)[0])
		},
		level: Possible, score: 0.4, text: "350 s idle timer of AWS",
	}, {
		name: "reset from a middlebox after 360 s",
		build: func(b *capBuild) []cbH {
			k, last, at := b.relayIdle(360 * time.Second)
			trig := k.seg(at, decodetest.ClientToServer, decodetest.FlagACK|decodetest.FlagPSH, decodetest.ApplicationData(90))
			r := k.s.TCP(decodetest.ServerToClient, decodetest.FlagRST, nil)
			r.TTL = 60
			rst := b.add(at+2*time.Millisecond, r.Frame())
			synack, _, _ := b.dial(51001, netip.AddrPortFrom(cbRDPRelay, 443)).tls13(at+time.Second, cbRelayName)
			return []cbH{last, trig, rst, synack}
		},
		// The reset's TTL and timing are forged, but it answers the first
		// packet after the silence: rst_injection leaves it to nat_timeout.
		level: Likely, score: 0.64, verdict: true, text: "a NAT or firewall on the path sent it",
	}, {
		name: "reset from the server's side after 360 s",
		build: func(b *capBuild) []cbH {
			k, _, at := b.relayIdle(360 * time.Second)
			k.seg(at, decodetest.ClientToServer, decodetest.FlagACK|decodetest.FlagPSH, decodetest.ApplicationData(90))
			rst := k.seg(at+30*time.Millisecond, decodetest.ServerToClient, decodetest.FlagRST, nil)
			b.dial(51001, netip.AddrPortFrom(cbRDPRelay, 443)).tls13(at+time.Second, cbRelayName)
			return []cbH{rst}
		},
		level: Likely, score: 0.64, verdict: true, text: "The reset came from the server's side",
	}, {
		name: "idle reset at the 240 s timer, no client trigger",
		build: func(b *capBuild) []cbH {
			k, last, at := b.relayIdle(240*time.Second + 500*time.Millisecond)
			return []cbH{last, k.seg(at, decodetest.ServerToClient, decodetest.FlagRST|decodetest.FlagACK, nil)}
		},
		level: Likely, score: 0.7, verdict: true, text: "an idle timer fired",
	}, {
		name: "look-alike: 400 s idle, then the server answers",
		build: func(b *capBuild) []cbH {
			k, _, at := b.relayIdle(400 * time.Second)
			k.send(at, decodetest.ClientToServer, decodetest.ApplicationData(90))
			k.send(at+30*time.Millisecond, decodetest.ServerToClient, decodetest.ApplicationData(1200))
			return nil
		},
	}, {
		name: "look-alike: 200 s idle, shorter than any TCP timer",
		build: func(b *capBuild) []cbH {
			k, _, at := b.relayIdle(200 * time.Second)
			k.deadData(at, 5)
			b.dial(51001, netip.AddrPortFrom(cbRDPRelay, 443)).tls13(at+20*time.Second, cbRelayName)
			return nil
		},
	}, {
		name: "look-alike: the new connection fails too (server down)",
		build: func(b *capBuild) []cbH {
			k, _, at := b.relayIdle(380 * time.Second)
			k.deadData(at, 5)
			k2 := b.dial(51001, netip.AddrPortFrom(cbRDPRelay, 443))
			for i := range 3 {
				t := k2.s.TCP(decodetest.ClientToServer, decodetest.FlagSYN, nil)
				b.add(at+20*time.Second+time.Duration(i)*time.Second, t.Frame())
			}
			return nil
		},
	}, {
		name: "look-alike: the client roamed to another address",
		build: func(b *capBuild) []cbH {
			k, _, at := b.relayIdle(380 * time.Second)
			k.deadData(at, 5)
			k2 := &cbConn{b: b, s: decodetest.NewSession(netip.MustParseAddrPort("192.168.1.50:51001"), netip.AddrPortFrom(cbRDPRelay, 443))}
			k2.tls13(at+20*time.Second, cbRelayName)
			return nil
		},
	}, {
		name: "look-alike: the server closed before the silence",
		build: func(b *capBuild) []cbH {
			k, _, at := b.relayIdle(380 * time.Second)
			k.seg(at-380*time.Second+time.Second, decodetest.ServerToClient, decodetest.FlagFIN|decodetest.FlagACK, nil)
			k.seg(at, decodetest.ClientToServer, decodetest.FlagACK|decodetest.FlagPSH, decodetest.ApplicationData(90))
			k.seg(at+30*time.Millisecond, decodetest.ServerToClient, decodetest.FlagRST, nil)
			return nil
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newCapBuild(t)
			frames := tt.build(b)
			_, v := b.diagnose()
			checkNAT(t, b, v, frames, tt.level, tt.score, tt.verdict, tt.text)
		})
	}
}

func checkNAT(t *testing.T, b *capBuild, v *Verdict, frames []cbH, level string, score float64, verdict bool, text string) {
	t.Helper()
	fd := findingOf(v, NATTimeout)
	if level == "" {
		if fd != nil {
			t.Fatalf("nat_timeout fired on a look-alike\n%s", describe(v))
		}
		return
	}
	if fd == nil {
		t.Fatalf("no nat_timeout finding\n%s", describe(v))
	}
	if fd.Level != level || fd.Score != score || (v.Cause == NATTimeout) != verdict {
		t.Errorf("level %s (%.2f), verdict %s; want %s (%.2f), verdict %v\n%s", fd.Level, fd.Score, v.Cause, level, score, verdict, describe(v))
	}
	if !cites(fd, b.nums(frames...)...) {
		t.Errorf("evidence cites %v, want all of %v\n%s", citedFrames(*fd), b.nums(frames...), describe(v))
	}
	all := strings.Join(fd.Remediation, "\n")
	for _, e := range fd.Evidence {
		all += "\n" + e.Text
	}
	if !strings.Contains(all, text) {
		t.Errorf("evidence and remediation lack %q:\n%s", text, all)
	}
}

func TestNATTimeoutUDP(t *testing.T) {
	relayed := netip.AddrPortFrom(cbRelay1, 51000)
	before, after := netip.MustParseAddrPort("203.0.113.77:40123"), netip.MustParseAddrPort("203.0.113.77:61233")
	// allocate adds a TURN allocation with lifetime life that reports
	// mapped, and returns the success response.
	allocate := func(b *capBuild, life time.Duration) cbH {
		id := b.txID()
		b.transact(0, 50001, cbRelay1, decodetest.AllocateRequest(id, nil), decodetest.AllocateUnauthorized(id, cbAuth.Realm, cbAuth.Nonce))
		id = b.txID()
		return b.transact(100*time.Millisecond, 50001, cbRelay1, decodetest.AllocateRequest(id, &cbAuth),
			decodetest.AllocateSuccess(id, relayed, before, life, &cbAuth))
	}
	refresh437 := func(b *capBuild, at time.Duration) cbH {
		id := b.txID()
		return b.transact(at, 50001, cbRelay1, decodetest.RefreshRequest(id, 600*time.Second, &cbAuth),
			decodetest.STUNError(stun.MethodRefresh, id, decodetest.STUNAllocationMismatch, "", ""))
	}
	binding := func(b *capBuild, at time.Duration, mapped netip.AddrPort) cbH {
		id := b.txID()
		return b.transact(at, 50001, cbRelay1, decodetest.BindingRequest(id), decodetest.BindingSuccess(id, mapped))
	}
	tests := []struct {
		name    string
		build   func(b *capBuild) []cbH
		level   string
		score   float64
		verdict bool
		text    string
	}{{
		name: "437 and a new mapped address after 150 s",
		build: func(b *capBuild) []cbH {
			ok := allocate(b, 600*time.Second)
			mismatch := refresh437(b, 150*time.Second)
			return []cbH{ok, mismatch, binding(b, 151*time.Second, after)}
		},
		level: Confirmed, score: 0.91, verdict: true, text: "Raise the UDP mapping timeout",
	}, {
		name: "a new mapped address after 60 s",
		build: func(b *capBuild) []cbH {
			return []cbH{binding(b, 0, before), binding(b, 60*time.Second, after)}
		},
		level: Likely, score: 0.7, verdict: true, text: "the NAT created a new mapping",
	}, {
		name: "look-alike: same mapped address after the silence",
		build: func(b *capBuild) []cbH {
			binding(b, 0, before)
			binding(b, 150*time.Second, before)
			return nil
		},
	}, {
		name: "look-alike: mapped address changes without a silence",
		build: func(b *capBuild) []cbH {
			binding(b, 0, before)
			binding(b, 5*time.Second, after)
			return nil
		},
	}, {
		name: "look-alike: 437 after the allocation's own lifetime ran out",
		build: func(b *capBuild) []cbH {
			allocate(b, 120*time.Second)
			refresh437(b, 150*time.Second)
			return nil
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newCapBuild(t)
			frames := tt.build(b)
			_, v := b.diagnose()
			checkNAT(t, b, v, frames, tt.level, tt.score, tt.verdict, tt.text)
		})
	}
}
