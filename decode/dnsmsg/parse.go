package dnsmsg

import (
	"fmt"
	"net/netip"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// headerLen is the size of the fixed DNS header (RFC 1035 4.1.1).
const headerLen = 12

// Parser decodes DNS messages. It holds one gopacket layers.DNS whose
// slices and name buffer are reused, and a scratch buffer for lower-casing
// names. The zero value is ready to use; a Parser is not safe for concurrent
// use.
type Parser struct {
	dns     layers.DNS
	scratch []byte
	// names interns the names seen, so that the thousandth query for a
	// name costs no allocation; bounded by maxInterned.
	names map[string]string
}

// maxInterned bounds the names a Parser remembers.
const maxInterned = 4096

// Parse decodes the DNS message b (without any TCP length prefix) into m,
// after resetting m.
//
// When gopacket stops at a malformed question or record, the header and the
// sections decoded before it stay in m and the error wraps ErrMalformed
// (partial results, as miekg/dns keeps them). m never refers to b.
func (p *Parser) Parse(b []byte, m *Message) error {
	oldQ, oldA := m.Questions, m.Answers
	*m = Message{Questions: oldQ[:0], Answers: oldA[:0]}
	if len(b) < headerLen {
		return fmt.Errorf("%w: %d bytes, the header needs %d", ErrTruncated, len(b), headerLen)
	}
	err := p.dns.DecodeFromBytes(b, gopacket.NilDecodeFeedback)
	d := &p.dns
	m.ID = d.ID
	m.Response = d.QR
	m.Opcode = uint8(d.OpCode)
	m.Rcode = uint8(d.ResponseCode)
	m.Truncated = d.TC
	m.QuestionCount, m.AnswerCount = d.QDCount, d.ANCount
	for i := range d.Questions {
		if i == MaxQuestions {
			break
		}
		q := &d.Questions[i]
		m.Questions = append(m.Questions, Question{
			Name: p.name(q.Name, oldName(oldQ, i, func(q Question) string { return q.Name })),
			Type: uint16(q.Type),
		})
	}
	for i := range d.Answers {
		if i == MaxAnswers {
			break
		}
		m.Answers = append(m.Answers, p.answer(&d.Answers[i], oldA, i))
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	return nil
}

// answer converts one gopacket record; old holds the previous answers of
// the Message, whose strings are reused when unchanged.
func (p *Parser) answer(rr *layers.DNSResourceRecord, old []Answer, i int) Answer {
	a := Answer{
		Name: p.name(rr.Name, oldName(old, i, func(a Answer) string { return a.Name })),
		Type: uint16(rr.Type),
		TTL:  rr.TTL,
	}
	oldTarget := oldName(old, i, func(a Answer) string { return a.Target })
	switch rr.Type {
	case layers.DNSTypeA, layers.DNSTypeAAAA:
		// gopacket checked the RDATA length: 4 bytes for A, 16 for AAAA.
		if addr, ok := netip.AddrFromSlice(rr.IP); ok {
			a.Addr = addr
		}
	case layers.DNSTypeCNAME:
		a.Target = p.name(rr.CNAME, oldTarget)
	case layers.DNSTypeSVCB, layers.DNSTypeHTTPS:
		// RFC 9460 2.2: SvcPriority, then TargetName, then SvcParams.
		a.Target = p.name(rr.SVCB.Target, oldTarget)
	}
	return a
}

// oldName returns the string field of old[i] picked by get, or "" when old
// is shorter. old shares its backing array with the slice being filled, so
// it must be read before element i is overwritten; the result is only used
// to avoid an allocation, never as data.
func oldName[T any](old []T, i int, get func(T) string) string {
	if i < len(old) {
		return get(old[i])
	}
	return ""
}

// name lower-cases an ASCII name decoded by gopacket (labels joined with
// dots, no trailing dot, at most 255 bytes) and returns it as a string,
// returning old instead when it already holds the same text.
func (p *Parser) name(b []byte, old string) string {
	p.scratch = append(p.scratch[:0], b...)
	for i, c := range p.scratch {
		if 'A' <= c && c <= 'Z' {
			p.scratch[i] = c + ('a' - 'A')
		}
	}
	if string(p.scratch) == old {
		return old
	}
	if s, ok := p.names[string(p.scratch)]; ok {
		return s
	}
	s := string(p.scratch)
	if len(p.names) < maxInterned {
		if p.names == nil {
			p.names = map[string]string{}
		}
		p.names[s] = s
	}
	return s
}
