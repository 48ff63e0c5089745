package decodetest

import (
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/binary"
	"fmt"
	"math/big"
	"math/rand/v2"
	"time"
)

// Validity of CertChain: the leaf is valid for a year from DefaultNotBefore.
var (
	DefaultNotBefore = time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	DefaultNotAfter  = time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
)

// caNotBefore and caNotAfter bound the issuing CAs of CertChain.
var (
	caNotBefore = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	caNotAfter  = time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC)
)

// DerivedKey derives a reproducible Ed25519 key from a name. The domain
// keeps generators apart: the same name gives each its own key.
func DerivedKey(domain, name string) ed25519.PrivateKey {
	seed := sha256.Sum256([]byte(domain + " key\x00" + name))
	return ed25519.NewKeyFromSeed(seed[:])
}

// DerivedSerial derives a reproducible positive 63-bit serial number from a
// name, in a domain as DerivedKey.
func DerivedSerial(domain, name string) *big.Int {
	h := sha256.Sum256([]byte(domain + " serial\x00" + name))
	return new(big.Int).SetUint64(binary.BigEndian.Uint64(h[:]) >> 1)
}

// SignCert creates a certificate for tmpl signed by issuerKey as parent,
// with a reader seeded by the subject so that nothing depends on the
// system's randomness (Ed25519 signatures are deterministic: RFC 8032
// 5.1.6). It panics on an impossible template: generators build their own.
func SignCert(tmpl, parent *x509.Certificate, pub ed25519.PublicKey, issuerKey ed25519.PrivateKey) []byte {
	r := rand.NewChaCha8(sha256.Sum256([]byte(tmpl.Subject.String())))
	der, err := x509.CreateCertificate(r, tmpl, parent, pub, issuerKey)
	if err != nil {
		panic(fmt.Sprintf("decodetest: creating certificate %q: %v", tmpl.Subject.CommonName, err))
	}
	return der
}

func keyFor(name string) ed25519.PrivateKey { return DerivedKey("decodetest", name) }
func serialFor(name string) *big.Int        { return DerivedSerial("decodetest", name) }

// SelfSignedCert returns a DER certificate for cn, valid between notBefore
// and notAfter, whose issuer is issuerCN. When issuerCN equals cn the
// certificate is self-signed; otherwise it is signed by issuerCN's key,
// which is not returned, as a server sends a leaf without its chain. Keys
// and serial numbers derive from the names, so the bytes are reproducible.
func SelfSignedCert(cn, issuerCN string, notBefore, notAfter time.Time) []byte {
	key := keyFor(cn)
	tmpl := &x509.Certificate{
		SerialNumber: serialFor(cn + "\x00" + issuerCN + notBefore.String()),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore, NotAfter: notAfter,
		DNSNames:    []string{cn},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	parent := &x509.Certificate{Subject: pkix.Name{CommonName: issuerCN}}
	if issuerCN == cn {
		parent = tmpl
	}
	return SignCert(tmpl, parent, key.Public().(ed25519.PublicKey), keyFor(issuerCN))
}

// CertChain returns a leaf for leafCN (also its DNS name) valid from
// DefaultNotBefore to DefaultNotAfter, followed by its issuing CA
// (CN issuerCN, O issuerOrg), as a server's Certificate message lists them.
func CertChain(leafCN, issuerCN, issuerOrg string) [][]byte {
	return CertChainValidity(leafCN, issuerCN, issuerOrg, DefaultNotBefore, DefaultNotAfter)
}

// CertChainValidity is CertChain with the leaf's validity chosen, for
// expired or not yet valid certificates.
func CertChainValidity(leafCN, issuerCN, issuerOrg string, notBefore, notAfter time.Time) [][]byte {
	rootName := pkix.Name{CommonName: issuerOrg + " Root CA", Organization: []string{issuerOrg}}
	root := &x509.Certificate{Subject: rootName}
	ca := &x509.Certificate{
		SerialNumber: serialFor(issuerCN + "\x00" + issuerOrg),
		Subject: pkix.Name{
			CommonName: issuerCN, Organization: []string{issuerOrg}, Country: []string{"US"},
		},
		NotBefore: caNotBefore, NotAfter: caNotAfter,
		IsCA: true, BasicConstraintsValid: true, MaxPathLenZero: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caKey := keyFor(issuerCN + "\x00" + issuerOrg)
	caDER := SignCert(ca, root, caKey.Public().(ed25519.PublicKey), keyFor(rootName.CommonName))
	parsed, err := x509.ParseCertificate(caDER)
	if err != nil {
		panic(fmt.Sprintf("decodetest: parsing certificate %q: %v", issuerCN, err))
	}
	leafKey := keyFor(leafCN)
	leaf := &x509.Certificate{
		SerialNumber: serialFor(leafCN + "\x00" + issuerCN + notBefore.String()),
		Subject:      pkix.Name{CommonName: leafCN},
		NotBefore:    notBefore, NotAfter: notAfter,
		DNSNames:    []string{leafCN},
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER := SignCert(leaf, parsed, leafKey.Public().(ed25519.PublicKey), caKey)
	return [][]byte{leafDER, caDER}
}
