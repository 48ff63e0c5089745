// Package dnsmsg decodes DNS messages (RFC 1035) into the few typed facts
// qadiag needs: the header flags and response code, the questions, and the
// answers with their addresses and target names. It decides nothing: an
// NXDOMAIN for a Microsoft name is a fact here and a finding elsewhere.
//
// Decoding is done by gopacket's layers.DNS, reused across messages. This
// package copies out a bounded number of questions and answers, lower-cases
// names and frames DNS over TCP (RFC 1035 4.2.2). It never panics on any
// input and never sizes an allocation from a header count.
package dnsmsg

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"strconv"
)

// Errors returned by Parse, wrapped with gopacket's detail; test with
// errors.Is.
var (
	// ErrTruncated means the input is shorter than the 12-byte header
	// (RFC 1035 4.1.1).
	ErrTruncated = errors.New("dnsmsg: truncated message")
	// ErrMalformed means a question or record could not be decoded, or the
	// header counts disagree with the records present. The sections decoded
	// before the fault are kept in the Message.
	ErrMalformed = errors.New("dnsmsg: malformed message")
)

// Caps on what a Message keeps. Header counts are attacker-controlled
// (RFC 1035 4.1.1 allows 65535 of each), so they never size anything; a
// real answer to a Quick Assist lookup has a CNAME chain and a few
// addresses, far below these caps.
const (
	// MaxQuestions is the number of questions a Message keeps.
	MaxQuestions = 8
	// MaxAnswers is the number of answer records a Message keeps.
	MaxAnswers = 64
)

// Message is one decoded DNS message. Parse resets it and reuses its slices
// and, where the bytes are unchanged, its strings.
type Message struct {
	// ID is the 16-bit message ID (RFC 1035 4.1.1).
	ID uint16
	// Response is the QR bit: set in responses.
	Response bool
	// Opcode is the 4-bit OPCODE (0 query, 4 notify, 5 update).
	Opcode uint8
	// Rcode is the response code: the 4-bit RCODE of RFC 1035 4.1.1, with
	// the next four bits from an EDNS OPT record when one is present
	// (RFC 6891 6.1.3).
	Rcode uint8
	// Truncated is the TC bit: the answer did not fit (RFC 1035 4.1.1).
	Truncated bool
	// Questions are the first MaxQuestions entries of the question section.
	Questions []Question
	// Answers are the first MaxAnswers records of the answer section.
	// Authority and additional records are not kept.
	Answers []Answer
	// QuestionCount and AnswerCount are the counts in the header, which may
	// exceed what was kept or even present.
	QuestionCount, AnswerCount uint16
}

// Question is one entry of the question section (RFC 1035 4.1.2).
type Question struct {
	// Name is the query name, ASCII lower-cased, without the trailing dot;
	// "" is the root. Label bytes are kept as sent (no escaping).
	Name string
	// Type is the QTYPE; see TypeName.
	Type uint16
}

// Answer is one resource record of the answer section (RFC 1035 4.1.3).
type Answer struct {
	// Name is the owner name, as in Question.Name.
	Name string
	// Type is the record TYPE; see TypeName.
	Type uint16
	// TTL is the time to live in seconds.
	TTL uint32
	// Addr is the address of an A or AAAA record (RFC 1035 3.4.1,
	// RFC 3596 2.2); the zero Addr otherwise.
	Addr netip.Addr
	// Target is the canonical name of a CNAME (RFC 1035 3.3.1) or the
	// TargetName of an SVCB or HTTPS record (RFC 9460 2.2), formatted as
	// Name. An SVCB TargetName of "." is "" (RFC 9460 2.5 gives it a
	// meaning that depends on the mode).
	Target string
}

// Record types named by TypeName (IANA DNS parameters).
const (
	TypeA     = 1   // TypeA is an IPv4 address (RFC 1035 3.4.1).
	TypeNS    = 2   // TypeNS is a name server (RFC 1035 3.3.11).
	TypeCNAME = 5   // TypeCNAME is a canonical name (RFC 1035 3.3.1).
	TypeSOA   = 6   // TypeSOA is a start of authority (RFC 1035 3.3.13).
	TypePTR   = 12  // TypePTR is a domain name pointer (RFC 1035 3.3.12).
	TypeMX    = 15  // TypeMX is a mail exchange (RFC 1035 3.3.9).
	TypeTXT   = 16  // TypeTXT is text (RFC 1035 3.3.14).
	TypeAAAA  = 28  // TypeAAAA is an IPv6 address (RFC 3596 2.1).
	TypeSRV   = 33  // TypeSRV is a service location (RFC 2782).
	TypeOPT   = 41  // TypeOPT is the EDNS pseudo-record (RFC 6891 6.1.1).
	TypeSVCB  = 64  // TypeSVCB is a service binding (RFC 9460 2).
	TypeHTTPS = 65  // TypeHTTPS is an HTTPS service binding (RFC 9460 9).
	TypeANY   = 255 // TypeANY asks for all records (RFC 1035 3.2.3, RFC 8482).
)

// TypeName returns the mnemonic of a record type, such as "A", "AAAA",
// "CNAME" or "HTTPS", or "TYPE<n>" for others (the RFC 3597 5 notation).
func TypeName(t uint16) string {
	switch t {
	case TypeA:
		return "A"
	case TypeNS:
		return "NS"
	case TypeCNAME:
		return "CNAME"
	case TypeSOA:
		return "SOA"
	case TypePTR:
		return "PTR"
	case TypeMX:
		return "MX"
	case TypeTXT:
		return "TXT"
	case TypeAAAA:
		return "AAAA"
	case TypeSRV:
		return "SRV"
	case TypeOPT:
		return "OPT"
	case TypeSVCB:
		return "SVCB"
	case TypeHTTPS:
		return "HTTPS"
	case TypeANY:
		return "ANY"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// RcodeName returns the mnemonic of a response code (RFC 1035 4.1.1,
// RFC 2136 2.2, RFC 6891): "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
// "NOTIMP", "REFUSED", "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH",
// "NOTZONE", "BADVERS", or "RCODE<n>".
func RcodeName(rc uint8) string {
	names := [...]string{"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
		"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE"}
	if int(rc) < len(names) {
		return names[rc]
	}
	if rc == 16 {
		return "BADVERS"
	}
	return "RCODE" + strconv.Itoa(int(rc))
}

// SplitTCP splits the first message off a reassembled DNS-over-TCP stream,
// where each message is preceded by its 2-byte length (RFC 1035 4.2.2,
// RFC 7766 8). msg and rest alias b. ok is false when fewer bytes than the
// prefix announces are present; a zero length gives an empty msg and ok.
func SplitTCP(b []byte) (msg []byte, rest []byte, ok bool) {
	if len(b) < 2 {
		return nil, b, false
	}
	n := int(binary.BigEndian.Uint16(b[0:2]))
	if len(b)-2 < n {
		return nil, b, false
	}
	return b[2 : 2+n], b[2+n:], true
}
