package analyze

import (
	"errors"

	"github.com/qadiag/qadiag/decode/httpmsg"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// HTTPInfo is the HTTP/1.x exchanges at the start of a TCP flow: requests to
// a proxy (CONNECT) or a web server, and the answers.
type HTTPInfo struct {
	Exchanges []HTTPExchange // the first maxExchanges, in order
	Requests  int            // all requests seen
	// Tunnel is the exchange index of the CONNECT whose 2xx answer turned
	// the connection into a tunnel, -1 if none.
	Tunnel    int
	Malformed string
}

// HTTPExchange is one request and its response. Frames are where the header
// block ended (the frame Wireshark shows the message in).
type HTTPExchange struct {
	Frame              uint64
	Method, Target     string
	Host               string
	UserAgent          string
	ProxyAuthorization bool // the request carried credentials (never kept)

	ResponseFrame     uint64
	Status            int
	Reason            string
	ProxyAuthenticate []string // schemes of the proxy's challenges
	WWWAuthenticate   []string
	Via               string
	Server            string
	ProxyAgent        string
	Location          string
	ContentType       string
}

const maxExchanges = 16

// httpState follows both directions of an HTTP connection.
type httpState struct {
	dir       [2]httpDir
	responses int // responses matched so far
}

type httpDir struct {
	buf     []byte
	skip    int64 // body bytes still to skip
	tunnel  bool  // the rest of this direction is a CONNECT tunnel
	stopped bool  // body of unknown length, or damage: read no further
}

// gap drops n lost bytes. Within a body of known length the next message
// is still found where the length says; elsewhere the framing is gone.
func (h *httpState) gap(dir Direction, n uint32) {
	d := &h.dir[dir]
	d.buf = nil
	if d.skip > 0 && int64(n) <= d.skip {
		d.skip -= int64(n)
		return
	}
	d.skip, d.stopped = 0, true
}

func (a *appState) httpData(dir Direction, b []byte, frame uint64) {
	h, info := a.http, a.f.HTTP
	d := &h.dir[dir]
	for len(b) > 0 && !d.stopped {
		if d.tunnel {
			a.tunnelData(dir, b, frame)
			return
		}
		if d.skip > 0 {
			n := min(d.skip, int64(len(b)))
			d.skip -= n
			b = b[n:]
			continue
		}
		msg := b
		if len(d.buf) > 0 {
			d.buf = append(d.buf, b...)
			msg = d.buf
		}
		var n int
		var err error
		if dir == FromClient {
			n, err = a.httpRequest(msg, frame)
		} else {
			n, err = a.httpResponse(msg, frame)
		}
		switch {
		case errors.Is(err, httpmsg.ErrIncomplete):
			if len(d.buf) == 0 {
				d.buf = append(d.buf, b...)
			}
			if len(d.buf) > maxBuffered {
				d.stopped, d.buf = true, nil
			}
			return
		case err != nil:
			if info.Malformed == "" {
				info.Malformed = err.Error()
			}
			d.stopped, d.buf = true, nil
			return
		}
		// The header block ended n bytes into msg; what follows in b is
		// the body or the next message.
		rest := msg[n:]
		if len(d.buf) > 0 {
			rest = append([]byte(nil), rest...)
			d.buf = d.buf[:0]
		}
		b = rest
	}
}

// httpRequest reads one request header block.
func (a *appState) httpRequest(b []byte, frame uint64) (int, error) {
	h, info := a.http, a.f.HTTP
	r, err := httpmsg.ParseRequest(b)
	if err != nil {
		return 0, err
	}
	info.Requests++
	if len(info.Exchanges) < maxExchanges {
		info.Exchanges = append(info.Exchanges, HTTPExchange{Frame: frame, Method: r.Method, Target: r.Target,
			Host: r.Host, UserAgent: r.UserAgent, ProxyAuthorization: r.ProxyAuthorization})
	}
	d := &h.dir[FromClient]
	switch {
	case r.Method == "CONNECT":
		// What follows is the tunnel's first bytes (a client may send its
		// ClientHello before the proxy answers).
		d.tunnel = true
	case r.Chunked:
		d.stopped = true
	case r.HasLength:
		d.skip = r.ContentLength
	}
	return r.HeaderBytes, nil
}

// httpResponse reads one response header block and pairs it with the oldest
// unanswered request.
func (a *appState) httpResponse(b []byte, frame uint64) (int, error) {
	h, info := a.http, a.f.HTTP
	r, err := httpmsg.ParseResponse(b)
	if err != nil {
		return 0, err
	}
	d := &h.dir[FromServer]
	if r.Status >= 100 && r.Status < 200 {
		return r.HeaderBytes, nil // interim: the final answer follows (RFC 9110 15.2)
	}
	i := h.responses
	h.responses++
	var ex *HTTPExchange
	if i < len(info.Exchanges) {
		ex = &info.Exchanges[i]
	} else if len(info.Exchanges) < maxExchanges {
		info.Exchanges = append(info.Exchanges, HTTPExchange{}) // the request was not captured
		ex = &info.Exchanges[len(info.Exchanges)-1]
	}
	if ex != nil {
		ex.ResponseFrame, ex.Status, ex.Reason = frame, r.Status, r.Reason
		ex.ProxyAuthenticate, ex.WWWAuthenticate = r.ProxyAuthenticate, r.WWWAuthenticate
		ex.Via, ex.Server, ex.ProxyAgent, ex.Location, ex.ContentType = r.Via, r.Server, r.ProxyAgent, r.Location, r.ContentType
	}
	connect := ex != nil && ex.Method == "CONNECT"
	switch {
	case connect && r.Status < 300:
		// RFC 9110 9.3.6: after a 2xx the connection is a tunnel; a 2xx
		// CONNECT answer has no body.
		d.tunnel = true
		info.Tunnel = i
	case connect:
		// A refused CONNECT: the client may try again on this
		// connection (NTLM's second leg), so keep reading requests.
		h.dir[FromClient].tunnel = false
		h.dir[FromClient].buf = nil
		fallthrough
	default:
		switch {
		case r.HasLength:
			d.skip = r.ContentLength
		case r.Status == 204 || r.Status == 304:
		default:
			d.stopped = true // chunked or until close: the framing ends here
		}
	}
	return r.HeaderBytes, nil
}

// tunnelData hands the bytes inside a CONNECT tunnel to TLS.
func (a *appState) tunnelData(dir Direction, b []byte, frame uint64) {
	f := a.f
	if f.TLS == nil {
		// LooksLikeTLS reads a record header and the handshake type:
		// gather that much first, as a ClientHello may come in pieces
		// of a few bytes (split on purpose to get past DPI).
		d := &a.http.dir[dir]
		if len(d.buf) > 0 || len(b) < tunnelSniffLen {
			d.buf = append(d.buf, b...)
			if len(d.buf) < tunnelSniffLen {
				return
			}
			b = d.buf
		}
		d.buf = d.buf[:0] // b still holds the bytes; Feed copies what it keeps
		if !tlsmsg.LooksLikeTLS(b) {
			d.stopped = true
			return
		}
		f.TLS = &TLSInfo{InTunnel: true}
	}
	a.tlsData(dir, b, frame)
}

// tunnelSniffLen is a TLS record header and a handshake type.
const tunnelSniffLen = 6
