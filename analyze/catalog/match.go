package catalog

import (
	"net/netip"
	"strings"
)

// How a Match was made, in Match.By.
const (
	ByHost     = "host"     // the name equals an exact host entry
	ByWildcard = "wildcard" // the name falls under a wildcard host entry
	ByRange    = "range"    // the address falls inside a prefix entry
)

// Match is the catalog's answer for a name or an address.
type Match struct {
	// Role is the matched entry's role.
	Role Role
	// By is ByHost, ByWildcard or ByRange.
	By string
	// Pattern is the matched entry's host pattern or prefix.
	Pattern string
	// Required, Broad, Note and Source are copied from the entry.
	Required bool
	Broad    bool
	Note     string
	Source   string
	// Ports are the entry's port ranges, shared with the catalog: do not
	// modify.
	Ports []PortRange
}

// HasPort reports whether the matched entry lists port on proto ("tcp" or
// "udp"), e.g. to tell a flow to a media prefix on UDP 3478 from one on an
// unlisted port.
func (m Match) HasPort(proto string, port uint16) bool {
	return hasPort(m.Ports, proto, port)
}

func (c *Catalog) match(i int, by string) Match {
	e := &c.entries[i]
	return Match{
		Role: e.Role, By: by, Pattern: c.keys[i],
		Required: e.Required, Broad: e.Broad, Note: e.Note, Source: e.Source,
		Ports: e.Ports,
	}
}

// MatchHost looks up a DNS name, TLS SNI or CONNECT host. Case (ASCII only)
// and one trailing dot are ignored. Precedence:
//
//  1. an exact entry;
//  2. a first-label wildcard "p*.b.com", which matches exactly one label
//     starting with p before "b.com"; the longest p wins;
//  3. a suffix wildcard "*.b.com", which matches one or more labels before
//     "b.com" but not "b.com" itself; the longest suffix wins.
//
// Matching is by whole labels, so "*.microsoft.com" matches neither
// "microsoft.com.evil.example" nor "notmicrosoft.com". Where several entries
// share the winning pattern, the first one loaded answers. MatchHost does
// not allocate unless name contains upper-case letters.
func (c *Catalog) MatchHost(name string) (Match, bool) {
	if c == nil {
		return Match{}, false
	}
	name = asciiLower(strings.TrimSuffix(name, "."))
	if name == "" || len(name) > maxNameLen || name[0] == '.' || strings.Contains(name, "..") {
		return Match{}, false // empty labels: not a name
	}
	if idx, ok := c.exact[name]; ok {
		return c.match(idx[0], ByHost), true
	}
	first, rest, ok := strings.Cut(name, ".")
	if !ok {
		return Match{}, false
	}
	for _, r := range c.label[rest] {
		if strings.HasPrefix(first, r.label) {
			return c.match(r.idx[0], ByWildcard), true
		}
	}
	for suffix := rest; ok; _, suffix, ok = strings.Cut(suffix, ".") {
		if idx, found := c.suffix[suffix]; found {
			return c.match(idx[0], ByWildcard), true
		}
	}
	return Match{}, false
}

// MatchAddr looks up an address among the prefix entries; the longest
// prefix containing it wins. An IPv4-mapped IPv6 address is unmapped first
// and an IPv6 zone ignored. Where several entries share the prefix, the
// first one loaded answers; MatchAddrPort chooses by port instead. It does
// not allocate.
func (c *Catalog) MatchAddr(a netip.Addr) (Match, bool) {
	n := c.lookupRange(a)
	if n < 0 {
		return Match{}, false
	}
	return c.match(c.ranges[n].idx[0], ByRange), true
}

// MatchAddrPort is MatchAddr for a server address and port: among the
// entries of the longest prefix containing the address, it prefers the first
// that lists the port on proto ("tcp" or "udp"). The same Teams prefix, for
// example, is media on UDP 3478-3481 and signaling on TCP 443. When none
// lists the port it answers like MatchAddr; check Match.HasPort.
func (c *Catalog) MatchAddrPort(proto string, ap netip.AddrPort) (Match, bool) {
	n := c.lookupRange(ap.Addr())
	if n < 0 {
		return Match{}, false
	}
	idx := c.ranges[n].idx
	for _, i := range idx {
		if c.entries[i].HasPort(proto, ap.Port()) {
			return c.match(i, ByRange), true
		}
	}
	return c.match(idx[0], ByRange), true
}

// lookupRange returns the index in c.ranges of the longest prefix containing
// a, or -1. Binary search finds the last prefix starting at or before a; if
// that prefix does not contain a, the longest one that does is among its
// ancestors, because prefixes either nest or do not overlap.
func (c *Catalog) lookupRange(a netip.Addr) int {
	if c == nil || !a.IsValid() {
		return -1
	}
	a = a.Unmap().WithZone("")
	lo, hi := 0, len(c.ranges) // first index whose prefix starts after a
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if c.ranges[mid].prefix.Addr().Compare(a) <= 0 {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	for n := lo - 1; n >= 0; n = c.ranges[n].parent {
		if c.ranges[n].prefix.Contains(a) {
			return n
		}
	}
	return -1
}

// asciiLower lower-cases ASCII letters, allocating only when there is one
// to change. Non-ASCII bytes are left alone: Unicode case folding would map
// the Kelvin sign to "k" and let a look-alike name match.
func asciiLower(s string) string {
	i := 0
	for i < len(s) && !('A' <= s[i] && s[i] <= 'Z') {
		i++
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:i])
	for ; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		b.WriteByte(c)
	}
	return b.String()
}
