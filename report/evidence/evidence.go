// Package evidence writes the evidence file of a diagnosis: a small pcapng
// holding only the frames the findings cite and the handshake frames of the
// flows those frames belong to, each with pcapng comments (opt_comment,
// draft-ietf-opsawg-pcapng 3.5) saying what it proves. The file is meant to
// be attached to an escalation and opened in Wireshark, where the comments
// show in the packet details and as the frame.comment field.
//
// Frames are copied unchanged: original bytes, capture and wire lengths,
// timestamps and link type, in the original order. Wireshark numbers them
// anew, so every comment starts with the frame's number in the original
// capture ("[frame 37]"), the number the evidence statements use.
package evidence

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/diagnose"
	"github.com/qadiag/qadiag/decode"
)

// Stats counts what Write put in the evidence file.
type Stats struct {
	Frames int // frames written
	Cited  int // frames written that a finding's evidence cites
	// Missing counts cited frames Write did not find as packets in the
	// capture: beyond the damage of a damaged capture, or a different file.
	Missing int
}

// maxComment bounds one comment in bytes: a pcapng option length is a
// 16-bit field, and pcapgo does not check it.
const maxComment = 4096

// Write reads the capture at capturePath a second time and writes to w a
// pcapng file with the frames v's findings cite and, for every flow a cited
// frame belongs to or a finding names, its TCP SYN and SYN-ACK, TLS
// ClientHello, ServerHello and Certificate frames (the first packet instead
// of SYN and SYN-ACK when no handshake was seen); nothing else of the flows.
// res and v must come from the same file (analyze.Read, diagnose.Diagnose).
// The output depends only on its inputs: no clock, host or map order.
//
// A capture that cannot be opened or is not a capture gives an error and
// writes nothing. A damaged capture gives the evidence read before the
// damage, written to w, and the *decode.Error saying where reading stopped.
func Write(w io.Writer, capturePath string, res *analyze.Result, v *diagnose.Verdict) (Stats, error) {
	return WriteWith(w, capturePath, res, v, Options{})
}

// Options transform what Write puts in the file, for redaction: every
// frame's bytes, every comment, and the capture's name. nil keeps them.
type Options struct {
	Packet func(lt layers.LinkType, data []byte) []byte
	Text   func(string) string
	Name   func(path string) string
}

// WriteWith is Write with Options. The frames are chosen from the original
// res and v; the options change only what is written.
func WriteWith(w io.Writer, capturePath string, res *analyze.Result, v *diagnose.Verdict, o Options) (Stats, error) {
	p := newPlan(res, v)
	p.opts = o
	if err := p.resolve(capturePath); err != nil {
		return Stats{}, err
	}
	p.addContext()
	c, err := p.collect(capturePath)
	if c == nil {
		return Stats{}, err
	}
	name := filepath.Base(capturePath)
	if o.Name != nil {
		name = o.Name(capturePath)
	}
	st, werr := p.write(w, name, c, err)
	if werr != nil {
		return st, fmt.Errorf("evidence: %w", werr)
	}
	return st, err
}

// plan is what to keep: frame numbers and their comments.
type plan struct {
	res      *analyze.Result
	v        *diagnose.Verdict
	opts     Options
	cited    map[uint64][]string // evidence comments of cited frames
	citedMax uint64
	flows    map[int]bool      // flows whose handshake frames are kept
	context  map[uint64]string // context comments of handshake-only frames
	byID     map[int]*analyze.Flow
}

func newPlan(res *analyze.Result, v *diagnose.Verdict) *plan {
	p := &plan{res: res, v: v, cited: map[uint64][]string{}, flows: map[int]bool{},
		context: map[uint64]string{}, byID: map[int]*analyze.Flow{}}
	if res != nil {
		for _, f := range res.Flows {
			p.byID[f.ID] = f
		}
	}
	if v == nil {
		return p
	}
	for _, fi := range v.Findings {
		for _, id := range fi.Flows {
			p.flows[id] = true
		}
		for _, e := range fi.Evidence {
			note := fmt.Sprintf("%s (%s): %s", fi.Cause, fi.Level, e.Text)
			for _, n := range e.Frames {
				if n == 0 || slices.Contains(p.cited[n], note) {
					continue
				}
				p.cited[n] = append(p.cited[n], note)
				p.citedMax = max(p.citedMax, n)
			}
		}
	}
	return p
}

// endpoints is a flow's protocol and address pair in canonical order, the
// same for both directions.
type endpoints struct {
	proto uint8
	a, b  netip.AddrPort
}

func canonical(proto uint8, x, y netip.AddrPort) endpoints {
	if x.Compare(y) > 0 {
		x, y = y, x
	}
	return endpoints{proto, x, y}
}

