package diagnose

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// Thresholds of the "too close to be Microsoft" signals
// (research/heuristics.md section 2b, timing split row): an interceptor
// answers the SYN itself, LAN-like (≲ 2-3 ms), then dials upstream before
// its ServerHello (tens to hundreds of ms). Microsoft's front ends are
// several routers away; a peer 0 or 1 hop away is on the local network.
const (
	nearRTT       = 3 * time.Millisecond
	nearHops      = 1
	splitMin      = 10 * time.Millisecond
	splitFactor   = 5
	tls13AlertLen = 19 // an encrypted TLS 1.3 alert: 2 bytes, content type, 16-byte tag (RFC 8446 5.2; heuristics.md section 10)
)

// inspectionProduct is one entry of inspection_cas.json.
type inspectionProduct struct {
	Product  string   `json:"product"`
	Contains []string `json:"contains"`
	Bypass   string   `json:"bypass"`
	Source   string   `json:"source"`
	Note     string   `json:"note"`
}

//go:embed inspection_cas.json
var inspectionCAsJSON []byte

// inspectionProducts parses the embedded list once; TestInspectionCAs
// checks that it parses and that every entry names its source.
var inspectionProducts = sync.OnceValue(func() []inspectionProduct {
	var file struct {
		Products []inspectionProduct `json:"products"`
	}
	if err := json.Unmarshal(inspectionCAsJSON, &file); err != nil {
		return nil
	}
	return file.Products
})

// inspectionProductOf names the inspection product whose CA issued any
// certificate of the chain, comparing issuer CN and O without regard to
// case; nil when none matches.
func inspectionProductOf(chain []tlsmsg.Certificate) *inspectionProduct {
	for _, cert := range chain {
		if p := matchProduct(cert.IssuerCN, cert.IssuerOrg); p != nil {
			return p
		}
	}
	return nil
}

// matchProduct returns the first product whose strings occur in one of ss,
// without regard to case.
func matchProduct(ss ...string) *inspectionProduct {
	ps := inspectionProducts()
	for _, s := range ss {
		s = strings.ToLower(s)
		if s == "" {
			continue
		}
		for i := range ps {
			for _, sub := range ps[i].Contains {
				if strings.Contains(s, strings.ToLower(sub)) {
					return &ps[i]
				}
			}
		}
	}
	return nil
}

// tunnelProduct names the product of the explicit proxy that carried the
// flow's CONNECT tunnel, from its Proxy-Agent, Server or Via header: a
// corporate CA signs the certificates, the proxy names itself.
func tunnelProduct(f *analyze.Flow) *inspectionProduct {
	if f.HTTP == nil || f.TLS == nil || !f.TLS.InTunnel {
		return nil
	}
	for _, ex := range f.HTTP.Exchanges {
		if ex.Method == "CONNECT" {
			if p := matchProduct(ex.ProxyAgent, ex.Server, ex.Via); p != nil {
				return p
			}
		}
	}
	return nil
}

// foreignIssuer reports whether the server's leaf certificate (TLS 1.2 and
// earlier) was issued by a CA that is not Microsoft's, and returns it. A CA
// of O=Microsoft Corporation whose name starts "Microsoft " counts as
// Microsoft's even when the catalog does not list it: real captures carry
// retired generations ("Microsoft IT TLS CA 4", "Microsoft Secure Server CA
// 2011"), and a proxy that copies Microsoft's names is caught by the
// client's alert or the timing, not by the name.
func foreignIssuer(c *Context, t *analyze.TLSInfo) (tlsmsg.Certificate, *inspectionProduct, bool) {
	chain := t.Details().Certificates
	if len(chain) == 0 {
		return tlsmsg.Certificate{}, nil, false
	}
	leaf := chain[0]
	if c.Cat.IsMicrosoftIssuer(leaf.IssuerCN, leaf.IssuerOrg) ||
		strings.EqualFold(strings.TrimSpace(leaf.IssuerOrg), "Microsoft Corporation") && strings.HasPrefix(leaf.IssuerCN, "Microsoft ") {
		return leaf, nil, false
	}
	return leaf, inspectionProductOf(chain), true
}

// detectTLSInterception finds a proxy that terminates Quick Assist's TLS
// with its own certificate (research/heuristics.md section 2b):
//
//   - the chain for a Quick Assist name is issued by a CA that is not
//     Microsoft's (strong when the handshake failed, medium when the PC
//     trusted it; weak alone on broad names such as *.microsoft.com, which
//     some public CAs serve legitimately, strong there only for a known
//     inspection product), a known inspection product's name a weak bonus;
//   - the client aborts after the certificate with unknown_ca, bad_certificate
//     or certificate_unknown (strong; medium when the chain was not seen),
//     certificate_expired (medium: also clock skew, section 10);
//   - the "server" answered the SYN in ≤ 3 ms but took ≥ 10 ms and ≥ 5
//     round trips for its ServerHello (medium), and sits ≤ 1 hop away
//     (weak);
//   - TLS 1.3, certificates hidden: the client's first encrypted record is
//     a 19-byte alert in place of its Finished, then it closes (weak).
//
// A Microsoft chain clears the flow. Timing alone never makes a finding
// unless both timing signals agree.
func detectTLSInterception(c *Context) []Finding {
	return c.scanQA().icpt.findings(func(_ string, ics []icpt) Finding { return icptFinding(c, ics) })
}

