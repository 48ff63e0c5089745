package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// msNames are the names the lab's "Microsoft" certificate covers.
var msNames = []string{
	"*.support.services.microsoft.com", "remoteassistance.support.services.microsoft.com",
	"login.microsoftonline.com", "*.communication.azure.com", "turn.azure.com",
	"js.monitor.azure.com", "azure.microsoft.com", "www.bing.com",
}

type issued struct {
	cert *x509.Certificate
	der  []byte
	key  *rsa.PrivateKey
}

func makeCert(tmpl *x509.Certificate, parent *issued) (*issued, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-24 * time.Hour)
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = time.Now().Add(180 * 24 * time.Hour)
	}
	signer, parentCert := key, tmpl
	if parent != nil {
		signer, parentCert = parent.key, parent.cert
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, &key.PublicKey, signer)
	if err != nil {
		return nil, err
	}
	c, err := x509.ParseCertificate(der)
	return &issued{c, der, key}, err
}

func ca(cn, org string, parent *issued) (*issued, error) {
	return makeCert(&x509.Certificate{
		Subject:               pkix.Name{CommonName: cn, Organization: []string{org}, Country: []string{"US"}},
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		NotAfter:              time.Now().Add(5 * 365 * 24 * time.Hour),
	}, parent)
}

func writePEM(path string, blocks ...*pem.Block) error {
	var out []byte
	for _, b := range blocks {
		out = append(out, pem.EncodeToMemory(b)...)
	}
	return os.WriteFile(path, out, 0o600)
}

func certBlock(i *issued) *pem.Block { return &pem.Block{Type: "CERTIFICATE", Bytes: i.der} }
func keyBlock(i *issued) *pem.Block {
	return &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(i.key)}
}

// runCerts writes, into DIR, a chain named like Microsoft's (DigiCert Global
// Root G2 -> Microsoft Azure RSA TLS Issuing CA 03 -> leaf) and a corporate
// inspection CA ("Contoso Forward Trust CA") for the intercepting proxy.
// The names are copied; the keys are the lab's own.
func runCerts(args []string) error {
	if len(args) != 1 {
		return errors.New("usage: certs DIR")
	}
	dir := args[0]
	root, err := ca("DigiCert Global Root G2", "DigiCert Inc", nil)
	if err != nil {
		return err
	}
	inter, err := ca("Microsoft Azure RSA TLS Issuing CA 03", "Microsoft Corporation", root)
	if err != nil {
		return err
	}
	leaf, err := makeCert(&x509.Certificate{
		Subject:     pkix.Name{CommonName: "*.support.services.microsoft.com", Organization: []string{"Microsoft Corporation"}, Locality: []string{"Redmond"}, Province: []string{"WA"}, Country: []string{"US"}},
		DNSNames:    msNames,
		KeyUsage:    x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}, inter)
	if err != nil {
		return err
	}
	corp, err := ca("Contoso Forward Trust CA", "Contoso Ltd", nil)
	if err != nil {
		return err
	}
	files := []struct {
		name   string
		blocks []*pem.Block
	}{
		{"root.pem", []*pem.Block{certBlock(root)}},
		{"chain.pem", []*pem.Block{certBlock(leaf), certBlock(inter)}},
		{"leaf.key", []*pem.Block{keyBlock(leaf)}},
		{"corpca.pem", []*pem.Block{certBlock(corp), keyBlock(corp)}},
	}
	for _, f := range files {
		if err := writePEM(filepath.Join(dir, f.name), f.blocks...); err != nil {
			return err
		}
	}
	return nil
}
