package dnsmsg

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
		{"query", fixture(tb, "dns-nxdomain-soa-f1")},
		{"nxdomain-soa", fixture(tb, "dns-nxdomain-soa-f2")},
		{"cname-chain", fixture(tb, "ms-dns-teams-skype-nxdomain-f6")},
		{"aaaa", fixture(tb, "tls13-curl-with-dns-f4")},
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
			// gopacket allocates the option list of an EDNS OPT record that
			// carries options (the query's COOKIE); nothing else allocates once
			// the Parser and Message are warm.
			if allocs > 2 {
				t.Errorf("Parse of a repeated message: %v allocs/op, want at most 2", allocs)
			}
		})
	}
}
