package tlsmsg

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// cmpDiff ignores a ClientHello's storage kept for reuse (helloStore).
func cmpDiff(x, y any) string {
	return cmp.Diff(x, y, cmpopts.EquateErrors(), cmpopts.IgnoreUnexported(ClientHello{}))
}

// piece is one Feed call.
type piece struct {
	client bool
	frame  uint64
	data   []byte
}

// pieces merges both directions' writes in frame order. split, if not nil,
// cuts each direction's byte stream further: it returns the stream offsets
// after which to cut, and a cut piece keeps its write's frame.
func pieces(tr transcript, split func(client bool, n int) []int) []piece {
	var ps []piece
	for _, side := range []bool{true, false} {
		cs := tr.server
		if side {
			cs = tr.client
		}
		var cuts []int
		if split != nil {
			cuts = split(side, len(concat(cs)))
		}
		off := 0
		for _, c := range cs {
			d := c.data
			for len(d) > 0 {
				n := len(d)
				for _, k := range cuts {
					if k > off && k < off+n {
						n = k - off
						break
					}
				}
				ps = append(ps, piece{side, c.frame, d[:n]})
				d, off = d[n:], off+n
			}
		}
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].frame < ps[j].frame })
	return ps
}

// feed runs the pieces through two Streams as a caller would, telling the
// client's Stream when the server selects TLS 1.3.
func feed(ps []piece) (client, server Summary) {
	var c, s Stream
	told := false
	for _, p := range ps {
		if p.client {
			c.Feed(p.data, p.frame)
			continue
		}
		s.Feed(p.data, p.frame)
		if sh := s.Summary().ServerHello; sh != nil && !told && isTLS13(sh.SelectedVersion) {
			c.SetTLS13Encrypted()
			told = true
		}
	}
	return c.Summary(), s.Summary()
}

func TestStreamHandshakes(t *testing.T) {
	for _, sc := range scenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			tr := runHandshake(t, sc.ccfg, sc.scfg)
			c, s := feed(pieces(tr, nil))
			for _, sum := range []Summary{c, s} {
				if sum.Malformed != "" || sum.Truncated {
					t.Fatalf("Malformed %q, Truncated %v", sum.Malformed, sum.Truncated)
				}
			}
			sc.check(t, c, s)
		})
	}
}

// TestStreamSplits feeds each recorded handshake cut at every byte offset
// of each direction, and in 1-byte pieces, and expects the Summary of the
// uncut feed every time.
func TestStreamSplits(t *testing.T) {
	for _, sc := range scenarios(t) {
		t.Run(sc.name, func(t *testing.T) {
			tr := runHandshake(t, sc.ccfg, sc.scfg)
			wc, ws := feed(pieces(tr, nil))
			check := func(what string, ps []piece) {
				t.Helper()
				c, s := feed(ps)
				if reflect.DeepEqual(wc, c) && reflect.DeepEqual(ws, s) {
					return
				}
				if d := cmpDiff(wc, c); d != "" {
					t.Fatalf("%s: client summary (-want +got)\n%s", what, d)
				}
				if d := cmpDiff(ws, s); d != "" {
					t.Fatalf("%s: server summary (-want +got)\n%s", what, d)
				}
			}
			for _, side := range []bool{true, false} {
				n := len(concat(tr.server))
				if side {
					n = len(concat(tr.client))
				}
				for k := 1; k < n; k++ {
					check(fmt.Sprintf("client %v cut at %d", side, k), pieces(tr, func(client bool, _ int) []int {
						if client == side {
							return []int{k}
						}
						return nil
					}))
				}
			}
			check("1-byte pieces", pieces(tr, func(_ bool, n int) []int {
				cuts := make([]int, n)
				for i := range cuts {
					cuts[i] = i
				}
				return cuts
			}))
		})
	}
}

// step is one Feed call (frame = index + 1), or a Gap.
type step struct {
	data []byte
	gap  bool
}

func feeds(bs ...[]byte) []step {
	var st []step
	for _, b := range bs {
		st = append(st, step{data: b})
	}
	return st
}

func run(steps []step) Summary {
	var s Stream
	for i, st := range steps {
		if st.gap {
			s.Gap()
			continue
		}
		s.Feed(st.data, uint64(i+1))
	}
	return s.Summary()
}

