package redact

import (
	"bytes"
	"net/netip"
	"strings"
)

var httpMethods = [][]byte{[]byte("GET "), []byte("POST "), []byte("PUT "), []byte("HEAD "), []byte("DELETE "),
	[]byte("OPTIONS "), []byte("CONNECT "), []byte("PATCH "), []byte("TRACE "), []byte("HTTP/1.")}

// isHTTP reports whether p starts an HTTP/1.x request or status line.
func isHTTP(p []byte) bool {
	for _, m := range httpMethods {
		if bytes.HasPrefix(p, m) {
			return true
		}
	}
	return false
}

// httpKeep are the header fields whose values identify nobody and stay.
var httpKeep = set("connection", "proxy-connection", "content-length", "content-type", "transfer-encoding",
	"cache-control", "pragma", "date", "keep-alive", "expires", "retry-after", "accept", "accept-encoding",
	"upgrade", "mime-version", "content-encoding", "age", "vary")

// httpMessage redacts an HTTP/1.x header block in place (RFC 9112 2-5):
// the request target and Host are mapped with their length kept, product
// strings lose their comments, credentials and challenges keep only their
// scheme, Via keeps its proxy's software, other values become 'x'. It
// returns what follows the header block (a body, or the tunnel's first
// bytes) for the caller to redact. A header line cut by the end of the
// segment is filled.
func (r *Redactor) httpMessage(p []byte) []byte {
	lines, end, complete := httpLines(p)
	if len(lines) == 0 {
		fill(p) // not even the first line is whole
		return nil
	}
	host := ""
	for _, l := range lines[1:] {
		if name, value, ok := header(l); ok && strings.EqualFold(name, "host") {
			host = string(bytes.TrimSpace(value))
		}
	}
	r.requestLine(lines[0], host)
	for _, l := range lines[1:] {
		name, value, ok := header(l)
		if !ok {
			fill(l)
			continue
		}
		r.headerValue(strings.ToLower(name), bytes.TrimSpace(value))
	}
	if !complete {
		fill(p[end:])
		return nil
	}
	return p[end:]
}

// httpLines splits the header block into lines without their CRLF; end is
// where the block (with its empty line) ends, or where the last whole line
// ends when the block is cut.
func httpLines(p []byte) (lines [][]byte, end int, complete bool) {
	for end < len(p) {
		i := bytes.IndexByte(p[end:], '\n')
		if i < 0 {
			return lines, end, false
		}
		line := bytes.TrimSuffix(p[end:end+i], []byte("\r"))
		end += i + 1
		if len(line) == 0 {
			return lines, end, true
		}
		lines = append(lines, line)
	}
	return lines, end, false
}

func header(l []byte) (string, []byte, bool) {
	i := bytes.IndexByte(l, ':')
	if i <= 0 {
		return "", nil, false
	}
	return string(l[:i]), l[i+1:], true
}

// requestLine maps the target of "METHOD target HTTP/1.1"; a status line
// stays.
func (r *Redactor) requestLine(l []byte, host string) {
	if len(l) == 0 || bytes.HasPrefix(l, []byte("HTTP/")) {
		return
	}
	f := bytes.SplitN(l, []byte(" "), 3)
	if len(f) < 2 {
		fill(l)
		return
	}
	if string(f[0]) == "CONNECT" {
		r.authorityBytes(f[1])
		return
	}
	r.urlBytes(f[1], host)
}

func (r *Redactor) headerValue(name string, v []byte) {
	switch {
	case httpKeep[name]:
	case name == "host":
		r.authorityBytes(v)
	case name == "user-agent" || name == "server" || name == "proxy-agent":
		productBytes(v)
	case name == "via":
		r.viaBytes(v)
	case name == "location" || name == "referer" || name == "content-location":
		r.urlBytes(v, "")
	case name == "proxy-authenticate" || name == "www-authenticate" || name == "authorization" ||
		name == "proxy-authorization":
		// Keep the scheme ("NTLM", "Basic"); an NTLM token holds user,
		// domain and workstation names, a Basic one the password.
		if i := bytes.IndexAny(v, " ,"); i >= 0 {
			fill(v[i+1:])
		}
	default: // cookies and everything not known to be harmless
		fill(v)
	}
}

// authorityBytes maps "host[:port]" in place, keeping its length; an
// address whose pseudonym is longer or shorter is filled.
func (r *Redactor) authorityBytes(b []byte) {
	s := string(b)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		if m := r.addrPort(ap).String(); len(m) == len(s) {
			copy(b, m)
		} else {
			fill(b[:strings.LastIndexByte(s, ':')])
		}
		return
	}
	host := s
	if i := strings.LastIndexByte(s, ':'); i > 0 && digits(s[i+1:]) {
		host = s[:i]
	}
	lit, start := strings.Trim(host, "[]"), 0
	if strings.HasPrefix(host, "[") {
		start = 1
	}
	if a, err := netip.ParseAddr(lit); err == nil {
		if m := r.addr(a).String(); len(m) == len(lit) {
			copy(b[start:], m)
		} else {
			fill(b[start : start+len(lit)])
		}
		return
	}
	copy(b, r.sameLenName(host))
}

// urlBytes maps a URL or an origin-form target in place: the authority as
// authorityBytes; the path filled unless the host is a catalog name; the
// query always.
func (r *Redactor) urlBytes(b []byte, host string) {
	path := b
	if i := bytes.Index(b, []byte("://")); i > 0 {
		rest := b[i+3:]
		j := bytes.IndexAny(rest, "/?#")
		if j < 0 {
			j = len(rest)
		}
		auth := rest[:j]
		if k := bytes.LastIndexByte(auth, '@'); k >= 0 {
			fill(auth[:k])
			auth = auth[k+1:]
		}
		host = string(auth)
		r.authorityBytes(auth)
		path = rest[j:]
	} else if len(b) > 0 && b[0] != '/' {
		r.authorityBytes(b)
		return
	}
	q := bytes.IndexAny(path, "?#")
	if q >= 0 {
		fill(path[q+1:])
		path = path[:q]
	}
	if len(path) > 1 && !r.catalogHost(host) {
		fill(path[1:])
	}
}

// viaBytes maps the received-by host of each Via entry in place.
func (r *Redactor) viaBytes(v []byte) {
	for _, e := range bytes.Split(v, []byte(",")) {
		f := bytes.Fields(e)
		if len(f) >= 2 {
			r.authorityBytes(f[1])
		}
	}
}

// productBytes is product in place: comments and anything that is not a
// product token are filled.
func productBytes(v []byte) {
	depth := 0
	for i := 0; i < len(v); {
		switch {
		case v[i] == '(':
			depth++
			i++
		case v[i] == ')' && depth > 0:
			depth--
			i++
		case depth > 0:
			v[i] = 'x'
			i++
		case v[i] == ' ' || v[i] == '\t':
			i++
		default:
			j := i
			for j < len(v) && v[j] != ' ' && v[j] != '\t' && v[j] != '(' {
				j++
			}
			if !isProduct(string(v[i:j])) {
				fill(v[i:j])
			}
			i = j
		}
	}
}
