package scenario

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// The explicit proxy of the office network: Squid on a Linux host on the
// client's segment.
var (
	proxyAddr = netip.MustParseAddrPort("10.20.30.5:8080")
	proxyHost = server{
		name: "proxy.corp.contoso.com", v4: proxyAddr.Addr(), ttl: 64, rtt: 600 * time.Microsecond,
	}
)

const (
	squid    = "squid/6.10"
	squidVia = "1.1 proxy.corp.contoso.com (squid/6.10)"
)

// proxyBlocking: an explicit proxy refuses the CONNECT or asks for
// credentials the app cannot give (heuristics.md section 2a).
func proxyBlocking() []Scenario {
	return []Scenario{{
		Name: "proxy_blocking-403", Cause: "proxy_blocking", Format: pcap, Link: eth,
		Description: "Through the explicit proxy 10.20.30.5:8080, CONNECT login.microsoftonline.com:443 gets 200 and TLS works; " +
			"CONNECT remoteassistance.support.services.microsoft.com:443 gets 403 Forbidden (Server: squid, X-Squid-Error: ERR_ACCESS_DENIED), twice.",
		build: buildProxy403,
	}, {
		Name: "proxy_blocking-407-basic", Cause: "proxy_blocking", Format: pcapng, Link: eth,
		Description: "CONNECT to remoteassistance.support.services.microsoft.com and to the ACS endpoint both get 407 Proxy Authentication Required " +
			"with only Proxy-Authenticate: Basic; the client never retries with credentials and closes.",
		build: buildProxy407,
	}, {
		Name: "proxy_blocking-502", Cause: "proxy_blocking", Format: pcap, Link: eth,
		Description: "The service and ACS tunnels open (200 Connection established); CONNECT to the RDP relay " +
			"rdprelayv3eastusprod-4.support.services.microsoft.com:443 gets 502 Bad Gateway (ERR_CONNECT_FAIL) after 21 s.",
		build: buildProxy502,
	}}
}

// viaProxy opens a connection to the proxy at and sends CONNECT for
// target; it returns the connection and the CONNECT's frame.
func (c *capture) viaProxy(at time.Duration, target *server) (*conn, handle) {
	k := c.dialAddr(at, proxyAddr, proxyHost.ttl, proxyHost.rtt)
	k.open()
	req := k.send(c.jitter(200*time.Microsecond), c2s, decodetest.ConnectRequest(target.name+":443", false))
	return k, req[0]
}

// tunnel captures the proxy's 200 after it reached target, then TLS 1.3
// and a few requests through the tunnel.
func (k *conn) tunnel(target *server, requests int) handle {
	ok := k.send(k.reply()+k.c.jitter(target.rtt), s2c, decodetest.ConnectEstablished())[0]
	k.upstream = target.rtt
	k.tls13(k.c.chromium(target.name))
	for range requests {
		k.exchange(k.c.jitter(3*time.Millisecond), 200+k.c.r.IntN(500), 800+k.c.r.IntN(5000), k.c.jitter(5*time.Millisecond))
	}
	return ok
}

// refusal captures the proxy's error response after delay and its close.
func (k *conn) refusal(delay time.Duration, resp []byte) handle {
	h := k.send(delay, s2c, resp)
	k.ack(k.c.jitter(ackDelay), c2s)
	k.closeFrom(k.c.jitter(100*time.Microsecond), s2c)
	return h[0]
}

// squidError returns a Squid error page response.
func squidError(status int, code, detail string) []byte {
	body := fmt.Sprintf("<!DOCTYPE html>\n<html><head><title>ERROR: The requested URL could not be retrieved</title></head>\n"+
		"<body><h1>ERROR</h1><h2>The requested URL could not be retrieved</h2>\n<p>%s</p>\n"+
		"<p>Your cache administrator is <a href=\"mailto:helpdesk@contoso.com\">helpdesk@contoso.com</a>.</p>\n"+
		"<hr><div id=\"footer\"><p>Generated Mon, 02 Mar 2026 09:00:00 GMT by proxy.corp.contoso.com (%s)</p></div></body></html>\n", detail, squid)
	head := decodetest.HTTPResponse(status,
		[2]string{"Server", squid},
		[2]string{"Mime-Version", "1.0"},
		[2]string{"Date", "Mon, 02 Mar 2026 09:00:00 GMT"},
		[2]string{"Content-Type", "text/html;charset=utf-8"},
		[2]string{"Content-Length", strconv.Itoa(len(body))},
		[2]string{"X-Squid-Error", code},
		[2]string{"Vary", "Accept-Language"},
		[2]string{"Content-Language", "en"},
		[2]string{"Via", squidVia},
		[2]string{"Connection", "close"},
	)
	return append(head, body...)
}

// wpad captures the proxy's discovery, the lookup of the WPAD host name,
// and returns when the answer arrived.
func (c *capture) wpad(at time.Duration) time.Duration {
	_, r := c.lookup(at, "wpad.corp.contoso.com", decodetest.DNSTypeA, decodetest.DNSRcodeNoError,
		[]decodetest.DNSAnswer{{CNAME: proxyHost.name, TTL: 3600}, {Name: proxyHost.name, TTL: 3600, Addr: proxyHost.v4}})
	return c.frames[r].at
}

func buildProxy403(c *capture) {
	at := c.wpad(50 * time.Millisecond)
	k, _ := c.viaProxy(at+c.jitter(2*time.Millisecond), &qaLogin)
	ok := k.tunnel(&qaLogin, 2)
	c.key(ok)
	at = k.t + 600*time.Millisecond
	for range 2 {
		k, req := c.viaProxy(at, &qaService)
		deny := k.refusal(k.reply()+c.jitter(400*time.Microsecond), squidError(403, "ERR_ACCESS_DENIED 0",
			"Access control configuration prevents your request from being allowed at this time."))
		c.key(req, deny)
		at = k.t + 3*time.Second
	}
}

func buildProxy407(c *capture) {
	at := c.wpad(50 * time.Millisecond)
	for i, target := range []*server{&qaService, &qaACS} {
		k, req := c.viaProxy(at+time.Duration(i)*1200*time.Millisecond, target)
		resp := decodetest.HTTPResponse(407,
			[2]string{"Server", "Microsoft-IIS/10.0"},
			[2]string{"Proxy-Authenticate", `Basic realm="Contoso Web Gateway"`},
			[2]string{"Via", "1.1 gw01.corp.contoso.com"},
			[2]string{"Content-Type", "text/html"},
			[2]string{"Content-Length", "0"},
			[2]string{"Connection", "close"},
			[2]string{"Proxy-Connection", "close"},
		)
		deny := k.refusal(k.reply()+c.jitter(300*time.Microsecond), resp)
		c.key(req, deny)
	}
}

func buildProxy502(c *capture) {
	at := c.wpad(50 * time.Millisecond)
	k, _ := c.viaProxy(at+c.jitter(2*time.Millisecond), &qaService)
	k.tunnel(&qaService, 3)
	k2, _ := c.viaProxy(k.t+800*time.Millisecond, &qaACS)
	k2.tunnel(&qaACS, 2)
	k3, req := c.viaProxy(k2.t+time.Second, &qaRelay)
	// Squid's connect_timeout gave up on the relay after 21 s.
	deny := k3.refusal(21*time.Second+c.jitter(5*time.Millisecond), squidError(502, "ERR_CONNECT_FAIL 110",
		"The system returned: (110) Connection timed out. The remote host or network may be down."))
	c.key(req, deny)
}
