package stunmsg

import "testing"

// benchInputs are the shapes measured by BenchmarkParse and TestParseAllocs.
func benchInputs(tb testing.TB) []struct {
	name string
	b    []byte
} {
	return []struct {
		name string
		b    []byte
	}{
		{"rfc5769-request", []byte(rfc5769Request)},
		{"rfc5769-ipv6-response", []byte(rfc5769IPv6Response)},
		{"teams-binding-request", fixture(tb, "ms-teams-client-session-f1404")},
		{"msturn-allocate-error-unpadded", fixture(tb, "ms-teams-client-session-f1245")},
		{"turn-allocate-success", fixture(tb, "turn-tcp-dtls-rtp-f48")},
		{"classic-binding-response", fixture(tb, "stun-classic-rfc3489-f2")},
	}
}

func BenchmarkParse(b *testing.B) {
	for _, in := range benchInputs(b) {
		b.Run(in.name, func(b *testing.B) {
			var p Parser
			var m Message
			b.SetBytes(int64(len(in.b)))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Parse(in.b, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestParseAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector allocates")
	}
	for _, in := range benchInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			var p Parser
			var m Message
			allocs := testing.AllocsPerRun(100, func() {
				if err := p.Parse(in.b, &m); err != nil {
					t.Fatal(err)
				}
			})
			if allocs != 0 {
				t.Errorf("Parse of a repeated message: %v allocs/op, want 0", allocs)
			}
		})
	}
}