func TestStreamMalformed(t *testing.T) {
	hello := buildClientHello([]uint16{0x1301}, []ext{sniExt("a.example")})
	alert := record(recordAlert, []byte{2, 40})
	tests := []struct {
		name      string
		steps     []step
		err       error  // sentinel, nil for no error
		malformed string // exact text, when err is set
		truncated bool
	}{
		{
			name:      "handshake length 70000",
			steps:     feeds(alert, record(recordHandshake, []byte{1, 0x01, 0x11, 0x70, 0})),
			err:       ErrTooLarge,
			malformed: "tls: record at stream offset 7: handshake type 1 length 70000 exceeds limit",
		},
		{
			name:      "unknown content type",
			steps:     feeds([]byte{99, 3, 3, 0, 1, 0}),
			err:       ErrMalformed,
			malformed: "tls: record at stream offset 0: unknown content type 99",
		},
		{
			name:      "record version 2",
			steps:     feeds(alert, []byte{21, 2, 0, 0, 2, 2, 40}),
			err:       ErrMalformed,
			malformed: "tls: record at stream offset 7: record version 0x0200",
		},
		{
			name:      "record too long",
			steps:     feeds([]byte{23, 3, 3, 0x48, 0x01}),
			err:       ErrTooLarge,
			malformed: "tls: record at stream offset 0: record length 18433 exceeds limit",
		},
		{
			name:      "sslv2 hello",
			steps:     feeds([]byte{0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15}),
			err:       ErrSSLv2,
			malformed: "tls: record at stream offset 0: sslv2-compatible hello (not parsed)",
		},
		{
			name:      "alert inside a fragmented handshake message",
			steps:     feeds(record(recordHandshake, handshakeMsg(1, hello)[:20]), alert),
			err:       ErrMalformed,
			malformed: "tls: record at stream offset 25: content type 21 inside a fragmented handshake message",
		},
		{
			name:      "bad client hello",
			steps:     feeds(record(recordHandshake, handshakeMsg(1, hello[:len(hello)-1]))),
			err:       ErrMalformed,
			malformed: "tls: record at stream offset 0: client hello: extensions length exceeds message",
		},
		{
			name:      "server hello done with a body",
			steps:     feeds(record(recordHandshake, handshakeMsg(14, []byte{0}))),
			err:       ErrMalformed,
			malformed: "tls: record at stream offset 0: server hello done has a 1-byte body",
		},
		{
			name:      "truncated mid-record",
			steps:     feeds(record(recordHandshake, handshakeMsg(1, hello))[:30]),
			truncated: true,
		},
		{
			name:      "truncated mid-header",
			steps:     feeds(alert, []byte{22, 3}),
			truncated: true,
		},
		{
			name:      "certificate message beyond MaxBuffer",
			steps:     feeds(record(recordHandshake, []byte{11, 0x01, 0x86, 0xa0, 0, 0})),
			truncated: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sum := run(tt.steps)
			if !errors.Is(sum.Err, tt.err) || (tt.err == nil) != (sum.Err == nil) {
				t.Fatalf("Err = %v, want %v", sum.Err, tt.err)
			}
			if sum.Malformed != tt.malformed {
				t.Errorf("Malformed = %q, want %q", sum.Malformed, tt.malformed)
			}
			var se *StreamError
			if tt.err != nil && !errors.As(sum.Err, &se) {
				t.Errorf("Err is %T, want *StreamError", sum.Err)
			}
			if sum.Truncated != tt.truncated {
				t.Errorf("Truncated = %v, want %v", sum.Truncated, tt.truncated)
			}
		})
	}
}

