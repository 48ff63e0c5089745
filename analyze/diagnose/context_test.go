package diagnose

import (
	"net/netip"
	"slices"
	"testing"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
)

// TestContextGroupsFlows checks FlowsTo and FlowsNamed: every flow in its
// server address's group and in the group of each name it is for (SNI, DNS
// names, case and trailing dot ignored), once, in flow order.
func TestContextGroupsFlows(t *testing.T) {
	a, b := netip.MustParseAddrPort("192.0.2.1:443"), netip.MustParseAddrPort("192.0.2.2:443")
	flow := func(id int, srv netip.AddrPort, sni string, names ...string) *analyze.Flow {
		f := &analyze.Flow{ID: id, Server: srv}
		if sni != "" {
			f.TLS = &analyze.TLSInfo{SNI: sni}
		}
		var ns []analyze.NameSource
		for _, n := range names {
			ns = append(ns, analyze.NameSource{Name: n})
		}
		f.SetNames(ns)
		return f
	}
	flows := []*analyze.Flow{
		flow(1, a, "One.Example", "one.example.", "two.example"),
		flow(2, b, ""),
		flow(3, a, "two.example", "TWO.example"),
		flow(4, b, "one.example"),
	}
	c := NewContext(&analyze.Result{Flows: flows}, catalog.Default())
	ids := func(fs []*analyze.Flow) []int {
		var out []int
		for _, f := range fs {
			out = append(out, f.ID)
		}
		return out
	}
	for _, tc := range []struct {
		got  []*analyze.Flow
		want []int
	}{
		{c.FlowsTo(a.Addr()), []int{1, 3}},
		{c.FlowsTo(b.Addr()), []int{2, 4}},
		{c.FlowsTo(netip.MustParseAddr("192.0.2.3")), nil},
		{c.FlowsNamed("one.example"), []int{1, 4}},
		{c.FlowsNamed("TWO.EXAMPLE."), []int{1, 3}},
		{c.FlowsNamed("three.example"), nil},
	} {
		if got := ids(tc.got); !slices.Equal(got, tc.want) {
			t.Errorf("got flows %v, want %v", got, tc.want)
		}
	}
	// A caller appending to a group must not write into the next one.
	g := c.FlowsTo(a.Addr())
	_ = append(g, flows[1])
	if got := ids(c.FlowsTo(b.Addr())); !slices.Equal(got, []int{2, 4}) {
		t.Errorf("after an append to another group: %v", got)
	}
}
