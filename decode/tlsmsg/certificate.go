package tlsmsg

import (
	"bytes"
	"crypto/x509"
	"crypto/x509/pkix"
	encasn1 "encoding/asn1"
	"fmt"
	"net"
	"time"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"
)

// Certificate holds the names and validity of one X.509 certificate
// (RFC 5280 4.1), as a diagnosis needs them; the key and signature are not
// kept.
type Certificate struct {
	// Subject and Issuer are the distinguished names in the RFC 2253-like
	// form of crypto/x509/pkix.Name.String ("CN=...,O=...,C=US").
	Subject, Issuer string
	// SubjectCN and IssuerCN are the common names.
	SubjectCN, IssuerCN string
	// IssuerOrg is the issuer's first organization (O) attribute.
	IssuerOrg string
	// SANs lists the subjectAltName DNS names, then its IP addresses as
	// strings (RFC 5280 4.2.1.6).
	SANs []string
	// NotBefore and NotAfter bound the validity period, in UTC.
	NotBefore, NotAfter time.Time
	// SelfSigned reports whether the subject and issuer names are the same
	// bytes. The signature is not checked.
	SelfSigned bool
	// Parser is "x509" when crypto/x509 parsed the certificate, "asn1" when
	// it rejected it and the fallback walk of tbsCertificate did.
	Parser string
}

// ParseCertificate parses a DER certificate with crypto/x509. If crypto/x509
// rejects it (Go refuses, for instance, negative serial numbers, which some
// inspection proxies and private CAs issue), a cryptobyte walk of
// tbsCertificate still recovers issuer, validity, subject and, when it can
// be reached, the subjectAltName extension.
func ParseCertificate(der []byte) (Certificate, error) {
	xc, xerr := x509.ParseCertificate(der)
	if xerr == nil {
		return fromX509(xc), nil
	}
	c, err := parseCertificateASN1(der)
	if err != nil {
		return Certificate{}, &Error{
			Msg:   fmt.Sprintf("certificate: %v; fallback: %s", xerr, err),
			Err:   ErrMalformed,
			Cause: xerr,
		}
	}
	return c, nil
}

func fromX509(xc *x509.Certificate) Certificate {
	c := Certificate{
		Subject:    xc.Subject.String(),
		Issuer:     xc.Issuer.String(),
		SubjectCN:  xc.Subject.CommonName,
		IssuerCN:   xc.Issuer.CommonName,
		NotBefore:  xc.NotBefore.UTC(),
		NotAfter:   xc.NotAfter.UTC(),
		SelfSigned: bytes.Equal(xc.RawSubject, xc.RawIssuer),
		Parser:     "x509",
	}
	if len(xc.Issuer.Organization) > 0 {
		c.IssuerOrg = xc.Issuer.Organization[0]
	}
	c.SANs = append(c.SANs, xc.DNSNames...)
	for _, ip := range xc.IPAddresses {
		c.SANs = append(c.SANs, ip.String())
	}
	return c
}

// parseCertificateASN1 walks Certificate and tbsCertificate (RFC 5280 4.1)
// as far as the names, validity and extensions. Fields that do not decode
// are left zero; only an unreadable structure up to the subject, or names
// that are not an RDNSequence, fail.
func parseCertificateASN1(der []byte) (Certificate, error) {
	c := Certificate{Parser: "asn1"}
	in := cryptobyte.String(der)
	var cert, tbs, issuer, validity, subject cryptobyte.String
	if !in.ReadASN1(&cert, asn1.SEQUENCE) || !cert.ReadASN1(&tbs, asn1.SEQUENCE) {
		return c, errorf(ErrMalformed, "certificate: not a SEQUENCE")
	}
	// version [0] EXPLICIT, serialNumber (any INTEGER, even negative),
	// signature AlgorithmIdentifier.
	if !tbs.SkipOptionalASN1(asn1.Tag(0).Constructed().ContextSpecific()) ||
		!tbs.SkipASN1(asn1.INTEGER) || !tbs.SkipASN1(asn1.SEQUENCE) {
		return c, errorf(ErrMalformed, "certificate: bad version, serialNumber or signature")
	}
	if !tbs.ReadASN1Element(&issuer, asn1.SEQUENCE) || !tbs.ReadASN1(&validity, asn1.SEQUENCE) ||
		!tbs.ReadASN1Element(&subject, asn1.SEQUENCE) {
		return c, errorf(ErrMalformed, "certificate: bad issuer, validity or subject")
	}
	iss, err := parseName(issuer)
	if err != nil {
		return c, errorf(ErrMalformed, "certificate: issuer: %v", err)
	}
	sub, err := parseName(subject)
	if err != nil {
		return c, errorf(ErrMalformed, "certificate: subject: %v", err)
	}
	c.Issuer, c.IssuerCN = iss.String(), iss.CommonName
	if len(iss.Organization) > 0 {
		c.IssuerOrg = iss.Organization[0]
	}
	c.Subject, c.SubjectCN = sub.String(), sub.CommonName
	c.SelfSigned = bytes.Equal(issuer, subject)
	c.NotBefore = readTime(&validity)
	c.NotAfter = readTime(&validity)
	c.SANs = readSANs(tbs)
	return c, nil
}

