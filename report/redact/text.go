package redact

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"
)

// freeText redacts a sentence, a display filter or a remediation line. It
// cuts s into runs of the characters addresses and names are made of and
// looks at each run whole, so a replacement always covers a whole token:
// "10.1.2.3" is never found inside "110.1.2.34", nor "contoso.com" inside
// "notcontoso.com". A run that parses as an address (or address:port) is
// mapped by the address rules; each ':'-separated part that contains a dot
// is looked up among the pseudonymised names, and a name under a
// pseudonymised domain is mapped too. Literal strings (capture paths,
// user agents) are replaced first, longest first.
func (r *Redactor) freeText(s string) string {
	if s == "" {
		return s
	}
	s = r.replaceLiterals(s)
	var b strings.Builder
	for i := 0; i < len(s); {
		if !textChar(s[i]) {
			b.WriteByte(s[i])
			i++
			continue
		}
		j := i
		for j < len(s) && textChar(s[j]) {
			j++
		}
		// A run right after a single '/' is a product version
		// ("Chrome/131.0.0.0"), not an address.
		version := i >= 1 && s[i-1] == '/' && (i < 2 || s[i-2] != '/')
		b.WriteString(r.textRun(s[i:j], version))
		i = j
	}
	return b.String()
}

func textChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == ':' || c == '-' || c == '_'
}

func (r *Redactor) textRun(run string, version bool) string {
	if !version {
		if m, ok := r.textAddr(run); ok {
			return m
		}
		// Sentence punctuation after an address: "... with 10.1.2.3."
		if core := strings.TrimRight(run, ".:"); core != run {
			if m, ok := r.textAddr(core); ok {
				return m + run[len(core):]
			}
		}
	}
	if !strings.Contains(run, ".") {
		return run
	}
	parts := strings.Split(run, ":")
	for i, p := range parts {
		parts[i] = r.textName(p, version)
	}
	return strings.Join(parts, ":")
}

func (r *Redactor) textAddr(s string) (string, bool) {
	if !strings.ContainsAny(s, ".:") {
		return "", false
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return r.textAddrOf(a).String(), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return netip.AddrPortFrom(r.textAddrOf(ap.Addr()), ap.Port()).String(), true
	}
	return "", false
}

// textAddrOf maps an address found in free text if it came from the
// capture or is private; a public address the capture never showed is
// advice ("nslookup NAME 1.1.1.1") and stays.
func (r *Redactor) textAddrOf(a netip.Addr) netip.Addr {
	if u := a.Unmap().WithZone(""); public(u) && !r.seen[u] {
		return a
	}
	return r.addr(a)
}

func (r *Redactor) textName(p string, version bool) string {
	core := strings.Trim(p, ".")
	if !strings.Contains(core, ".") {
		return p
	}
	lead := p[:strings.Index(p, core)]
	trail := p[len(lead)+len(core):]
	if !version {
		if a, err := netip.ParseAddr(core); err == nil {
			return lead + r.textAddrOf(a).String() + trail
		}
	}
	lower := strings.ToLower(core)
	if m, ok := r.named[lower]; ok {
		return lead + m + trail
	}
	for _, rest, ok := strings.Cut(lower, "."); ok; _, rest, ok = strings.Cut(rest, ".") {
		if _, named := r.named[rest]; named {
			return lead + r.name(core) + trail
		}
	}
	return p
}

// replaceLiterals replaces the registered literal strings, longest first so
// that a path is replaced before its base name.
func (r *Redactor) replaceLiterals(s string) string {
	if len(r.literals) == 0 {
		return s
	}
	keys := make([]string, 0, len(r.literals))
	for k := range r.literals {
		if k != "" && strings.Contains(s, k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return s
	}
	slices.SortFunc(keys, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
	pairs := make([]string, 0, 2*len(keys))
	for _, k := range keys {
		pairs = append(pairs, k, r.literals[k])
	}
	return strings.NewReplacer(pairs...).Replace(s)
}
