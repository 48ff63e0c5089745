package decodetest

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestConnectRequest(t *testing.T) {
	for _, auth := range []bool{false, true} {
		req, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(ConnectRequest("rdprelayv3eastusprod-4.support.services.microsoft.com:443", auth))))
		if err != nil {
			t.Fatal(err)
		}
		got := []string{req.Method, req.Host, req.Header.Get("Proxy-Authorization")[:min(4, len(req.Header.Get("Proxy-Authorization")))]}
		want := []string{"CONNECT", "rdprelayv3eastusprod-4.support.services.microsoft.com:443", ""}
		if auth {
			want[2] = "NTLM"
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("auth=%v (-want +got):\n%s", auth, diff)
		}
	}
}

func TestHTTPResponse(t *testing.T) {
	tests := []struct {
		name    string
		raw     []byte
		status  string
		headers map[string][]string
	}{
		{"407", ProxyAuthRequired("NTLM", "Negotiate"), "407 Proxy Authentication Required", map[string][]string{"Proxy-Authenticate": {"NTLM", "Negotiate"}, "Content-Length": {"0"}}},
		{"200", ConnectEstablished(), "200 Connection established", map[string][]string{}},
		{"403", HTTPResponse(403, [2]string{"Content-Length", "0"}), "403 Forbidden", map[string][]string{"Content-Length": {"0"}}},
		{"502", HTTPResponse(502, [2]string{"Content-Length", "0"}, [2]string{"Connection", "close"}), "502 Bad Gateway", map[string][]string{"Content-Length": {"0"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.ReadResponse(bufio.NewReader(bytes.NewReader(tt.raw)), &http.Request{Method: http.MethodConnect})
			if err != nil {
				t.Fatal(err)
			}
			if resp.Status != tt.status {
				t.Errorf("status %q, want %q", resp.Status, tt.status)
			}
			for k, v := range tt.headers {
				if diff := cmp.Diff(v, resp.Header.Values(k)); diff != "" {
					t.Errorf("%s (-want +got):\n%s", k, diff)
				}
			}
		})
	}
}
