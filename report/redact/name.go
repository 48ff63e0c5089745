package redact

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"net/netip"
	"strings"

	"github.com/qadiag/qadiag/analyze/catalog"
)

// genericLabels identify nobody and stay as they are at any level of a
// name: "www.contoso.com" becomes "www.<pseudonym>.com".
var genericLabels = set("www", "wpad", "localhost", "isatap", "_tcp", "_udp", "_msdcs", "_ldap", "_kerberos",
	"_sites", "_gc", "in-addr", "ip6")

// tlds are last labels that stay: public top-level domains common in the
// captures and the pseudo-TLDs of internal networks, which name no one.
// Other last labels are pseudonymised like any label.
var tlds = set("com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "io", "co", "us", "uk", "de", "fr",
	"nl", "jp", "cn", "ru", "eu", "ca", "au", "in", "br", "ch", "se", "no", "es", "it", "pl", "be", "at", "dk", "fi",
	"ie", "nz", "arpa", "local", "lan", "home", "internal", "corp", "localdomain", "intranet", "test", "example",
	"invalid", "microsoft", "cloud", "app", "dev")

func set(s ...string) map[string]bool {
	m := make(map[string]bool, len(s))
	for _, v := range s {
		m[v] = true
	}
	return m
}

// catalogParents returns the domains above the catalog's host entries:
// "support.services.microsoft.com", "services.microsoft.com",
// "microsoft.com" and "com" for "*.support.services.microsoft.com".
func catalogParents(cat *catalog.Catalog) map[string]bool {
	parents := map[string]bool{}
	for _, e := range cat.Entries() {
		h := e.Host
		if h == "" {
			continue
		}
		if first, rest, ok := strings.Cut(h, "."); ok && strings.Contains(first, "*") {
			parents[rest] = true
			h = rest
		}
		for _, rest, ok := strings.Cut(h, "."); ok; _, rest, ok = strings.Cut(rest, ".") {
			parents[rest] = true
		}
	}
	return parents
}

// name maps a host name: catalog names, their parent domains and IP
// literals keep their meaning; any other name becomes a pseudonym of the
// same length and label structure. A trailing dot stays.
func (r *Redactor) name(n string) string {
	trail := ""
	if strings.HasSuffix(n, ".") {
		n, trail = n[:len(n)-1], "."
	}
	if n == "" {
		return trail
	}
	if a, err := netip.ParseAddr(n); err == nil {
		return r.addr(a).String() + trail
	}
	lower := strings.ToLower(n)
	if r.keepName(lower) {
		return n + trail
	}
	if len(lower) > maxName {
		return r.flatName(lower) + trail
	}
	return r.pseudoName(lower) + trail
}

// maxName is the longest DNS name (RFC 1035 2.3.4). A longer "name" (a
// hostile server name) is mapped in one piece, not label by label, which
// would cost time quadratic in its length.
const maxName = 255

// flatName maps a string character by character, dots kept.
func (r *Redactor) flatName(lower string) string {
	m := []byte(pseudoLabel(r.names, lower, "\x00flat", 0))
	for i := 0; i < len(lower); i++ {
		if lower[i] == '.' {
			m[i] = '.'
		}
	}
	return string(m)
}

// keepName reports whether a lower-case name stays visible.
func (r *Redactor) keepName(lower string) bool {
	if r.parents[lower] {
		return true
	}
	if !strings.Contains(lower, ".") {
		return tlds[lower] || genericLabels[lower]
	}
	_, ok := r.cat.MatchHost(lower)
	return ok
}

// pseudoName maps a lower-case name that does not stay, label by label from
// the right, so that names sharing a parent domain share its pseudonym and a
// DNS message rewritten label by label in place agrees with it. Pseudonyms
// are kept distinct within a run: on a collision the first label is drawn
// again.
func (r *Redactor) pseudoName(lower string) string {
	if p, ok := r.named[lower]; ok {
		return p
	}
	first, rest, dotted := strings.Cut(lower, ".")
	suffix := ""
	if dotted {
		suffix = "."
		if r.keepName(rest) {
			suffix += rest
		} else {
			suffix += r.pseudoName(rest)
		}
	}
	label := first
	if !genericLabels[first] {
		for attempt := 0; ; attempt++ {
			label = pseudoLabel(r.names, first, rest, attempt)
			if o, taken := r.used[label+suffix]; !taken || o == lower || attempt == 16 {
				break
			}
		}
	}
	p := label + suffix
	if p != lower {
		r.named[lower], r.used[p] = p, lower
	}
	return p
}

// pseudoLabel draws the pseudonym of one label under its (original)
// parent: digits become digits, '-' and '_' stay, anything else becomes a
// lower-case letter, so the result is a valid host name label of the same
// length.
func pseudoLabel(key []byte, label, parent string, attempt int) string {
	out := make([]byte, len(label))
	var stream []byte
	for block := uint32(0); len(stream) < len(label); block++ {
		m := hmac.New(sha256.New, key)
		var hdr [8]byte
		binary.BigEndian.PutUint32(hdr[:4], uint32(attempt))
		binary.BigEndian.PutUint32(hdr[4:], block)
		m.Write(hdr[:])
		m.Write([]byte(parent))
		m.Write([]byte{0})
		m.Write([]byte(label))
		stream = m.Sum(stream)
	}
	for i := 0; i < len(label); i++ {
		c, x := label[i], stream[i]
		switch {
		case c >= '0' && c <= '9':
			out[i] = '0' + x%10
		case c == '-' || c == '_':
			out[i] = c
		default:
			out[i] = 'a' + x%26
		}
	}
	return string(out)
}

