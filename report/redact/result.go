package redact

import (
	"errors"
	"slices"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode/dnsmsg"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// result copies res with its identifiers mapped. Every slice or pointer
// that holds one is copied; the rest (counters, frame lists) is shared with
// res and must be treated as read-only, as reports do.
func (r *Redactor) result(res *analyze.Result) *analyze.Result {
	out := *res
	c := &out.Capture
	c.File = r.fileName(res.Capture.File)
	c.LinkTypes = slices.Clone(c.LinkTypes)
	if d := res.Capture.Damage; d != nil {
		dc := *d
		if d.Err != nil {
			dc.Err = errors.New(r.freeText(d.Err.Error()))
		}
		c.Damage = &dc
	}
	out.Flows = make([]*analyze.Flow, len(res.Flows))
	for i, f := range res.Flows {
		out.Flows[i] = r.flow(f)
	}
	// Warnings last: by now every name of the capture is known.
	c.Warnings = r.texts(res.Capture.Warnings)
	return &out
}

func (r *Redactor) texts(s []string) []string {
	if s == nil {
		return nil
	}
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = r.freeText(v)
	}
	return out
}

func (r *Redactor) flow(f *analyze.Flow) *analyze.Flow {
	nf := *f // unexported state (history, live counters) comes along, read-only
	nf.Client, nf.Server = r.addrPort(f.Client), r.addrPort(f.Server)
	if icmp := f.ICMP(); icmp != nil {
		icmp = slices.Clone(icmp)
		for i := range icmp {
			icmp[i].From = r.addr(icmp[i].From)
		}
		nf.ReplaceICMP(icmp)
	}
	if f.Names() != nil {
		names := slices.Clone(f.Names())
		for i := range names {
			names[i].Name = r.name(names[i].Name)
		}
		nf.SetNames(names)
	}
	if f.TLS != nil {
		nf.TLS = r.tls(f.TLS)
	}
	if f.HTTP != nil {
		nf.HTTP = r.http(f.HTTP)
	}
	if f.STUN != nil {
		nf.STUN = r.stun(f.STUN)
	}
	if f.DNS != nil {
		nf.DNS = r.dns(f.DNS)
	}
	return &nf
}

func (r *Redactor) tls(t *analyze.TLSInfo) *analyze.TLSInfo {
	nt := *t
	nt.SNI = r.name(t.SNI)
	if t.Detail != nil {
		d := *t.Detail
		d.Malformed = r.freeText(d.Malformed)
		if d.Certificates != nil {
			d.Certificates = make([]tlsmsg.Certificate, len(t.Detail.Certificates))
			for i, c := range t.Detail.Certificates {
				d.Certificates[i] = r.cert(c)
			}
		}
		d.Alerts = slices.Clone(d.Alerts)
		nt.Detail = &d
	}
	return &nt
}

// cert maps a certificate's names. A leaf for names the catalog does not
// know loses its subject (common name mapped, other attributes but the
// country replaced); every other subject and every issuer keeps its text,
// with host-name values mapped: CA names are how interception is told.
func (r *Redactor) cert(c tlsmsg.Certificate) tlsmsg.Certificate {
	redact := r.redactSubject(&c)
	if c.SANs != nil {
		sans := make([]string, len(c.SANs))
		for i, n := range c.SANs {
			sans[i] = r.san(n)
		}
		c.SANs = sans
	}
	c.Issuer = r.dnHosts(c.Issuer)
	if looksHost(c.IssuerCN) {
		c.IssuerCN = r.san(c.IssuerCN)
	}
	if !redact {
		c.Subject = r.dnHosts(c.Subject)
		if looksHost(c.SubjectCN) {
			c.SubjectCN = r.san(c.SubjectCN)
		}
		return c
	}
	attrs := parseDN(c.Subject)
	for i, a := range attrs {
		switch {
		case a.typ == "C":
		case a.typ == "CN" && looksHost(a.value):
			attrs[i].value = r.san(a.value)
		default:
			attrs[i].value = "redacted"
		}
	}
	c.Subject = formatDN(attrs)
	if looksHost(c.SubjectCN) {
		c.SubjectCN = r.san(c.SubjectCN)
	} else if c.SubjectCN != "" {
		c.SubjectCN = "redacted"
	}
	return c
}

// dnHosts maps the host-name values of a distinguished name.
func (r *Redactor) dnHosts(dn string) string {
	attrs := parseDN(dn)
	changed := false
	for i, a := range attrs {
		if looksHost(a.value) {
			if m := r.san(a.value); m != a.value {
				attrs[i].value, changed = m, true
			}
		}
	}
	if !changed {
		return dn
	}
	return formatDN(attrs)
}

