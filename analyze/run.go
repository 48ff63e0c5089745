package analyze

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/decode/tlskeys"
)

// SchemaVersion is the version of the JSON contract documented in
// docs/json-schema.md. It changes only when a field changes meaning or goes
// away; new fields do not change it.
const SchemaVersion = 1

// Capture describes the capture file and how well it could be read.
type Capture struct {
	File      string
	Format    string // "pcap" or "pcapng"
	Gzip      bool
	LinkTypes []string // names of the link types seen, sorted
	Packets   uint64   // frames read
	Bytes     uint64   // sum of frame lengths on the wire
	First     time.Time
	Last      time.Time
	Snaplen   uint32
	// SnapTruncated counts frames cut shorter than they were on the wire.
	SnapTruncated uint64
	// Undecoded counts frames with no IP packet qadiag can read (ARP,
	// unsupported link types, damaged headers).
	Undecoded uint64
	Malformed uint64 // frames whose headers were damaged or cut
	Dropped   uint64 // packets the capturing host said it dropped (pcapng ISB)
	// ICMPUnmatched counts ICMP errors quoting no flow of the capture.
	ICMPUnmatched uint64
	// Untracked counts packets of flows past the flow cap (Table.MaxFlows).
	Untracked uint64
	// Folded counts the ordinary flows counted but not kept (Options.KeepFlows).
	Folded Folded
	// Damage is why reading stopped before the end of the file, or nil.
	// Everything before Damage.Frame was analysed.
	Damage   *decode.Error
	Warnings []string
}

// Result is everything qadiag knows about one capture; reports render it and
// compute nothing of their own.
type Result struct {
	SchemaVersion int
	Capture       Capture
	Flows         []*Flow
}

// Flow returns the flow numbered id, or nil when there is none or it was
// folded. Flows are sorted by number, and numbered by position unless
// flows were folded.
func (r *Result) Flow(id int) *Flow {
	if id >= 1 && id <= len(r.Flows) && r.Flows[id-1].ID == id {
		return r.Flows[id-1]
	}
	i, ok := slices.BinarySearchFunc(r.Flows, id, func(f *Flow, id int) int { return cmp.Compare(f.ID, id) })
	if !ok {
		return nil
	}
	return r.Flows[i]
}

// FlowCount is the number of flows of the capture, folded ones included.
func (r *Result) FlowCount() int { return len(r.Flows) + int(r.Capture.Folded.Total()) }

// Read reads a whole capture from r and rebuilds its flows. When the capture
// is damaged it returns the partial Result with everything read before the
// damage, together with the *decode.Error; when ctx is cancelled it returns
// what was read so far with ctx's error.
func Read(ctx context.Context, r io.Reader, name string) (*Result, error) {
	return ReadWith(ctx, r, name, Options{})
}

// Options tune Read.
type Options struct {
	// MaxFlows caps the flows kept (0: DefaultMaxFlows).
	MaxFlows int
	// KeyLog holds TLS secrets (SSLKEYLOGFILE): handshakes it has keys for
	// are decrypted, so TLS 1.3 certificates and encrypted alerts are
	// seen. Secrets in the capture itself (pcapng Decryption Secrets
	// Blocks) are added to it, or used alone when it is nil.
	KeyLog *tlskeys.KeyLog
	// Progress, when set, receives now and then how many bytes of the file
	// have been read (decode.Reader.FileOffset), for a progress display on
	// another goroutine.
	Progress *atomic.Int64
	// KeepFlows, when positive, is how many flows are kept in full before
	// ordinary ones fold: counted in Capture.Folded instead of kept (see
	// DefaultKeepFlows). 0 keeps every flow.
	KeepFlows int
	// Relevant, when set, names flows that must never fold (the command
	// passes diagnose.Relevant: Quick Assist's flows).
	Relevant func(*Flow) bool
	// OneGoroutine keeps reading and decoding on the caller's goroutine
	// instead of a second one beside the flow table (see pipeline): for a
	// caller that already reads several captures at once.
	OneGoroutine bool
}

