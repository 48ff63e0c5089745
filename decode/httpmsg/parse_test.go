package httpmsg

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// TestParseCorpus parses TCP payloads cut from captures in the shared corpus
// (testdata/README.md gives their origin). The wanted values restate what
// tshark 4.0.17 prints for the same frame, quoted in each comment.
func TestParseCorpus(t *testing.T) {
	requests := []struct {
		fixture string
		want    Request
	}{
		{
			// tshark: "CONNECT apache.org:443 HTTP/1.1", http.host "apache.org:443",
			// User-Agent Firefox/92.0; tcp.len 203.
			fixture: "http-connect-tls-apache-f4",
			want: Request{Method: "CONNECT", Target: "apache.org:443", Proto: "HTTP/1.1", Host: "apache.org:443",
				UserAgent:   "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:92.0) Gecko/20100101 Firefox/92.0",
				HeaderBytes: 203},
		},
		{
			// tshark: "CONNECT supportingfunctions.us.newsweaver.com:443 HTTP/1.0",
			// Host without port, Outlook User-Agent, Content-Length 0; tcp.len 379.
			fixture: "proxy-connect-zscaler-tls-intercept-f4",
			want: Request{Method: "CONNECT", Target: "supportingfunctions.us.newsweaver.com:443", Proto: "HTTP/1.0",
				Host: "supportingfunctions.us.newsweaver.com",
				UserAgent: "Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 10.0; WOW64; Trident/7.0; .NET4.0C; .NET4.0E; " +
					".NET CLR 2.0.50727; .NET CLR 3.0.30729; .NET CLR 3.5.30729; wbx 1.0.0; Microsoft Outlook 16.0.9126)",
				HasLength: true, HeaderBytes: 379},
		},
		{
			// tshark: "CONNECT secure.newegg.com:443 HTTP/1.1" over IPv6/DLT_NULL.
			fixture: "http-connect-ipv6-null-f5",
			want: Request{Method: "CONNECT", Target: "secure.newegg.com:443", Proto: "HTTP/1.1", Host: "secure.newegg.com:443",
				UserAgent:   "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.10; rv:41.0) Gecko/20100101 Firefox/41.0",
				HeaderBytes: 221},
		},
		{
			// tshark: "GET /broken/eicar.txt/407 HTTP/1.1", Host evader.example.com.
			fixture: "http-407-status-evader-f4",
			want: Request{Method: "GET", Target: "/broken/eicar.txt/407", Proto: "HTTP/1.1",
				Host: "evader.example.com", HeaderBytes: 64},
		},
	}
	for _, tt := range requests {
		t.Run(tt.fixture, func(t *testing.T) {
			b := fixture(t, tt.fixture)
			if !LooksLikeRequest(b) || LooksLikeResponse(b) {
				t.Errorf("LooksLikeRequest = %v, LooksLikeResponse = %v", LooksLikeRequest(b), LooksLikeResponse(b))
			}
			got, err := ParseRequest(b)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRequest mismatch (-want +got):\n%s", diff)
			}
		})
	}
	responses := []struct {
		fixture string
		want    Response
	}{
		{
			// tshark: "HTTP/1.0 200 Connection Established", Proxy-agent Apache/2.4.41.
			fixture: "http-connect-tls-apache-f11",
			want: Response{Proto: "HTTP/1.0", Status: 200, Reason: "Connection Established",
				ProxyAgent: "Apache/2.4.41 (Ubuntu)", HeaderBytes: 76},
		},
		{
			// tshark: "HTTP/1.1 200 Connection Established", Proxy-Agent: Zscaler/5.6.
			fixture: "proxy-connect-zscaler-tls-intercept-f5",
			want: Response{Proto: "HTTP/1.1", Status: 200, Reason: "Connection Established",
				ProxyAgent: "Zscaler/5.6", HeaderBytes: 65},
		},
		{
			// tshark: "HTTP/1.0 200 Connection Established", Proxy-agent Apache/2.4.16.
			fixture: "http-connect-ipv6-null-f7",
			want: Response{Proto: "HTTP/1.0", Status: 200, Reason: "Connection Established",
				ProxyAgent: "Apache/2.4.16 (Unix)", HeaderBytes: 74},
		},
		{
			// tshark: "HTTP/1.1 407 ok" (HTTP Evader: no Proxy-Authenticate),
			// Content-type application/octet-stream, Content-length 68.
			fixture: "http-407-status-evader-f5",
			want: Response{Proto: "HTTP/1.1", Status: 407, Reason: "ok",
				ContentType: "application/octet-stream", ContentLength: 68, HasLength: true, HeaderBytes: 246 - 68},
		},
		{
			// tshark (first segment of a reassembled PDU): "HTTP/1.1 401
			// Authorization Required", Server Apache, WWW-Authenticate Basic
			// realm="BrowserSpy.dk - HTTP Password Test", text/html, chunked.
			fixture: "http-401-auth-f6",
			want: Response{Proto: "HTTP/1.1", Status: 401, Reason: "Authorization Required",
				WWWAuthenticate: []string{"Basic"}, Server: "Apache", ContentType: "text/html", Chunked: true, HeaderBytes: 405},
		},
	}
	for _, tt := range responses {
		t.Run(tt.fixture, func(t *testing.T) {
			b := fixture(t, tt.fixture)
			if LooksLikeRequest(b) || !LooksLikeResponse(b) {
				t.Errorf("LooksLikeRequest = %v, LooksLikeResponse = %v", LooksLikeRequest(b), LooksLikeResponse(b))
			}
			got, err := ParseResponse(b)
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseResponse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseRequest(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Request
	}{
		{
			name: "connect with proxy credentials",
			in:   crlf("CONNECT remoteassistance.support.services.microsoft.com:443 HTTP/1.1\nHost: remoteassistance.support.services.microsoft.com:443\nProxy-Authorization: NTLM TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw==\n\n"),
			want: Request{Method: "CONNECT", Target: "remoteassistance.support.services.microsoft.com:443", Proto: "HTTP/1.1",
				Host: "remoteassistance.support.services.microsoft.com:443", ProxyAuthorization: true},
		},
		{
			name: "ipv6 authority",
			in:   crlf("CONNECT [2001:db8::1]:443 HTTP/1.1\nhost: [2001:db8::1]:443\n\n"),
			want: Request{Method: "CONNECT", Target: "[2001:db8::1]:443", Proto: "HTTP/1.1", Host: "[2001:db8::1]:443"},
		},
		{
			name: "bare lf line ends and body after",
			in:   []byte("GET http://example.com/ HTTP/1.1\nHOST: example.com\nuser-agent: x\n\nbody"),
			want: Request{Method: "GET", Target: "http://example.com/", Proto: "HTTP/1.1", Host: "example.com",
				UserAgent: "x"},
		},
		{
			name: "obsolete folding skipped and value trimmed",
			in:   crlf("GET / HTTP/1.1\nX-Long: a\n  b\nHost: \t h \t\n\n"),
			want: Request{Method: "GET", Target: "/", Proto: "HTTP/1.1", Host: "h"},
		},
		{
			name: "long value cut",
			in:   crlf("GET / HTTP/1.1\nUser-Agent: " + strings.Repeat("a", 1000) + "\n\n"),
			want: Request{Method: "GET", Target: "/", Proto: "HTTP/1.1", UserAgent: strings.Repeat("a", 256)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseRequest(tt.in)
			if err != nil {
				t.Fatalf("ParseRequest: %v", err)
			}
			tt.want.HeaderBytes = headerEnd(tt.in)
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseRequest mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseResponse(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Response
	}{
		{
			name: "407 with several challenges",
			in: crlf("HTTP/1.1 407 Proxy Authentication Required\nProxy-Authenticate: Negotiate\n" +
				"Proxy-Authenticate: NTLM\nProxy-Authenticate: Basic realm=\"corp, inc\", Digest realm=\"x\", qop=\"auth\", nonce=\"a=b\"\n" +
				"Via: 1.1 proxy-a\nVia: 1.1 proxy-b\nServer: BlueCoat-Security-Appliance\nContent-Type: text/html\n\n"),
			want: Response{Proto: "HTTP/1.1", Status: 407, Reason: "Proxy Authentication Required",
				ProxyAuthenticate: []string{"Negotiate", "NTLM", "Basic", "Digest"},
				Via:               "1.1 proxy-a, 1.1 proxy-b", Server: "BlueCoat-Security-Appliance",
				ContentType: "text/html"},
		},
		{
			name: "scheme case and token68",
			in:   crlf("HTTP/1.1 401 Unauthorized\nWWW-Authenticate: negotiate YIIGhgYGKwYBBQUCoIIGejCCBnag==, kerberos, Custom-Scheme a=b\n\n"),
			want: Response{Proto: "HTTP/1.1", Status: 401, Reason: "Unauthorized",
				WWWAuthenticate: []string{"Negotiate", "Kerberos", "Custom-Scheme"}},
		},
		{
			name: "redirect to a block page without reason",
			in:   crlf("HTTP/1.1 302\nLocation: http://block.example/denied?u=x\n\n"),
			want: Response{Proto: "HTTP/1.1", Status: 302, Location: "http://block.example/denied?u=x"},
		},
		{
			name: "empty reason after space",
			in:   crlf("HTTP/1.0 200 \n\n"),
			want: Response{Proto: "HTTP/1.0", Status: 200},
		},
		{
			name: "schemes capped",
			in:   crlf("HTTP/1.1 401 x\nWWW-Authenticate: a, b, c, d, e, f, g, h, i, j\n\n"),
			want: Response{Proto: "HTTP/1.1", Status: 401, Reason: "x",
				WWWAuthenticate: []string{"a", "b", "c", "d", "e", "f", "g", "h"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseResponse(tt.in)
			if err != nil {
				t.Fatalf("ParseResponse: %v", err)
			}
			tt.want.HeaderBytes = headerEnd(tt.in)
			if diff := cmp.Diff(tt.want, got, cmpopts.EquateEmpty()); diff != "" {
				t.Errorf("ParseResponse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseError(t *testing.T) {
	tests := []struct {
		name     string
		in       []byte
		response bool
		wantErr  error
	}{
		{"request empty", nil, false, ErrIncomplete},
		{"request headers not ended", crlf("CONNECT a:443 HTTP/1.1\nHost: a\n"), false, ErrIncomplete},
		{"request line only", []byte("CONNECT a:443 HTTP/1.1"), false, ErrIncomplete},
		{"request empty start line", crlf("\nGET / HTTP/1.1\n\n"), false, ErrMalformed},
		{"request two spaces", crlf("GET  / HTTP/1.1\n\n"), false, ErrMalformed},
		{"request missing version", crlf("GET /\n\n"), false, ErrMalformed},
		{"request http/2 version", crlf("PRI * HTTP/2\n\n"), false, ErrMalformed},
		{"request bad method", crlf("G(T / HTTP/1.1\n\n"), false, ErrMalformed},
		{"request space before colon", crlf("GET / HTTP/1.1\nHost : a\n\n"), false, ErrMalformed},
		{"request line without colon", crlf("GET / HTTP/1.1\nHost a\n\n"), false, ErrMalformed},
		{"request tls bytes", []byte("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n\n"), false, ErrMalformed},
		{"request header block too large", append(crlf("GET / HTTP/1.1\nX: "), make([]byte, MaxHeaderBytes)...), false, ErrMalformed},
		{"response not ended", crlf("HTTP/1.1 407 Proxy Authentication Required\n"), true, ErrIncomplete},
		{"response two digit status", crlf("HTTP/1.1 40 x\n\n"), true, ErrMalformed},
		{"response letters in status", crlf("HTTP/1.1 4o7 x\n\n"), true, ErrMalformed},
		{"response four digit status", crlf("HTTP/1.1 4070 x\n\n"), true, ErrMalformed},
		{"response http/2 version", crlf("HTTP/2 200\n\n"), true, ErrMalformed},
		{"response bad field", crlf("HTTP/1.1 200 OK\n: empty name\n\n"), true, ErrMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.response {
				_, err = ParseResponse(tt.in)
			} else {
				_, err = ParseRequest(tt.in)
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("error = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

func TestParseErrorKeepsEarlierFields(t *testing.T) {
	in := crlf("HTTP/1.1 407 Denied\nProxy-Agent: p\nbroken line\nServer: s\n\n")
	got, err := ParseResponse(in)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("error = %v, want ErrMalformed", err)
	}
	want := Response{Proto: "HTTP/1.1", Status: 407, Reason: "Denied", ProxyAgent: "p", HeaderBytes: headerEnd(in)}
	if diff := cmp.Diff(want, got, cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("partial result mismatch (-want +got):\n%s", diff)
	}
}

func TestLooksLike(t *testing.T) {
	tests := []struct {
		in        string
		req, resp bool
	}{
		{"GET / HTTP/1.1", true, false},
		{"CONNECT a:443 HTTP/1.1", true, false},
		{"PATCH /x HTTP/1.1", true, false},
		{"CONNECT", false, false},
		{"CONNECTX a", false, false},
		{"get / HTTP/1.1", false, false},
		{"HTTP/1.1 200 OK", false, true},
		{"HTTP/1.0 407", false, true},
		{"HTTP/2 200", false, false},
		{"\x16\x03\x01", false, false},
		{"", false, false},
	}
	for _, tt := range tests {
		if got := LooksLikeRequest([]byte(tt.in)); got != tt.req {
			t.Errorf("LooksLikeRequest(%q) = %v, want %v", tt.in, got, tt.req)
		}
		if got := LooksLikeResponse([]byte(tt.in)); got != tt.resp {
			t.Errorf("LooksLikeResponse(%q) = %v, want %v", tt.in, got, tt.resp)
		}
	}
}

func TestSplitAuthority(t *testing.T) {
	type result struct {
		Host string
		Port uint16
		OK   bool
	}
	tests := []struct {
		in   string
		want result
	}{
		{"apache.org:443", result{"apache.org", 443, true}},
		{"[2001:db8::1]:8443", result{"2001:db8::1", 8443, true}},
		{"20.202.1.1:3478", result{"20.202.1.1", 3478, true}},
		{"apache.org", result{}},
		{"apache.org:", result{}},
		{":443", result{}},
		{"apache.org:65536", result{}},
		{"apache.org:https", result{}},
		{"/index.html", result{}},
	}
	for _, tt := range tests {
		var got result
		got.Host, got.Port, got.OK = SplitAuthority(tt.in)
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("SplitAuthority(%q) mismatch (-want +got):\n%s", tt.in, diff)
		}
	}
}

func TestBodyLength(t *testing.T) {
	for _, tt := range []struct {
		header      string
		n           int64
		ok, chunked bool
	}{
		{"Content-Length: 42", 42, true, false},
		{"Content-Length: 42, 42", 42, true, false},
		{"Content-Length: 42, 43", 0, false, false},
		{"Content-Length: -1", 0, false, false},
		{"Content-Length: 99999999999999999999", 0, false, false},
		{"Content-Length:", 0, false, false},
		{"Transfer-Encoding: gzip, chunked", 0, false, true},
		{"Transfer-Encoding: chunked, gzip", 0, false, false},
	} {
		r, err := ParseResponse([]byte("HTTP/1.1 407 Proxy Authentication Required\r\n" + tt.header + "\r\n\r\n"))
		if err != nil {
			t.Fatalf("%q: %v", tt.header, err)
		}
		if r.ContentLength != tt.n || r.HasLength != tt.ok || r.Chunked != tt.chunked {
			t.Errorf("%q: length %d %v chunked %v, want %d %v %v", tt.header, r.ContentLength, r.HasLength, r.Chunked, tt.n, tt.ok, tt.chunked)
		}
	}
}
