package analyze

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/qadiag/qadiag/decode/tlsmsg"
)

const versionTLS13 = 0x0304

// TLSInfo is what the handshake of a TLS flow showed, from both directions.
// Frame fields are 1-based capture frames, 0 when not seen.
type TLSInfo struct {
	SNI  string
	ALPN []string // offered by the client
	// OfferedVersions is the client's supported_versions without GREASE,
	// or its legacy version alone.
	OfferedVersions []uint16
	KeyShareGroups  []uint16
	JA4             string
	Ciphers         int32 // cipher suites offered
	ECH             bool

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
	ServerALPN     string
	ClientFrame    uint64
	ServerFrame    uint64
	HRRFrame       uint64
	CertFrame      uint64
	DoneFrame      uint64 // TLS 1.2 ServerHelloDone
	// CCSFrame and AppDataFrame are per direction (client, server).
	CCSFrame     [2]uint64
	AppDataFrame [2]uint64
	AppData      [2]int32 // application_data records followed (see tlsFollowRecords)
	Records      [2]int32
	// firstApp are the first application_data records per direction, each
	// its frame << 16 | its length (FirstAppData): half the size of
	// tlsmsg.AppRecord, which pads its 10 bytes to 16. A TLSInfo is kept
	// for every TLS flow, and at 376 bytes it takes the allocator's
	// 384-byte class instead of the 480-byte one.
	firstApp [2][4]uint64

	Certificates []tlsmsg.Certificate // the server's chain: in clear (TLS 1.2), or decrypted with a key log
	// Decrypted counts records opened with the key log; DecryptErrors
	// counts records the keys did not open.
	Decrypted     int32
	DecryptErrors int32
	Alerts        []TLSAlert // in frame order
	AlertRecords  int32

	// Gaps are the bytes missing from each direction's stream.
	Gaps [2]int32
	// Malformed is the first structural error in either direction.
	Malformed string
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
func (t *TLSInfo) fill(cs, ss *tlsmsg.Stream, ja4 *ja4Cache, lists *listCache) {
	c, s := cs.Summary(), ss.Summary()
	if ch := c.ClientHello; ch != nil {
		// The hello's lists are the stream's storage, reused by the next
		// connection: what the flow keeps comes from the shared lists.
		t.SNI, t.ALPN, t.JA4, t.ECH = ch.SNI, lists.strings(ch.ALPN), ja4.get(ch), ch.ECH
		t.Ciphers, t.KeyShareGroups = clamp32(len(ch.CipherSuites)), lists.uint16s(ch.KeyShareGroups, false)
		t.OfferedVersions = lists.uint16s(ch.SupportedVersions, true)
		if len(t.OfferedVersions) == 0 {
			t.OfferedVersions = lists.uint16s([]uint16{ch.LegacyVersion}, false)
		}
		t.ClientFrame = c.ClientHelloFrame
	}
	if sh := s.ServerHello; sh != nil {
		t.Version, t.Cipher, t.ServerALPN, t.Downgrade = sh.SelectedVersion, sh.CipherSuite, sh.ALPN, sh.DowngradeSentinel
		t.ServerFrame = s.ServerHelloFrame
	}
	if s.HelloRetryRequest != nil {
		t.HelloRetry, t.HRRFrame = true, s.HelloRetryRequestFrame
		if t.Version == 0 {
			t.Version = s.HelloRetryRequest.SelectedVersion
		}
	}
	t.Certificates, t.CertFrame, t.DoneFrame = s.Certificates, s.CertificateFrame, s.ServerHelloDoneFrame
	t.CertsDecrypted = s.CertificatesDecrypted
	t.Resumed = t.ServerFrame != 0 && t.Version != 0 && t.Version < versionTLS13 &&
		t.CertFrame == 0 && s.ChangeCipherSpecFrame != 0 && (t.DoneFrame == 0 || s.ChangeCipherSpecFrame < t.DoneFrame)
	for d, sum := range [2]*tlsmsg.Summary{&c, &s} {
		t.CCSFrame[d], t.AppDataFrame[d] = sum.ChangeCipherSpecFrame, sum.FirstAppDataFrame
		t.AppData[d], t.Records[d], t.Gaps[d] = clamp32(min(sum.AppDataRecords, tlsFollowRecords)), clamp32(sum.Records), clamp32(sum.Gaps)
		t.setFirstAppData(Direction(d), sum.FirstAppData)
		t.Decrypted = clamp32(int(t.Decrypted) + sum.Decrypted)
		t.DecryptErrors = clamp32(int(t.DecryptErrors) + sum.DecryptErrors)
		t.AlertRecords = clamp32(int(t.AlertRecords) + sum.AlertRecords)
		for _, al := range sum.Alerts {
			t.Alerts = append(t.Alerts, TLSAlert{Alert: al, From: Direction(d)})
		}
		if t.Malformed == "" && sum.Malformed != "" {
			t.Malformed = sum.Malformed
		}
		t.Truncated = t.Truncated || sum.Truncated
	}
	slices.SortStableFunc(t.Alerts, func(x, y TLSAlert) int { return cmp.Compare(x.Frame, y.Frame) })
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
