// Package catalog is the Microsoft Quick Assist endpoint catalog: the host
// names, wildcard domains, address ranges and ports that Quick Assist and
// its siblings (Azure Communication Services, Intune Remote Help) use, the
// Role each plays in a session, and the certificate authorities that sign
// Microsoft's TLS certificates.
//
// The built-in catalog (Default) is the embedded file endpoints.json. Every
// entry in it carries the URL of the source that supports it, as gathered
// in research/quickassist.md; Microsoft changes these lists often, so the
// catalog is data, and a user can extend or replace it with a file of the
// same format (qadiag --endpoints FILE).
//
// # File format
//
// An endpoint file is one JSON object; unknown fields are errors, so that a
// misspelt field is not silently ignored:
//
//	{
//	  "version": 1,
//	  "entries": [
//	    {"host": "*.support.services.microsoft.com", "ports": ["tcp/443"],
//	     "role": "service", "required": true, "broad": false,
//	     "source": "https://learn.microsoft.com/...", "note": "..."},
//	    {"prefix": "20.202.0.0/16", "ports": ["udp/3478-3481", "tcp/443"],
//	     "role": "media", "broad": true, "source": "https://...", "note": "..."}
//	  ],
//	  "issuers": [
//	    {"name": "Microsoft Azure RSA TLS Issuing CA NN", "org": "Microsoft Corporation",
//	     "kind": "issuing", "source": "https://...", "note": "..."}
//	  ]
//	}
//
// version must be 1. Each entry has:
//
//   - host or prefix, exactly one. A host is an exact name ("edge.skype.com"),
//     a suffix wildcard ("*.skype.com") or a first-label wildcard
//     ("rdprelay*.support.services.microsoft.com"); names are folded to
//     lower case and a trailing dot is dropped; a wildcard's fixed part needs
//     at least two labels. A prefix is an IPv4 or IPv6 CIDR with no host bits
//     set ("2603:1063::/38"), never IPv4-mapped.
//   - ports: one or more "tcp/N", "udp/N" or "PROTO/FIRST-LAST".
//   - role: one of sign_in, service, signaling, relay, media, telemetry,
//     runtime, pki (see Role).
//   - required (default false): Microsoft lists the endpoint as one both
//     Quick Assist parties must reach.
//   - broad (default false): the pattern is shared with many other
//     Microsoft products (sign-in, telemetry, Teams and ACS infrastructure,
//     PKI, catch-all domains), so a match alone does not show that Quick
//     Assist ran. This is the catalog's judgment, not a source's statement.
//   - source (required): where the fact comes from; the embedded file uses
//     https URLs only, a user file may cite anything non-empty.
//   - note: free text, e.g. the source's wording or a doubt.
//
// The same pattern may appear in several entries only with disjoint ports,
// e.g. a Teams prefix that is media on UDP 3478-3481 and signaling on TCP
// 443. Each issuer has a name (an exact certificate common name, or a
// numbered family ending in " NN" that matches any two digits), an optional
// org the issuer must carry, a kind ("issuing" or "root"), a source and a
// note. Errors from Load are *Error values naming the line and the entry.
//
// # Matching
//
// MatchHost: an exact entry wins over a first-label wildcard, which wins over
// a suffix wildcard; among suffix wildcards the longest suffix wins. "*.b.com"
// matches "x.b.com" and "y.x.b.com" but not "b.com"; matching is by whole
// labels, so neither "b.com.evil.example" nor "notb.com" match. Case is
// ignored for ASCII letters only.
//
// MatchAddr: the longest prefix containing the address wins; IPv4-mapped
// IPv6 addresses are unmapped first. Ranges are weak evidence: the
// published ranges belong to ACS, Teams and Entra ID as a whole, and no
// range is published for Quick Assist itself, so callers should prefer a
// name (SNI, DNS answer, CONNECT target) whenever one is known.
//
// # Extending and replacing
//
// LoadFile(path, replace, base) reads a user file. With replace the file is
// the whole catalog. Otherwise it extends base through Merge: an entry in the
// file replaces every base entry with the same pattern (same host text or
// same prefix), other patterns are added, and an issuer replaces the base
// issuer of the same name. Nothing can be deleted from base except by
// replacing the whole catalog.
//
// A Catalog is immutable after it is built and safe for concurrent use.
// MatchHost, MatchAddr, MatchAddrPort and IsMicrosoftIssuer do not allocate
// (MatchHost allocates only for names with upper-case letters).
package catalog
