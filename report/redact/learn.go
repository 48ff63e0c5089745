package redact

import (
	"cmp"
	"net/netip"
	"slices"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/diagnose"
	"github.com/qadiag/qadiag/decode/dnsmsg"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// learn collects, before anything is mapped, the server addresses that are
// Microsoft's and so stay visible: the A and AAAA answers to a query for a
// catalog name, the servers of flows whose DNS names, TLS server name or
// HTTP Host (outside a proxy) are catalog names. Only public addresses
// qualify (kept): a catalog name answered with a private address is a
// sinkhole or an internal proxy, both the customer's. It also collects the
// certificate subject attributes that Packet sweeps out of payloads.
func (r *Redactor) learn(res *analyze.Result) {
	keptValues, redacted := map[string]bool{}, map[string]bool{}
	for _, f := range res.Flows {
		if r.microsoftServer(f) {
			r.keepAddr(f.Server.Addr())
		}
		if f.DNS != nil {
			for _, q := range f.DNS.Queries {
				r.learnAnswers(q)
			}
		}
		if f.TLS != nil {
			r.tlsPorts[f.Server.Port()] = true // also a proxy's: textual segments there are zeroed
			certs := f.TLS.Details().Certificates
			for i := range certs {
				r.learnCert(&certs[i], keptValues, redacted)
			}
		}
	}
	for v := range redacted {
		if !keptValues[v] && !slices.Contains(r.secrets, v) {
			r.secrets = append(r.secrets, v)
		}
	}
	slices.SortFunc(r.secrets, func(a, b string) int { return cmp.Or(cmp.Compare(len(b), len(a)), strings.Compare(a, b)) })
}

// learnVerdict keeps the servers of the flows the diagnosis recognised as
// Quick Assist's by name or range (not those reached through a proxy).
func (r *Redactor) learnVerdict(res *analyze.Result, v *diagnose.Verdict) {
	if res == nil {
		return
	}
	for _, q := range v.QuickAssist {
		if q.By == diagnose.ByConnect {
			continue
		}
		if f := res.Flow(q.ID); f != nil && !viaProxy(f) {
			r.keepAddr(f.Server.Addr())
		}
	}
}

// viaProxy reports whether a flow goes to an HTTP proxy: its server is the
// proxy, not the Microsoft host named inside the tunnel.
func viaProxy(f *analyze.Flow) bool {
	if f.TLS != nil && f.TLS.InTunnel {
		return true
	}
	if f.HTTP != nil {
		for _, e := range f.HTTP.Exchanges {
			if e.Method == "CONNECT" || strings.Contains(e.Target, "://") {
				return true
			}
		}
	}
	return false
}

func (r *Redactor) keepAddr(a netip.Addr) {
	if a = a.Unmap().WithZone(""); public(a) {
		r.keep[a] = true
	}
}

// microsoftServer reports whether a flow's server is named by the catalog.
func (r *Redactor) microsoftServer(f *analyze.Flow) bool {
	for _, n := range f.Names() {
		if r.catalogName(n.Name) {
			return true
		}
	}
	if f.TLS != nil && !f.TLS.InTunnel && r.catalogName(f.TLS.SNI) {
		return true
	}
	if f.HTTP != nil {
		for _, e := range f.HTTP.Exchanges {
			// An absolute target or a CONNECT goes to a proxy.
			if e.Method != "" && e.Method != "CONNECT" && strings.HasPrefix(e.Target, "/") && r.catalogHost(e.Host) {
				return true
			}
		}
	}
	return false
}

func (r *Redactor) catalogName(n string) bool {
	if n == "" {
		return false
	}
	_, ok := r.cat.MatchHost(n)
	return ok
}

func (r *Redactor) learnAnswers(q analyze.DNSQuery) {
	asked := r.catalogName(q.Name)
	for _, a := range q.Answers {
		if (a.Type == dnsmsg.TypeA || a.Type == dnsmsg.TypeAAAA) && (asked || r.catalogName(a.Name)) {
			r.keepAddr(a.Addr)
		}
	}
}

// learnCert sorts a certificate's subject attribute values into those that
// stay (catalog leaf certificates, CA certificates, issuers) and those that
// certRedact replaces; only values never seen staying become secrets, so
// that "O=Microsoft Corporation" on one redacted leaf does not blank it in
// every Microsoft certificate.
func (r *Redactor) learnCert(c *tlsmsg.Certificate, keptValues, redacted map[string]bool) {
	for _, a := range parseDN(c.Issuer) {
		keptValues[unescapeDN(a.value)] = true
	}
	if !r.redactSubject(c) {
		for _, a := range parseDN(c.Subject) {
			keptValues[unescapeDN(a.value)] = true
		}
		return
	}
	for _, a := range parseDN(c.Subject) {
		// A host-name CN is mapped wherever it occurs (certNames); any
		// other value is a literal to sweep.
		if v := unescapeDN(a.value); a.typ != "C" && !(a.typ == "CN" && looksHost(v)) && len(v) >= 4 {
			redacted[v] = true
		}
	}
}

// redactSubject reports whether a certificate is a server's leaf for names
// none of which the catalog knows: its subject names the customer or a site.
func (r *Redactor) redactSubject(c *tlsmsg.Certificate) bool {
	leaf := looksHost(c.SubjectCN)
	if leaf && r.catalogSAN(c.SubjectCN) {
		return false
	}
	for _, n := range c.SANs {
		leaf = true
		if r.catalogSAN(n) {
			return false
		}
	}
	return leaf
}
