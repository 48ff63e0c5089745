package evidence

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/diagnose"
	"github.com/qadiag/qadiag/decode"
	"github.com/qadiag/qadiag/internal/tshark"
)

const pcapDir = "../../testdata/pcaps"

func scenario(name string) string { return filepath.Join(pcapDir, "scenarios", name) }

// diagnoseFile runs analyze and diagnose as the command does; err is the
// capture's damage, if any.
func diagnoseFile(t *testing.T, path string) (*analyze.Result, *diagnose.Verdict, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	res, err := analyze.Read(context.Background(), f, path)
	if res == nil {
		t.Fatalf("analyze.Read(%s): %v", path, err)
	}
	return res, diagnose.Diagnose(res, nil), err
}

// readFrames reads every frame of a capture, copying the data; err is the
// error that ended reading, nil at a clean end.
func readFrames(t *testing.T, r io.Reader) ([]decode.Frame, error) {
	t.Helper()
	rd, err := decode.NewReader(r)
	if err != nil {
		t.Fatalf("decode.NewReader: %v", err)
	}
	var out []decode.Frame
	for {
		var fr decode.Frame
		if err := rd.Next(&fr); err != nil {
			if err == io.EOF {
				err = nil
			}
			return out, err
		}
		fr.Data = slices.Clone(fr.Data)
		out = append(out, fr)
	}
}

func readFile(t *testing.T, path string) []decode.Frame {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	frames, _ := readFrames(t, f)
	return frames
}

// ngFile is what pcapgo reads from an evidence file: decode.Frame counts
// comments but does not keep them.
type ngFile struct {
	section    string
	interfaces []pcapgo.NgInterface
	comments   [][]string
}

func readNg(t *testing.T, b []byte) ngFile {
	t.Helper()
	r, err := pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		t.Fatalf("pcapgo.NewNgReader: %v", err)
	}
	var f ngFile
	for {
		_, _, opts, err := r.ReadPacketDataWithOptions()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("pcapgo: %v", err)
		}
		f.comments = append(f.comments, opts.Comments)
	}
	f.section = r.SectionInfo().Comment
	for i := range r.NInterfaces() {
		intf, _ := r.Interface(i)
		f.interfaces = append(f.interfaces, intf)
	}
	return f
}

// handshakeFrames maps each flow's handshake frames to the flow.
func handshakeFrames(res *analyze.Result) map[uint64]int {
	m := map[uint64]int{}
	for _, f := range res.Flows {
		for _, h := range handshake(f) {
			if h.frame != 0 {
				m[h.frame] = f.ID
			}
		}
	}
	return m
}