// ReadWith is Read with Options.
func ReadWith(ctx context.Context, r io.Reader, name string, opts Options) (*Result, error) {
	res := &Result{SchemaVersion: SchemaVersion, Capture: Capture{File: name}}
	// Frames are read in place from a mapped file (no copy through the
	// read buffer); the loop below then runs under SetPanicOnFault so that
	// a file truncated under the mapping ends the read with an error.
	rd, err := decode.NewReaderWith(r, decode.ReaderOptions{InPlace: true})
	if err != nil {
		var de *decode.Error
		if errors.As(err, &de) {
			res.Capture.Damage = de
		}
		res.Capture.Warnings = append(res.Capture.Warnings, "the file could not be read as a capture: "+err.Error())
		return res, err
	}
	cr := &capReader{rd: rd, dec: decode.NewDecoder(), table: NewTable(), c: &res.Capture, links: map[layers.LinkType]bool{}}
	table, c := cr.table, cr.c
	table.shared.keyLog = opts.KeyLog
	table.MaxFlows = opts.MaxFlows
	table.KeepFlows, table.Relevant = opts.KeepFlows, opts.Relevant
	cr.progress = opts.Progress
	if rd.InPlace() && !opts.OneGoroutine && pipelined() {
		err = cr.pipeline(ctx)
	} else {
		err = cr.loop(ctx)
	}
	if err == io.EOF {
		err = nil
	}
	if cr.progress != nil {
		cr.progress.Store(rd.FileOffset())
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		c.Warnings = append(c.Warnings, fmt.Sprintf("reading was interrupted after frame %d: this report covers frames 1-%d only", c.Packets, c.Packets))
	}
	info := rd.Info()
	c.Format, c.Gzip, c.Snaplen, c.Dropped = info.Format.String(), info.Gzip, info.Snaplen, info.Dropped
	for lt := range cr.links {
		c.LinkTypes = append(c.LinkTypes, LinkTypeName(lt))
	}
	slices.Sort(c.LinkTypes)
	res.Flows = table.Flows()
	c.Untracked = table.Untracked
	c.Folded = table.Folded()
	if w := table.FoldWarning(); w != "" {
		c.Warnings = append(c.Warnings, w)
	}
	if table.Untracked > 0 {
		c.Warnings = append(c.Warnings, fmt.Sprintf("more than %d flows: %d packets of further flows were counted but not analysed (a SYN flood or a scan?)",
			table.maxFlows(), table.Untracked))
	}
	var de *decode.Error
	if errors.As(err, &de) {
		c.Damage = de
	}
	c.Warnings = append(c.Warnings, captureWarnings(c, info)...)
	return res, err
}

// capReader is the state of one pass over a capture.
type capReader struct {
	rd       *decode.Reader
	fr       decode.Frame
	pkt      decode.Packet
	dec      *decode.Decoder
	table    *Table
	c        *Capture
	secrets  int // decryption secrets blocks used so far
	progress *atomic.Int64
	at       *decode.Frame // pipeline: the frame the flow table is on, which a fault names
	links    map[layers.LinkType]bool
	lastLink layers.LinkType
}

// loop reads frames until the end of the capture (io.EOF), an error, or ctx
// is done, and hands each to the decoder and the flow table. Frames may lie
// in a mapped file (decode.ReaderOptions.InPlace): a fault on touching one,
// from a file truncated under the mapping, ends the loop with an error that
// names the frame; everything before it stays analysed.
func (cr *capReader) loop(ctx context.Context) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if v := recover(); v != nil {
			err = faultAt(v, &cr.fr)
		}
	}()
	rd, fr, pkt, table, c := cr.rd, &cr.fr, &cr.pkt, cr.table, cr.c
	for {
		if n := rd.SecretBlocks(); n > cr.secrets {
			// Decryption secrets inside the capture: use them from here on.
			if table.shared.keyLog == nil {
				table.shared.keyLog, _ = tlskeys.ParseKeyLog(strings.NewReader(""))
			}
			for _, body := range rd.Info().Secrets[cr.secrets:n] {
				for _, w := range table.shared.keyLog.AddPcapngSecrets(body) {
					c.Warnings = append(c.Warnings, "decryption secrets block: "+w.String())
				}
			}
			cr.secrets = n
		}
		if c.Packets&0xfff == 0 { // here, not in checkpoint, which is not inlined
			if err = cr.checkpoint(ctx); err != nil {
				break
			}
		}
		if err = rd.Next(fr); err != nil {
			break
		}
		if cr.decode(fr, pkt) {
			cr.take(fr, pkt)
		}
	}
	return err
}