// icptFlow is tls_interception's look at one Quick Assist flow, in scanQA.
func (s *qaScan) icptFlow(c *Context, q *QAFlow, f *analyze.Flow) {
	if f.TLS == nil || f.TLS.ClientFrame == 0 || f.TLS.ServerFrame == 0 {
		return
	}
	if ic, ok := icptFlow(c, f, q); ok {
		s.icpt.add(ic.label, ic)
	}
}

// icpt is one flow's interception evidence.
type icpt struct {
	f           *analyze.Flow
	q           *QAFlow
	label       string // product, issuer, or "" when no certificate was seen
	leaf        tlsmsg.Certificate
	prod        *inspectionProduct
	viaTunnel   bool // prod was named by the CONNECT proxy's headers, not the CA
	foreign     bool
	established bool // the client accepted the certificate
	weights     []float64
	ev          []Evidence
}

func icptFlow(c *Context, f *analyze.Flow, q *QAFlow) (icpt, bool) {
	t := f.TLS
	leaf, prod, foreign := foreignIssuer(c, t)
	if len(t.Details().Certificates) > 0 && !foreign {
		return icpt{}, false // Microsoft's chain
	}
	ic := icpt{f: f, q: q, leaf: leaf, prod: prod, foreign: foreign, established: clientAccepted(t)}
	if foreign && prod == nil {
		ic.prod = tunnelProduct(f)
		ic.viaTunnel = ic.prod != nil
	}
	flt := &lazyFilter{f: f}
	certSignal := ic.issuerSignal(flt) && ic.weights[0] >= Medium // a weak issuer signal needs company
	alertSignal := ic.alertSignal(flt)
	hidden := ic.tls13AlertSignal(flt)
	near, split := ic.nearSignals(flt)
	if !certSignal && !alertSignal && !hidden && !(near && split) {
		return icpt{}, false
	}
	switch {
	case ic.prod != nil:
		ic.label = ic.prod.Product
	case foreign:
		ic.label = leaf.IssuerCN + "|" + leaf.IssuerOrg
	}
	return ic, true
}

// clientAccepted reports whether the client went on with the handshake
// after the server's certificate, so it trusted the chain: no fatal alert
// of its own, and in TLS 1.2 its ChangeCipherSpec (sent only after it
// validated the chain, RFC 5246 7.3), in TLS 1.3 an encrypted record that
// is not alert-sized (its Finished).
func clientAccepted(t *analyze.TLSInfo) bool {
	for _, al := range t.Details().Alerts {
		if al.From == analyze.FromClient && !al.Encrypted && al.Level == alertFatal {
			return false
		}
	}
	if t.Version == versionTLS13 {
		first := t.FirstAppData(analyze.FromClient)[0]
		return t.AppData[analyze.FromClient] > 0 && first.Len != tls13AlertLen
	}
	return t.CCSFrame[analyze.FromClient] != 0 || t.AppDataFrame[analyze.FromClient] != 0
}

// issuerSignal weighs a non-Microsoft chain.
func (ic *icpt) issuerSignal(flt *lazyFilter) bool {
	if !ic.foreign {
		return false
	}
	t := ic.f.TLS
	w := Strong
	switch {
	case ic.q.Broad && ic.prod == nil && ic.established:
		return false // a public CA on a broadly matched name, and the PC trusted it: nothing to say
	case ic.q.Broad && ic.prod == nil:
		w = Weak // public CAs legitimately serve some broadly matched names
	case ic.established:
		w = Medium // the PC trusted the proxy's root: inspected, not (yet) failed
	}
	text := fmt.Sprintf("the certificate for %s in frame %d is issued by %q (O=%q), not by one of Microsoft's CAs", ic.q.Host, t.CertFrame, ic.leaf.IssuerCN, ic.leaf.IssuerOrg)
	if ic.leaf.SelfSigned {
		text += "; it is self-signed"
	}
	switch {
	case ic.prod != nil && ic.viaTunnel:
		text += fmt.Sprintf("; the CONNECT tunnel's proxy names itself %s", ic.prod.Product)
	case ic.prod != nil:
		text += fmt.Sprintf(": the signing CA of %s's TLS inspection", ic.prod.Product)
	}
	if t.CertsDecrypted {
		text += " (TLS 1.3: read by decrypting the handshake with the key log)"
	}
	frames := nonZero([]uint64{t.ServerFrame, t.CertFrame})
	ic.ev = append(ic.ev, Evidence{Text: text, Frames: frames, Filter: AndFrames(flt.String(), frames...)})
	ic.weights = append(ic.weights, w)
	if ic.prod != nil && (!ic.q.Broad || ic.established) {
		ic.weights = append(ic.weights, Weak) // a name match is a bonus (section 2b)
	}
	return true
}

