package httpmsg

import (
	"bytes"
	"fmt"
	"net/textproto"
	"strings"
)

// ParseRequest reads the request line and header fields at the start of b,
// the reassembled client-to-server bytes of a connection. It returns
// ErrIncomplete while the header block has not ended, and an error wrapping
// ErrMalformed for anything that is not an HTTP/1.x request; on a malformed
// field line the fields read before it are returned with the error.
func ParseRequest(b []byte) (Request, error) {
	var r Request
	block, n, err := headerBlock(b)
	if err != nil {
		return r, err
	}
	start, fields, _ := bytes.Cut(block, []byte("\n"))
	if err := parseRequestLine(trimCR(start), &r); err != nil {
		return r, err
	}
	r.HeaderBytes = n
	err = eachField(fields, func(name string, value []byte) {
		switch name {
		case "Host":
			r.Host = keep(value)
		case "User-Agent":
			r.UserAgent = keep(value)
		case "Proxy-Authorization":
			r.ProxyAuthorization = true
		case "Content-Length":
			r.ContentLength, r.HasLength = contentLength(value)
		case "Transfer-Encoding":
			r.Chunked = chunked(value)
		}
	})
	return r, err
}

// ParseResponse reads the status line and header fields at the start of b,
// the reassembled server-to-client bytes of a connection, with the same
// errors as ParseRequest.
func ParseResponse(b []byte) (Response, error) {
	var r Response
	block, n, err := headerBlock(b)
	if err != nil {
		return r, err
	}
	start, fields, _ := bytes.Cut(block, []byte("\n"))
	if err := parseStatusLine(trimCR(start), &r); err != nil {
		return r, err
	}
	r.HeaderBytes = n
	err = eachField(fields, func(name string, value []byte) {
		switch name {
		case "Proxy-Authenticate":
			r.ProxyAuthenticate = appendSchemes(r.ProxyAuthenticate, value)
		case "Www-Authenticate":
			r.WWWAuthenticate = appendSchemes(r.WWWAuthenticate, value)
		case "Via":
			r.Via = combine(r.Via, value)
		case "Server":
			r.Server = keep(value)
		case "Location":
			r.Location = keep(value)
		case "Content-Type":
			r.ContentType = keep(value)
		case "Proxy-Agent":
			r.ProxyAgent = keep(value)
		case "Content-Length":
			r.ContentLength, r.HasLength = contentLength(value)
		case "Transfer-Encoding":
			r.Chunked = chunked(value)
		}
	})
	return r, err
}

// headerBlock finds the end of the header block: the first empty line
// (RFC 9112 2.1). Lines end in CRLF; a bare LF is accepted too, as RFC 9112
// 2.2 allows. It returns the block without the empty line, and the number of
// bytes up to and including the empty line.
func headerBlock(b []byte) (block []byte, n int, err error) {
	limit := min(len(b), MaxHeaderBytes)
	for off := 0; off < limit; {
		i := bytes.IndexByte(b[off:limit], '\n')
		if i < 0 {
			break
		}
		if len(trimCR(b[off:off+i])) == 0 {
			if off == 0 {
				return nil, 0, fmt.Errorf("%w: empty start line", ErrMalformed)
			}
			return b[:off], off + i + 1, nil
		}
		off += i + 1
	}
	if len(b) >= MaxHeaderBytes {
		return nil, 0, fmt.Errorf("%w: no end of header block in the first %d bytes", ErrMalformed, MaxHeaderBytes)
	}
	return nil, 0, ErrIncomplete
}

// parseRequestLine parses method SP request-target SP HTTP-version
// (RFC 9112 3).
func parseRequestLine(line []byte, r *Request) error {
	method, rest, ok1 := bytes.Cut(line, []byte(" "))
	target, proto, ok2 := bytes.Cut(rest, []byte(" "))
	if !ok1 || !ok2 || !isToken(method) || !isTarget(target) || !isVersion(proto) {
		return fmt.Errorf("%w: request line %q", ErrMalformed, clip(line))
	}
	r.Method, r.Target, r.Proto = keep(method), keep(target), string(proto)
	return nil
}

