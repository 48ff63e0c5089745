// Package scenario generates the synthetic captures qadiag's diagnosis is
// tested on: one or more per cause of DESIGN.md, and look-alikes that a
// careless detector would blame on a cause although Quick Assist worked.
//
// Every capture is built from decodetest's frame builders with fixed
// seeds, a fixed base time (2026-03-02T09:00:00Z) and fixed addresses, so the output is
// byte-for-byte the same on every run. The frames that prove a scenario's
// cause (key frames) are marked while the capture is built and numbered
// after the frames are put in time order, so they never go stale.
//
// The client is a Windows PC (TTL 128, incrementing IP IDs per flow,
// ephemeral ports from 49152, WebView2 or Schannel ClientHellos); servers
// have the names of shared/research/quickassist.md and Azure-looking
// addresses; timers and thresholds come from shared/research/heuristics.md.
package scenario

import (
	"fmt"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// Verdicts that are not causes (DESIGN.md).
const (
	Healthy       = "healthy"
	NoQuickAssist = "no_quick_assist_traffic"
)

// Scenario is one synthetic capture and what qadiag should conclude from it.
type Scenario struct {
	// Name is "<cause>-<variant>"; the file is Name plus the format's
	// extension.
	Name string
	// Cause is the expected verdict: a cause id of DESIGN.md, "healthy" or
	// "no_quick_assist_traffic".
	Cause string
	// LookAlike marks a healthy capture built to resemble a fault.
	LookAlike bool
	// Description says what the capture shows, in one or two sentences.
	Description string
	// Format and Link choose the container and link-layer header.
	Format decodetest.Format
	Link   decodetest.LinkType

	build func(c *capture)
}

// File returns the scenario's file name.
func (s *Scenario) File() string {
	if s.Format == decodetest.FormatPcapng {
		return s.Name + ".pcapng"
	}
	return s.Name + ".pcap"
}

// Capture is a built scenario: the file's bytes, how many frames it holds,
// and the 1-based numbers of the frames that prove the cause, ascending.
type Capture struct {
	Data      []byte
	Frames    int
	KeyFrames []uint64
}

// Build generates the capture. It is deterministic: every call returns
// the same bytes.
func (s *Scenario) Build() (*Capture, error) {
	c := newCapture(s.Name, s.Link)
	s.build(c)
	if len(c.frames) == 0 {
		return nil, fmt.Errorf("scenario %s: no frames", s.Name)
	}
	order := c.order()
	data, err := c.encode(s.Format, order)
	if err != nil {
		return nil, fmt.Errorf("scenario %s: %w", s.Name, err)
	}
	return &Capture{Data: data, Frames: len(order), KeyFrames: c.keyFrames(order)}, nil
}

// All returns every scenario, sorted by file name.
func All() []Scenario {
	var all []Scenario
	for _, group := range [][]Scenario{
		rstInjection(), sniBlocking(), tlsInterception(), proxyBlocking(),
		stunBlocked(), natTimeout(), dnsFailure(), portBlocked(),
		icmpUnreachable(), mtuBlackhole(), tlsFailure(), healthy(),
		noQuickAssist(), lookAlikes(),
	} {
		all = append(all, group...)
	}
	sortByFile(all)
	return all
}