// checkEvidence checks an evidence file against the capture it came from:
// every frame is an unchanged original frame, in the original order, on an
// interface of its link type; every cited frame is there with a comment per
// statement; every other frame is a handshake frame with a context comment.
// It returns the comments by original frame number.
func checkEvidence(t *testing.T, orig []decode.Frame, out []byte, res *analyze.Result, v *diagnose.Verdict, st Stats) map[uint64][]string {
	t.Helper()
	got, err := readFrames(t, bytes.NewReader(out))
	if err != nil {
		t.Fatalf("evidence file unreadable: %v", err)
	}
	ng := readNg(t, out)
	if len(got) != st.Frames || len(ng.comments) != st.Frames {
		t.Fatalf("evidence has %d frames (pcapgo %d), Stats.Frames %d", len(got), len(ng.comments), st.Frames)
	}
	byNumber := map[uint64][]string{}
	var prev uint64
	var links []layers.LinkType
	for i, fr := range got {
		var n uint64
		if len(ng.comments[i]) == 0 {
			t.Fatalf("evidence frame %d has no comment", i+1)
		}
		if _, err := fmt.Sscanf(ng.comments[i][0], "[frame %d] ", &n); err != nil || n == 0 || n > uint64(len(orig)) {
			t.Fatalf("evidence frame %d: comment %q names no frame of the capture", i+1, ng.comments[i][0])
		}
		for _, c := range ng.comments[i] {
			if !strings.HasPrefix(c, fmt.Sprintf("[frame %d] ", n)) {
				t.Errorf("frame %d: comment %q has another prefix", n, c)
			}
		}
		if n <= prev {
			t.Errorf("frame %d written after frame %d: order changed", n, prev)
		}
		prev = n
		o := orig[n-1]
		if !fr.Time.Equal(o.Time) || fr.CapLen != o.CapLen || fr.OrigLen != o.OrigLen || fr.LinkType != o.LinkType || !bytes.Equal(fr.Data, o.Data) {
			t.Errorf("frame %d differs: time %v/%v caplen %d/%d len %d/%d link %v/%v bytes equal %v", n,
				fr.Time, o.Time, fr.CapLen, o.CapLen, fr.OrigLen, o.OrigLen, fr.LinkType, o.LinkType, bytes.Equal(fr.Data, o.Data))
		}
		if fr.Comments != len(ng.comments[i]) {
			t.Errorf("frame %d: decode counts %d comments, pcapgo reads %d", n, fr.Comments, len(ng.comments[i]))
		}
		intf := ng.interfaces[fr.Interface]
		if intf.SnapLength != 0 && int(intf.SnapLength) < fr.CapLen {
			t.Errorf("frame %d: %d bytes on an interface with snaplen %d", n, fr.CapLen, intf.SnapLength)
		}
		if !slices.Contains(links, fr.LinkType) {
			links = append(links, fr.LinkType)
		}
		byNumber[n] = ng.comments[i]
	}
	if len(got) > 0 && len(ng.interfaces) != len(links) {
		t.Errorf("%d interfaces for %d link types", len(ng.interfaces), len(links))
	}
	for i, intf := range ng.interfaces {
		if i < len(links) && intf.LinkType != links[i] {
			t.Errorf("interface %d has link type %v, want %v (order of first use)", i, intf.LinkType, links[i])
		}
	}

	cited := map[uint64]bool{}
	for _, f := range v.Findings {
		for _, e := range f.Evidence {
			for _, n := range e.Frames {
				cited[n] = true
				want := fmt.Sprintf("[frame %d] %s (%s): %s", n, f.Cause, f.Level, e.Text)
				if !slices.Contains(byNumber[n], want) {
					t.Errorf("cited frame %d lacks comment %q; has %q", n, want, byNumber[n])
				}
			}
		}
	}
	if st.Cited != len(cited) || st.Missing != 0 {
		t.Errorf("Stats %+v, want Cited %d Missing 0", st, len(cited))
	}
	hs := handshakeFrames(res)
	perFlow := map[int]int{}
	for n, cs := range byNumber {
		if cited[n] {
			continue
		}
		want := fmt.Sprintf("of flow %d", hs[n])
		if hs[n] == 0 || len(cs) != 1 || !strings.Contains(cs[0], "] context: ") || !strings.HasSuffix(cs[0], want) {
			t.Errorf("frame %d is neither cited nor a handshake frame with its context comment: %q", n, cs)
		}
		perFlow[hs[n]]++
	}
	for _, f := range v.Findings {
		for _, id := range f.Flows {
			if syn := res.Flows[id-1].SYNFrame; syn != 0 && byNumber[syn] == nil {
				t.Errorf("SYN frame %d of finding flow %d missing", syn, id)
			}
		}
	}
	return byNumber
}

func writeEvidence(t *testing.T, path string, res *analyze.Result, v *diagnose.Verdict) ([]byte, Stats, error) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Write(&buf, path, res, v)
	return buf.Bytes(), st, err
}

