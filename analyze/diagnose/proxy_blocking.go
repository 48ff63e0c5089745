package diagnose

import (
	"fmt"
	"strings"

	"github.com/qadiag/qadiag/analyze"
)

// detectProxyBlocking finds an explicit proxy refusing Quick Assist
// (research/heuristics.md section 2a): a CONNECT to a Quick Assist host
// answered 403, 502, 503 or 504 (strong: the proxy's policy or upstream),
// or 407 with no later 2xx for that host on any connection (strong: the
// credentials were refused or never sent). NTLM and Negotiate start with a
// 407 by design, so a 407 followed by a 2xx is not a fault.
func detectProxyBlocking(c *Context) []Finding {
	type refusal struct {
		f  *analyze.Flow
		ex analyze.HTTPExchange
	}
	byHost := map[string][]refusal{}
	tunneled := map[string]bool{}
	var hosts []string
	for _, f := range c.Flows {
		if f.HTTP == nil {
			continue
		}
		for _, ex := range f.HTTP.Exchanges {
			if ex.Method != "CONNECT" {
				continue
			}
			host, _, ok := splitTarget(ex.Target)
			if !ok {
				continue
			}
			host = strings.ToLower(host)
			if _, isQA := c.Cat.MatchHost(host); !isQA {
				continue
			}
			switch {
			case ex.Status >= 200 && ex.Status < 300:
				tunneled[host] = true
			case ex.Status == 407 || ex.Status == 403 || ex.Status >= 500 && ex.Status <= 504:
				if _, seen := byHost[host]; !seen {
					hosts = append(hosts, host)
				}
				byHost[host] = append(byHost[host], refusal{f, ex})
			}
		}
	}
	var out []Finding
	for _, host := range hosts {
		if tunneled[host] {
			continue // the proxy let it through in the end (NTLM's first 407, a retry)
		}
		rs := byHost[host]
		fd := Finding{Score: Combine(Strong), Hosts: []string{host}}
		statuses := map[int]bool{}
		var proxy, vendor string
		for _, r := range rs {
			fd.Flows = append(fd.Flows, r.f.ID)
			statuses[r.ex.Status] = true
			proxy = r.f.Server.String()
			if v := proxyVendor(r.ex); v != "" {
				vendor = v
			}
			text := fmt.Sprintf("the proxy %s answered CONNECT %s with %d %s", r.f.Server, r.ex.Target, r.ex.Status, r.ex.Reason)
			if len(r.ex.ProxyAuthenticate) > 0 {
				text += fmt.Sprintf(" asking for %s", strings.Join(r.ex.ProxyAuthenticate, "/"))
			}
			if r.ex.ProxyAuthorization {
				text += " although the request carried credentials"
			}
			if v := proxyVendor(r.ex); v != "" {
				text += " (" + v + ")"
			}
			frames := []uint64{r.ex.Frame, r.ex.ResponseFrame}
			fd.Evidence = append(fd.Evidence, Evidence{Text: text, Frames: nonZero(frames), Filter: AndFrames(FlowFilter(r.f), nonZero(frames)...),
				Values: []Value{{Name: "status", Num: float64(r.ex.Status)}}})
		}
		if len(rs) >= 2 {
			fd.Score = Combine(Strong, Medium) // refused every time it was asked
		}
		by := ""
		if vendor != "" {
			by = " (" + vendor + ")"
		}
		switch {
		case statuses[407]:
			fd.Explanation = fmt.Sprintf("The proxy %s%s demands authentication for %s and never let the tunnel through: Quick Assist's connection could not authenticate, or its credentials were refused.", proxy, by, host)
			fd.Remediation = []string{
				fmt.Sprintf("On the proxy, exempt %s (and the other Quick Assist names) from authentication, or allow it for the users' machine accounts", host),
				"Or let Quick Assist's hosts bypass the proxy (direct TCP/443 through the firewall)",
			}
		case statuses[403]:
			fd.Explanation = fmt.Sprintf("The proxy %s%s refused the tunnel to %s (403): a URL category or policy rule blocks it.", proxy, by, host)
			fd.Remediation = []string{fmt.Sprintf("On the proxy, allow CONNECT to %s:443 (and the other Quick Assist names) in the policy that matched", host)}
		default:
			fd.Explanation = fmt.Sprintf("The proxy %s%s could not reach %s for the tunnel (5xx): its upstream connection or DNS failed.", proxy, by, host)
			fd.Remediation = []string{fmt.Sprintf("Check the proxy's upstream route and DNS for %s; allow TCP/443 from the proxy to it", host)}
		}
		out = append(out, fd)
	}
	return out
}

// proxyVendor names the proxy product from its headers, when it says.
func proxyVendor(ex analyze.HTTPExchange) string {
	for _, h := range []string{ex.ProxyAgent, ex.Server, ex.Via} {
		if h != "" {
			return h
		}
	}
	return ""
}

func nonZero(frames []uint64) []uint64 {
	out := frames[:0:0]
	for _, f := range frames {
		if f != 0 {
			out = append(out, f)
		}
	}
	return out
}