// opaque maps a string without structure (a STUN username) to a keyed
// pseudonym of the same length and character classes; ':' stays, as it
// separates the ICE ufrags (RFC 8445 7.2.2).
func (r *Redactor) opaque(s string) string {
	if s == "" {
		return s
	}
	parts := strings.Split(s, ":")
	for i, p := range parts {
		parts[i] = pseudoLabel(r.tokens, p, "", 0)
	}
	return strings.Join(parts, ":")
}

// san maps a certificate name, which may be a wildcard ("*.contoso.com"):
// a wildcard stays when the names it covers are catalog names.
func (r *Redactor) san(n string) string {
	if rest, ok := strings.CutPrefix(n, "*."); ok {
		if _, match := r.cat.MatchHost("x." + rest); match {
			return n
		}
		return "*." + r.name(rest)
	}
	return r.name(n)
}

// catalogSAN reports whether a certificate name is, or covers, a catalog name.
func (r *Redactor) catalogSAN(n string) bool {
	if rest, ok := strings.CutPrefix(n, "*."); ok {
		n = "x." + rest
	}
	_, ok := r.cat.MatchHost(n)
	return ok
}

// hostPort maps an HTTP authority: "host", "host:port", an IP literal with
// or without a port, "[v6]:port".
func (r *Redactor) hostPort(s string) string {
	if s == "" {
		return s
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return r.addrPort(ap).String()
	}
	if a, err := netip.ParseAddr(strings.Trim(s, "[]")); err == nil {
		if strings.HasPrefix(s, "[") {
			return "[" + r.addr(a).String() + "]"
		}
		return r.addr(a).String()
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 && digits(s[i+1:]) {
		return r.name(s[:i]) + s[i:]
	}
	return r.name(s)
}

// catalogHost reports whether an authority names a catalog host.
func (r *Redactor) catalogHost(s string) bool {
	if i := strings.LastIndexByte(s, ':'); i > 0 && digits(s[i+1:]) {
		s = s[:i]
	}
	_, ok := r.cat.MatchHost(s)
	return ok
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// url maps a request target or a Location (RFC 9112 3.2): the authority
// like hostPort, credentials dropped; the path stays only for catalog
// hosts, and a query never (it carries tokens and user names).
func (r *Redactor) url(u, host string) string {
	if u == "" || u == "*" {
		return u
	}
	prefix, rest := "", u
	if i := strings.Index(u, "://"); i > 0 {
		rest = u[i+3:]
		j := strings.IndexAny(rest, "/?#")
		if j < 0 {
			j = len(rest)
		}
		auth := rest[:j]
		if k := strings.LastIndexByte(auth, '@'); k >= 0 {
			auth = auth[k+1:]
		}
		prefix, host, rest = u[:i+3]+r.hostPort(auth), auth, rest[j:]
	} else if !strings.HasPrefix(u, "/") {
		return r.hostPort(u) // authority form
	}
	path, query := rest, ""
	if q := strings.IndexAny(rest, "?#"); q >= 0 {
		path, query = rest[:q], "?redacted"
	}
	if path != "" && path != "/" && !r.catalogHost(host) {
		path = "/redacted"
	}
	return prefix + path + query
}

// product keeps the product tokens of a User-Agent, Server or STUN
// SOFTWARE value ("Chrome/131.0", RFC 9110 10.1.5) and replaces comments,
// which carry the operating system, device and sometimes user details,
// with "(redacted)"; anything that is not a token is dropped the same way.
func product(s string) string {
	var out []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '(':
			depth, j := 0, i
			for ; j < len(s); j++ {
				if s[j] == '(' {
					depth++
				} else if s[j] == ')' {
					if depth--; depth == 0 {
						break
					}
				}
			}
			out, i = appendRedacted(out, "(redacted)"), j+1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '(' {
				j++
			}
			if tok := s[i:j]; isProduct(tok) {
				out = append(out, tok)
			} else {
				out = appendRedacted(out, "redacted")
			}
			i = j
		}
	}
	return strings.Join(out, " ")
}

func appendRedacted(out []string, s string) []string {
	if len(out) > 0 && strings.Contains(out[len(out)-1], "redacted") {
		return out
	}
	return append(out, s)
}

// isProduct reports whether tok is a product token: token ["/" token]
// (RFC 9110 5.6.2), at most 64 bytes.
func isProduct(tok string) bool {
	if tok == "" || len(tok) > 64 || strings.Count(tok, "/") > 1 || tok[0] == '/' || tok[len(tok)-1] == '/' {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$%&'*+-.^_`|~/", c) >= 0) {
			return false
		}
	}
	return true
}

// looksHost reports whether a certificate attribute value is a host name
// (a CN such as "www.contoso.com") rather than a CA's display name.
func looksHost(v string) bool {
	if len(v) < 3 || !strings.Contains(v, ".") || v[0] == '.' || v[len(v)-1] == '.' {
		return false
	}
	letter := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z':
			letter = true
		case c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '*':
		default:
			return false
		}
	}
	return letter
}
