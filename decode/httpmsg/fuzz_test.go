package httpmsg

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzHTTP parses arbitrary bytes as a request and as a response and checks
// properties that must hold for any input.
func FuzzHTTP(f *testing.F) {
	for _, name := range fixtureNames(f) {
		f.Add(fixture(f, name))
	}
	f.Add(crlf("HTTP/1.1 407 Proxy Authentication Required\nProxy-Authenticate: NTLM, Basic realm=\"a,b\"\nVia: 1.1 p\n\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		req, err := ParseRequest(b)
		checkErr(t, b, err, req.HeaderBytes)
		for _, s := range []string{req.Method, req.Target, req.Proto, req.Host, req.UserAgent} {
			checkLen(t, s)
		}
		resp, err := ParseResponse(b)
		checkErr(t, b, err, resp.HeaderBytes)
		for _, s := range []string{resp.Proto, resp.Reason, resp.Via, resp.Server, resp.Location, resp.ContentType, resp.ProxyAgent} {
			checkLen(t, s)
		}
		if resp.Status < 0 || resp.Status > 999 || len(resp.ProxyAuthenticate) > maxSchemes || len(resp.WWWAuthenticate) > maxSchemes {
			t.Fatalf("status %d, %d and %d schemes", resp.Status, len(resp.ProxyAuthenticate), len(resp.WWWAuthenticate))
		}
		if err == nil {
			// Bytes after the header block do not change the result.
			more, err2 := ParseResponse(append(b[:len(b):len(b)], "\r\n\r\nX: y\r\n"...))
			if err2 != nil || cmp.Diff(resp, more) != "" {
				t.Fatalf("trailing bytes changed the response: %v", err2)
			}
		}
	})
}

// checkErr checks the error class and HeaderBytes of one parse of b.
func checkErr(t *testing.T, b []byte, err error, headerBytes int) {
	t.Helper()
	switch {
	case err == nil:
		if headerBytes <= 0 || headerBytes > len(b) || headerBytes > MaxHeaderBytes {
			t.Fatalf("HeaderBytes %d for %d bytes", headerBytes, len(b))
		}
	case errors.Is(err, ErrIncomplete):
		if len(b) >= MaxHeaderBytes {
			t.Fatalf("incomplete after %d bytes", len(b))
		}
	case !errors.Is(err, ErrMalformed):
		t.Fatalf("unclassified error %v", err)
	}
}

// checkLen fails when a kept string exceeds the cap.
func checkLen(t *testing.T, s string) {
	t.Helper()
	if len(s) > maxValueLen {
		t.Fatalf("kept %d bytes", len(s))
	}
}
