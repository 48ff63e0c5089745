package benchgen

import (
	"bytes"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// small is the configuration the tests generate: a few hundred
// connections with the Quick Assist session inside.
var small = Config{Seed: 3, Flows: 300}

func generate(t testing.TB, cfg Config) ([]byte, Stats) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Generate(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), st
}

func TestDeterministic(t *testing.T) {
	a, sa := generate(t, small)
	b, sb := generate(t, small)
	if !bytes.Equal(a, b) || sa != sb {
		t.Fatalf("two runs differ: %d and %d bytes, %+v and %+v", len(a), len(b), sa, sb)
	}
	other := small
	other.Seed++
	if c, _ := generate(t, other); bytes.Equal(a, c) {
		t.Error("seeds 3 and 4 gave the same capture")
	}
}

// frame is one packet read back.
type frame struct {
	ts   time.Time
	data []byte
}

func readBack(t *testing.T, b []byte, format string) []frame {
	t.Helper()
	type reader interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
		LinkType() layers.LinkType
	}
	var r reader
	var err error
	if format == "pcapng" {
		r, err = pcapgo.NewNgReader(bytes.NewReader(b), pcapgo.DefaultNgReaderOptions)
	} else {
		r, err = pcapgo.NewReader(bytes.NewReader(b))
	}
	if err != nil {
		t.Fatal(err)
	}
	if r.LinkType() != layers.LinkTypeEthernet {
		t.Errorf("link type %v, want Ethernet", r.LinkType())
	}
	var out []frame
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatalf("frame %d: %v", len(out)+1, err)
		}
		out = append(out, frame{ci.Timestamp, data})
	}
}

func TestReadBack(t *testing.T) {
	for _, format := range []string{"pcap", "pcapng"} {
		t.Run(format, func(t *testing.T) {
			cfg := small
			cfg.Format = format
			b, st := generate(t, cfg)
			frames := readBack(t, b, format)
			if int64(len(frames)) != st.Packets || int64(len(b)) != st.FileBytes {
				t.Errorf("read %d frames of a %d-byte file, Stats say %d and %d", len(frames), len(b), st.Packets, st.FileBytes)
			}
			var sum, v6 int64
			for i, f := range frames {
				sum += int64(len(f.data))
				if i > 0 && !f.ts.After(frames[i-1].ts) {
					t.Fatalf("frame %d at %v is not after frame %d at %v", i+1, f.ts, i, frames[i-1].ts)
				}
				if f.data[12] == 0x86 {
					v6++
				}
			}
			if sum != st.FrameBytes || v6 != st.IPv6Packets {
				t.Errorf("frame bytes %d, IPv6 frames %d; Stats say %d and %d", sum, v6, st.FrameBytes, st.IPv6Packets)
			}
			if first, last := frames[0].ts, frames[len(frames)-1].ts; first.Before(DefaultStart) || last.After(DefaultStart.Add(DefaultDuration)) {
				t.Errorf("frames span %v to %v, outside the hour from %v", first, last, DefaultStart)
			}
		})
	}
}

func TestFramesDecode(t *testing.T) {
	b, _ := generate(t, small)
	for i, f := range readBack(t, b, "pcap") {
		p := gopacket.NewPacket(f.data, layers.LinkTypeEthernet, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		if el := p.ErrorLayer(); el != nil {
			t.Fatalf("frame %d: %v", i+1, el.Error())
		}
		if p.TransportLayer() == nil {
			t.Fatalf("frame %d has no transport layer", i+1)
		}
		inbound := bytes.Equal(p.LinkLayer().(*layers.Ethernet).SrcMAC, gatewayMAC[:])
		if inbound && len(f.data) < 60 {
			t.Fatalf("inbound frame %d is %d bytes, not padded", i+1, len(f.data))
		}
		ip4, ok := p.NetworkLayer().(*layers.IPv4)
		if !ok {
			continue
		}
		if err, res := ip4.VerifyChecksum(); err != nil || !res.Valid {
			t.Fatalf("frame %d: IPv4 checksum %v %+v", i+1, err, res)
		}
		tcp, ok := p.TransportLayer().(*layers.TCP)
		if !ok {
			continue
		}
		tcp.SetNetworkLayerForChecksum(ip4)
		if err, res := tcp.VerifyChecksum(); err != nil || !res.Valid {
			t.Fatalf("frame %d: TCP checksum %v %+v", i+1, err, res)
		}
	}
}

func TestStatsMix(t *testing.T) {
	_, st := generate(t, Config{Seed: 1, Flows: 4000, Duration: 10 * time.Minute})
	checks := []struct {
		name      string
		got, want float64
		tolerance float64
	}{
		{"tcp flows", float64(st.TCPFlows), 4000, 0},
		{"udp flows (60 TURN + 2,000 DNS)", float64(st.UDPFlows), 2060, 0},
		// 95 % of connections get a ClientHello out; a few are cut by the end.
		{"client hellos", float64(st.ClientHellos), 0.95 * 4000, 0.02},
		{"IPv6 share", float64(st.IPv6Packets) / float64(st.Packets), 0.1, 0.3},
	}
	for _, c := range checks {
		if diff := c.got - c.want; diff > c.tolerance*c.want || -diff > c.tolerance*c.want {
			t.Errorf("%s = %v, want %v within %v %%", c.name, c.got, c.want, 100*c.tolerance)
		}
	}
}

func TestConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"negative flows", Config{Flows: -1}},
		{"short duration", Config{Duration: time.Second}},
		{"format", Config{Format: "erf"}},
		{"negative msgscale", Config{MsgScale: -1}},
		{"ipv6 fraction", Config{IPv6Fraction: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Generate(io.Discard, tt.cfg); !errors.Is(err, ErrConfig) {
				t.Errorf("Generate = %v, want ErrConfig", err)
			}
		})
	}
}

func TestTshark(t *testing.T) {
	path, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed: apt-get install tshark to run this check")
	}
	b, st := generate(t, small)
	file := filepath.Join(t.TempDir(), "small.pcap")
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(path, "-r", file, "-T", "fields", "-E", "separator=/t",
		"-e", "_ws.malformed", "-e", "_ws.expert.severity", "-e", "tls.handshake.type", "-e", "tls.handshake.extensions_server_name")
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	rows, snis := 0, 0
	for line := range strings.Lines(string(out)) {
		rows++
		f := strings.Split(strings.TrimSuffix(line, "\n"), "\t")
		if f[0] != "" || strings.Contains(f[1], "8388608") { // PI_ERROR
			t.Errorf("frame %d is malformed or has an expert error: %q", rows, f)
		}
		if f[3] != "" {
			snis++
		}
	}
	if int64(rows) != st.Packets {
		t.Errorf("tshark read %d frames, want %d", rows, st.Packets)
	}
	if snis != st.ClientHellos {
		t.Errorf("tshark found %d SNIs, the generator wrote %d ClientHellos", snis, st.ClientHellos)
	}
}

func BenchmarkGenerate(b *testing.B) {
	cfg := Config{Seed: 1, Flows: 2000}
	var st Stats
	for b.Loop() {
		var err error
		if st, err = Generate(io.Discard, cfg); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(st.FileBytes)
	b.ReportMetric(float64(st.Packets)*float64(b.N)/b.Elapsed().Seconds(), "packets/s")
}
