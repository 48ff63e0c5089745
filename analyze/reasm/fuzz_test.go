package reasm

import (
	"bytes"
	"encoding/binary"
	"testing"
)

// Fuzz input layout: an 8-byte header, then 5-byte operations.
//
//	header: limit uint16 (1 + v%4096), budget uint16 (v%8192; 0xffff: no
//	        Budget), ISN uint32
//	op:     kind byte, offset uint16, length uint16
//
// kind%8: 0 a SYN carrying ref[0:length%4]; 1-5 the segment of ref at
// offset%6000 of length%1500; 6 garbage 2^31 away from offset (fed only
// after the stream started, so that it cannot define byte 0); 7 Flush.
// Every payload but garbage is cut from ref, so each delivered byte must
// equal ref at its stream position.
const (
	fuzzMaxOff = 6000
	fuzzMaxLen = 1500
)

// fuzzRef is the reference stream.
var fuzzRef = func() []byte {
	b := make([]byte, fuzzMaxOff+fuzzMaxLen)
	for i := range b {
		b[i] = byte(i*131 + i>>8)
	}
	return b
}()

// fuzzOp encodes one operation.
func fuzzOp(kind byte, off, n uint16) []byte {
	return []byte{kind, byte(off >> 8), byte(off), byte(n >> 8), byte(n)}
}

// fuzzInput builds an input from a header and operations.
func fuzzInput(limit, budget uint16, isn uint32, ops ...[]byte) []byte {
	b := binary.BigEndian.AppendUint16(nil, limit-1)
	b = binary.BigEndian.AppendUint16(b, budget)
	b = binary.BigEndian.AppendUint32(b, isn)
	for _, op := range ops {
		b = append(b, op...)
	}
	return b
}

// modelSink checks each delivery against the reference stream and the
// segment that carried it.
type modelSink struct {
	t         *testing.T
	pos       int   // stream offset of the next byte
	segs      []cut // segment fed in each frame (frame-1); n -1 for none
	delivered int
	lost      int
}

func (m *modelSink) Data(b []byte, frame uint64) {
	if frame == 0 || frame > uint64(len(m.segs)) {
		m.t.Fatalf("Data from frame %d of %d", frame, len(m.segs))
	}
	if s := m.segs[frame-1]; m.pos < s.off || m.pos+len(b) > s.off+s.n {
		m.t.Fatalf("frame %d carried [%d,%d), delivered as [%d,%d)", frame, s.off, s.off+s.n, m.pos, m.pos+len(b))
	}
	if !bytes.Equal(b, fuzzRef[m.pos:m.pos+len(b)]) {
		m.t.Fatalf("frame %d: bytes at %d differ from the reference", frame, m.pos)
	}
	m.pos += len(b)
	m.delivered += len(b)
}

func (m *modelSink) Gap(n uint32) {
	if n == 0 {
		m.t.Fatal("Gap(0)")
	}
	m.pos += int(n)
	m.lost += int(n)
}

func FuzzReasm(f *testing.F) {
	data := func(off, n uint16) []byte { return fuzzOp(1, off, n) }
	f.Add(fuzzInput(1000, 0xffff, 0, fuzzOp(0, 0, 0), data(0, 100), data(100, 100)))
	f.Add(fuzzInput(4096, 2000, 0xfffffff0, fuzzOp(0, 0, 3), data(500, 300), data(3, 600), data(200, 50)))
	f.Add(fuzzInput(300, 100, 0x7fffffff, data(50, 40), fuzzOp(6, 10, 20), data(150, 30), data(0, 200), fuzzOp(7, 0, 0)))
	f.Add(fuzzInput(64, 0xffff, 12345, data(10, 5), data(20, 5), data(30, 5), data(12, 30), data(0, 100)))
	f.Add(fuzzInput(2000, 10, 0xffffffff, fuzzOp(0, 0, 0), data(5, 1), data(7, 1), data(9, 20), data(2, 8), fuzzOp(7, 0, 0), data(0, 50)))
	f.Add(fuzzInput(4096, 8000, 1, data(1000, 1400), fuzzOp(0, 0, 2), data(0, 1000), data(2400, 10)))
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 8 {
			return
		}
		limit := 1 + int(binary.BigEndian.Uint16(in))%4096
		var budget *Budget
		if v := binary.BigEndian.Uint16(in[2:]); v != 0xffff {
			budget = NewBudget(int(v) % 8192)
		}
		isn := binary.BigEndian.Uint32(in[4:])
		runFuzzOps(t, limit, budget, isn, in[8:])
	})
}

func runFuzzOps(t *testing.T, limit int, budget *Budget, isn uint32, ops []byte) {
	var d Dir
	d.Init(limit, budget)
	m := &modelSink{t: t}
	started := false
	garbage := bytes.Repeat([]byte{0xee}, 100)
	for ; len(ops) >= 5; ops = ops[5:] {
		kind := ops[0] % 8
		off := int(binary.BigEndian.Uint16(ops[1:])) % fuzzMaxOff
		n := int(binary.BigEndian.Uint16(ops[3:])) % fuzzMaxLen
		seq, syn, payload := isn+1+uint32(off), false, fuzzRef[off:off+n]
		switch kind {
		case 0:
			seq, syn, payload, off = isn, true, fuzzRef[:n%4], 0
			if !started {
				m.pos, started = 0, true
			}
		case 6:
			if !started {
				continue
			}
			seq, payload, off = seq+1<<31, garbage[:n%len(garbage)], -1
		case 7:
			d.Flush(m)
			continue
		}
		if !started && n > 0 {
			m.pos, started = off, true
		}
		m.segs = append(m.segs, cut{off, len(payload)})
		if off < 0 { // garbage: no byte of it may be delivered
			m.segs[len(m.segs)-1] = cut{-1, 0}
		}
		if ok := d.Segment(seq, syn, payload, uint64(len(m.segs)), m); ok == d.Done() {
			t.Fatalf("Segment returned %v with Done %v", ok, d.Done())
		}
		checkFuzzState(t, &d, m, budget, limit)
	}
	d.Flush(m)
	checkFuzzState(t, &d, m, budget, limit)
	if !d.Done() || d.Held() != 0 || budget.Used() != 0 {
		t.Fatalf("after Flush: Done %v, Held %d, budget used %d", d.Done(), d.Held(), budget.Used())
	}
	if int(d.Stats().Lost) != m.lost {
		t.Fatalf("Stats.Lost %d, sink saw %d", d.Stats().Lost, m.lost)
	}
}

func checkFuzzState(t *testing.T, d *Dir, m *modelSink, budget *Budget, limit int) {
	t.Helper()
	if d.Delivered() != m.delivered || d.Delivered() > limit {
		t.Fatalf("Delivered %d, sink got %d, limit %d", d.Delivered(), m.delivered, limit)
	}
	if d.Held() >= limit {
		t.Fatalf("Held %d, limit %d", d.Held(), limit)
	}
	if budget != nil && (budget.Used() != d.Held() || budget.Used() > budget.max) {
		t.Fatalf("budget used %d of %d, Held %d", budget.Used(), budget.max, d.Held())
	}
	if d.Done() && d.Held() != 0 {
		t.Fatalf("Done with %d bytes held", d.Held())
	}
}
