package catalog

import (
	"bytes"
	"cmp"
	_ "embed"
	"net/netip"
	"slices"
	"sync"
)

//go:embed endpoints.json
var embedded []byte

// defaultCatalog parses the embedded file once. A broken embedded file is a
// build defect, caught by TestDefault, so it panics rather than return an
// error every caller would have to handle.
var defaultCatalog = sync.OnceValue(func() *Catalog {
	c, err := Load(bytes.NewReader(embedded))
	if err != nil {
		panic("catalog: embedded endpoints.json: " + err.Error())
	}
	return c
})

// Default returns the built-in catalog, parsed once from the embedded
// endpoints.json. The result is shared and must not be modified; it is safe
// for concurrent use, as every Catalog is.
func Default() *Catalog { return defaultCatalog() }

// Catalog is an immutable set of endpoints and certificate issuers, indexed
// for matching. Build one with Default, Load or Merge; a nil *Catalog is
// empty and matches nothing.
type Catalog struct {
	entries []Entry
	keys    []string // entries[i].Key(), precomputed so matching never formats

	exact  map[string][]int       // exact host -> entries
	suffix map[string][]int       // "b.com" for "*.b.com" -> entries
	label  map[string][]labelRule // "b.com" for "a*.b.com" -> rules, longest label first
	ranges []rangeNode            // sorted by address, then prefix length

	issuers      []Issuer
	issuerExact  map[string]int // exact name -> issuers index
	issuerFamily map[string]int // family name without " NN" -> issuers index
}

// labelRule is one first-label wildcard ("rdprelay*.x.com").
type labelRule struct {
	label string
	idx   []int
}

// rangeNode is one distinct prefix. parent is the index of the longest other
// prefix that contains it, or -1: MatchAddr walks these links upward from a
// binary-search hit to find the longest prefix containing an address.
type rangeNode struct {
	prefix netip.Prefix
	parent int
	idx    []int
}

// build indexes validated entries and issuers; it keeps their order, which
// decides between entries that share a pattern.
func build(entries []Entry, issuers []Issuer) *Catalog {
	c := &Catalog{
		entries:      entries,
		keys:         make([]string, len(entries)),
		exact:        map[string][]int{},
		suffix:       map[string][]int{},
		label:        map[string][]labelRule{},
		issuers:      issuers,
		issuerExact:  map[string]int{},
		issuerFamily: map[string]int{},
	}
	byPrefix := map[netip.Prefix][]int{}
	for i := range entries {
		e := &entries[i]
		c.keys[i] = e.Key()
		if e.Host == "" {
			byPrefix[e.Prefix] = append(byPrefix[e.Prefix], i)
			continue
		}
		h, err := parseHost(e.Host)
		if err != nil {
			panic("catalog: unvalidated entry " + e.Host) // Load and Merge only pass validated entries
		}
		switch h.kind {
		case hostExact:
			c.exact[h.text] = append(c.exact[h.text], i)
		case hostSuffixWild:
			c.suffix[h.suffix] = append(c.suffix[h.suffix], i)
		case hostLabelWild:
			c.addLabelRule(h, i)
		}
	}
	c.indexRanges(byPrefix)
	for i := range issuers {
		if iss := &issuers[i]; iss.isFamily() {
			c.issuerFamily[iss.Name[:len(iss.Name)-len(familySuffix)]] = i
		} else {
			c.issuerExact[iss.Name] = i
		}
	}
	return c
}

func (c *Catalog) addLabelRule(h hostPattern, i int) {
	rules := c.label[h.suffix]
	for j := range rules {
		if rules[j].label == h.label {
			rules[j].idx = append(rules[j].idx, i)
			return
		}
	}
	rules = append(rules, labelRule{label: h.label, idx: []int{i}})
	slices.SortStableFunc(rules, func(a, b labelRule) int { return cmp.Compare(len(b.label), len(a.label)) })
	c.label[h.suffix] = rules
}

