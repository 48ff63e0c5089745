package decodetest

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// checksummed is a layer whose checksum gopacket can verify.
type checksummed interface {
	VerifyChecksum() (error, gopacket.ChecksumVerificationResult)
}

// decodeFrame decodes frame with gopacket and fails the test on a decode
// error or a wrong IPv4, TCP, UDP or ICMP checksum of the outer packet.
func decodeFrame(t *testing.T, frame []byte, lt LinkType) gopacket.Packet {
	t.Helper()
	p := gopacket.NewPacket(frame, lt.PcapLinkType(), gopacket.Default)
	if el := p.ErrorLayer(); el != nil {
		t.Fatalf("decoding %x: %v", frame, el.Error())
	}
	nl := p.NetworkLayer()
	for _, l := range p.Layers() {
		if tl, ok := l.(interface {
			SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
		}); ok && nl != nil {
			if err := tl.SetNetworkLayerForChecksum(nl); err != nil {
				t.Fatalf("%v: %v", l.LayerType(), err)
			}
		}
		c, ok := l.(checksummed)
		if !ok {
			continue
		}
		err, res := c.VerifyChecksum()
		if err != nil {
			t.Fatalf("%v checksum: %v", l.LayerType(), err)
		}
		if !res.Valid {
			t.Errorf("%v checksum %#04x, want %#04x", l.LayerType(), res.Actual, res.Correct)
		}
		if _, ok := l.(*layers.ICMPv4); ok {
			break // the quoted packet is cut short; its checksums are not ours
		}
		if _, ok := l.(*layers.ICMPv6); ok {
			break
		}
	}
	return p
}

// tshark returns the path of tshark or skips the test.
func tshark(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("tshark not installed: apt-get install tshark to run this check")
	}
	return path
}

// runTshark runs tshark with args and returns its standard output.
func runTshark(t *testing.T, path string, args ...string) string {
	t.Helper()
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir()) // no user profile
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("tshark %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return out.String()
}

// writeCapture writes frames one millisecond apart to a file in a
// temporary directory and returns its path.
func writeCapture(t *testing.T, name string, opts WriterOptions, frames [][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w, err := NewWriter(f, opts)
	if err != nil {
		t.Fatal(err)
	}
	ts := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	for i, fr := range frames {
		if err := w.WritePacket(ts.Add(time.Duration(i)*time.Millisecond), fr); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return path
}
