package benchgen

import (
	"math/rand/v2"
	"time"
)

// Flow kinds, mixed into per-flow seeds so that each kind draws from its
// own streams.
const (
	kindTCP uint64 = iota + 1
	kindDNS
	kindSTUN
	kindArrivals
)

// rng returns the random source of flow i of a kind: every flow has its
// own, so a change in one flow's draws does not shift the others'.
func (g *gen) rng(kind uint64, i int) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(g.cfg.Seed), kind<<48|uint64(i)))
}

// addSpawners queues the spawners of random TCP connections, DNS lookups
// and TURN sessions, and of the scripted Quick Assist session.
func (g *gen) addSpawners() {
	var qa []event
	tcpQA, dnsQA := 0, 0
	if g.cfg.Flows >= len(qaSteps) {
		withDNS := g.cfg.DNSExchanges >= len(qaSteps)
		for _, e := range g.quickAssistEvents() {
			if e.dns && !withDNS {
				continue
			}
			qa = append(qa, e)
			if e.dns {
				dnsQA++
			} else {
				tcpQA++
			}
		}
	}
	span := time.Duration(float64(g.cfg.Duration) * 0.995)
	g.addArrivals(kindTCP, max(0, g.cfg.Flows-tcpQA), span, func(i int, at int64) {
		r := g.rng(kindTCP, i)
		g.startTCP(g.randomPlan(r), r, at)
	})
	g.addArrivals(kindDNS, max(0, g.cfg.DNSExchanges-dnsQA), span, func(i int, at int64) {
		r := g.rng(kindDNS, i)
		g.startDNS(g.randomLookup(r), r, at)
	})
	g.addArrivals(kindSTUN, g.cfg.STUNSessions, span, func(i int, at int64) {
		r := g.rng(kindSTUN, i)
		g.startSTUN(r, at)
	})
	if len(qa) > 0 {
		g.addScheduled(qa)
	}
}

// addArrivals queues a spawner that starts n flows at times spread
// uniformly over span, calling start for each.
func (g *gen) addArrivals(kind uint64, n int, span time.Duration, start func(i int, at int64)) {
	arr := newArrivals(g.rng(kindArrivals, int(kind)), n, span)
	i := 0
	first, ok := arr.next()
	if !ok {
		return
	}
	g.push(&flow{spawn: func(g *gen, at int64) (int64, bool) {
		start(i, at)
		i++
		return arr.next()
	}}, first)
}

// event is one scripted start: a TCP connection or a DNS lookup.
type event struct {
	at   int64
	dns  bool
	plan plan
	look lookup
}

// addScheduled queues a spawner that starts the events in order.
func (g *gen) addScheduled(evs []event) {
	i := 0
	g.push(&flow{spawn: func(g *gen, at int64) (int64, bool) {
		e := evs[i]
		r := g.rng(kindArrivals, 1000+i)
		if e.dns {
			g.startDNS(e.look, r, at)
		} else {
			g.startTCP(e.plan, r, at)
		}
		i++
		if i == len(evs) {
			return 0, false
		}
		return evs[i].at, true
	}}, evs[0].at)
}
