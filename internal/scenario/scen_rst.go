package scenario

import (
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

const (
	pcap   = decodetest.FormatPcap
	pcapng = decodetest.FormatPcapng
	eth    = decodetest.LinkEthernet
	sll2   = decodetest.LinkSLL2
)

// rstInjection: resets forged by a middlebox (shared/research/heuristics.md
// section 1).
func rstInjection() []Scenario {
	return []Scenario{{
		Name: "rst_injection-ttl-mismatch", Cause: "rst_injection", Format: pcap, Link: eth,
		Description: "Sign-in works; two connections to remoteassistance.support.services.microsoft.com are reset 2 ms after the ClientHello " +
			"(RTT 31 ms) by a RST with TTL 64 (the SYN-ACK had 113), IP ID 0 and no DF.",
		build: buildRSTTTL,
	}, {
		Name: "rst_injection-burst-both-ways", Cause: "rst_injection", Format: pcapng, Link: eth,
		Description: "Captured on a mirror port of the office uplink (both directions): after the ClientHello an injector sends three RST-ACKs " +
			"to the client (seq base, +1460, +4380; TTL 47) and three to the server in the client's name (TTL 47, random IP IDs).",
		build: buildRSTBurst,
	}, {
		Name: "rst_injection-data-after-rst", Cause: "rst_injection", Format: pcap, Link: eth,
		Description: "IPv6: a RST (hop limit 60, server's SYN-ACK 113) arrives 2.4 ms after the ClientHello; the real ServerHello follows " +
			"one RTT later with a sequence number at or above the RST's, and the client answers it with RSTs.",
		build: buildRSTDataAfter,
	}}
}

// forgedRST returns an edit that makes a segment look injected: a TTL
// that does not fit the sender, an IP ID of its own and no DF.
func forgedRST(ttl uint8, ipid uint16, seq uint32, window uint16) func(t *decodetest.TCP) {
	return func(t *decodetest.TCP) {
		t.TTL, t.IPID, t.DF, t.Window, t.Seq = ttl, ipid, false, window, seq
	}
}

func buildRSTTTL(c *capture) {
	end, _ := c.resolve(200*time.Millisecond, &qaLogin)
	c.https(end+time.Millisecond, &qaLogin, false, 2)
	at := 1500 * time.Millisecond
	for try := range 2 {
		end, _ := c.resolve(at, &qaService)
		k := c.dial(end+c.jitter(time.Millisecond), &qaService, false, 443)
		_, synack, _ := k.open()
		ch := k.clientHello(c.chromium(qaService.name))
		rst := k.custom(c.jitter(2*time.Millisecond), s2c, fRST|fACK, nil, true,
			forgedRST(64, 0, k.s.Server.Next, 0))
		c.key(synack, rst)
		c.key(ch...)
		at = k.t + c.jitter(time.Duration(try+1)*time.Second)
	}
}

func buildRSTBurst(c *capture) {
	end, _ := c.resolve(100*time.Millisecond, &bing)
	c.https(end+time.Millisecond, &bing, false, 2)
	end, _ = c.resolve(900*time.Millisecond, &qaService)
	k := c.dial(end+c.jitter(time.Millisecond), &qaService, false, 443)
	_, synack, _ := k.open()
	ch := k.clientHello(c.chromium(qaService.name))
	c.key(synack)
	c.key(ch...)
	srvSeq, cliSeq := k.s.Server.Next, k.s.Client.Next
	for i, off := range []uint32{0, 1460, 4380} { // GFW 2006 pattern (heuristics.md section 1 row 6)
		dt := c.jitter(1800 * time.Microsecond)
		if i > 0 {
			dt = c.jitter(60 * time.Microsecond)
		}
		toClient := k.custom(dt, s2c, fRST|fACK, nil, true, forgedRST(47, uint16(c.r.Uint32()), srvSeq+off, 1980+uint16(i)))
		toServer := k.custom(c.jitter(20*time.Microsecond), c2s, fRST|fACK, nil, true,
			forgedRST(47, uint16(c.r.Uint32()), cliSeq+off, 3293+uint16(i)))
		c.key(toClient, toServer)
	}
	// The app tries again ten seconds later; the same reset comes back.
	k2 := c.dial(k.t+10*time.Second, &qaService, false, 443)
	_, synack2, _ := k2.open()
	ch2 := k2.clientHello(c.chromium(qaService.name))
	rst := k2.custom(c.jitter(1900*time.Microsecond), s2c, fRST|fACK, nil, true,
		forgedRST(47, uint16(c.r.Uint32()), k2.s.Server.Next, 1980))
	c.key(synack2, rst)
	c.key(ch2...)
}

func buildRSTDataAfter(c *capture) {
	c.host = &dual
	end, _ := c.resolve(150*time.Millisecond, &qaService)
	k := c.dial(end+c.jitter(time.Millisecond), &qaService, true, 443)
	_, synack, _ := k.open()
	h := c.chromium(qaService.name)
	ch := k.clientHello(h)
	hello := k.t
	rst := k.custom(c.jitter(2400*time.Microsecond), s2c, fRST|fACK, nil, true,
		forgedRST(60, 0, k.s.Server.Next, 0))
	// The genuine server never saw a reset: its flight arrives one RTT
	// after the ClientHello, at and above the RST's sequence number.
	k.t = hello
	o := decodetest.ServerHelloOpts{Version: decodetest.VersionTLS13, CipherSuite: decodetest.SuiteAES128GCMSHA256, SessionID: h.opts.SessionID, Rand: c.r}
	c.fill(o.Random[:])
	flight := decodetest.AppendServerHello(nil, &o)
	flight = append(flight, decodetest.ChangeCipherSpec()...)
	flight = decodetest.AppendApplicationData(flight, 4100)
	size := k.s.SegmentSize(s2c)
	k.t += k.reply() + c.jitter(serverThink)
	var data []handle
	for off := 0; off < len(flight); off += size {
		seg := flight[off:min(off+size, len(flight))]
		flags := fACK
		if off+size >= len(flight) {
			flags |= fPSH
		}
		data = append(data, k.seg(0, s2c, flags, seg))
		// The client's stack has no connection any more: it answers
		// with a bare RST carrying the segment's ACK number (RFC 9293
		// 3.10.7.1).
		if off < 2*size {
			ack := k.s.Client.Next
			r := k.custom(c.jitter(30*time.Microsecond), c2s, fRST, nil, false, func(t *decodetest.TCP) { t.Seq, t.Ack, t.Window = ack, 0, 0 })
			c.key(r)
		}
		k.t += c.jitter(arrivalGap)
	}
	c.key(synack, rst, data[0])
	c.key(ch...)
	end, _ = c.resolve(k.t+2*time.Second, &google)
	c.https(end+time.Millisecond, &google, true, 1)
}
