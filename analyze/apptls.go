package analyze

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"unsafe"

	"github.com/qadiag/qadiag/decode/tlsmsg"
)

const versionTLS13 = 0x0304

// TLSInfo is what the handshake of a TLS flow showed, from both directions.
// Frame fields are 1-based capture frames, 0 when not seen.
//
// A capture keeps one for each of its TLS flows, so what every flow has
// lives here and the rest behind two pointers: what the client offered
// (Offer), the same for every connection of one client program and
// shared by them, and what few handshakes show (Detail: certificates in
// clear, alerts, a retry). At 192 bytes it is half the 384 it took with
// everything inline.
type TLSInfo struct {
	SNI string
	// Offer is what the ClientHello offered, shared with the flows whose
	// clients offered the same; nil when no ClientHello was seen (Offered
	// reads it either way).
	Offer *TLSOffer
	// Detail holds what most handshakes lack; nil when all of it is
	// empty (Details reads it either way).
	Detail *TLSDetail

	// Version and Cipher are what the server selected.
	Version    uint16
	Cipher     uint16
	HelloRetry bool
	Downgrade  bool // the server's random carries the RFC 8446 downgrade sentinel
	InTunnel   bool // inside an HTTP CONNECT tunnel of the same TCP connection
	Resumed    bool // TLS 1.2 abbreviated handshake: no certificate, change_cipher_spec right after ServerHello
	// CertsDecrypted says the chain was read with a key log (TLS 1.3);
	// Truncated that the handshake's bytes stopped inside a message.
	CertsDecrypted bool
	Truncated      bool
	ClientFrame    uint64
	ServerFrame    uint64
	CertFrame      uint64
	// CCSFrame and AppDataFrame are per direction (client, server).
	CCSFrame     [2]uint64
	AppDataFrame [2]uint64
	AppData      [2]int32 // application_data records followed (see tlsFollowRecords)
	Records      [2]int32
	// Gaps are the bytes missing from each direction's stream.
	Gaps [2]int32
	// firstApp are the first application_data records per direction, each
	// its frame << 16 | its length (FirstAppData): half the size of
	// tlsmsg.AppRecord, which pads its 10 bytes to 16.
	firstApp [2][4]uint64
}

// TLSOffer is what a ClientHello offered.
type TLSOffer struct {
	ALPN []string // offered by the client
	// OfferedVersions is the client's supported_versions without GREASE,
	// or its legacy version alone.
	OfferedVersions []uint16
	KeyShareGroups  []uint16
	JA4             string
	Ciphers         int32 // cipher suites offered
	ECH             bool
}

// TLSDetail is what a handshake shows only now and then.
type TLSDetail struct {
	ServerALPN   string
	HRRFrame     uint64
	DoneFrame    uint64               // TLS 1.2 ServerHelloDone
	Certificates []tlsmsg.Certificate // the server's chain: in clear (TLS 1.2), or decrypted with a key log
	// Decrypted counts records opened with the key log; DecryptErrors
	// counts records the keys did not open.
	Decrypted     int32
	DecryptErrors int32
	Alerts        []TLSAlert // in frame order
	AlertRecords  int32
	// Malformed is the first structural error in either direction.
	Malformed string
}

// noOffer and noDetail are what Offered and Details return for a flow
// without them: read only.
var (
	noOffer  TLSOffer
	noDetail TLSDetail
)

// Offered returns what the client offered, empty when no ClientHello was
// seen. The result is shared: read only.
func (t *TLSInfo) Offered() *TLSOffer {
	if t.Offer == nil {
		return &noOffer
	}
	return t.Offer
}

// Details returns what few handshakes show, empty when none of it was
// seen. The result may be shared: read only.
func (t *TLSInfo) Details() *TLSDetail {
	if t.Detail == nil {
		return &noDetail
	}
	return t.Detail
}

// detail returns the flow's own TLSDetail, creating it on first use.
func (t *TLSInfo) detail() *TLSDetail {
	if t.Detail == nil {
		t.Detail = new(TLSDetail)
	}
	return t.Detail
}