// checkpoint, called every 4,096 frames, reports ctx's error and stores how
// far reading has got for the progress display.
func (cr *capReader) checkpoint(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if cr.progress != nil {
		cr.progress.Store(cr.rd.FileOffset())
	}
	return nil
}

// take hands a decoded packet to the flow table: a TCP or UDP packet to
// its flow, an ICMP error to the flow it quotes.
func (cr *capReader) take(fr *decode.Frame, pkt *decode.Packet) {
	if pkt.Transport {
		cr.table.Add(fr, pkt)
	} else if pkt.Inner.Valid && !cr.table.ICMP(fr, pkt) {
		cr.c.ICMPUnmatched++
	}
}

// faultAt turns a value recovered under debug.SetPanicOnFault into the
// error that names the frame being read when the mapped file it lay in
// turned out truncated. Any other panic goes on.
func faultAt(v any, at *decode.Frame) error {
	ferr := decode.FaultError(v)
	if ferr == nil {
		panic(v)
	}
	return &decode.Error{Frame: at.Number, Offset: at.Offset, What: "pcap record", Err: ferr}
}

// decode counts a frame read into the capture's figures and decodes it,
// unless it is a pcapng custom block (false): no packet, only a frame
// number.
func (cr *capReader) decode(fr *decode.Frame, pkt *decode.Packet) bool {
	c := cr.c
	if c.Packets == 0 {
		c.First = fr.Time
	}
	c.Packets++
	c.Bytes += uint64(fr.OrigLen)
	if fr.LinkType == decode.LinkTypeCustomBlock {
		c.Undecoded++
		return false
	}
	c.Last = fr.Time
	if fr.LinkType != cr.lastLink || c.Packets == 1 {
		cr.links[fr.LinkType], cr.lastLink = true, fr.LinkType
	}
	if fr.CapLen < fr.OrigLen {
		c.SnapTruncated++
	}
	cr.dec.Decode(fr, pkt)
	if pkt.IPVersion == 0 {
		c.Undecoded++
	}
	if pkt.Malformed != nil {
		c.Malformed++
	}
	return true
}

func captureWarnings(c *Capture, info decode.Info) []string {
	var w []string
	if c.Damage != nil {
		covered := "no frame could be read"
		if c.Damage.Frame > 1 {
			covered = fmt.Sprintf("frames 1-%d were analysed", c.Damage.Frame-1)
		}
		w = append(w, fmt.Sprintf("capture damaged: reading stopped at frame %d (offset %d): %v; %s",
			c.Damage.Frame, c.Damage.Offset, c.Damage.Err, covered))
	}
	if c.SnapTruncated > 0 {
		w = append(w, fmt.Sprintf("%d of %d frames were cut short by the capture's snapshot length (snaplen %d): payloads past the cut are not visible",
			c.SnapTruncated, c.Packets, c.Snaplen))
	}
	if info.Dropped > 0 {
		w = append(w, fmt.Sprintf("the capturing host reported %d dropped packets (pcapng interface statistics): missing packets are not evidence", info.Dropped))
	}
	if c.Packets == 0 && c.Damage == nil {
		w = append(w, "the capture holds no packets")
	}
	return w
}

// LinkTypeName is the stable lower-case name of a link type used in output
// (tcpdump.org/linktypes.html names without the LINKTYPE_ prefix).
func LinkTypeName(lt layers.LinkType) string {
	switch lt {
	case layers.LinkTypeNull:
		return "null"
	case layers.LinkTypeEthernet:
		return "ethernet"
	case layers.LinkTypeRaw, 12:
		return "raw"
	case layers.LinkTypeLoop:
		return "loop"
	case layers.LinkTypeLinuxSLL:
		return "linux_sll"
	case layers.LinkTypeLinuxSLL2:
		return "linux_sll2"
	case layers.LinkTypeIPv4:
		return "ipv4"
	case layers.LinkTypeIPv6:
		return "ipv6"
	case 239:
		return "nflog"
	}
	return fmt.Sprintf("linktype_%d", uint16(lt))
}