// parseName decodes a Name (RFC 5280 4.1.2.4) into pkix.Name.
func parseName(der []byte) (pkix.Name, error) {
	var rdn pkix.RDNSequence
	var n pkix.Name
	rest, err := encasn1.Unmarshal(der, &rdn)
	if err != nil {
		return n, err
	}
	if len(rest) != 0 {
		return n, fmt.Errorf("%d trailing bytes", len(rest))
	}
	n.FillFromRDNSequence(&rdn)
	return n, nil
}

// readTime reads a Time (RFC 5280 4.1.2.5): UTCTime or GeneralizedTime.
// It returns the zero time if neither decodes.
func readTime(s *cryptobyte.String) time.Time {
	var t time.Time
	switch {
	case s.PeekASN1Tag(asn1.UTCTime):
		if !s.ReadASN1UTCTime(&t) {
			return time.Time{}
		}
	case s.PeekASN1Tag(asn1.GeneralizedTime):
		if !s.ReadASN1GeneralizedTime(&t) {
			return time.Time{}
		}
	}
	return t.UTC()
}

var oidSubjectAltName = encasn1.ObjectIdentifier{2, 5, 29, 17}

// readSANs reads the rest of tbsCertificate after the subject: it skips
// subjectPublicKeyInfo and the unique IDs, finds the subjectAltName
// extension (RFC 5280 4.2.1.6) and returns its DNS names and IP addresses.
// Anything it cannot read ends the walk with what it has.
func readSANs(tbs cryptobyte.String) []string {
	var exts, list cryptobyte.String
	var present bool
	if !tbs.SkipASN1(asn1.SEQUENCE) ||
		!tbs.SkipOptionalASN1(asn1.Tag(1).ContextSpecific()) ||
		!tbs.SkipOptionalASN1(asn1.Tag(2).ContextSpecific()) ||
		!tbs.ReadOptionalASN1(&exts, &present, asn1.Tag(3).Constructed().ContextSpecific()) ||
		!present || !exts.ReadASN1(&list, asn1.SEQUENCE) {
		return nil
	}
	for !list.Empty() {
		var ext, value cryptobyte.String
		var oid encasn1.ObjectIdentifier
		if !list.ReadASN1(&ext, asn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) ||
			!ext.SkipOptionalASN1(asn1.BOOLEAN) || !ext.ReadASN1(&value, asn1.OCTET_STRING) {
			return nil
		}
		if oid.Equal(oidSubjectAltName) {
			return readGeneralNames(value)
		}
	}
	return nil
}

// readGeneralNames reads GeneralNames (RFC 5280 4.2.1.6), keeping
// dNSName [2] and iPAddress [7].
func readGeneralNames(v cryptobyte.String) []string {
	var seq cryptobyte.String
	if !v.ReadASN1(&seq, asn1.SEQUENCE) {
		return nil
	}
	var dns, ips []string
	for !seq.Empty() {
		var name cryptobyte.String
		var tag asn1.Tag
		if !seq.ReadAnyASN1(&name, &tag) {
			break
		}
		switch tag {
		case asn1.Tag(2).ContextSpecific():
			dns = append(dns, string(name))
		case asn1.Tag(7).ContextSpecific():
			if len(name) == net.IPv4len || len(name) == net.IPv6len {
				ips = append(ips, net.IP(name).String())
			}
		}
	}
	return append(dns, ips...)
}

// ParseCertificateMessage parses a TLS 1.2 (and earlier) Certificate
// message body (RFC 5246 7.4.2): a 24-bit-prefixed list of 24-bit-prefixed
// DER certificates, sender's certificate first. On error it returns the
// certificates parsed before the fault.
func ParseCertificateMessage(body []byte) ([]Certificate, error) {
	s := cryptobyte.String(body)
	var list cryptobyte.String
	if !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return nil, errorf(ErrMalformed, "certificate message: bad certificate_list length")
	}
	var certs []Certificate
	for !list.Empty() {
		var der cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&der) || der.Empty() {
			return certs, errorf(ErrMalformed, "certificate message: bad entry %d", len(certs))
		}
		c, err := ParseCertificate(der)
		if err != nil {
			return certs, err
		}
		certs = append(certs, c)
	}
	return certs, nil
}

// ParseCertificateMessageTLS13 parses a TLS 1.3 Certificate message body
// (RFC 8446 4.4.2): certificate_request_context, then entries of
// cert_data and per-certificate extensions. It is for decrypted handshakes;
// in a capture the TLS 1.3 Certificate is encrypted. On error it returns the
// certificates parsed before the fault.
func ParseCertificateMessageTLS13(body []byte) ([]Certificate, error) {
	s := cryptobyte.String(body)
	var context, list cryptobyte.String
	if !s.ReadUint8LengthPrefixed(&context) || !s.ReadUint24LengthPrefixed(&list) || !s.Empty() {
		return nil, errorf(ErrMalformed, "certificate message: bad request context or certificate_list length")
	}
	var certs []Certificate
	for !list.Empty() {
		var der, exts cryptobyte.String
		if !list.ReadUint24LengthPrefixed(&der) || der.Empty() || !list.ReadUint16LengthPrefixed(&exts) {
			return certs, errorf(ErrMalformed, "certificate message: bad entry %d", len(certs))
		}
		c, err := ParseCertificate(der)
		if err != nil {
			return certs, err
		}
		certs = append(certs, c)
	}
	return certs, nil
}
