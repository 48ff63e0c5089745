// Package redact makes qadiag's output safe to attach to a ticket
// (--redact): it pseudonymises what identifies the customer (client
// addresses, host names outside the endpoint catalog, MAC addresses, user
// agents, STUN usernames, cookies and credentials, the capture's path) and
// keeps what the diagnosis is about (Microsoft's names and server
// addresses, ports, frame numbers, timings, protocol facts).
//
// The mapping is keyed and consistent: one Redactor maps an address or a
// name to the same pseudonym in every report and in the evidence capture,
// so a Wireshark filter quoted in a redacted report selects the same frames
// in the redacted evidence file. Addresses are mapped prefix-preservingly
// (Crypto-PAn, Xu et al. 2002, with AES): two addresses sharing an n-bit
// prefix share one after mapping, private stays private, IPv4 stays IPv4.
// Names are mapped label by label with the same length and character
// classes, so that DNS and TLS messages keep their offsets.
//
// A Redactor is safe for concurrent use.
package redact

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"net/netip"
	"strings"
	"sync"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"github.com/qadiag/qadiag/analyze/diagnose"
)

// KeyLen is the length of the random key New makes when given none.
const KeyLen = 32

// Redactor maps capture-derived identifiers to pseudonyms under one key.
type Redactor struct {
	cat *catalog.Catalog

	mu     sync.Mutex
	block  cipher.Block // Crypto-PAn's pseudo-random function
	pad4   [16]byte     // Crypto-PAn pads, one per family
	pad6   [16]byte
	names  []byte // HMAC key of name pseudonyms
	macs   []byte // HMAC key of MAC pseudonyms
	files  []byte // HMAC key of file names
	tokens []byte // HMAC key of opaque strings (STUN usernames)

	addrs map[netip.Addr]netip.Addr // cache of mapped addresses
	// seen holds every address of the capture mapped so far: free text
	// maps only those and private ones, so that advice such as "ask
	// 1.1.1.1" keeps its public address.
	seen map[netip.Addr]bool
	// keep holds the public server addresses that stay visible: those a
	// catalog name resolved to or was sent to (learn). An address learned
	// after it was mapped stays visible from then on.
	keep map[netip.Addr]bool
	// named maps every pseudonymised name (lower case, no trailing dot) to
	// its pseudonym; used, the reverse map, keeps pseudonyms distinct.
	named map[string]string
	used  map[string]string
	// parents are the domains above catalog host entries ("microsoft.com"):
	// public, so they stay visible under a pseudonymised label.
	parents map[string]bool
	// literals are strings replaced as they are in free text: capture
	// paths and base names, user agents and server software strings.
	literals map[string]string
	// secrets are literal strings (certificate subject attributes of
	// non-catalog names) swept out of packet payloads, longest first so
	// that the sweep does not depend on their order.
	secrets []string
	// tlsPorts are server ports that carried TLS: a segment there that
	// starts inside a record is kept and swept rather than zeroed.
	tlsPorts map[uint16]bool
}

// New returns a Redactor that keeps the names and address ranges of cat
// (nil: the built-in catalog) visible. key seeds every mapping: reports
// made with the same key agree; a nil or empty key draws a random one, so
// that pseudonyms cannot be linked across runs.
func New(cat *catalog.Catalog, key []byte) *Redactor {
	if cat == nil {
		cat = catalog.Default()
	}
	if len(key) == 0 {
		key = make([]byte, KeyLen)
		if _, err := rand.Read(key); err != nil {
			panic("redact: crypto/rand: " + err.Error()) // never fails on supported platforms
		}
	}
	r := &Redactor{cat: cat, names: derive(key, "name"), macs: derive(key, "mac"), files: derive(key, "file"),
		tokens: derive(key, "text"), addrs: map[netip.Addr]netip.Addr{}, seen: map[netip.Addr]bool{}, keep: map[netip.Addr]bool{},
		named: map[string]string{}, used: map[string]string{}, literals: map[string]string{},
		tlsPorts: map[uint16]bool{443: true}}
	block, err := aes.NewCipher(derive(key, "crypto-pan aes-256"))
	if err != nil {
		panic("redact: " + err.Error()) // a 32-byte key is always valid
	}
	r.block = block
	copy(r.pad4[:], derive(key, "crypto-pan pad ipv4"))
	copy(r.pad6[:], derive(key, "crypto-pan pad ipv6"))
	r.parents = catalogParents(cat)
	return r
}

// derive returns a 32-byte subkey of key for one purpose.
func derive(key []byte, purpose string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("qadiag redact v1: " + purpose))
	return m.Sum(nil)
}

// Result returns deep copies of res and v with every capture-derived
// identifier replaced: client addresses, server addresses that are not
// Microsoft's, names outside the catalog, user agents, the capture's path,
// and the same identifiers wherever they occur in the verdict's free text
// (evidence, filters, explanations, remediation). res and v are not
// modified; v may be nil. Result also teaches the Redactor which server
// addresses are Microsoft's, so call it before Packet.
func (r *Redactor) Result(res *analyze.Result, v *diagnose.Verdict) (*analyze.Result, *diagnose.Verdict) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if res != nil {
		r.learn(res)
	}
	if v != nil {
		r.learnVerdict(res, v)
	}
	var out *analyze.Result
	if res != nil {
		out = r.result(res)
	}
	var vout *diagnose.Verdict
	if v != nil {
		vout = r.verdict(v)
	}
	return out, vout
}

// Text replaces in free text (a pcapng comment, a log line) the addresses
// of the capture and private addresses, every non-catalog name the
// Redactor has mapped, and capture paths (FileName), with their
// pseudonyms. Call Result first: it is what makes the names known.
func (r *Redactor) Text(s string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.freeText(s)
}

// Addr returns the pseudonym of an address: itself for Microsoft's
// addresses and for unspecified, loopback and multicast ones.
func (r *Redactor) Addr(a netip.Addr) netip.Addr {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.addr(a)
}

// Name returns the pseudonym of a host name: itself when the catalog
// matches it.
func (r *Redactor) Name(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.name(name)
}

// FileName returns the redacted base name of a capture path: "capture-"
// and a keyed hash of the base name, with the capture's extension
// (".pcapng", ".pcap.gz"). Free text mentioning the path or its base name
// gets the same replacement.
func (r *Redactor) FileName(path string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.fileName(path)
}

func (r *Redactor) fileName(path string) string {
	if path == "" || path == "-" {
		return path
	}
	base := path[strings.LastIndexAny(path, `/\`)+1:]
	m := hmac.New(sha256.New, r.files)
	m.Write([]byte(base))
	sum := m.Sum(nil)
	const hex = "0123456789abcdef"
	name := []byte("capture-")
	for _, b := range sum[:5] {
		name = append(name, hex[b>>4], hex[b&15])
	}
	out := string(name) + captureExt(base)
	r.literals[path], r.literals[base] = out, out
	return out
}

// captureExt returns the capture extensions that end base, lower case.
func captureExt(base string) string {
	lower := strings.ToLower(base)
	ext := ""
	for _, e := range []string{".gz", ".zst"} {
		if strings.HasSuffix(lower, e) {
			ext, lower = e, strings.TrimSuffix(lower, e)
		}
	}
	for _, e := range []string{".pcapng", ".pcap", ".cap", ".ntar", ".etl"} {
		if strings.HasSuffix(lower, e) {
			return e + ext
		}
	}
	return ext
}
