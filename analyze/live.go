package analyze

// liveFlow is a flow while the table holds it open: the summary it will
// leave (Flow, embedded so that reading code updates it in place) and the
// state only reading needs. When the flow ends, its summary is copied out
// into an allocation of its own and the liveFlow goes back to the table for
// a later flow: a capture with a hundred thousand flows keeps a hundred
// thousand summaries but only as many liveFlows as were open at once.
type liveFlow struct {
	// The fields every packet touches come first, to share cache lines:
	// with many live flows each packet's flow is a cache miss.
	key      flowKey
	last     int64 // the last packet, Unix nanoseconds
	closedAt int64 // when both FINs or a RST were seen, if closed
	clientB  bool  // the client is the key's second endpoint
	closed   bool
	appOff   bool // nothing more for the application layer: not read per packet from app
	// lettersLen counts the letters in letters; exp is 1 + the position
	// of the flow's entry in the table's expiry heap, 0 when it has none.
	lettersLen uint8
	exp        int32
	hot        [2]dirHot
	app        *appState // parsing state while the flow is live

	Flow

	// letters holds the first Zeek history letters inline (most
	// connections need fewer than 16), the rest in lettersMore.
	letters     [16]byte
	lettersMore []byte
	hcount      [2][2]uint32 // retransmission and zero-window counts for Zeek's repeated letters
	// holeAt and holeTime are the newest gap in each direction's sequence
	// space: where it starts and when it opened (Unix nanoseconds), to
	// tell a segment that fills it soon after (out of order) from a
	// retransmission. Two arrays rather than one of pairs: the pairs'
	// padding took a liveFlow past the allocator's 768-byte class.
	holeAt   [2]uint32
	holeTime [2]int64
}

// finish copies the live state into the summary.
func (f *liveFlow) finish(sh *appShared) {
	for i := range f.Dir {
		d, h := &f.Dir[i], &f.hot[i]
		d.Packets, d.Bytes, d.Payload, d.LastFrame = h.packets, h.bytes, h.payload, h.lastFrame
		d.TTLMin, d.TTLMax, d.IPIDLast = h.ttlMin, h.ttlMax, h.ipidLast
		d.MaxPayload = int32(h.maxPayload)
		d.lastNs = h.last
	}
	f.finishApp()
	f.history = sh.historyString(f.letters[:f.lettersLen], f.lettersMore)
}

// copySummary returns the finished summary in an allocation of its own,
// sized for what the result keeps.
func (f *liveFlow) copySummary() *Flow {
	out := new(Flow)
	*out = f.Flow
	return out
}

// reset clears f for the next flow, keeping its history buffer.
func (f *liveFlow) reset() {
	*f = liveFlow{lettersMore: f.lettersMore[:0]}
}

// maxFreeFlows bounds the liveFlows kept for reuse: past the flows open at
// once in a busy office capture, more would only hold memory.
const maxFreeFlows = 1 << 16

// historyString returns the history letters as a string, the same one for
// every flow with the same history (a capture has few distinct ones): a
// pointer to it costs a flow 8 bytes where the string itself took 16.
func (sh *appShared) historyString(first, more []byte) *string {
	if len(more) > 0 {
		s := string(first) + string(more)
		return &s
	}
	if p, ok := sh.histories[string(first)]; ok { // no string made to look
		return p
	}
	s := string(first)
	return keep(&sh.histories, s, &s, maxHistories)
}

// share returns the value m holds for k, or else v, which it keeps in m
// for k while m holds fewer than limit values: one copy of a value that
// many flows have, a pointer in each.
func share[K comparable, V any](m *map[K]*V, k K, v V, limit int) *V {
	if p, ok := (*m)[k]; ok {
		return p
	}
	return keep(m, k, &v, limit)
}

// keep puts p in m for k, which m does not hold, while m holds fewer than
// limit values, and returns p.
func keep[K comparable, V any](m *map[K]*V, k K, p *V, limit int) *V {
	if len(*m) < limit {
		if *m == nil {
			*m = map[K]*V{}
		}
		(*m)[k] = p
	}
	return p
}

// maxHistories bounds the history strings shared.
const maxHistories = 4096