// resolve finds the flow of every cited frame. The frame numbers of a flow
// overlap those of every flow alive at the same time, so the frame is
// decoded and its addresses matched; an ICMP error belongs to the flow it
// quotes, as analyze recorded it. The pass stops after the last cited frame;
// a read error only ends it early (collect reports it).
func (p *plan) resolve(path string) error {
	if len(p.cited) == 0 {
		return nil
	}
	byAddr := map[endpoints][]*analyze.Flow{}
	icmp := map[uint64][]int{}
	for _, f := range p.byID {
		k := canonical(f.Proto, f.Client, f.Server)
		byAddr[k] = append(byAddr[k], f)
		for _, e := range f.ICMP() {
			icmp[e.Frame] = append(icmp[e.Frame], f.ID)
		}
	}
	rc, rd, err := open(path)
	if err != nil {
		return err
	}
	defer rc.Close()
	var (
		fr  decode.Frame
		pkt decode.Packet
		dec = decode.NewDecoder()
	)
	for rd.Next(&fr) == nil && fr.Number <= p.citedMax {
		if p.cited[fr.Number] == nil || fr.LinkType == decode.LinkTypeCustomBlock {
			continue
		}
		for _, id := range icmp[fr.Number] {
			p.flows[id] = true
		}
		dec.Decode(&fr, &pkt)
		if !pkt.Transport {
			continue
		}
		k := canonical(pkt.Proto, netip.AddrPortFrom(pkt.Src, pkt.SrcPort), netip.AddrPortFrom(pkt.Dst, pkt.DstPort))
		if f := owner(byAddr[k], fr.Number); f != nil {
			p.flows[f.ID] = true
		}
	}
	return nil
}

// owner picks, among flows with the frame's addresses, the one whose frames
// span n; with a port pair reused, the latest to start.
func owner(flows []*analyze.Flow, n uint64) *analyze.Flow {
	var best *analyze.Flow
	for _, f := range flows {
		if f.FirstFrame() <= n && n <= f.LastFrame() && (best == nil || f.FirstFrame() > best.FirstFrame()) {
			best = f
		}
	}
	return best
}

// addContext adds the handshake frames of the plan's flows.
func (p *plan) addContext() {
	roles := map[uint64][]string{}
	owners := map[uint64]int{}
	for _, id := range slices.Sorted(maps.Keys(p.flows)) {
		f := p.byID[id]
		if f == nil {
			continue
		}
		for _, h := range handshake(f) {
			if h.frame == 0 || p.cited[h.frame] != nil {
				continue
			}
			roles[h.frame] = append(roles[h.frame], h.what)
			owners[h.frame] = id
		}
	}
	for n, r := range roles {
		p.context[n] = fmt.Sprintf("context: %s of flow %d", strings.Join(r, ", "), owners[n])
	}
}

type role struct {
	frame uint64
	what  string
}

func handshake(f *analyze.Flow) []role {
	r := []role{{f.SYNFrame, "TCP SYN"}, {f.SYNACKFrame, "TCP SYN-ACK"}}
	if f.SYNFrame == 0 && f.SYNACKFrame == 0 {
		r = append(r, role{f.FirstFrame(), "first packet"})
	}
	if t := f.TLS; t != nil {
		r = append(r, role{t.ClientFrame, "TLS ClientHello"}, role{t.ServerFrame, "TLS ServerHello"},
			role{t.CertFrame, "TLS Certificate"})
	}
	return r
}

// frame is a kept frame, copied out of the reader's buffer.
type frame struct {
	number   uint64
	time     time.Time
	origLen  int
	linkType layers.LinkType
	data     []byte
}

// collected is what the second pass read.
type collected struct {
	frames  []frame
	snaplen uint32          // the capture's snaplen, 0 when unlimited or unknown
	first   layers.LinkType // link type of the first packet, for an empty file
	seen    bool
}

// collect copies the kept frames. It stops after the last kept frame, or
// reads on to the damage when analyze saw the capture damaged, so the error
// is returned with the frames. The first result is nil when the capture
// could not be opened.
func (p *plan) collect(path string) (*collected, error) {
	last := p.citedMax
	for n := range p.context {
		last = max(last, n)
	}
	toDamage := p.res != nil && p.res.Capture.Damage != nil
	rc, rd, err := open(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	c := &collected{}
	var fr decode.Frame
	for {
		if err = rd.Next(&fr); err != nil {
			break
		}
		if fr.LinkType == decode.LinkTypeCustomBlock {
			continue
		}
		if !c.seen {
			c.first, c.seen = fr.LinkType, true
		}
		if p.cited[fr.Number] != nil || p.context[fr.Number] != "" {
			c.frames = append(c.frames, frame{fr.Number, fr.Time, fr.OrigLen, fr.LinkType, slices.Clone(fr.Data)})
		}
		if fr.Number >= last && !toDamage {
			break
		}
	}
	c.snaplen = rd.Info().Snaplen
	if err == io.EOF {
		err = nil
	}
	return c, err
}

func open(path string) (io.Closer, *decode.Reader, error) {
	rc, err := decode.OpenFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("evidence: %w", err)
	}
	rd, err := decode.NewReader(rc)
	if err != nil {
		rc.Close()
		return nil, nil, err
	}
	return rc, rd, nil
}

