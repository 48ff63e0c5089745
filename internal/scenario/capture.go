package scenario

import (
	"bytes"
	"cmp"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"slices"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// base is the capture time of every scenario's time zero: a Monday morning
// in an office.
var base = time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)

// seed is the fixed part of every scenario's random source; the other part
// is a hash of the scenario's name, so adding a scenario never changes
// another one's bytes.
const seed = 0x7161646961670001

// MAC addresses: a Windows laptop's NIC and its default gateway.
var (
	clientMAC  = decodetest.MAC{0x3c, 0x52, 0x82, 0x4e, 0x1a, 0x07}
	gatewayMAC = decodetest.MAC{0x00, 0x1c, 0x73, 0x0a, 0x0b, 0x0c}
)

// sllIfIndex is the interface index of SLL2 captures ("tcpdump -i any").
const sllIfIndex = 2

// Packet types of an SLL2 header (packet(7)): PACKET_HOST and PACKET_OUTGOING.
const (
	sllHost     = 0
	sllOutgoing = 4
)

// frame is one frame of a capture and the time it was captured, relative
// to Base.
type frame struct {
	at   time.Duration
	data []byte
}

// handle names a frame added to a capture before the frames are put in
// time order; keyFrames turns handles into frame numbers.
type handle int

// capture collects the frames of one scenario in any order, with the
// frames that prove its cause marked, and writes them in time order.
type capture struct {
	link   decodetest.LinkType
	r      *rand.Rand
	frames []frame
	keys   []handle
	port   uint16 // last ephemeral port handed out
	host   *client
	// slow is added to every round trip: a satellite or congested link.
	slow time.Duration
}

// newCapture returns an empty capture for the scenario called name.
func newCapture(name string, link decodetest.LinkType) *capture {
	h := fnv.New64a()
	h.Write([]byte(name))
	r := rand.New(rand.NewPCG(seed, h.Sum64()))
	return &capture{
		link: link, r: r,
		port: 49152 + uint16(r.IntN(12000)), // Windows' dynamic range starts at 49152
		host: &office,
	}
}

// add appends a frame captured at.
func (c *capture) add(at time.Duration, data []byte) handle {
	c.frames = append(c.frames, frame{at.Truncate(time.Microsecond), slices.Clone(data)})
	return handle(len(c.frames) - 1)
}

// key marks frames as evidence of the scenario's cause.
func (c *capture) key(hs ...handle) {
	c.keys = append(c.keys, hs...)
}

// order returns the frame indexes in capture order: by time, ties in the
// order the frames were added.
func (c *capture) order() []int {
	idx := make([]int, len(c.frames))
	for i := range idx {
		idx[i] = i
	}
	slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(c.frames[a].at, c.frames[b].at) })
	return idx
}

// keyFrames returns the 1-based numbers of the marked frames, sorted and
// without duplicates.
func (c *capture) keyFrames(order []int) []uint64 {
	number := make([]uint64, len(c.frames))
	for n, i := range order {
		number[i] = uint64(n + 1)
	}
	out := make([]uint64, 0, len(c.keys))
	for _, h := range c.keys {
		out = append(out, number[h])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// encode writes the frames in capture order in format f.
func (c *capture) encode(f decodetest.Format, order []int) ([]byte, error) {
	var buf bytes.Buffer
	w, err := decodetest.NewWriter(&buf, decodetest.WriterOptions{Format: f, LinkType: c.link.PcapLinkType()})
	if err != nil {
		return nil, err
	}
	for _, i := range order {
		if err := w.WritePacket(base.Add(c.frames[i].at), c.frames[i].data); err != nil {
			return nil, err
		}
	}
	if err := w.Flush(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// linkFrom returns the link-layer header of frames the client sends
// (fromClient) or receives.
func (c *capture) linkFrom(fromClient bool) decodetest.Link {
	if c.link == decodetest.LinkSLL2 {
		if fromClient {
			return decodetest.Link{Type: decodetest.LinkSLL2, SrcMAC: clientMAC, SLLPacketType: sllOutgoing, IfIndex: sllIfIndex}
		}
		return decodetest.Link{Type: decodetest.LinkSLL2, SrcMAC: gatewayMAC, SLLPacketType: sllHost, IfIndex: sllIfIndex}
	}
	if fromClient {
		return decodetest.Link{SrcMAC: clientMAC, DstMAC: gatewayMAC}
	}
	return decodetest.Link{SrcMAC: gatewayMAC, DstMAC: clientMAC, Pad: true}
}

// ephemeral returns the next client port: Windows hands out dynamic ports
// (49152-65535) nearly sequentially.
func (c *capture) ephemeral() uint16 {
	c.port += 1 + uint16(c.r.IntN(3))
	if c.port < 49152 {
		c.port = 49152
	}
	return c.port
}

// randomPort returns a random dynamic port, as the Windows DNS client
// picks for each query.
func (c *capture) randomPort() uint16 {
	return 49152 + uint16(c.r.IntN(16384))
}

// jitter returns d plus or minus up to a tenth of it, at least 1 µs.
func (c *capture) jitter(d time.Duration) time.Duration {
	if d <= 10*time.Microsecond {
		return max(d, time.Microsecond)
	}
	return d - d/10 + time.Duration(c.r.Int64N(int64(d/5)))
}

// between returns a random duration in [lo, hi).
func (c *capture) between(lo, hi time.Duration) time.Duration {
	return lo + time.Duration(c.r.Int64N(int64(hi-lo)))
}

// clientAddr returns the client's address of the family of server.
func (c *capture) clientAddr(server netip.Addr) netip.Addr {
	if server.Is4() {
		return c.host.v4
	}
	if !c.host.v6.IsValid() {
		panic(fmt.Sprintf("scenario: client %v has no IPv6 address for %v", c.host.v4, server))
	}
	return c.host.v6
}
