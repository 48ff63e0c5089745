package benchgen

import (
	"fmt"
	"io"
	"iter"
	"math/rand/v2"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// flow is one source of frames: a coroutine that computes its next frame
// and the time it is captured, or a spawner that starts new flows. The
// heap orders flows by that time.
type flow struct {
	at    int64 // capture time of the pending frame, ns after the start
	seq   uint64
	frame []byte // pending frame; valid until next is called again
	hello bool   // the pending frame completes a ClientHello
	v6    bool
	udp   bool
	wrote bool
	next  func() (int64, bool)
	stop  func()
	spawn func(g *gen, at int64) (int64, bool) // non-nil for spawners
}

// script is the state a flow coroutine shares with the generator.
type script struct {
	f     *flow
	r     *rand.Rand
	t     int64
	yield func(int64) bool
}

// emit hands frame, captured at s.t, to the generator and reports whether
// the flow should go on.
func (s *script) emit(frame []byte) bool {
	s.f.frame = frame
	return s.yield(s.t)
}

// gen is one run of Generate.
type gen struct {
	cfg    Config
	w      *decodetest.Writer
	heap   []*flow
	seq    uint64
	end    int64
	lastUS int64
	stats  Stats
	hosts  []host
	picker *picker
	tls    *tlsTemplates
}

// Generate writes the capture cfg describes to w and returns what it
// wrote. It holds only live connections in memory and streams frames
// through a 1 MiB buffer.
func Generate(w io.Writer, cfg Config) (Stats, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	opts := decodetest.WriterOptions{LinkType: decodetest.LinkEthernet.PcapLinkType()}
	if cfg.Format == "pcapng" {
		opts.Format = decodetest.FormatPcapng
	}
	cw, err := decodetest.NewWriter(w, opts)
	if err != nil {
		return Stats{}, err
	}
	root := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x62656e6368))
	g := &gen{
		cfg: cfg, w: cw, end: int64(cfg.Duration), lastUS: -1,
		hosts: newHosts(root), picker: newPicker(), tls: newTLSTemplates(),
	}
	g.addSpawners()
	err = g.run()
	g.stats.Packets, g.stats.FileBytes = cw.Packets(), cw.Bytes()
	if err != nil {
		return g.stats, err
	}
	if err := cw.Flush(); err != nil {
		return g.stats, err
	}
	g.stats.FileBytes = cw.Bytes()
	return g.stats, nil
}

// run pops flows in time order, writes their frames and advances them.
func (g *gen) run() error {
	defer g.stopAll()
	for len(g.heap) > 0 {
		f := g.pop()
		if f.at >= g.end {
			if f.stop != nil {
				f.stop()
			}
			continue
		}
		if f.spawn != nil {
			if at, ok := f.spawn(g, f.at); ok {
				g.push(f, at)
			}
			continue
		}
		if err := g.write(f); err != nil {
			f.stop()
			return err
		}
		if at, ok := f.next(); ok {
			g.push(f, at)
		}
	}
	return nil
}

// write writes the pending frame of f. Timestamps are microseconds and
// strictly increasing: a frame that would share its microsecond with the
// previous one moves one microsecond later.
func (g *gen) write(f *flow) error {
	us := f.at / 1000
	if us <= g.lastUS {
		us = g.lastUS + 1
	}
	g.lastUS = us
	ts := g.cfg.Start.Add(time.Duration(us) * time.Microsecond)
	if err := g.w.WritePacket(ts, f.frame); err != nil {
		return fmt.Errorf("benchgen: %w", err)
	}
	g.stats.FrameBytes += int64(len(f.frame))
	if f.v6 {
		g.stats.IPv6Packets++
	}
	if f.hello {
		g.stats.ClientHellos++
	}
	if !f.wrote {
		f.wrote = true
		if f.udp {
			g.stats.UDPFlows++
		} else {
			g.stats.TCPFlows++
		}
	}
	return nil
}

// start runs body as the coroutine of f and queues its first frame.
func (g *gen) start(f *flow, body func(yield func(int64) bool)) {
	f.next, f.stop = iter.Pull(body)
	if at, ok := f.next(); ok {
		g.push(f, at)
	}
}

// stopAll ends the coroutines still queued, after an error.
func (g *gen) stopAll() {
	for _, f := range g.heap {
		if f.stop != nil {
			f.stop()
		}
	}
	g.heap = nil
}

// less orders flows by time, then by the order they were queued, so that
// ties break the same way in every run.
func less(a, b *flow) bool {
	return a.at < b.at || a.at == b.at && a.seq < b.seq
}

func (g *gen) push(f *flow, at int64) {
	f.at, f.seq = at, g.seq
	g.seq++
	h := append(g.heap, f)
	i := len(h) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !less(h[i], h[p]) {
			break
		}
		h[i], h[p] = h[p], h[i]
		i = p
	}
	g.heap = h
}

func (g *gen) pop() *flow {
	h := g.heap
	top := h[0]
	n := len(h) - 1
	h[0] = h[n]
	h[n] = nil
	h = h[:n]
	for i := 0; ; {
		l, m := 2*i+1, i
		if l < n && less(h[l], h[m]) {
			m = l
		}
		if r := l + 1; r < n && less(h[r], h[m]) {
			m = r
		}
		if m == i {
			break
		}
		h[i], h[m] = h[m], h[i]
		i = m
	}
	g.heap = h
	return top
}
