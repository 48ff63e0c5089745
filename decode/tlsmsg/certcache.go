package tlsmsg

import (
	"bytes"
	"hash/maphash"
)

// CertCache remembers parsed TLS 1.2 Certificate messages by their bytes, so
// that the hundredth connection to a server reuses the chain parsed for the
// first. It is bounded; a full cache parses without remembering. Cached
// chains are shared: callers must not modify them. Not safe for concurrent
// use.
type CertCache struct {
	seed  maphash.Seed
	m     map[uint64]*certEntry
	max   int
	bytes int
	Hits  int // messages served from the cache
}

type certEntry struct {
	body  []byte
	certs []Certificate
	err   error
}

// NewCertCache returns a cache holding up to maxBytes of message bytes.
func NewCertCache(maxBytes int) *CertCache {
	return &CertCache{seed: maphash.MakeSeed(), m: map[uint64]*certEntry{}, max: maxBytes}
}

// parse is ParseCertificateMessage through the cache; a nil cache parses.
func (c *CertCache) parse(body []byte) ([]Certificate, error) {
	if c == nil {
		return ParseCertificateMessage(body)
	}
	h := maphash.Bytes(c.seed, body)
	if e, ok := c.m[h]; ok && bytes.Equal(e.body, body) {
		c.Hits++
		return e.certs, e.err
	}
	certs, err := ParseCertificateMessage(body)
	if c.bytes+len(body) <= c.max {
		c.m[h] = &certEntry{body: bytes.Clone(body), certs: certs, err: err}
		c.bytes += len(body)
	}
	return certs, err
}