// FirstAppData are the first application_data records of one direction,
// with their lengths (frame 0: none). Frame numbers are kept in 48 bits,
// 281 trillion frames.
func (t *TLSInfo) FirstAppData(d Direction) [4]tlsmsg.AppRecord {
	var out [4]tlsmsg.AppRecord
	for i, v := range t.firstApp[d] {
		out[i] = tlsmsg.AppRecord{Frame: v >> 16, Len: uint16(v)}
	}
	return out
}

func (t *TLSInfo) setFirstAppData(d Direction, recs [4]tlsmsg.AppRecord) {
	for i, r := range recs {
		t.firstApp[d][i] = r.Frame<<16 | uint64(r.Len)
	}
}

// clamp32 converts a count to int32, saturating.
func clamp32(n int) int32 { return int32(min(max(n, math.MinInt32), math.MaxInt32)) }

// TLSAlert is one alert record and who sent it.
type TLSAlert struct {
	tlsmsg.Alert
	From Direction
}

// Established reports whether both sides got past the handshake: the
// server selected parameters and application data went both ways.
func (t *TLSInfo) Established() bool {
	return t.ServerFrame != 0 && t.AppDataFrame[0] != 0 && t.AppDataFrame[1] != 0
}

func (a *appState) tlsStreams() *[2]tlsmsg.Stream {
	if a.tls == nil {
		sh := a.t.shared
		if n := len(sh.freeTLS); n > 0 {
			a.tls, sh.freeTLS = sh.freeTLS[n-1], sh.freeTLS[:n-1]
		} else {
			a.tls = new([2]tlsmsg.Stream)
		}
		a.tls[0].Certs, a.tls[1].Certs = a.t.shared.certs, a.t.shared.certs
		a.tls[0].Names, a.tls[1].Names = &a.t.shared.sni, &a.t.shared.sni
		if kl := a.t.shared.keyLog; kl != nil {
			tlsmsg.LinkDecryption(&a.tls[0], &a.tls[1], keyLogKeys{kl})
		}
	}
	return a.tls
}

// tlsFollowRecords is how many application_data records each direction is
// followed for once the handshake is over: enough to see the client's
// Finished or an encrypted alert in its place (TLS 1.3) and data going both
// ways; later records are encrypted and only cost time.
const tlsFollowRecords = 2

func (a *appState) tlsData(dir Direction, b []byte, frame uint64) {
	s := a.tlsStreams()
	s[dir].Feed(b, frame)
	if dir == FromServer && !a.tls13 {
		if sh := s[dir].ServerHello(); sh != nil && sh.SelectedVersion == versionTLS13 {
			a.tls13 = true
			s[FromClient].SetTLS13Encrypted()
		}
	}
	if s[0].AppDataRecords() >= tlsFollowRecords && s[1].AppDataRecords() >= tlsFollowRecords {
		a.stop()
	}
}

