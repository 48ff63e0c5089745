package report

import (
	"fmt"
	"strings"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode/dnsmsg"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// maxDetail bounds the detail column; the JSON has everything.
const maxDetail = 100

// appDetail is one line on what a flow's application layer showed: the name
// it was for, the TLS version and issuer, alerts, HTTP status, STUN and DNS
// outcomes.
func appDetail(f *analyze.Flow) string {
	var parts []string
	name := ""
	switch {
	case f.TLS != nil && f.TLS.SNI != "":
		name = f.TLS.SNI
	case f.HTTP != nil && len(f.HTTP.Exchanges) > 0 && f.HTTP.Exchanges[0].Method == "CONNECT":
	case len(f.Names()) > 0:
		name = "dns:" + f.Names()[0].Name
	}
	if name != "" {
		parts = append(parts, name)
	}
	if h := f.HTTP; h != nil {
		for i, e := range h.Exchanges {
			if i == 3 {
				parts = append(parts, fmt.Sprintf("+%d more", len(h.Exchanges)-3))
				break
			}
			s := e.Method + " " + e.Target
			if e.Status != 0 {
				s += fmt.Sprintf(" -> %d", e.Status)
			} else if e.Method != "" {
				s += " -> no answer"
			}
			parts = append(parts, strings.TrimSpace(s))
		}
	}
	if t := f.TLS; t != nil {
		d := t.Details()
		if t.Version != 0 {
			v := tlsmsg.VersionName(t.Version)
			if d.Decrypted > 0 {
				v += " (decrypted)" // early in the line: the column is cut at maxDetail
			}
			parts = append(parts, v)
		} else if t.ClientFrame != 0 {
			parts = append(parts, "no ServerHello")
		}
		if len(d.Certificates) > 0 {
			c := d.Certificates[0]
			issuer := c.IssuerCN
			if issuer == "" {
				issuer = c.Issuer
			}
			parts = append(parts, "issuer "+issuer)
		}
		for _, a := range d.Alerts {
			if a.Encrypted {
				continue
			}
			s := fmt.Sprintf("%s alert %s", dirName(a.From), tlsmsg.AlertDescriptionName(a.Description))
			if a.Decrypted {
				s += " (decrypted)"
			}
			parts = append(parts, s)
		}
	}
	if s := f.STUN; s != nil {
		answered := 0
		for _, tx := range s.Transactions {
			if tx.ResponseFrame != 0 {
				answered++
			}
		}
		p := fmt.Sprintf("stun %d/%d answered", answered, len(s.Transactions))
		if len(s.ErrorCodes) > 0 {
			p += fmt.Sprintf(" errors %v", s.ErrorCodes)
		}
		if s.ChannelData > 0 {
			p += fmt.Sprintf(", %d channel data", s.ChannelData)
		}
		parts = append(parts, p)
	}
	if d := f.DNS; d != nil && len(d.Queries) > 0 {
		q := d.Queries[0]
		p := q.Name + " " + dnsmsg.TypeName(q.Type)
		if q.Answered() {
			p += " " + dnsmsg.RcodeName(q.Rcode)
		} else {
			p += " unanswered"
		}
		if len(d.Queries) > 1 {
			p += fmt.Sprintf(" (+%d)", len(d.Queries)-1)
		}
		parts = append(parts, p)
	}
	s := []rune(sanitize(strings.Join(parts, ", ")))
	if len(s) > maxDetail {
		s = append(s[:maxDetail-3], '.', '.', '.')
	}
	return string(s)
}

// sanitize keeps capture-derived text printable on a terminal: control
// bytes and invalid UTF-8 become '?', so a hostile SNI cannot move the
// cursor or rewrite the screen.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0xfffd || (r >= 0x80 && r < 0xa0) {
			return '?'
		}
		return r
	}, s)
}
