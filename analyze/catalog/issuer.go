package catalog

import (
	"fmt"
	"strings"
)

// Issuer is a certificate authority that signs Microsoft's TLS certificates
// (research/quickassist.md section 5). A certificate on a Quick Assist flow
// whose issuer is not in the catalog points to TLS interception.
type Issuer struct {
	// Name is the issuer's exact common name, e.g. "DigiCert Global Root
	// G2". A name ending in " NN" stands for a numbered family: "Microsoft
	// Azure RSA TLS Issuing CA NN" matches the same name followed by a
	// space and any two digits ("... CA 03", "... CA 08").
	Name string
	// Org, when set, is the organization (O) the issuer's name must carry,
	// compared without regard to case; empty means not checked.
	Org string
	// Kind is "issuing" for a CA that signs server certificates or
	// intermediates, "root" for a trust anchor.
	Kind string
	// Note says which members of a family the source lists, or why the
	// issuer is legacy.
	Note string
	// Source is where the fact comes from, normally an https URL.
	Source string
}

// Issuer kinds.
const (
	KindIssuing = "issuing"
	KindRoot    = "root"
)

// familySuffix marks a numbered family in Issuer.Name.
const familySuffix = " NN"

func (i *Issuer) validate() error {
	switch {
	case strings.TrimSpace(i.Name) == "":
		return fmt.Errorf("%w: no name", ErrIssuer)
	case strings.TrimSpace(i.Name) != i.Name:
		return fmt.Errorf("%w: name has leading or trailing space", ErrIssuer)
	case i.Kind != KindIssuing && i.Kind != KindRoot:
		return fmt.Errorf("%w: kind %q (want %q or %q)", ErrIssuer, i.Kind, KindIssuing, KindRoot)
	case strings.TrimSpace(i.Source) == "":
		return ErrSource
	}
	return nil
}

// isFamily reports whether the name stands for a numbered family.
func (i *Issuer) isFamily() bool {
	return len(i.Name) > len(familySuffix) && strings.HasSuffix(i.Name, familySuffix)
}

// LookupIssuer returns the catalog's issuer for a certificate issuer with
// common name cn and organization org. Names are compared exactly, as CAs
// spell them; a substring match would accept "Evil Microsoft Azure TLS
// Issuing CA 01 proxy". It does not allocate.
func (c *Catalog) LookupIssuer(cn, org string) (Issuer, bool) {
	if c == nil {
		return Issuer{}, false
	}
	i, ok := c.issuerExact[cn]
	if !ok {
		if base, num := splitNumber(cn); num {
			i, ok = c.issuerFamily[base]
		}
	}
	if !ok {
		return Issuer{}, false
	}
	iss := c.issuers[i]
	if iss.Org != "" && !strings.EqualFold(strings.TrimSpace(org), iss.Org) {
		return Issuer{}, false
	}
	return iss, true
}

// IsMicrosoftIssuer reports whether a certificate issuer with common name
// issuerCN and organization issuerOrg is one of the Microsoft, DigiCert or
// GeoTrust CAs Microsoft documents for its TLS endpoints.
//
// It checks names only. An interception proxy can copy these names into a
// CA of its own, so a true answer is not proof; verifying the chain against
// the roots is the caller's business.
func (c *Catalog) IsMicrosoftIssuer(issuerCN, issuerOrg string) bool {
	_, ok := c.LookupIssuer(issuerCN, issuerOrg)
	return ok
}

// splitNumber splits "Name 07" into "Name" and true.
func splitNumber(cn string) (string, bool) {
	n := len(cn)
	if n <= 3 || cn[n-3] != ' ' || !isDigit(cn[n-2]) || !isDigit(cn[n-1]) {
		return "", false
	}
	return cn[:n-3], true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