func TestWriteScenarios(t *testing.T) {
	tests := []struct {
		file string
		// want are comments that must appear, by original frame.
		want map[uint64]string
	}{
		{"rst_injection-ttl-mismatch.pcap", map[uint64]string{32: "context: TCP SYN of flow 4"}},
		{"tls_interception-zscaler.pcap", nil},
		{"stun_blocked-udp-dropped.pcap", nil},
		// Linux cooked (SLL2), IPv6, classic pcap.
		{"tls_interception-paloalto-ipv6.pcap", nil},
		// Linux cooked (SLL2) pcapng, dual stack; cites a SYN-ACK of a flow
		// outside the finding: its SYN comes along.
		{"port_blocked-dual-stack.pcapng", nil},
		{"mtu_blackhole-ipv6.pcapng", nil},
		// Cites a working connection to azure.microsoft.com that is not
		// among the finding's flows.
		{"sni_blocking-reset.pcapng", nil},
		// ICMPv6 and ICMP errors: they belong to the flow they quote.
		{"icmp_unreachable-ipv6.pcapng", nil},
		{"healthy-ipv4.pcap", nil},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			path := scenario(tt.file)
			res, v, err := diagnoseFile(t, path)
			if err != nil {
				t.Fatal(err)
			}
			if cause, _, _ := strings.Cut(tt.file, "-"); v.Cause != cause {
				t.Fatalf("verdict %s, want %s", v.Cause, cause)
			}
			out, st, err := writeEvidence(t, path, res, v)
			if err != nil {
				t.Fatalf("Write: %v", err)
			}
			orig := readFile(t, path)
			comments := checkEvidence(t, orig, out, res, v, st)
			for n, c := range tt.want {
				if !slices.Contains(comments[n], fmt.Sprintf("[frame %d] %s", n, c)) {
					t.Errorf("frame %d: want comment %q, have %q", n, c, comments[n])
				}
			}
			if v.Fault() && (st.Cited == 0 || st.Frames >= len(orig)/2) {
				t.Errorf("Stats %+v for %d frames: want a few frames, cited ones among them", st, len(orig))
			}
			section := readNg(t, out).section
			if want := "qadiag evidence for " + tt.file + ": "; !strings.HasPrefix(section, want) {
				t.Errorf("section comment %q, want prefix %q", section, want)
			}
			again, _, _ := writeEvidence(t, path, res, v)
			if !bytes.Equal(out, again) {
				t.Error("two runs wrote different files")
			}
			t.Logf("%d of %d frames, %d cited", st.Frames, len(orig), st.Cited)
		})
	}
}

// TestWriteContextFlows checks the handshake of a flow outside the
// finding's flows is kept because a cited frame belongs to it.
func TestWriteContextFlows(t *testing.T) {
	path := scenario("sni_blocking-reset.pcapng")
	res, v, _ := diagnoseFile(t, path)
	out, st, err := writeEvidence(t, path, res, v)
	if err != nil {
		t.Fatal(err)
	}
	comments := checkEvidence(t, readFile(t, path), out, res, v, st)
	var contrast *analyze.Flow
	for _, f := range res.Flows {
		if f.TLS != nil && f.TLS.ServerFrame != 0 && !slices.Contains(v.Findings[0].Flows, f.ID) &&
			comments[f.TLS.ServerFrame] != nil {
			contrast = f
		}
	}
	if contrast == nil {
		t.Fatal("no cited connection outside the finding's flows")
	}
	want := fmt.Sprintf("[frame %d] context: TCP SYN of flow %d", contrast.SYNFrame, contrast.ID)
	if !slices.Contains(comments[contrast.SYNFrame], want) {
		t.Errorf("frame %d: want %q, have %q", contrast.SYNFrame, want, comments[contrast.SYNFrame])
	}
}

