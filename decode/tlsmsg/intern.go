package tlsmsg

// Names interns the names hellos carry (server names, the selected
// application protocol), so that the thousandth hello for a name shares
// the first one's string instead of allocating its own. The zero
// value is ready; a nil *Names interns nothing. Not safe for concurrent
// use: one per capture, like CertCache.
type Names struct {
	m map[string]string
}

// maxNames bounds the names a Names remembers.
const maxNames = 1 << 16

// String returns b as a string, the interned one when b was seen before.
func (n *Names) String(b []byte) string {
	if n == nil {
		return string(b)
	}
	if s, ok := n.m[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(n.m) < maxNames {
		if n.m == nil {
			n.m = map[string]string{}
		}
		n.m[s] = s
	}
	return s
}
