package diagnose

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

const cbService = "remoteassistance.support.services.microsoft.com"

var (
	cbServiceAddr = netip.MustParseAddr("20.42.65.90")
	cbBing        = netip.MustParseAddr("13.107.21.200")
)

// failedLookups adds n queries for name (new port and ID each, 1 s apart)
// answered with rcode, and returns the queries and responses.
func (b *capBuild) failedLookups(at time.Duration, name string, qtype uint16, rcode uint8, n int, addrs ...netip.Addr) []cbH {
	var hs []cbH
	for i := range n {
		port, id := uint16(52000+i), uint16(b.r.Uint32())
		t := at + time.Duration(i)*time.Second
		hs = append(hs, b.dnsQuery(t, port, id, name, qtype), b.dnsAnswer(t+12*time.Millisecond, port, id, name, qtype, rcode, addrs...))
	}
	return hs
}

func TestDNSFailure(t *testing.T) {
	a, aaaa := decodetest.DNSTypeA, decodetest.DNSTypeAAAA
	tests := []struct {
		name    string
		build   func(b *capBuild) []cbH // frames the finding must cite
		level   string                  // "" means no dns_failure finding
		score   float64
		verdict bool
		text    string // in the explanation or remediation
	}{{
		name: "NXDOMAIN for the service, twice",
		build: func(b *capBuild) []cbH {
			b.resolve(0, 50000, "login.microsoftonline.com", netip.MustParseAddr("40.126.32.134"))
			return b.failedLookups(time.Second, cbService, a, decodetest.DNSRcodeNXDomain, 2)
		},
		level: Likely, score: 0.694, verdict: true, text: "block list or response policy zone of 10.20.30.1",
	}, {
		name: "SERVFAIL once",
		build: func(b *capBuild) []cbH {
			return b.failedLookups(0, "remoteassistanceprodacs.communication.azure.com", a, decodetest.DNSRcodeServFail, 1)
		},
		level: Likely, score: 0.64, verdict: true, text: "DNSSEC validation",
	}, {
		name: "REFUSED",
		build: func(b *capBuild) []cbH {
			return b.failedLookups(0, cbService, a, decodetest.DNSRcodeRefused, 1)
		},
		level: Likely, score: 0.64, verdict: true, text: "recurse for the client's subnet",
	}, {
		name: "timeout while the resolver answers other names",
		build: func(b *capBuild) []cbH {
			id := uint16(4711)
			var hs []cbH
			for _, d := range []time.Duration{0, time.Second, 2 * time.Second, 4 * time.Second} {
				hs = append(hs, b.dnsQuery(d, 50001, id, cbService, a))
			}
			b.resolve(500*time.Millisecond, 50002, "www.bing.com", cbBing)
			return hs
		},
		level: Likely, score: 0.694, verdict: true, text: "drops these queries",
	}, {
		name: "timeout and no DNS answer in the whole capture: weak",
		build: func(b *capBuild) []cbH {
			return []cbH{b.dnsQuery(0, 50001, 9, cbService, a), b.dnsQuery(time.Second, 50001, 9, cbService, a)}
		},
		level: Possible, score: 0.49, text: "get no answer",
	}, {
		name: "sinkhole 0.0.0.0 and ::",
		build: func(b *capBuild) []cbH {
			hs := b.failedLookups(0, cbService, a, decodetest.DNSRcodeNoError, 1, netip.IPv4Unspecified())
			return append(hs, b.failedLookups(time.Second, "js.monitor.azure.com", aaaa, decodetest.DNSRcodeNoError, 1, netip.IPv6Unspecified())...)
		},
		level: Confirmed, score: 0.946, verdict: true, text: "allow-list",
	}, {
		name: "Cisco Umbrella block page",
		build: func(b *capBuild) []cbH {
			return b.failedLookups(0, cbService, a, decodetest.DNSRcodeNoError, 1, netip.MustParseAddr("146.112.61.106"))
		},
		level: Likely, score: 0.82, verdict: true, text: "sinkhole",
	}, {
		name: "look-alike: AAAA NXDOMAIN beside a good A answer",
		build: func(b *capBuild) []cbH {
			b.failedLookups(0, cbService, aaaa, decodetest.DNSRcodeNXDomain, 2)
			b.resolve(3*time.Second, 50010, cbService, cbServiceAddr)
			return nil
		},
	}, {
		name: "look-alike: search-suffix noise",
		build: func(b *capBuild) []cbH {
			b.failedLookups(0, cbService+".corp.contoso.com", a, decodetest.DNSRcodeNXDomain, 2)
			b.failedLookups(3*time.Second, "wpad.corp.local", a, decodetest.DNSRcodeNXDomain, 1)
			b.resolve(5*time.Second, 50010, cbService, cbServiceAddr)
			return nil
		},
	}, {
		name: "look-alike: unanswered once, the capture ends",
		build: func(b *capBuild) []cbH {
			b.resolve(0, 50010, "www.bing.com", cbBing)
			b.dnsQuery(time.Second, 50001, 7, cbService, a)
			return nil
		},
	}, {
		name: "look-alike: a name under a generic wildcard, and a literal wildcard",
		build: func(b *capBuild) []cbH {
			b.failedLookups(0, "nosuchhost.microsoft.com", a, decodetest.DNSRcodeNXDomain, 2)
			b.failedLookups(3*time.Second, "*.teams.microsoft.com", a, decodetest.DNSRcodeNXDomain, 1)
			return nil
		},
	}, {
		name: "look-alike: private answer for a name outside the catalog",
		build: func(b *capBuild) []cbH {
			b.failedLookups(0, "intranet.contoso.com", a, decodetest.DNSRcodeNoError, 1, netip.MustParseAddr("10.1.2.3"))
			return nil
		},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newCapBuild(t)
			frames := tt.build(b)
			_, v := b.diagnose()
			fd := findingOf(v, DNSFailure)
			if tt.level == "" {
				if fd != nil {
					t.Fatalf("dns_failure fired on a look-alike\n%s", describe(v))
				}
				return
			}
			if fd == nil {
				t.Fatalf("no dns_failure finding\n%s", describe(v))
			}
			if fd.Level != tt.level || fd.Score != tt.score || (v.Cause == DNSFailure) != tt.verdict {
				t.Errorf("level %s (%.3f), verdict %s; want %s (%.3f), verdict %v\n%s", fd.Level, fd.Score, v.Cause, tt.level, tt.score, tt.verdict, describe(v))
			}
			if !cites(fd, b.nums(frames...)...) {
				t.Errorf("evidence cites %v, want all of %v\n%s", citedFrames(*fd), b.nums(frames...), describe(v))
			}
			all := fd.Explanation + "\n" + strings.Join(fd.Remediation, "\n")
			if !strings.Contains(all, tt.text) {
				t.Errorf("explanation and remediation lack %q:\n%s", tt.text, all)
			}
			for _, h := range fd.Hosts {
				if !slices.ContainsFunc(fd.Remediation, func(r string) bool { return strings.Contains(r, h) }) {
					t.Errorf("remediation does not name %s: %q", h, fd.Remediation)
				}
			}
		})
	}
}