// write writes the section, one interface per link type in order of first
// use, and the frames.
func (p *plan) write(w io.Writer, name string, c *collected, damage error) (Stats, error) {
	var links []layers.LinkType
	snap := map[layers.LinkType]uint32{}
	for _, f := range c.frames {
		if !slices.Contains(links, f.linkType) {
			links = append(links, f.linkType)
		}
		snap[f.linkType] = max(snap[f.linkType], uint32(len(f.data)))
	}
	if len(links) == 0 {
		links = []layers.LinkType{layers.LinkTypeEthernet}
		if c.seen {
			links[0] = c.first
		}
	}
	// Keep the capture's snaplen, so cut frames still read as cut, but never
	// below a frame's captured length (some writers break the rule); 0
	// stays "no limit".
	intf := func(lt layers.LinkType) pcapgo.NgInterface {
		s := c.snaplen
		if s != 0 {
			s = max(s, snap[lt])
		}
		return pcapgo.NgInterface{LinkType: lt, SnapLength: s,
			Description: fmt.Sprintf("%s frames of %s", analyze.LinkTypeName(lt), name)}
	}
	opts := pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
		Application: "qadiag", Comment: clip(p.text(p.header(name, damage)))}}
	nw, err := pcapgo.NewNgWriterInterface(w, intf(links[0]), opts)
	if err != nil {
		return Stats{}, err
	}
	for _, lt := range links[1:] {
		if _, err := nw.AddInterface(intf(lt)); err != nil {
			return Stats{}, err
		}
	}
	var st Stats
	for _, f := range c.frames {
		ci := gopacket.CaptureInfo{Timestamp: f.time, CaptureLength: len(f.data), Length: max(f.origLen, len(f.data)),
			InterfaceIndex: slices.Index(links, f.linkType)}
		data := f.data
		if p.opts.Packet != nil {
			data = p.opts.Packet(f.linkType, data)
		}
		if err := nw.WritePacketWithOptions(ci, data, pcapgo.NgPacketOptions{Comments: p.comments(f.number)}); err != nil {
			return st, err
		}
		st.Frames++
		if p.cited[f.number] != nil {
			st.Cited++
		}
	}
	st.Missing = len(p.cited) - st.Cited
	return st, nw.Flush()
}

func (p *plan) comments(n uint64) []string {
	notes := p.cited[n]
	if notes == nil {
		notes = []string{p.context[n]}
	}
	out := make([]string, len(notes))
	for i, s := range notes {
		out[i] = clip(p.text(fmt.Sprintf("[frame %d] %s", n, s)))
	}
	return out
}

// text applies the Text option.
func (p *plan) text(s string) string {
	if p.opts.Text != nil {
		return p.opts.Text(s)
	}
	return s
}

// header is the section comment: what the file is and where it came from.
func (p *plan) header(name string, damage error) string {
	var b strings.Builder
	fmt.Fprintf(&b, "qadiag evidence for %s: ", name)
	switch {
	case p.v == nil:
		b.WriteString("no verdict")
	case p.v.Fault():
		fmt.Fprintf(&b, "cause %s (%s, score %.2f)", p.v.Cause, p.v.Level, p.v.Score)
	default:
		fmt.Fprintf(&b, "verdict %s", p.v.Cause)
	}
	if p.v != nil && len(p.v.Findings) > 0 {
		b.WriteString("; findings:")
		for i, f := range p.v.Findings {
			sep := ","
			if i == 0 {
				sep = ""
			}
			fmt.Fprintf(&b, "%s %s (%s, flows %s)", sep, f.Cause, f.Level, joinInts(f.Flows))
		}
	} else {
		b.WriteString("; no finding cites frames")
	}
	b.WriteString(". Holds the frames the findings cite and the handshake frames of their flows, " +
		"with original bytes, timestamps and link types; [frame N] in a comment is the frame's number in the original capture.")
	var de *decode.Error
	if errors.As(damage, &de) {
		fmt.Fprintf(&b, " The capture is damaged: reading stopped at frame %d (offset %d); later frames are missing.", de.Frame, de.Offset)
	}
	return b.String()
}

func joinInts(ids []int) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = fmt.Sprint(id)
	}
	return strings.Join(s, " ")
}

// clip makes s valid UTF-8 (pcapng strings are UTF-8) of at most maxComment
// bytes, cut at a rune boundary.
func clip(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= maxComment {
		return s
	}
	cut := maxComment - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