// alertSignal weighs the client's certificate alert after the server's
// flight.
func (ic *icpt) alertSignal(flt *lazyFilter) bool {
	t := ic.f.TLS
	after := max(t.CertFrame, t.ServerFrame)
	for _, al := range t.Details().Alerts {
		if al.From != analyze.FromClient || al.Encrypted || al.Level != alertFatal || al.Frame < after {
			continue
		}
		var w float64
		switch al.Description {
		case alertUnknownCA, alertBadCertificate, alertCertificateUnknown:
			w = Strong
		case alertCertificateExpired:
			w = Medium
		default:
			continue
		}
		if !ic.foreign {
			w = min(w, Medium) // the chain was not seen
		}
		frames := nonZero([]uint64{t.CertFrame, al.Frame})
		how := ""
		if al.Decrypted {
			how = " (encrypted; read with the key log)"
		}
		ic.ev = append(ic.ev, Evidence{
			Text:   fmt.Sprintf("the client rejected the certificate: it sent a fatal %s alert in frame %d%s", tlsmsg.AlertDescriptionName(al.Description), al.Frame, how),
			Frames: frames, Filter: AndFrames(flt.String(), frames...),
			Values: []Value{{Name: "alert", Num: float64(al.Description)}},
		})
		ic.weights = append(ic.weights, w)
		return true
	}
	return false
}

// tls13AlertSignal spots a TLS 1.3 client whose first encrypted record is
// an alert-sized record in place of its Finished, followed by its close.
func (ic *icpt) tls13AlertSignal(flt *lazyFilter) bool {
	t := ic.f.TLS
	first := t.FirstAppData(analyze.FromClient)[0]
	cli := &ic.f.Dir[analyze.FromClient]
	if t.Version != versionTLS13 || len(t.Details().Certificates) > 0 || first.Len != tls13AlertLen || t.AppData[analyze.FromClient] != 1 {
		return false
	}
	if cli.FINs == 0 && cli.RSTs == 0 {
		return false
	}
	ic.ev = append(ic.ev, Evidence{
		Text:   fmt.Sprintf("TLS 1.3 hides the certificate, but the client's first encrypted record (frame %d) is %d bytes, the size of an alert and not of its Finished, and the client then closed: it likely refused the certificate", first.Frame, first.Len),
		Frames: []uint64{first.Frame}, Filter: AndFrames(flt.String(), first.Frame),
		Values: []Value{{Name: "record_len", Num: float64(first.Len), Unit: "bytes"}},
	})
	ic.weights = append(ic.weights, Weak)
	return true
}

// nearSignals weighs a peer too close and too slow to be Microsoft's
// server, from the SYN-ACK's round trip and hop count (rtt_syn and ttl_srv
// of research/heuristics.md section 0). The ClientHello-to-ServerHello delay is bounded below by the
// flow's longest silence when that silence ended between the two.
func (ic *icpt) nearSignals(flt *lazyFilter) (near, split bool) {
	f, t := ic.f, ic.f.TLS
	if t.InTunnel || f.RTT <= 0 || f.RTT > nearRTT || f.SYNACKFrame == 0 {
		return false, false // a CONNECT tunnel's peer is the proxy by design
	}
	srv := &f.Dir[analyze.FromServer]
	if h := hops(srv.TTLFirst); h <= nearHops {
		near = true
		ic.ev = append(ic.ev, Evidence{
			Text:   fmt.Sprintf("the peer answered the SYN in %.1f ms with TTL %d (%d hops): it sits on the local network, not in Microsoft's", ms(f.RTT), srv.TTLFirst, h),
			Frames: []uint64{f.SYNACKFrame}, Filter: AndFrames(flt.String(), f.SYNACKFrame),
			Values: []Value{{Name: "rtt", Num: ms(f.RTT), Unit: "ms"}, {Name: "server_ttl", Num: float64(srv.TTLFirst)}},
		})
		ic.weights = append(ic.weights, Weak)
	}
	if f.IdleAfterFrame > t.ClientFrame && f.IdleAfterFrame <= t.ServerFrame && f.MaxIdle >= splitMin && f.MaxIdle >= splitFactor*f.RTT {
		split = true
		ic.ev = append(ic.ev, Evidence{
			Text: fmt.Sprintf("it answered the SYN in %.1f ms but waited at least %.1f ms after the ClientHello before its ServerHello (frame %d): it read the name, then dialled the real server",
				ms(f.RTT), ms(f.MaxIdle), t.ServerFrame),
			Frames: []uint64{f.SYNACKFrame, t.ClientFrame, t.ServerFrame}, Filter: AndFrames(flt.String(), f.SYNACKFrame, t.ClientFrame, t.ServerFrame),
			Values: []Value{{Name: "rtt", Num: ms(f.RTT), Unit: "ms"}, {Name: "hello_delay_min", Num: ms(f.MaxIdle), Unit: "ms"}},
		})
		ic.weights = append(ic.weights, Medium)
	}
	return near, split
}

