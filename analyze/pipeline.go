package analyze

import (
	"context"
	"runtime"
	"runtime/debug"

	"github.com/qadiag/qadiag/decode"
)

// pipelined reports whether ReadWith reads and decodes frames on a
// goroutine of its own while the flow table takes them, which pays with a
// second core to run it. A variable, so that tests can take either path.
var pipelined = func() bool { return runtime.GOMAXPROCS(0) > 1 }

// frameBatch is frames read and decoded ahead of the flow table, and why
// reading stopped after them, if it did.
type frameBatch struct {
	frs  [pipeBatch]decode.Frame
	pkts [pipeBatch]decode.Packet
	n    int
	err  error
}

const (
	// pipeBatch is how many frames are handed over at once. With 128 the
	// hand-overs, where one goroutine parks and the other wakes it, cost
	// more than the second core gained.
	pipeBatch = 1024
	pipeDepth = 3 // batches in flight
)

// pipeline is loop on two goroutines: a reader that reads, counts and
// decodes frames (a third of the work) and the caller's, which runs the flow
// table and the application layer. On the benchmark capture with two cores
// BenchmarkAnalyze took 2.74-3.26 s against 3.21-3.75 s on one goroutine.
// It needs frames that stay valid after the next is read
// (decode.Reader.InPlace), which only classic pcap gives: so it has no
// pcapng decryption secrets blocks to watch for, as loop does. Both
// goroutines touch the mapped file, so both turn a fault into an error
// naming the frame.
func (cr *capReader) pipeline(ctx context.Context) (err error) {
	full := make(chan *frameBatch, pipeDepth)
	free := make(chan *frameBatch, pipeDepth+1)
	done := make(chan struct{})
	for range pipeDepth + 1 {
		free <- new(frameBatch)
	}
	go cr.produce(ctx, free, full, done)
	defer func() {
		// Stopping early (a fault) releases the reader, and waits for it:
		// it writes to the Capture until it ends.
		close(done)
		for range full {
		}
	}()

	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if v := recover(); v != nil {
			err = faultAt(v, cr.at)
		}
	}()
	for b := range full {
		for i := range b.n {
			cr.at = &b.frs[i]
			cr.take(&b.frs[i], &b.pkts[i])
		}
		if b.err != nil {
			return b.err
		}
		free <- b
	}
	return nil
}

// produce fills batches until the capture ends, an error, or ctx is done;
// the last batch carries the error (io.EOF at the clean end). It counts
// every field of the Capture but ICMPUnmatched, which the flow table's
// goroutine counts.
func (cr *capReader) produce(ctx context.Context, free <-chan *frameBatch, full chan<- *frameBatch, done <-chan struct{}) {
	defer close(full)
	var b *frameBatch
	send := func() bool {
		select {
		case full <- b:
			return true
		case <-done:
			return false
		}
	}
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if v := recover(); v != nil {
			b.err = faultAt(v, &b.frs[b.n])
			send()
		}
	}()
	rd := cr.rd
	for {
		select {
		case b = <-free:
		case <-done:
			return
		}
		b.n, b.err = 0, nil
		for b.n < pipeBatch {
			if cr.c.Packets&0xfff == 0 {
				if b.err = cr.checkpoint(ctx); b.err != nil {
					break
				}
			}
			fr, pkt := &b.frs[b.n], &b.pkts[b.n]
			if b.err = rd.Next(fr); b.err != nil {
				break
			}
			if !cr.decode(fr, pkt) {
				continue
			}
			if pkt.Reassembled {
				// The payload lies in the decoder's reassembly buffer,
				// which the next datagram reuses: the batch keeps a copy.
				pkt.Payload = append([]byte(nil), pkt.Payload...)
			}
			b.n++
		}
		if !send() || b.err != nil {
			return
		}
	}
}
