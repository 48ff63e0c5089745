package decodetest

import (
	"io"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
)

func BenchmarkAppendFrame(b *testing.B) {
	buf := make([]byte, 0, 2048)
	for _, tt := range []struct {
		name string
		n    int
	}{{"ack", 0}, {"small", 150}, {"full", 1460}} {
		tcp := TCP{Link: Link{Pad: true}, Src: client4, Dst: server4, Flags: FlagACK, WScale: -1, Payload: filler[:tt.n]}
		b.Run("tcp/"+tt.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(tcp.Len()))
			for b.Loop() {
				buf = tcp.AppendFrame(buf[:0])
			}
		})
	}
}

func BenchmarkClientHello(b *testing.B) {
	r := rand.New(rand.NewPCG(1, 1))
	buf := make([]byte, 0, 2048)
	b.Run("chromium", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o := ChromiumHello("remoteassistance.support.services.microsoft.com", r)
			buf = AppendClientHello(buf[:0], &o)
		}
	})
	b.Run("schannel", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			o := SchannelHello("login.microsoftonline.com", r)
			buf = AppendClientHello(buf[:0], &o)
		}
	})
}

func BenchmarkWritePacket(b *testing.B) {
	frame := TCP{Src: client4, Dst: server4, Flags: FlagACK, WScale: -1, Payload: filler[:100]}.Frame()
	for _, f := range []Format{FormatPcap, FormatPcapng} {
		w, err := NewWriter(io.Discard, WriterOptions{Format: f, LinkType: layers.LinkTypeEthernet})
		if err != nil {
			b.Fatal(err)
		}
		ts := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
		b.Run([]string{"pcap", "pcapng"}[f], func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(frame)))
			for b.Loop() {
				if err := w.WritePacket(ts, frame); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