// TestWriteMixedLinkTypes merges an Ethernet and a Linux cooked (SLL2)
// capture into one pcapng with two interfaces: the evidence keeps one
// interface per link type and each frame on its own.
func TestWriteMixedLinkTypes(t *testing.T) {
	a := readFile(t, scenario("rst_injection-ttl-mismatch.pcap"))
	b := readFile(t, scenario("tls_interception-paloalto-ipv6.pcap"))
	merged := slices.Concat(a, b)
	slices.SortStableFunc(merged, func(x, y decode.Frame) int { return x.Time.Compare(y.Time) })
	path := filepath.Join(t.TempDir(), "mixed-link.pcapng")
	var buf bytes.Buffer
	nw, err := pcapgo.NewNgWriterInterface(&buf, pcapgo.NgInterface{LinkType: layers.LinkTypeEthernet},
		pcapgo.NgWriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nw.AddInterface(pcapgo.NgInterface{LinkType: layers.LinkTypeLinuxSLL2}); err != nil {
		t.Fatal(err)
	}
	for _, fr := range merged {
		ci := gopacket.CaptureInfo{Timestamp: fr.Time, CaptureLength: fr.CapLen, Length: fr.OrigLen}
		if fr.LinkType == layers.LinkTypeLinuxSLL2 {
			ci.InterfaceIndex = 1
		}
		if err := nw.WritePacket(ci, fr.Data); err != nil {
			t.Fatal(err)
		}
	}
	if err := nw.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	res, v, err := diagnoseFile(t, path)
	if err != nil {
		t.Fatal(err)
	}
	var causes []string
	for _, f := range v.Findings {
		causes = append(causes, f.Cause)
	}
	if !slices.Contains(causes, diagnose.RSTInjection) || !slices.Contains(causes, diagnose.TLSInterception) {
		t.Fatalf("findings %v, want rst_injection and tls_interception", causes)
	}
	out, st, err := writeEvidence(t, path, res, v)
	if err != nil {
		t.Fatal(err)
	}
	checkEvidence(t, readFile(t, path), out, res, v, st)
	ng := readNg(t, out)
	var links []layers.LinkType
	for _, intf := range ng.interfaces {
		links = append(links, intf.LinkType)
	}
	if len(links) != 2 || !slices.Contains(links, layers.LinkTypeEthernet) || !slices.Contains(links, layers.LinkTypeLinuxSLL2) {
		t.Errorf("interfaces %v, want Ethernet and Linux SLL2", links)
	}
}

// TestWriteDamaged checks a capture cut inside a record still gives the
// evidence read before the cut, and the error.
func TestWriteDamaged(t *testing.T) {
	path := filepath.Join(pcapDir, "damaged-cut-mid-record.pcap")
	res, _, rerr := diagnoseFile(t, path)
	var de *decode.Error
	if !errors.As(rerr, &de) {
		t.Fatalf("analyze.Read: %v, want a *decode.Error", rerr)
	}
	// The capture is a healthy session: cite a ClientHello by hand, and a
	// frame beyond the damage.
	var flow *analyze.Flow
	for _, f := range res.Flows {
		if f.TLS != nil && f.TLS.ClientFrame != 0 && f.SYNFrame != 0 {
			flow = f
			break
		}
	}
	if flow == nil {
		t.Fatal("no TLS flow with a SYN before the damage")
	}
	beyond := de.Frame + 10
	v := &diagnose.Verdict{Cause: diagnose.TLSFailure, Level: diagnose.Possible, Findings: []diagnose.Finding{{
		Cause: diagnose.TLSFailure, Level: diagnose.Possible, Flows: []int{flow.ID},
		Evidence: []diagnose.Evidence{{Text: "a ClientHello", Frames: []uint64{flow.TLS.ClientFrame}}},
	}}}
	out, st, err := writeEvidence(t, path, res, v)
	if !errors.As(err, &de) || de.Frame != 504 {
		t.Fatalf("Write: %v, want the *decode.Error of frame 504", err)
	}
	checkEvidence(t, readFile(t, path), out, res, v, st)
	if st.Cited != 1 || st.Frames < 2 {
		t.Errorf("Stats %+v, want the ClientHello and its SYN", st)
	}
	if section := readNg(t, out).section; !strings.Contains(section, "reading stopped at frame 504") {
		t.Errorf("section comment %q does not mention the damage", section)
	}

	v.Findings[0].Evidence[0].Frames = append(v.Findings[0].Evidence[0].Frames, beyond)
	_, st, err = writeEvidence(t, path, res, v)
	if err == nil || st.Missing != 1 || st.Cited != 1 {
		t.Errorf("citing frame %d beyond the damage: Stats %+v, err %v; want Missing 1 and an error", beyond, st, err)
	}
}

// TestWriteCutScenario cuts a fault scenario inside its last record (the
// second connection's reset): the first connection still shows the
// injection, and its evidence comes with the error.
func TestWriteCutScenario(t *testing.T) {
	src := scenario("rst_injection-ttl-mismatch.pcap")
	frames := readFile(t, src)
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	const after = 44 // frames kept whole
	cut := frames[after].Offset + 10
	path := filepath.Join(t.TempDir(), "cut.pcap")
	if err := os.WriteFile(path, data[:cut], 0o644); err != nil {
		t.Fatal(err)
	}
	res, v, rerr := diagnoseFile(t, path)
	if rerr == nil || v.Cause != diagnose.RSTInjection {
		t.Fatalf("cut capture: verdict %s, err %v; want rst_injection and an error", v.Cause, rerr)
	}
	out, st, err := writeEvidence(t, path, res, v)
	var de *decode.Error
	if !errors.As(err, &de) || de.Frame != after+1 {
		t.Fatalf("Write: %v, want the *decode.Error of frame %d", err, after+1)
	}
	checkEvidence(t, frames[:after], out, res, v, st)
}

func TestWriteNotCapture(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.pcap")
	if err := os.WriteFile(path, []byte("not a capture"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, err := Write(&buf, path, &analyze.Result{}, &diagnose.Verdict{})
	if !errors.Is(err, decode.ErrNotCapture) || buf.Len() != 0 {
		t.Errorf("err %v, %d bytes written; want ErrNotCapture and nothing", err, buf.Len())
	}
	if _, err := Write(&buf, filepath.Join(t.TempDir(), "missing.pcap"), nil, nil); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

func TestClip(t *testing.T) {
	long := strings.Repeat("é", maxComment)
	if got := clip(long); len(got) > maxComment || !strings.HasSuffix(got, "…") || !strings.HasPrefix(got, "éé") {
		t.Errorf("clip: %d bytes, suffix %q", len(got), got[len(got)-5:])
	}
	if got := clip("a\xffb"); got != "a\uFFFDb" {
		t.Errorf("clip invalid UTF-8: %q", got)
	}
}

// TestTsharkComments checks Wireshark shows every comment of the evidence
// files on the right frame.
func TestTsharkComments(t *testing.T) {
	tshark.Require(t)
	for _, name := range []string{"rst_injection-ttl-mismatch.pcap", "tls_interception-paloalto-ipv6.pcap", "stun_blocked-udp-dropped.pcap"} {
		t.Run(name, func(t *testing.T) {
			path := scenario(name)
			res, v, _ := diagnoseFile(t, path)
			out, st, err := writeEvidence(t, path, res, v)
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(t.TempDir(), "evidence.pcapng")
			if err := os.WriteFile(file, out, 0o644); err != nil {
				t.Fatal(err)
			}
			got := tshark.Run(t, "-n", "-r", file, "-Y", "frame.comment", "-T", "fields", "-e", "frame.comment")
			lines := strings.Split(strings.TrimRight(string(got), "\n"), "\n")
			ng := readNg(t, out)
			if len(lines) != st.Frames {
				t.Fatalf("tshark shows comments on %d frames, want %d:\n%s", len(lines), st.Frames, got)
			}
			for i, cs := range ng.comments {
				for _, c := range cs {
					if !strings.Contains(lines[i], c) {
						t.Errorf("tshark frame %d: %q lacks %q", i+1, lines[i], c)
					}
				}
			}
		})
	}
}
