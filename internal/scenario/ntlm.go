package scenario

import (
	"encoding/base64"
	"encoding/binary"
	"time"
	"unicode/utf16"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// NTLM message types ([MS-NLMP] 2.2.1).
const (
	ntlmChallengeType    = 2
	ntlmAuthenticateType = 3
	ntlmFlags            = 0xa2888205 // unicode, NTLM, always sign, extended session security, target info, 128, 56
)

// ntlmVersion is the VERSION structure of Windows 10/11 build 19041 with
// NTLMSSP revision 15 ([MS-NLMP] 2.2.2.10).
var ntlmVersion = []byte{10, 0, 0x61, 0x4a, 0, 0, 0, 15}

// ntlmChallenge returns a base64 CHALLENGE_MESSAGE ([MS-NLMP] 2.2.1.2)
// for domain CONTOSO with a random server challenge.
func (c *capture) ntlmChallenge() string {
	target, info := utf16le("CONTOSO"), targetInfo()
	b := append([]byte("NTLMSSP\x00"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[8:], ntlmChallengeType)
	b = appendField(b, len(target), 56)
	b = binary.LittleEndian.AppendUint32(b, ntlmFlags)
	challenge := make([]byte, 8)
	c.fill(challenge)
	b = append(b, challenge...)
	b = append(b, make([]byte, 8)...) // reserved
	b = appendField(b, len(info), 56+len(target))
	b = append(b, ntlmVersion...)
	b = append(b, target...)
	return base64.StdEncoding.EncodeToString(append(b, info...))
}

// targetInfo returns the AV_PAIR list ([MS-NLMP] 2.2.2.1) of the proxy's
// domain: NetBIOS domain and computer names, then MsvAvEOL.
func targetInfo() []byte {
	var b []byte
	for _, av := range []struct {
		id uint16
		v  string
	}{{2, "CONTOSO"}, {1, "PROXY01"}, {4, "corp.contoso.com"}, {3, "proxy01.corp.contoso.com"}} {
		v := utf16le(av.v)
		b = binary.LittleEndian.AppendUint16(b, av.id)
		b = binary.LittleEndian.AppendUint16(b, uint16(len(v)))
		b = append(b, v...)
	}
	return append(b, 0, 0, 0, 0)
}

// ntlmv2Response returns an NTLMv2 response ([MS-NLMP] 2.2.2.8): a random
// NTProofStr, then the client blob with the capture's time and the target
// info.
func (c *capture) ntlmv2Response() []byte {
	b := make([]byte, 16)
	c.fill(b)
	b = append(b, 1, 1, 0, 0, 0, 0, 0, 0)
	// FILETIME: 100 ns intervals since 1601-01-01.
	b = binary.LittleEndian.AppendUint64(b, uint64(base.Unix()+11644473600)*10000000)
	cc := make([]byte, 8)
	c.fill(cc)
	b = append(b, cc...)
	b = append(b, 0, 0, 0, 0)
	b = append(b, targetInfo()...)
	return append(b, 0, 0, 0, 0)
}

// ntlmAuthenticate returns a base64 AUTHENTICATE_MESSAGE ([MS-NLMP]
// 2.2.1.3) from CONTOSO\jdoe on PC-0420 with random NTLMv2 responses.
func (c *capture) ntlmAuthenticate() string {
	domain, user, host := utf16le("CONTOSO"), utf16le("jdoe"), utf16le("PC-0420")
	lm, nt := make([]byte, 24), c.ntlmv2Response() // LMv2 is all zeros with NTLMv2 and a MIC
	const header = 88
	off := header
	b := append([]byte("NTLMSSP\x00"), 0, 0, 0, 0)
	binary.LittleEndian.PutUint32(b[8:], ntlmAuthenticateType)
	for _, f := range [][]byte{lm, nt, domain, user, host} {
		b = appendField(b, len(f), off)
		off += len(f)
	}
	b = appendField(b, 0, off) // no encrypted session key
	b = binary.LittleEndian.AppendUint32(b, ntlmFlags)
	b = append(b, ntlmVersion...)
	mic := make([]byte, 16)
	c.fill(mic)
	b = append(b, mic...)
	for _, f := range [][]byte{lm, nt, domain, user, host} {
		b = append(b, f...)
	}
	return base64.StdEncoding.EncodeToString(b)
}

// appendField appends an NTLM length/max-length/offset field.
func appendField(b []byte, n, off int) []byte {
	b = binary.LittleEndian.AppendUint16(b, uint16(n))
	b = binary.LittleEndian.AppendUint16(b, uint16(n))
	return binary.LittleEndian.AppendUint32(b, uint32(off))
}

func utf16le(s string) []byte {
	var b []byte
	for _, r := range utf16.Encode([]rune(s)) {
		b = binary.LittleEndian.AppendUint16(b, r)
	}
	return b
}

// connectAuth returns a CONNECT request with a Proxy-Authorization token.
func connectAuth(target, scheme, token string) []byte {
	req := decodetest.ConnectRequest(target, false)
	return append(req[:len(req)-2], "Proxy-Authorization: "+scheme+" "+token+"\r\n\r\n"...)
}

// ntlmTunnel captures the three legs of NTLM proxy authentication on one
// connection (RFC 4559 style, [MS-NLMP] 3.1.5): CONNECT, 407 offering
// NTLM and Negotiate; CONNECT with a negotiate token, 407 with the
// challenge; CONNECT with the authenticate token, then 200. It returns
// the connection and the frames of both 407s and the 200.
func (c *capture) ntlmTunnel(at time.Duration, target *server) (*conn, []handle) {
	k := c.dialAddr(at, proxyAddr, proxyHost.ttl, proxyHost.rtt)
	k.open()
	hostport := target.name + ":443"
	k.send(c.jitter(200*time.Microsecond), c2s, decodetest.ConnectRequest(hostport, false))
	first := k.send(k.reply()+c.jitter(300*time.Microsecond), s2c, decodetest.HTTPResponse(407,
		[2]string{"Server", squid},
		[2]string{"Proxy-Authenticate", "Negotiate"},
		[2]string{"Proxy-Authenticate", "NTLM"},
		[2]string{"Via", squidVia},
		[2]string{"Content-Length", "0"},
		[2]string{"Proxy-Connection", "keep-alive"},
	))
	k.send(c.jitter(2*time.Millisecond), c2s, decodetest.ConnectRequest(hostport, true))
	second := k.send(k.reply()+c.jitter(300*time.Microsecond), s2c, decodetest.HTTPResponse(407,
		[2]string{"Server", squid},
		[2]string{"Proxy-Authenticate", "NTLM " + c.ntlmChallenge()},
		[2]string{"Via", squidVia},
		[2]string{"Content-Length", "0"},
		[2]string{"Proxy-Connection", "keep-alive"},
	))
	k.send(c.jitter(1500*time.Microsecond), c2s, connectAuth(hostport, "NTLM", c.ntlmAuthenticate()))
	ok := k.send(k.reply()+c.jitter(target.rtt), s2c, decodetest.ConnectEstablished())
	k.upstream = target.rtt
	return k, []handle{first[0], second[0], ok[0]}
}

func buildLookNTLM(c *capture) {
	at := c.wpad(50 * time.Millisecond)
	svc, hs := c.ntlmTunnel(at+c.jitter(2*time.Millisecond), &qaService)
	c.key(hs...)
	svc.tls13(c.chromium(qaService.name))
	for range 3 {
		svc.exchange(c.jitter(5*time.Millisecond), 300+c.r.IntN(400), 1500+c.r.IntN(6000), c.jitter(10*time.Millisecond))
	}
	rl, hs := c.ntlmTunnel(svc.t+1500*time.Millisecond, &qaRelay)
	c.key(hs...)
	rl.tls12(c.schannel(qaRelay.name), msChain(&qaRelay))
	rl.relayData(c.jitter(5*time.Millisecond), 3*time.Second)
	rl.closeNotify(c.jitter(500*time.Millisecond), true)
	svc.closeNotify(max(0, rl.t-svc.t)+c.jitter(50*time.Millisecond), false)
}
