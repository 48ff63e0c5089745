// Package httpmsg reads the start of HTTP/1.x messages (RFC 9112) from
// reassembled TCP bytes: the request line or status line and the few header
// fields that show what a proxy did, such as a CONNECT target, a 407 with its
// Proxy-Authenticate schemes, or a Via or Proxy-Agent naming the proxy. It
// decides nothing.
//
// Only the header block is read, at most MaxHeaderBytes, and every kept
// string is cut to 256 bytes, so memory use is bounded whatever the input.
// Credentials are never kept: a Proxy-Authorization field is reported as
// present, without its value.
package httpmsg

import (
	"bytes"
	"errors"
	"net"
	"strconv"
)

// Errors returned by ParseRequest and ParseResponse; test with errors.Is.
var (
	// ErrIncomplete means the header block has not ended yet: more bytes of
	// the stream are needed.
	ErrIncomplete = errors.New("httpmsg: incomplete header block")
	// ErrMalformed means the bytes are not an HTTP/1.x start line and
	// header block (RFC 9112 2.1), or the block exceeds MaxHeaderBytes.
	ErrMalformed = errors.New("httpmsg: malformed message")
)

const (
	// MaxHeaderBytes bounds the header block, start line and final empty
	// line included. Common servers and proxies reject larger blocks
	// (Apache's default LimitRequestFieldSize is 8190 per field).
	MaxHeaderBytes = 16 << 10
	// maxValueLen bounds every string kept from the message.
	maxValueLen = 256
	// maxSchemes bounds the authentication schemes kept per field.
	maxSchemes = 8
)

// Request is the start of an HTTP/1.x request (RFC 9112 3).
type Request struct {
	// Method is the method token, e.g. "CONNECT" or "GET" (RFC 9110 9).
	Method string
	// Target is the request-target: authority form "host:port" for
	// CONNECT (RFC 9110 9.3.6, RFC 9112 3.2.3), absolute form through a
	// forward proxy, origin form ("/path") otherwise.
	Target string
	// Proto is the HTTP version, e.g. "HTTP/1.1" (RFC 9112 2.3).
	Proto string
	// Host is the Host field (RFC 9110 7.2).
	Host string
	// UserAgent is the User-Agent field (RFC 9110 10.1.5).
	UserAgent string
	// ProxyAuthorization reports a Proxy-Authorization field (RFC 9110
	// 11.7.2); its value, a credential, is never kept.
	ProxyAuthorization bool
	// ContentLength is the Content-Length field (RFC 9110 8.6); HasLength
	// is false when it is absent or not a valid number.
	ContentLength int64
	HasLength     bool
	// Chunked reports a Transfer-Encoding ending in chunked (RFC 9112 6.1):
	// the body's length is not known from the header.
	Chunked bool
	// HeaderBytes is the length of the header block, start line and final
	// empty line included; the body, if any, starts there.
	HeaderBytes int
}

// Response is the start of an HTTP/1.x response (RFC 9112 4).
type Response struct {
	// Proto is the HTTP version, e.g. "HTTP/1.1".
	Proto string
	// Status is the three-digit status code (RFC 9110 15), e.g. 407.
	Status int
	// Reason is the reason phrase, possibly empty.
	Reason string
	// ProxyAuthenticate lists the auth-scheme of each challenge in the
	// Proxy-Authenticate fields (RFC 9110 11.7.1), in order: "NTLM",
	// "Negotiate", "Basic", "Digest", "Kerberos", "Bearer" in that spelling
	// whatever the case on the wire, other schemes as sent. Parameters and
	// tokens are dropped.
	ProxyAuthenticate []string
	// WWWAuthenticate lists the schemes of the WWW-Authenticate fields
	// (RFC 9110 11.6.1), as ProxyAuthenticate.
	WWWAuthenticate []string
	// Via is the Via field (RFC 9110 7.6.3), several field lines combined
	// with ", " (RFC 9110 5.3).
	Via string
	// Server is the Server field (RFC 9110 10.2.4).
	Server string
	// Location is the Location field (RFC 9110 10.2.2).
	Location string
	// ContentType is the Content-Type field (RFC 9110 8.3).
	ContentType string
	// ProxyAgent is the Proxy-Agent field, which proxies such as Apache
	// and Zscaler send in CONNECT responses (not standardised).
	ProxyAgent string
	// ContentLength, HasLength and Chunked are as in Request.
	ContentLength int64
	HasLength     bool
	Chunked       bool
	// HeaderBytes is the length of the header block, as in Request.
	HeaderBytes int
}

// methods are the request methods LooksLikeRequest recognises (RFC 9110
// 9.3, RFC 5789 for PATCH), each followed by the space that ends it.
var methods = [...]string{"GET ", "HEAD ", "POST ", "PUT ", "DELETE ", "CONNECT ", "OPTIONS ", "TRACE ", "PATCH "}

// LooksLikeRequest reports whether b starts with a standard method token
// followed by a space (RFC 9112 3). It is a cheap test for demultiplexing.
func LooksLikeRequest(b []byte) bool {
	for _, m := range methods {
		if len(b) >= len(m) && string(b[:len(m)]) == m {
			return true
		}
	}
	return false
}

// LooksLikeResponse reports whether b starts with "HTTP/1." (RFC 9112 4).
func LooksLikeResponse(b []byte) bool {
	return bytes.HasPrefix(b, []byte("HTTP/1."))
}

// SplitAuthority splits an authority-form request-target, as sent with
// CONNECT (RFC 9112 3.2.3: uri-host ":" port), into host and port. An IPv6
// host loses its brackets. ok is false without a port in 0..65535.
func SplitAuthority(target string) (host string, port uint16, ok bool) {
	h, p, err := net.SplitHostPort(target)
	if err != nil || h == "" || p == "" {
		return "", 0, false
	}
	n, err := strconv.ParseUint(p, 10, 16)
	if err != nil {
		return "", 0, false
	}
	return h, uint16(n), true
}
