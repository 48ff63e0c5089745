package scenario

import (
	"crypto/ed25519"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"strings"
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// Validity of the certificates: leaves for a year around the capture
// date, CAs for fifteen years.
var (
	leafNotBefore = time.Date(2025, 11, 20, 0, 0, 0, 0, time.UTC)
	leafNotAfter  = time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)
	caNotBefore   = time.Date(2020, 7, 29, 12, 30, 0, 0, time.UTC)
	caNotAfter    = time.Date(2035, 6, 27, 23, 59, 59, 0, time.UTC)
)

// certChain returns the chain a server sends (leaf, then its issuing CA)
// for leafCN, issued by issuerCN (O issuerOrg) under rootCN (O rootOrg).
// decodetest.CertChain names the root after the issuer's organisation;
// Microsoft's issuing CAs hang under DigiCert's roots, so the root is
// chosen here. extraSANs are added to the leaf's DNS names. Keys are Ed25519, derived from the names, and Ed25519
// signatures are deterministic (RFC 8032 5.1.6), so the bytes never change.
func certChain(leafCN, issuerCN, issuerOrg, rootCN, rootOrg string, extraSANs ...string) [][]byte {
	rootName := pkix.Name{CommonName: rootCN, Organization: []string{rootOrg}, Country: []string{"US"}}
	caName := pkix.Name{CommonName: issuerCN, Organization: []string{issuerOrg}, Country: []string{"US"}}
	caKey := decodetest.DerivedKey(certDomain, issuerCN)
	ca := &x509.Certificate{
		SerialNumber: decodetest.DerivedSerial(certDomain, issuerCN),
		Subject:      caName,
		NotBefore:    caNotBefore, NotAfter: caNotAfter,
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage:    x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	root, rootKey := &x509.Certificate{Subject: rootName}, decodetest.DerivedKey(certDomain, rootCN)
	if rootCN == issuerCN { // the inspection CA signs itself
		root, rootKey = ca, caKey
	}
	caDER := decodetest.SignCert(ca, root, caKey.Public().(ed25519.PublicKey), rootKey)
	parent, err := x509.ParseCertificate(caDER)
	if err != nil {
		panic(fmt.Sprintf("scenario: parsing certificate %q: %v", issuerCN, err))
	}
	leaf := &x509.Certificate{
		SerialNumber: decodetest.DerivedSerial(certDomain, leafCN+"\x00"+issuerCN),
		Subject:      pkix.Name{CommonName: leafCN, Organization: leafOrg(leafCN, issuerOrg)},
		NotBefore:    leafNotBefore, NotAfter: leafNotAfter,
		DNSNames:    append(sans(leafCN), extraSANs...),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	leafDER := decodetest.SignCert(leaf, parent, decodetest.DerivedKey(certDomain, leafCN).Public().(ed25519.PublicKey), caKey)
	return [][]byte{leafDER, caDER}
}

// leafOrg is the leaf's organisation: Microsoft's certificates carry it,
// and interception proxies copy it from the real certificate.
func leafOrg(cn, issuerOrg string) []string {
	for _, suffix := range []string{".microsoft.com", ".azure.com", ".skype.com", ".microsoftonline.com"} {
		if strings.HasSuffix(cn, suffix) {
			return []string{msOrg}
		}
	}
	if issuerOrg == msOrg {
		return []string{msOrg}
	}
	return nil
}

// sans returns the leaf's DNS names: the name and its parent wildcard.
func sans(cn string) []string {
	if _, parent, ok := strings.Cut(cn, "."); ok && strings.Count(parent, ".") >= 1 {
		return []string{cn, "*." + parent}
	}
	return []string{cn}
}

// certDomain keeps the scenarios' keys and serial numbers their own.
const certDomain = "qadiag scenario"