// fill builds the summary from the two directions' streams.
func (t *TLSInfo) fill(cs, ss *tlsmsg.Stream, sh *appShared) {
	c, s := cs.Summary(), ss.Summary()
	if ch := c.ClientHello; ch != nil {
		t.SNI = ch.SNI
		t.Offer = sh.offer(ch)
		t.ClientFrame = c.ClientHelloFrame
	}
	var d TLSDetail
	if sh := s.ServerHello; sh != nil {
		t.Version, t.Cipher, d.ServerALPN, t.Downgrade = sh.SelectedVersion, sh.CipherSuite, sh.ALPN, sh.DowngradeSentinel
		t.ServerFrame = s.ServerHelloFrame
	}
	if s.HelloRetryRequest != nil {
		t.HelloRetry, d.HRRFrame = true, s.HelloRetryRequestFrame
		if t.Version == 0 {
			t.Version = s.HelloRetryRequest.SelectedVersion
		}
	}
	d.Certificates, t.CertFrame, d.DoneFrame = s.Certificates, s.CertificateFrame, s.ServerHelloDoneFrame
	t.CertsDecrypted = s.CertificatesDecrypted
	t.Resumed = t.ServerFrame != 0 && t.Version != 0 && t.Version < versionTLS13 &&
		t.CertFrame == 0 && s.ChangeCipherSpecFrame != 0 && (d.DoneFrame == 0 || s.ChangeCipherSpecFrame < d.DoneFrame)
	for dir, sum := range [2]*tlsmsg.Summary{&c, &s} {
		t.CCSFrame[dir], t.AppDataFrame[dir] = sum.ChangeCipherSpecFrame, sum.FirstAppDataFrame
		t.AppData[dir], t.Records[dir], t.Gaps[dir] = clamp32(min(sum.AppDataRecords, tlsFollowRecords)), clamp32(sum.Records), clamp32(sum.Gaps)
		t.setFirstAppData(Direction(dir), sum.FirstAppData)
		d.Decrypted = clamp32(int(d.Decrypted) + sum.Decrypted)
		d.DecryptErrors = clamp32(int(d.DecryptErrors) + sum.DecryptErrors)
		d.AlertRecords = clamp32(int(d.AlertRecords) + sum.AlertRecords)
		for _, al := range sum.Alerts {
			d.Alerts = append(d.Alerts, TLSAlert{Alert: al, From: Direction(dir)})
		}
		if d.Malformed == "" && sum.Malformed != "" {
			d.Malformed = sum.Malformed
		}
		t.Truncated = t.Truncated || sum.Truncated
	}
	slices.SortStableFunc(d.Alerts, func(x, y TLSAlert) int { return cmp.Compare(x.Frame, y.Frame) })
	if !d.empty() {
		*t.detail() = d
	}
}

// empty reports whether d holds nothing.
func (d *TLSDetail) empty() bool {
	return d.ServerALPN == "" && d.HRRFrame == 0 && d.DoneFrame == 0 && d.Certificates == nil && d.Decrypted == 0 &&
		d.DecryptErrors == 0 && d.Alerts == nil && d.AlertRecords == 0 && d.Malformed == ""
}

// offer returns what the ClientHello offered, the one TLSOffer of the
// capture for each distinct offer: the lists come from the shared list
// cache, so an offer's lists are the same slices whenever their contents
// are, and the slices' places stand for their contents in the key.
func (sh *appShared) offer(ch *tlsmsg.ClientHello) *TLSOffer {
	o := TLSOffer{ALPN: sh.lists.strings(ch.ALPN), JA4: sh.ja4.get(ch), ECH: ch.ECH,
		Ciphers: clamp32(len(ch.CipherSuites)), KeyShareGroups: sh.lists.uint16s(ch.KeyShareGroups, false),
		OfferedVersions: sh.lists.uint16s(ch.SupportedVersions, true)}
	if len(o.OfferedVersions) == 0 {
		o.OfferedVersions = sh.lists.uint16s([]uint16{ch.LegacyVersion}, false)
	}
	k := offerKey{unsafe.SliceData(o.ALPN), len(o.ALPN), unsafe.SliceData(o.OfferedVersions), len(o.OfferedVersions),
		unsafe.SliceData(o.KeyShareGroups), len(o.KeyShareGroups), o.JA4, o.Ciphers, o.ECH}
	return share(&sh.offers, k, o, maxLists)
}

// offerKey identifies a TLSOffer by where its lists are and the rest.
type offerKey struct {
	alpn      *string
	nALPN     int
	versions  *uint16
	nVersions int
	groups    *uint16
	nGroups   int
	ja4       string
	ciphers   int32
	ech       bool
}

// ja4Cache remembers JA4 fingerprints by the ClientHello fields JA4 reads:
// one client sends the same fields on every connection, and computing JA4
// (two sorts, two SHA-256) cost more than the rest of the handshake.
type ja4Cache struct {
	seed uint64
	m    map[uint64]string
}

