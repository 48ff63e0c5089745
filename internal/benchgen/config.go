// Package benchgen writes the benchmark capture of
// shared/research/performance.md ("The benchmark capture"): one hour of a
// 40-host office network behind one gateway, 100,000 TCP connections to
// port 443 with TLS handshakes and the failure mix qadiag diagnoses, TURN
// sessions and DNS, with a healthy Quick Assist session inside.
//
// The output is deterministic for a Config: the same seed gives the same
// bytes. Frames are strictly time-ordered; live connections are
// interleaved through a min-heap of next-frame times, and only live
// connections are held in memory, so the capture is streamed to the
// writer, never built in RAM.
package benchgen

import (
	"errors"
	"fmt"
	"time"
)

// Config chooses the size and mix of the capture. Zero fields take the
// defaults of the benchmark capture.
type Config struct {
	// Seed seeds every random choice.
	Seed int64
	// Flows is the number of TCP connections (default 100,000).
	Flows int
	// Duration is the capture length (default one hour); connections start
	// uniformly over it and frames after its end are not written.
	Duration time.Duration
	// Format is "pcap" (default) or "pcapng", both with microsecond timestamps.
	Format string
	// MsgScale multiplies the request/response count of each connection
	// (default 1).
	MsgScale float64
	// STUNSessions is the number of TURN sessions to UDP 3478 (default 1.5 %
	// of Flows: 1,500); negative writes none.
	STUNSessions int
	// DNSExchanges is the number of DNS lookups (default half of Flows:
	// 50,000); negative writes none.
	DNSExchanges int
	// IPv6Fraction is the share of connections and lookups over IPv6
	// (default 0.1); negative means none.
	IPv6Fraction float64
	// Start is the time of the capture's start (default 2026-11-24 09:00 UTC).
	Start time.Time
}

// Stats counts what Generate wrote.
type Stats struct {
	// Packets and FileBytes count the frames and the whole file written.
	Packets   int64
	FileBytes int64
	// FrameBytes counts the bytes of all frames.
	FrameBytes int64
	// TCPFlows and UDPFlows count the connections and the DNS and TURN
	// exchanges that wrote at least one frame.
	TCPFlows, UDPFlows int
	// ClientHellos counts ClientHellos whose last segment was written.
	ClientHellos int
	// IPv6Packets counts frames carrying IPv6.
	IPv6Packets int64
}

// ErrConfig reports a Config that Generate cannot use.
var ErrConfig = errors.New("benchgen: invalid config")

// Defaults of the benchmark capture.
const (
	DefaultFlows    = 100_000
	DefaultDuration = time.Hour
)

// DefaultStart is the capture start used when Config.Start is zero.
var DefaultStart = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

// withDefaults fills zero fields and checks the rest.
func (c Config) withDefaults() (Config, error) {
	if c.Flows == 0 {
		c.Flows = DefaultFlows
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if c.Format == "" {
		c.Format = "pcap"
	}
	if c.MsgScale == 0 {
		c.MsgScale = 1
	}
	if c.STUNSessions == 0 {
		c.STUNSessions = (c.Flows*15 + 999) / 1000
	}
	if c.DNSExchanges == 0 {
		c.DNSExchanges = c.Flows / 2
	}
	if c.IPv6Fraction == 0 {
		c.IPv6Fraction = 0.1
	}
	if c.Start.IsZero() {
		c.Start = DefaultStart
	}
	c.STUNSessions = max(c.STUNSessions, 0)
	c.DNSExchanges = max(c.DNSExchanges, 0)
	c.IPv6Fraction = max(c.IPv6Fraction, 0)
	switch {
	case c.Flows < 0:
		return c, fmt.Errorf("%w: negative flow count %d", ErrConfig, c.Flows)
	case c.Duration < time.Minute:
		return c, fmt.Errorf("%w: duration %v is shorter than a minute", ErrConfig, c.Duration)
	case c.Format != "pcap" && c.Format != "pcapng":
		return c, fmt.Errorf("%w: format %q is neither pcap nor pcapng", ErrConfig, c.Format)
	case c.MsgScale < 0:
		return c, fmt.Errorf("%w: negative message scale %v", ErrConfig, c.MsgScale)
	case c.IPv6Fraction > 1:
		return c, fmt.Errorf("%w: IPv6 fraction %v above 1", ErrConfig, c.IPv6Fraction)
	}
	return c, nil
}