// parseStatusLine parses HTTP-version SP status-code SP [reason-phrase]
// (RFC 9112 4). A missing SP after the code is accepted, as servers send
// "HTTP/1.1 200" without a reason.
func parseStatusLine(line []byte, r *Response) error {
	proto, rest, ok := bytes.Cut(line, []byte(" "))
	if !ok || !isVersion(proto) || len(rest) < 3 || (len(rest) > 3 && rest[3] != ' ') {
		return fmt.Errorf("%w: status line %q", ErrMalformed, clip(line))
	}
	status := 0
	for _, c := range rest[:3] {
		if c < '0' || c > '9' {
			return fmt.Errorf("%w: status code %q", ErrMalformed, rest[:3])
		}
		status = status*10 + int(c-'0')
	}
	r.Proto, r.Status = string(proto), status
	if len(rest) > 4 {
		r.Reason = keep(rest[4:])
	}
	return nil
}

// eachField calls fn with the canonical name (textproto) and the trimmed
// value of every field line in fields (RFC 9112 5). Obsolete line folding
// (a line starting with SP or HTAB, RFC 9112 5.2) is skipped. A line without
// a colon, or with white space before it (RFC 9112 5.1), stops the walk with
// ErrMalformed.
func eachField(fields []byte, fn func(name string, value []byte)) error {
	for len(fields) > 0 {
		var line []byte
		line, fields, _ = bytes.Cut(fields, []byte("\n"))
		line = trimCR(line)
		if len(line) == 0 || line[0] == ' ' || line[0] == '\t' {
			continue
		}
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || !isToken(name) {
			return fmt.Errorf("%w: field line %q", ErrMalformed, clip(line))
		}
		fn(textproto.CanonicalMIMEHeaderKey(string(name)), bytes.Trim(value, " \t"))
	}
	return nil
}

// appendSchemes appends the auth-scheme of every challenge in a
// WWW-Authenticate or Proxy-Authenticate value (RFC 9110 11.6.1, 11.7.1):
// a comma-separated list in which an element that starts with "token="
// is a parameter of the previous challenge, and any other element starts
// with a scheme. Commas inside quoted strings do not split.
func appendSchemes(dst []string, value []byte) []string {
	for _, elem := range splitList(value) {
		end := bytes.IndexAny(elem, " \t=")
		if end == 0 {
			continue
		}
		if end > 0 && elem[end] == '=' {
			continue // auth-param of the previous challenge
		}
		scheme := elem
		if end > 0 {
			scheme = elem[:end]
		}
		if len(dst) >= maxSchemes || !isToken(scheme) {
			continue
		}
		dst = append(dst, schemeName(scheme))
	}
	return dst
}

// splitList splits a field value at commas outside quoted strings (RFC 9110
// 5.6.1, 5.6.4) and trims white space; empty elements are dropped.
func splitList(v []byte) [][]byte {
	var out [][]byte
	quoted, escaped, start := false, false, 0
	for i := 0; i <= len(v); i++ {
		if i < len(v) {
			c := v[i]
			switch {
			case escaped:
				escaped = false
				continue
			case quoted && c == '\\':
				escaped = true
				continue
			case c == '"':
				quoted = !quoted
				continue
			case c != ',' || quoted:
				continue
			}
		}
		if e := bytes.Trim(v[start:i], " \t"); len(e) > 0 {
			out = append(out, e)
		}
		start = i + 1
	}
	return out
}

// schemeName spells well-known auth schemes one way; schemes are
// case-insensitive (RFC 9110 11.1).
func schemeName(s []byte) string {
	for _, known := range [...]string{"NTLM", "Negotiate", "Basic", "Digest", "Kerberos", "Bearer"} {
		if strings.EqualFold(string(s), known) {
			return known
		}
	}
	return keep(s)
}

// contentLength parses a Content-Length value (RFC 9110 8.6: 1*DIGIT); ok
// is false when it is not one. A list of equal values, which RFC 9110 8.6 lets a
// recipient accept, is read as that value.
func contentLength(v []byte) (int64, bool) {
	first, rest, more := bytes.Cut(v, []byte(","))
	first = bytes.TrimSpace(first)
	n := int64(0)
	if len(first) == 0 {
		return 0, false
	}
	for _, c := range first {
		if c < '0' || c > '9' || n > 1<<40 {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if more {
		if m, ok := contentLength(rest); !ok || m != n {
			return 0, false
		}
	}
	return n, true
}

// chunked reports whether the last transfer coding is chunked (RFC 9112
// 6.1).
func chunked(v []byte) bool {
	if i := bytes.LastIndexByte(v, ','); i >= 0 {
		v = v[i+1:]
	}
	return strings.EqualFold(string(bytes.TrimSpace(v)), "chunked")
}
