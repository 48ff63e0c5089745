package benchgen

import (
	"math/rand/v2"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// qaHost is the client host that runs Quick Assist.
const qaHost = 7

// qaStep is one step of the scripted session: a lookup of name, then a
// TLS connection to it.
type qaStep struct {
	after     time.Duration // after the session start
	name      string
	tls13     bool
	msgs      int
	gap       time.Duration // mean idle time between messages
	respScale float64
}

// qaSteps follow the session flow of shared/research/quickassist.md
// section 3: the service page and telemetry at launch, the helper's
// sign-in, ACS chat and Trouter notifications, then the RDP relay that
// carries the screen for ten minutes. It succeeds: the capture's failures
// are elsewhere.
var qaSteps = []qaStep{
	{0, qaService, false, 40, 2 * time.Second, 1},
	{300 * time.Millisecond, qaMonitor, true, 12, 5 * time.Second, 1},
	{350 * time.Millisecond, qaEvents, true, 20, 10 * time.Second, 1},
	{2 * time.Second, qaLogin, true, 25, 2 * time.Second, 2},
	{2500 * time.Millisecond, qaMSAuth, true, 15, 300 * time.Millisecond, 8},
	{20 * time.Second, qaACS, false, 60, 8 * time.Second, 1},
	{21 * time.Second, qaTrouter, true, 120, 6 * time.Second, 1},
	{21500 * time.Millisecond, qaEdgeSkype, true, 10, 3 * time.Second, 1},
	{60 * time.Second, qaRelay, false, 4000, 150 * time.Millisecond, 12},
}

// quickAssistEvents returns the lookups and connections of the Quick
// Assist session, placed 45 % into the capture, in time order.
func (g *gen) quickAssistEvents() []event {
	r := rand.New(rand.NewPCG(uint64(g.cfg.Seed), 0x7161))
	start := int64(float64(g.cfg.Duration) * 0.45)
	var evs []event
	for _, st := range qaSteps {
		site := siteIndex(st.name)
		at := start + int64(st.after)
		evs = append(evs, event{at: at, dns: true, look: lookup{
			host: qaHost, site: site, name: st.name, qtype: decodetest.DNSTypeA,
			rtt: dur(r, 4*time.Millisecond, 0.5, time.Millisecond, 50*time.Millisecond),
		}})
		p := plan{
			host: qaHost, site: site, tls13: st.tls13, chromium: true, msgs: st.msgs,
			close: closeFIN, rtt: int64(30 * time.Millisecond), gapMean: int64(st.gap),
			respScale: st.respScale, linkDelay: 80 * time.Microsecond,
		}
		evs = append(evs, event{at: at + int64(15*time.Millisecond), plan: p})
	}
	return evs
}