func (r *Redactor) http(h *analyze.HTTPInfo) *analyze.HTTPInfo {
	nh := *h
	nh.Malformed = r.freeText(h.Malformed)
	nh.Exchanges = slices.Clone(h.Exchanges)
	for i := range nh.Exchanges {
		e := &nh.Exchanges[i]
		host := e.Host
		if e.Method == "CONNECT" {
			e.Target = r.hostPort(e.Target)
		} else {
			e.Target = r.url(e.Target, host)
		}
		e.Host = r.hostPort(e.Host)
		e.UserAgent = r.product(e.UserAgent)
		e.Server, e.ProxyAgent = r.product(e.Server), r.product(e.ProxyAgent)
		e.Via = r.via(e.Via)
		e.Location = r.url(e.Location, host)
		e.Reason = r.freeText(e.Reason)
		e.ProxyAuthenticate, e.WWWAuthenticate = slices.Clone(e.ProxyAuthenticate), slices.Clone(e.WWWAuthenticate)
	}
	return &nh
}

// product redacts a product string and remembers the original, so free
// text quoting it is redacted the same way.
func (r *Redactor) product(s string) string {
	p := product(s)
	if p != s && len(s) >= 8 {
		r.literals[s] = p
	}
	return p
}

// via maps the received-by host of each Via entry ("1.1 proxy.corp.example
// (squid/6.10)", RFC 9110 7.6.3); the comment is the proxy's software and
// stays.
func (r *Redactor) via(v string) string {
	if v == "" {
		return v
	}
	entries := strings.Split(v, ",")
	for i, e := range entries {
		fields := strings.Fields(e)
		for j, f := range fields {
			if j == 1 {
				fields[j] = r.hostPort(f)
			} else {
				fields[j] = r.freeText(f)
			}
		}
		entries[i] = strings.Join(fields, " ")
	}
	return strings.Join(entries, ", ")
}

func (r *Redactor) stun(s *analyze.STUNInfo) *analyze.STUNInfo {
	ns := *s
	ns.MappedAddresses = slices.Clone(s.MappedAddresses)
	for i := range ns.MappedAddresses {
		ns.MappedAddresses[i] = r.addrPort(ns.MappedAddresses[i])
	}
	ns.RelayedAddresses = slices.Clone(s.RelayedAddresses)
	for i := range ns.RelayedAddresses {
		ns.RelayedAddresses[i] = r.addrPort(ns.RelayedAddresses[i])
	}
	ns.Transactions = slices.Clone(s.Transactions)
	for i := range ns.Transactions {
		tx := &ns.Transactions[i]
		tx.Mapped, tx.Relayed = r.addrPort(tx.Mapped), r.addrPort(tx.Relayed)
	}
	ns.Software = r.product(s.Software)
	ns.Realm = r.freeText(s.Realm)
	return &ns
}

func (r *Redactor) dns(d *analyze.DNSInfo) *analyze.DNSInfo {
	nd := *d
	nd.Queries = slices.Clone(d.Queries)
	for i := range nd.Queries {
		q := &nd.Queries[i]
		q.Name = r.name(q.Name)
		if q.Answers == nil {
			continue
		}
		answers := make([]dnsmsg.Answer, len(q.Answers))
		for j, a := range q.Answers {
			a.Name, a.Target, a.Addr = r.name(a.Name), r.name(a.Target), r.addr(a.Addr)
			answers[j] = a
		}
		q.Answers = answers
	}
	return &nd
}

// dnAttr is one attribute of a distinguished name in the string form of
// crypto/x509/pkix.Name.String, with the separator that preceded it.
type dnAttr struct {
	sep        byte // ',' or '+' (multi-valued RDN), 0 for the first
	typ, value string
}

// parseDN splits a distinguished name at unescaped ',' and '+' (RFC 2253 2).
func parseDN(s string) []dnAttr {
	if s == "" {
		return nil
	}
	var out []dnAttr
	start, sep := 0, byte(0)
	for i := 0; i <= len(s); i++ {
		if i < len(s) && s[i] == '\\' {
			i++
			continue
		}
		if i < len(s) && s[i] != ',' && s[i] != '+' {
			continue
		}
		t, v, ok := strings.Cut(s[start:min(i, len(s))], "=")
		if !ok {
			t, v = "", t
		}
		out = append(out, dnAttr{sep: sep, typ: t, value: v})
		if i < len(s) {
			sep = s[i]
		}
		start = i + 1
	}
	return out
}

func formatDN(attrs []dnAttr) string {
	var b strings.Builder
	for _, a := range attrs {
		if a.sep != 0 {
			b.WriteByte(a.sep)
		}
		if a.typ != "" {
			b.WriteString(a.typ + "=")
		}
		b.WriteString(a.value)
	}
	return b.String()
}

// unescapeDN removes RFC 2253 backslash escapes.
func unescapeDN(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '\\' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}