func (c *Catalog) indexRanges(byPrefix map[netip.Prefix][]int) {
	for p, idx := range byPrefix {
		c.ranges = append(c.ranges, rangeNode{prefix: p, idx: idx})
	}
	slices.SortFunc(c.ranges, func(a, b rangeNode) int { return comparePrefix(a.prefix, b.prefix) })
	var stack []int // chain of prefixes containing the current one
	for i := range c.ranges {
		p := c.ranges[i].prefix
		for len(stack) > 0 && !containsPrefix(c.ranges[stack[len(stack)-1]].prefix, p) {
			stack = stack[:len(stack)-1]
		}
		c.ranges[i].parent = -1
		if len(stack) > 0 {
			c.ranges[i].parent = stack[len(stack)-1]
		}
		stack = append(stack, i)
	}
}

// comparePrefix orders by address (IPv4 first), then shorter prefix first.
func comparePrefix(a, b netip.Prefix) int {
	if c := a.Addr().Compare(b.Addr()); c != 0 {
		return c
	}
	return cmp.Compare(a.Bits(), b.Bits())
}

// containsPrefix reports whether outer contains all of inner.
func containsPrefix(outer, inner netip.Prefix) bool {
	return outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// Merge returns a new catalog holding c's entries and issuers extended by
// other's. Where other lists a pattern (host or prefix) that c also lists,
// other's entries for it replace all of c's; an issuer of the same name
// likewise replaces c's. Either catalog may be nil.
func (c *Catalog) Merge(other *Catalog) *Catalog {
	var base, ext Catalog
	if c != nil {
		base = *c
	}
	if other != nil {
		ext = *other
	}
	override := make(map[string]bool, len(ext.keys))
	for _, k := range ext.keys {
		override[k] = true
	}
	var entries []Entry
	for i := range base.entries {
		if !override[base.keys[i]] {
			entries = append(entries, base.entries[i].clone())
		}
	}
	for i := range ext.entries {
		entries = append(entries, ext.entries[i].clone())
	}
	var issuers []Issuer
	for _, iss := range base.issuers {
		if _, exact := ext.issuerExact[iss.Name]; !exact && !ext.hasFamily(iss) {
			issuers = append(issuers, iss)
		}
	}
	issuers = append(issuers, ext.issuers...)
	return build(entries, issuers)
}

func (c *Catalog) hasFamily(iss Issuer) bool {
	if !iss.isFamily() {
		return false
	}
	_, ok := c.issuerFamily[iss.Name[:len(iss.Name)-len(familySuffix)]]
	return ok
}

// Entries returns a copy of every entry, sorted by role, then host patterns
// before prefixes, then pattern (prefixes by address), then first port: the
// order of a listing.
func (c *Catalog) Entries() []Entry {
	if c == nil {
		return nil
	}
	out := make([]Entry, len(c.entries))
	for i := range c.entries {
		out[i] = c.entries[i].clone()
	}
	slices.SortStableFunc(out, compareEntry)
	return out
}

func compareEntry(a, b Entry) int {
	if c := cmp.Compare(a.Role, b.Role); c != 0 {
		return c
	}
	if aRange, bRange := a.Host == "", b.Host == ""; aRange != bRange {
		return boolOrder(aRange)
	}
	if c := cmp.Compare(a.Host, b.Host); c != 0 {
		return c
	}
	if c := comparePrefix(a.Prefix, b.Prefix); c != 0 {
		return c
	}
	return cmp.Compare(a.Ports[0].String(), b.Ports[0].String())
}

// Issuers returns a copy of the certificate issuers, roots first, each kind
// sorted by name.
func (c *Catalog) Issuers() []Issuer {
	if c == nil {
		return nil
	}
	out := slices.Clone(c.issuers)
	slices.SortFunc(out, func(a, b Issuer) int {
		if a.Kind != b.Kind {
			return boolOrder(a.Kind == KindIssuing)
		}
		return cmp.Compare(a.Name, b.Name)
	})
	return out
}

// boolOrder orders two values that differ in one property: the one that
// has it (after is true) sorts last.
func boolOrder(after bool) int {
	if after {
		return 1
	}
	return -1
}
