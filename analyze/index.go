package analyze

import (
	"math/bits"
	"math/rand/v2"
)

// flowIndex finds live flows by key: an open-addressing hash table with
// linear probing whose slots hold only the key's hash and the flow. It
// replaces a Go map because, with a hundred thousand live flows, a map
// lookup missed the cache twice (control word, then the 40-byte key slot)
// before the flow itself was touched; here a slot is 16 bytes, the table
// a third of the map's size, and the key is compared in the flow, which the
// packet touches next anyway. The hash is seeded per table, so a hostile
// capture cannot choose addresses that collide.
type flowIndex struct {
	slots []indexSlot // length a power of two; nil flow marks an empty slot
	n     int
	seed  [3]uint64
}

type indexSlot struct {
	hash uint64
	f    *liveFlow
}

const indexMinSlots = 1024

func newFlowIndex() flowIndex {
	return flowIndex{
		slots: make([]indexSlot, indexMinSlots),
		seed:  [3]uint64{rand.Uint64() | 1, rand.Uint64() | 1, rand.Uint64() | 1},
	}
}

// mix folds the 128-bit product, the step of wyhash.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// hash is wyhash's step over the key's words. The last step multiplies two
// values that both carry the ports: multiplying the last word, whose ports
// sit in its top bits, by a constant left the low bits, which place a flow
// in the index and the recent cache, following the ports in steps, and with
// some seeds one client's 20,000 connections to three servers filled 10,500
// slots where random keys fill 17,200 (TestHashSpread).
func (x *flowIndex) hash(k *flowKey) uint64 {
	h := mix(k.a0^x.seed[0], k.a1^x.seed[1])
	h = mix(h^k.b0, k.b1^x.seed[2])
	return mix(h^k.meta, bits.RotateLeft64(k.meta, 32)^x.seed[0])
}

// get returns the live flow with key k, or nil.
func (x *flowIndex) get(k *flowKey, h uint64) *liveFlow {
	mask := uint64(len(x.slots) - 1)
	for i := h & mask; ; i = (i + 1) & mask {
		s := &x.slots[i]
		if s.f == nil {
			return nil
		}
		if s.hash == h && s.f.key.equal(k) {
			return s.f
		}
	}
}

// put adds f, whose key is not in the index, under hash h.
func (x *flowIndex) put(f *liveFlow, h uint64) {
	if (x.n+1)*4 > len(x.slots)*3 {
		x.grow()
	}
	mask := uint64(len(x.slots) - 1)
	i := h & mask
	for x.slots[i].f != nil {
		i = (i + 1) & mask
	}
	x.slots[i] = indexSlot{hash: h, f: f}
	x.n++
}

func (x *flowIndex) grow() {
	old := x.slots
	x.slots = make([]indexSlot, 2*len(old))
	mask := uint64(len(x.slots) - 1)
	for _, s := range old {
		if s.f == nil {
			continue
		}
		i := s.hash & mask
		for x.slots[i].f != nil {
			i = (i + 1) & mask
		}
		x.slots[i] = s
	}
}

// slot is where f itself is in the index, or -1.
func (x *flowIndex) slot(f *liveFlow) int {
	mask := uint64(len(x.slots) - 1)
	for i := x.hash(&f.key) & mask; ; i = (i + 1) & mask {
		switch x.slots[i].f {
		case f:
			return int(i)
		case nil:
			return -1
		}
	}
}

// remove deletes f if it is live. Later slots of the probe run move back
// into the hole (Knuth's algorithm R), so lookups never need tombstones.
func (x *flowIndex) remove(f *liveFlow) {
	i := x.slot(f)
	if i < 0 {
		return
	}
	mask := len(x.slots) - 1
	for j := i; ; {
		x.slots[i] = indexSlot{}
		for {
			j = (j + 1) & mask
			s := x.slots[j]
			if s.f == nil {
				x.n--
				return
			}
			// Move s back to i unless its home lies cyclically in (i, j].
			home := int(s.hash) & mask
			if (j > i && (home <= i || home > j)) || (j < i && home <= i && home > j) {
				x.slots[i] = s
				i = j
				break
			}
		}
	}
}

// all calls fn for every live flow, in slot order.
func (x *flowIndex) all(fn func(*liveFlow)) {
	for _, s := range x.slots {
		if s.f != nil {
			fn(s.f)
		}
	}
}

func (x *flowIndex) clear() {
	clear(x.slots)
	x.n = 0
}
