package catalog

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
)

// Entry is one endpoint of the catalog: a host name pattern or an address
// prefix, the ports it is used on, and the role it plays.
type Entry struct {
	// Host is a lower-case name pattern without a trailing dot: an exact
	// name ("edge.skype.com"), a suffix wildcard ("*.skype.com", one or
	// more labels before "skype.com") or a first-label wildcard
	// ("rdprelay*.support.services.microsoft.com", exactly one label that
	// starts with "rdprelay"). Empty when Prefix is set.
	Host string
	// Prefix is a masked address range; invalid (zero) when Host is set.
	Prefix netip.Prefix
	// Ports lists where the endpoint listens; never empty.
	Ports []PortRange
	// Role is the part the endpoint plays; never RoleUnknown.
	Role Role
	// Required reports whether Microsoft lists the endpoint as one that
	// both Quick Assist parties must reach.
	Required bool
	// Broad reports whether the entry comes from a generic product list
	// (Azure Communication Services, Teams, Microsoft 365, PKI) and covers
	// many services besides Quick Assist, so that a match alone says
	// "Microsoft", not "this flow is Quick Assist's".
	Broad bool
	// Note says what the source calls the endpoint and any doubt about it.
	Note string
	// Source is where the fact comes from, normally an https URL.
	Source string
}

// Key returns the entry's pattern: Host, or the canonical text of Prefix.
// Two entries with the same key describe the same endpoint.
func (e Entry) Key() string {
	if e.Host != "" {
		return e.Host
	}
	return e.Prefix.String()
}

// HasPort reports whether one of the entry's port ranges contains port on
// proto ("tcp" or "udp").
func (e Entry) HasPort(proto string, port uint16) bool {
	return hasPort(e.Ports, proto, port)
}

func hasPort(ports []PortRange, proto string, port uint16) bool {
	for _, p := range ports {
		if p.Contains(proto, port) {
			return true
		}
	}
	return false
}

func (e *Entry) clone() Entry {
	c := *e
	c.Ports = slices.Clone(e.Ports)
	return c
}

// PortRange is an inclusive range of ports on one transport protocol.
type PortRange struct {
	// Proto is "tcp" or "udp".
	Proto string
	// First and Last bound the range; First <= Last, both non-zero.
	First, Last uint16
}

// Contains reports whether port on proto falls inside the range. Proto is
// compared exactly and must be lower case.
func (p PortRange) Contains(proto string, port uint16) bool {
	return p.Proto == proto && p.First <= port && port <= p.Last
}

// String formats the range as the endpoint file writes it: "tcp/443" or
// "udp/3478-3481".
func (p PortRange) String() string {
	if p.First == p.Last {
		return p.Proto + "/" + strconv.Itoa(int(p.First))
	}
	return p.Proto + "/" + strconv.Itoa(int(p.First)) + "-" + strconv.Itoa(int(p.Last))
}

func (p PortRange) overlaps(q PortRange) bool {
	return p.Proto == q.Proto && p.First <= q.Last && q.First <= p.Last
}

// ParsePortRange parses "tcp/443" or "udp/3478-3481".
func ParsePortRange(s string) (PortRange, error) {
	proto, ports, ok := strings.Cut(s, "/")
	if !ok || (proto != "tcp" && proto != "udp") {
		return PortRange{}, fmt.Errorf("%w %q: want tcp/PORT, udp/PORT or PROTO/FIRST-LAST", ErrPort, s)
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	first, err := parsePort(lo)
	if err != nil {
		return PortRange{}, fmt.Errorf("%w %q: %v", ErrPort, s, err)
	}
	last := first
	if isRange {
		if last, err = parsePort(hi); err != nil {
			return PortRange{}, fmt.Errorf("%w %q: %v", ErrPort, s, err)
		}
	}
	if first > last {
		return PortRange{}, fmt.Errorf("%w %q: first port above last", ErrPort, s)
	}
	return PortRange{Proto: proto, First: first, Last: last}, nil
}

func parsePort(s string) (uint16, error) {
	n, err := strconv.ParseUint(s, 10, 16)
	if err != nil || n == 0 {
		return 0, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	return uint16(n), nil
}

// hostKind tells the three pattern shapes apart.
type hostKind uint8

const (
	hostExact      hostKind = iota // "a.b.com"
	hostSuffixWild                 // "*.b.com"
	hostLabelWild                  // "a*.b.com"
)

// hostPattern is a parsed Entry.Host.
type hostPattern struct {
	kind   hostKind
	text   string // normalized pattern
	label  string // hostLabelWild: the first label's fixed start
	suffix string // wildcards: the name after the first label
}

// maxNameLen is the longest DNS name in text form (RFC 1035 2.3.4 allows
// 255 octets on the wire, 253 characters without the trailing dot).
const maxNameLen = 253

// parseHost validates and normalizes a host pattern. Wildcard suffixes must
// have at least two labels, so "*.com" is refused.
func parseHost(s string) (hostPattern, error) {
	s = strings.TrimSuffix(asciiLower(s), ".")
	if s == "" || len(s) > maxNameLen {
		return hostPattern{}, fmt.Errorf("%w %q: empty or longer than %d characters", ErrHost, s, maxNameLen)
	}
	first, rest, _ := strings.Cut(s, ".")
	star := strings.IndexByte(first, '*')
	if star < 0 {
		if err := checkName(s, s, 2); err != nil {
			return hostPattern{}, err
		}
		return hostPattern{kind: hostExact, text: s}, nil
	}
	if star != len(first)-1 {
		return hostPattern{}, fmt.Errorf("%w %q: '*' may only end the first label", ErrHost, s)
	}
	if err := checkName(s, rest, 2); err != nil {
		return hostPattern{}, err
	}
	p := hostPattern{kind: hostSuffixWild, text: s, suffix: rest}
	if star > 0 {
		p.kind, p.label = hostLabelWild, first[:star]
		if err := checkLabel(s, p.label); err != nil {
			return hostPattern{}, err
		}
	}
	return p, nil
}

// checkName accepts a lower-case name of at least minLabels labels, each 1
// to 63 characters of letters, digits, '-' and '_' (RFC 1035 2.3.4; the
// underscore appears in service names). Errors quote pattern, of which name
// is the fixed part.
func checkName(pattern, name string, minLabels int) error {
	n := 0
	for label := range strings.SplitSeq(name, ".") {
		if err := checkLabel(pattern, label); err != nil {
			return err
		}
		n++
	}
	if n < minLabels {
		return fmt.Errorf("%w %q: %q needs at least %d labels", ErrHost, pattern, name, minLabels)
	}
	return nil
}

func checkLabel(name, label string) error {
	if label == "" || len(label) > 63 {
		return fmt.Errorf("%w %q: empty label or label longer than 63", ErrHost, name)
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
			return fmt.Errorf("%w %q: character %q not allowed", ErrHost, name, c)
		}
	}
	return nil
}

// parsePrefix parses a masked prefix. Host bits and IPv4-mapped IPv6
// prefixes are refused: both are more likely a typo than intended.
func parsePrefix(s string) (netip.Prefix, error) {
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("%w: %v", ErrPrefix, err)
	}
	if p.Addr().Is4In6() {
		return netip.Prefix{}, fmt.Errorf("%w %q: write IPv4-mapped ranges as IPv4", ErrPrefix, s)
	}
	if p.Masked() != p {
		return netip.Prefix{}, fmt.Errorf("%w %q: host bits set (did you mean %s?)", ErrPrefix, s, p.Masked())
	}
	return p, nil
}