func TestStreamRecords(t *testing.T) {
	hello := handshakeMsg(1, buildClientHello([]uint16{0x1301}, []ext{sniExt("a.example")}))
	helloRec := record(recordHandshake, hello)
	manyAlerts := bytes.Repeat(record(recordAlert, []byte{1, 0}), MaxAlerts+4)
	encrypted := make([]byte, 40) // an AES-GCM TLS 1.2 Finished: nonce 0, then ciphertext
	for i := 8; i < len(encrypted); i++ {
		encrypted[i] = byte(i * 37)
	}
	tests := []struct {
		name  string
		steps []step
		want  Summary
	}{
		{
			name:  "encrypted alert",
			steps: feeds(record(recordAlert, make([]byte, 26))),
			want:  Summary{Alerts: []Alert{{Encrypted: true, Frame: 1}}, AlertRecords: 1, Records: 1},
		},
		{
			name:  "plaintext alert after change_cipher_spec",
			steps: feeds(record(recordChangeCipherSpec, []byte{1}), record(recordAlert, []byte{2, 20})),
			want: Summary{
				Alerts: []Alert{{Level: 2, Description: 20, Frame: 2}}, AlertRecords: 1,
				ChangeCipherSpecFrame: 1, Records: 2,
			},
		},
		{
			name:  "alerts beyond MaxAlerts are counted",
			steps: feeds(manyAlerts),
			want: Summary{
				Alerts:       slicesRepeat(Alert{Level: 1, Frame: 1}, MaxAlerts),
				AlertRecords: MaxAlerts + 4, Records: MaxAlerts + 4,
			},
		},
		{
			name:  "empty handshake record and heartbeat",
			steps: feeds(record(recordHandshake, nil), record(recordHeartbeat, []byte{1, 0, 0})),
			want:  Summary{HandshakeRecords: 1, Records: 2},
		},
		{
			name: "encrypted finished after change_cipher_spec is counted",
			steps: feeds(record(recordChangeCipherSpec, []byte{1}), record(recordHandshake, encrypted),
				record(recordApplicationData, []byte{1, 2, 3})),
			want: Summary{
				ChangeCipherSpecFrame: 1, HandshakeRecords: 1, AppDataRecords: 1,
				FirstAppDataFrame: 3, FirstAppData: [4]AppRecord{{Frame: 3, Len: 3}}, Records: 3,
			},
		},
		{
			name: "hello split over two records is attributed to the record completing it",
			steps: feeds(record(recordHandshake, hello[:10]),
				append(record(recordHandshake, hello[10:]), record(recordApplicationData, []byte{1})[:3]...)),
			want: Summary{ClientHelloFrame: 2, HandshakeRecords: 2, Records: 2, Truncated: true},
		},
		{
			name:  "message attributed to the frame that completes its record",
			steps: feeds(helloRec[:len(helloRec)-3], helloRec[len(helloRec)-3:]),
			want:  Summary{ClientHelloFrame: 2, HandshakeRecords: 1, Records: 1},
		},
		{
			name: "gap inside a hello, then records",
			steps: []step{
				{data: helloRec[:20]}, {gap: true},
				{data: append([]byte{0xde, 0xad, 0xbe, 0xef}, record(recordAlert, []byte{2, 80})...)},
			},
			want: Summary{Alerts: []Alert{{Level: 2, Description: 80, Frame: 3}}, AlertRecords: 1, Records: 1, Gaps: 1},
		},
		{
			name: "gap, header split across feeds",
			steps: []step{
				{gap: true}, {data: []byte{0x17, 0x17, 0x03}}, {data: []byte{0x03, 0x00, 0x01, 0xaa}},
			},
			want: Summary{AppDataRecords: 1, FirstAppDataFrame: 3, FirstAppData: [4]AppRecord{{Frame: 3, Len: 1}}, Records: 1, Gaps: 1},
		},
		{
			name: "gap, false header whose record fails, then a real one",
			steps: []step{
				{gap: true},
				{data: append(record(recordHandshake, []byte{14, 0, 0, 1, 0}), record(recordAlert, []byte{2, 48})...)},
			},
			want: Summary{Alerts: []Alert{{Level: 2, Description: 48, Frame: 2}}, AlertRecords: 1, Records: 1, Gaps: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := run(tt.steps)
			got.ClientHello = nil
			if d := cmpDiff(tt.want, got); d != "" {
				t.Errorf("(-want +got)\n%s", d)
			}
		})
	}
}

func slicesRepeat[T any](v T, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// TestStreamMalformedText pins the error text's shape.
func TestStreamMalformedText(t *testing.T) {
	sum := run(feeds([]byte{22, 3, 1, 0, 5, 1, 0, 0, 1, 0}))
	if !strings.HasPrefix(sum.Malformed, "tls: record at stream offset 0: client hello: ") {
		t.Errorf("Malformed = %q", sum.Malformed)
	}
}

func TestCertCacheSharesChains(t *testing.T) {
	leaf := makeCert(t, time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC), []string{"a.example"}, false)
	body := certMessage(false, leaf)
	cache := NewCertCache(1 << 20)
	a, errA := cache.parse(body)
	b, errB := cache.parse(bytes.Clone(body))
	if errA != nil || errB != nil {
		t.Fatalf("parse: %v, %v", errA, errB)
	}
	if cache.Hits != 1 || len(a) == 0 || &a[0] != &b[0] {
		t.Fatalf("second parse not served from the cache: hits %d", cache.Hits)
	}
	other := bytes.Clone(body)
	other[len(other)-1] ^= 1
	if _, _ = cache.parse(other); cache.Hits != 1 {
		t.Fatalf("different bytes served from the cache")
	}
	tiny := NewCertCache(1)
	tiny.parse(body)
	tiny.parse(body)
	if tiny.Hits != 0 || len(tiny.m) != 0 {
		t.Fatalf("cache over its bound: %d entries", len(tiny.m))
	}
}
