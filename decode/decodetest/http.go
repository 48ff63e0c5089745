package decodetest

import (
	"net/http"
	"strconv"
)

// ntlmNegotiate is an NTLM NEGOTIATE_MESSAGE ([MS-NLMP] 2.2.1.1) in base64,
// the first token a Windows client sends to an NTLM proxy.
const ntlmNegotiate = "TlRMTVNTUAABAAAAB4IIogAAAAAAAAAAAAAAAAAAAAAKAGFKAAAADw=="

// ConnectRequest returns an HTTP CONNECT request for hostport (RFC 9110
// 9.3.6) as a Windows client sends it to an explicit proxy; proxyAuth
// adds a Proxy-Authorization header with an NTLM negotiate token.
func ConnectRequest(hostport string, proxyAuth bool) []byte {
	b := []byte("CONNECT " + hostport + " HTTP/1.1\r\nHost: " + hostport + "\r\n")
	b = append(b, "Proxy-Connection: keep-alive\r\n"...)
	b = append(b, "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0\r\n"...)
	if proxyAuth {
		b = append(b, "Proxy-Authorization: NTLM "+ntlmNegotiate+"\r\n"...)
	}
	return append(b, "\r\n"...)
}

// HTTPResponse returns a response head with status, its standard reason
// phrase, and the headers in order as name-value pairs; it adds no header
// of its own, so a 407 needs its Proxy-Authenticate and Content-Length given.
func HTTPResponse(status int, headers ...[2]string) []byte {
	return HTTPResponseReason(status, http.StatusText(status), headers...)
}

// HTTPResponseReason is HTTPResponse with a chosen reason phrase, such as
// "Connection established" for a proxy's 200 to CONNECT.
func HTTPResponseReason(status int, reason string, headers ...[2]string) []byte {
	b := []byte("HTTP/1.1 " + strconv.Itoa(status) + " " + reason + "\r\n")
	for _, h := range headers {
		b = append(b, h[0]+": "+h[1]+"\r\n"...)
	}
	return append(b, "\r\n"...)
}

// ConnectEstablished returns a proxy's "200 Connection established".
func ConnectEstablished() []byte {
	return HTTPResponseReason(200, "Connection established")
}

// ProxyAuthRequired returns a 407 (RFC 9110 15.5.8) offering schemes such as
// "NTLM" and "Negotiate", one Proxy-Authenticate header each.
func ProxyAuthRequired(schemes ...string) []byte {
	h := make([][2]string, 0, len(schemes)+3)
	for _, s := range schemes {
		h = append(h, [2]string{"Proxy-Authenticate", s})
	}
	h = append(h, [2]string{"Connection", "close"}, [2]string{"Proxy-Connection", "close"}, [2]string{"Content-Length", "0"})
	return HTTPResponse(http.StatusProxyAuthRequired, h...)
}
