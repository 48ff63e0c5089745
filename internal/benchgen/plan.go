package benchgen

import (
	"math"
	"math/rand/v2"
	"time"
)

// outcome is how a TCP connection ends up.
type outcome uint8

// Outcomes of shared/research/performance.md: 3 % refused, 2 % SYN
// unanswered, 2 % forged reset after the ClientHello, 1 % TLS alert 40,
// 92 % full TLS.
const (
	outFull outcome = iota
	outRefused
	outNoAnswer
	outForgedRST
	outAlert
)

// closing is how a full TLS connection closes: 80 % FIN, 15 % RST, 5 %
// left open.
type closing uint8

const (
	closeFIN closing = iota
	closeRST
	closeOpen
)

// certVariant is the certificate chain a TLS 1.2 server sends: 95 % the
// site's own issuer, 2 % expired, 3 % an inspection proxy's CA.
type certVariant uint8

const (
	certOK certVariant = iota
	certExpired
	certProxy
)

// plan holds every choice about one TCP connection, drawn when it starts.
type plan struct {
	host, site  int
	v6          bool
	out         outcome
	tls13       bool
	resumed     bool
	chromium    bool
	cert        certVariant
	msgs        int
	close       closing
	serverClose bool          // the server sends the first FIN
	rtt         int64         // round-trip time from the client, ns
	gapMean     int64         // mean idle time between messages, ns
	respScale   float64       // multiplies response sizes
	linkDelay   time.Duration // spacing of back-to-back server segments
}

// randomPlan draws a connection of the benchmark mix.
func (g *gen) randomPlan(r *rand.Rand) plan {
	p := plan{host: r.IntN(numHosts), v6: chance(r, g.cfg.IPv6Fraction), respScale: 1}
	p.site = g.picker.pick(r, p.v6)
	switch x := r.Float64(); {
	case x < 0.03:
		p.out = outRefused
	case x < 0.05:
		p.out = outNoAnswer
	case x < 0.07:
		p.out = outForgedRST
	case x < 0.08:
		p.out = outAlert
	}
	p.chromium = chance(r, 0.6)
	p.tls13 = chance(r, 0.8)
	p.resumed = p.tls13 && chance(r, 0.5)
	switch x := r.Float64(); {
	case x < 0.02:
		p.cert = certExpired
	case x < 0.05:
		p.cert = certProxy
	}
	p.msgs = messageCount(r, g.cfg.MsgScale)
	switch x := r.Float64(); {
	case x < 0.15:
		p.close = closeRST
	case x < 0.20:
		p.close = closeOpen
	}
	p.serverClose = chance(r, 0.4)
	p.rtt = dur(r, 25*time.Millisecond, 0.6, 2*time.Millisecond, 400*time.Millisecond)
	p.gapMean = int64(min(max(600*time.Second/time.Duration(max(p.msgs, 1)), 20*time.Millisecond), 8*time.Second))
	p.linkDelay = time.Duration(60+r.IntN(70)) * time.Microsecond
	return p
}

// messageCount draws the request/response count: Pareto with scale 5.5
// and shape 1.3, capped at 10,000, times scale.
func messageCount(r *rand.Rand, scale float64) int {
	n := min(math.Floor(pareto(r, 5.5, 1.3)), 10_000)
	return int(math.Round(n * scale))
}

// requestSize draws a request body: log-normal around 50 bytes (HTTP/2
// frames with compressed headers), with 0.05 % uploads of 10-60 kB.
func requestSize(r *rand.Rand) int {
	if chance(r, 0.0005) {
		return 10_000 + r.IntN(50_000)
	}
	return int(min(max(logNormal(r, 50, 0.6), 9), 16_000))
}

// responseSize draws a response body: log-normal with median 90 bytes and
// sigma 0.95, so 94 % are under 400 bytes, plus 0.1 % bulk transfers
// of 25 kB and more.
func responseSize(r *rand.Rand, scale float64) int {
	if chance(r, 0.001) {
		return 25_000 + int(r.ExpFloat64()*10_000)
	}
	return int(max(logNormal(r, 90, 0.95), 9) * scale)
}

// messageGap draws the idle time before the next request: 15 % are
// bursts of 1-30 ms, the rest exponential, with mean gapMean overall.
func messageGap(r *rand.Rand, gapMean int64) int64 {
	if chance(r, 0.15) {
		return uniformDur(r, time.Millisecond, 30*time.Millisecond)
	}
	return expDur(r, time.Duration(max((gapMean-int64(0.15*float64(15*time.Millisecond)))*100/85, int64(time.Millisecond))))
}