func icptFinding(c *Context, ics []icpt) Finding {
	best := ics[0]
	for _, ic := range ics[1:] {
		if Combine(ic.weights...) > Combine(best.weights...) {
			best = ic
		}
	}
	weights := slices.Clone(best.weights)
	fd := Finding{Evidence: slices.Clone(best.ev)}
	failed := false
	for _, ic := range ics {
		fd.Flows = append(fd.Flows, ic.f.ID)
		fd.Hosts = append(fd.Hosts, ic.q.Host)
		failed = failed || !ic.established
	}
	if len(ics) >= 2 {
		var frames []uint64
		for _, ic := range ics {
			frames = append(frames, ic.f.TLS.ServerFrame)
		}
		fd.Evidence = append(fd.Evidence, Evidence{Text: fmt.Sprintf("%d Quick Assist connections show the same interception", len(ics)), Frames: frames})
		weights = append(weights, Weak)
	}
	fd.Score = Combine(weights...)
	who := "a TLS-inspecting proxy or firewall"
	if best.prod != nil {
		who = best.prod.Product + "'s TLS inspection"
	}
	hosts := strings.Join(slices.Compact(slices.Sorted(slices.Values(fd.Hosts))), ", ")
	switch {
	case !best.foreign:
		fd.Explanation = fmt.Sprintf("The connection to %s looks intercepted: the client refused the peer's certificate (hidden by TLS 1.3) or the peer behaves like a local proxy. %s probably terminates TLS with its own certificate.", hosts, who)
	case failed:
		fd.Explanation = fmt.Sprintf("%s answered for %s with its own certificate, issued by %q; this PC does not trust that CA, so the handshake failed.", capitalize(who), hosts, best.leaf.IssuerCN)
	default:
		fd.Explanation = fmt.Sprintf("%s decrypts Quick Assist's connection to %s with a certificate issued by %q. The PC trusts it, so the handshake completed, but inspected relay and ACS connections may still break.", capitalize(who), hosts, best.leaf.IssuerCN)
	}
	fd.Remediation = icptRemediation(c, best, hosts, failed)
	if fd.Score < 0.85 {
		fd.Conclusive = fmt.Sprintf("the certificate chain of %s seen from a network without the proxy (issued by a Microsoft or DigiCert CA), or the proxy's decryption log for these names, would settle it", hosts)
	}
	return fd
}

func icptRemediation(c *Context, best icpt, hosts string, failed bool) []string {
	names := otherQANames(c.Cat, strings.Split(hosts, ", ")...)
	rule := fmt.Sprintf("On the TLS-inspecting proxy or firewall, add an SSL-inspection bypass (do-not-decrypt) rule for %s and the other Quick Assist names (%s), TCP/443", hosts, names)
	if best.prod != nil {
		rule = fmt.Sprintf("On %s, %s for %s and the other Quick Assist names (%s), TCP/443", best.prod.Product, best.prod.Bypass, hosts, names)
	}
	out := []string{rule}
	if failed && best.foreign {
		root := best.leaf.IssuerCN
		if chain := best.f.TLS.Details().Certificates; len(chain) > 1 && chain[len(chain)-1].IssuerCN != "" {
			root = chain[len(chain)-1].IssuerCN
		}
		out = append(out, fmt.Sprintf("Or deploy the inspection root (%q) to the PCs' Trusted Root Certification Authorities store (GPO or Intune), if inspecting Quick Assist is intended", root))
	}
	return out
}

// otherQANames lists, comma-separated, the catalog's required host
// patterns that are Quick Assist's own (not broad Microsoft names) and not
// among hosts, for allow and bypass rules.
func otherQANames(cat *catalog.Catalog, hosts ...string) string {
	var out []string
	for _, e := range cat.Entries() {
		if e.Required && !e.Broad && e.Host != "" && !slices.Contains(hosts, e.Host) {
			out = append(out, e.Host)
		}
	}
	slices.Sort(out)
	return strings.Join(slices.Compact(out), ", ")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