const maxJA4Cache = 4096

func newJA4Cache() *ja4Cache { return &ja4Cache{seed: rand.Uint64(), m: map[uint64]string{}} }

func (c *ja4Cache) get(ch *tlsmsg.ClientHello) string {
	// JA4 sorts the cipher and extension lists, and Chromium shuffles its
	// extensions on every connection: those two enter the key as sums of
	// mixed values, which ignore order; the signature algorithms count in
	// wire order, as in JA4.
	k := c.seed
	sum := func(vs []uint16) uint64 {
		var t, n uint64
		for _, v := range vs {
			if !tlsmsg.IsGREASE(v) { // random per connection; JA4 ignores them
				t += mix(uint64(v)^c.seed, 0x9e3779b97f4a7c15)
				n++
			}
		}
		return mix(t^n, c.seed|1)
	}
	k = mix(k^sum(ch.CipherSuites), 0xff51afd7ed558ccd)
	k = mix(k^sum(ch.Extensions), 0xc4ceb9fe1a85ec53)
	for _, v := range ch.SignatureAlgorithms {
		if !tlsmsg.IsGREASE(v) {
			k = mix(k^uint64(v), 0x9e3779b97f4a7c15)
		}
	}
	k = mix(k^uint64(ch.MaxVersion()), 0xff51afd7ed558ccd)
	if len(ch.ALPN) > 0 && ch.ALPN[0] != "" {
		p := ch.ALPN[0]
		k = mix(k^uint64(p[0])<<8^uint64(p[len(p)-1])^uint64(len(p))<<16, 0xc4ceb9fe1a85ec53)
	}
	if j, ok := c.m[k]; ok {
		return j
	}
	j := ch.JA4()
	if len(c.m) < maxJA4Cache {
		c.m[k] = j
	}
	return j
}

// listCache shares the short lists flows keep: one copy of each distinct
// list, at most maxLists of them; longer or further lists are copied.
// Flows must not modify what they get.
type listCache struct {
	u16     map[u16Key][]uint16
	strs    map[string][]string
	scratch []byte
}

const maxLists = 4096

type u16Key struct {
	n uint8
	v [8]uint16
}

// uint16s returns a shared copy of vs, without GREASE values (RFC 8701)
// when noGREASE is set. It keeps nil for nil: an absent list stays absent.
func (c *listCache) uint16s(vs []uint16, noGREASE bool) []uint16 {
	if vs == nil {
		return nil
	}
	var k u16Key
	for _, v := range vs {
		if noGREASE && tlsmsg.IsGREASE(v) {
			continue
		}
		if int(k.n) == len(k.v) {
			return c.cloneU16(vs, noGREASE)
		}
		k.v[k.n] = v
		k.n++
	}
	if l, ok := c.u16[k]; ok {
		return l
	}
	l := slices.Clone(k.v[:k.n:k.n])
	if len(c.u16) < maxLists {
		if c.u16 == nil {
			c.u16 = map[u16Key][]uint16{}
		}
		c.u16[k] = l
	}
	return l
}

func (c *listCache) cloneU16(vs []uint16, noGREASE bool) []uint16 {
	out := make([]uint16, 0, len(vs))
	for _, v := range vs {
		if !noGREASE || !tlsmsg.IsGREASE(v) {
			out = append(out, v)
		}
	}
	return out
}

// strings returns a shared copy of ss (nil for nil).
func (c *listCache) strings(ss []string) []string {
	if ss == nil {
		return nil
	}
	key := c.scratch[:0]
	for _, s := range ss {
		key = append(append(key, s...), 0)
	}
	c.scratch = key
	if l, ok := c.strs[string(key)]; ok {
		return l
	}
	l := slices.Clone(ss)
	if len(c.strs) < maxLists {
		if c.strs == nil {
			c.strs = map[string][]string{}
		}
		c.strs[string(key)] = l
	}
	return l
}
