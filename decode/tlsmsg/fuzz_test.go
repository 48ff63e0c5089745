package tlsmsg

import (
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// seedTranscripts returns the bytes each side wrote in every scenario.
func seedTranscripts(f *testing.F) [][]byte {
	var out [][]byte
	for _, sc := range scenarios(f) {
		tr := runHandshake(f, sc.ccfg, sc.scfg)
		out = append(out, concat(tr.client), concat(tr.server))
	}
	return append(out, chromeHelloRecord(f))
}

// seedBodies returns the bodies of the handshake messages of type typ found
// in the seed transcripts.
func seedBodies(f *testing.F, typ uint8) [][]byte {
	var out [][]byte
	for _, b := range seedTranscripts(f) {
		for len(b) >= 9 && b[0] == recordHandshake {
			n := int(b[3])<<8 | int(b[4])
			if len(b) < 5+n {
				break
			}
			rec := b[5 : 5+n]
			for len(rec) >= 4 {
				m := int(rec[1])<<16 | int(rec[2])<<8 | int(rec[3])
				if len(rec) < 4+m {
					break
				}
				if rec[0] == typ {
					out = append(out, rec[4:4+m])
				}
				rec = rec[4+m:]
			}
			b = b[5+n:]
		}
	}
	return out
}

var ja4Pattern = regexp.MustCompile(`^t(1[0-3]|s[23]|d[123]|00)[di]\d{4}[0-9A-Za-z]{2}_[0-9a-f]{12}_[0-9a-f]{12}$`)

// reuseSeed is a hello with every list FuzzClientHello's reuse check
// parses over.
var reuseSeed = buildClientHello(specCiphers, specExtensions(true))

func FuzzClientHello(f *testing.F) {
	for _, b := range seedBodies(f, typeClientHello) {
		f.Add(b)
	}
	f.Add(buildClientHello(specCiphers, specExtensions(true)))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := ParseClientHello(body)
		if len(body)+4 <= MaxRecordLen {
			// The Stream must agree with the parser.
			var s Stream
			s.Feed(record(recordHandshake, handshakeMsg(typeClientHello, body)), 1)
			sum := s.Summary()
			if (err == nil) != (sum.Err == nil) || !reflect.DeepEqual(c, sum.ClientHello) {
				t.Fatalf("parser: %v %+v; stream: %v %+v", err, c, sum.Err, sum.ClientHello)
			}
			// A Stream reused after another hello (Reset keeps the
			// lists' storage) must read the same.
			s.Reset()
			s.Feed(record(recordHandshake, handshakeMsg(typeClientHello, reuseSeed)), 1)
			s.Reset()
			s.Feed(record(recordHandshake, handshakeMsg(typeClientHello, body)), 1)
			re := s.Summary()
			if (err == nil) != (re.Err == nil) || (c == nil) != (re.ClientHello == nil) {
				t.Fatalf("parser: %v; reused stream: %v", err, re.Err)
			}
			if c != nil {
				x, y := *c, *re.ClientHello
				x.store, y.store = helloStore{}, helloStore{}
				if !reflect.DeepEqual(x, y) {
					t.Fatalf("parser: %+v\nreused stream: %+v", x, y)
				}
			}
		}
		if err != nil {
			return
		}
		ja4 := c.JA4()
		if !ja4Pattern.MatchString(ja4) {
			t.Fatalf("JA4 %q has the wrong shape", ja4)
		}
		if raw := c.JA4Raw(); !strings.HasPrefix(raw, ja4[:10]) {
			t.Fatalf("JA4Raw %q does not start like JA4 %q", raw, ja4)
		}
		if c.SessionIDLen > 32 {
			t.Fatalf("session id length %d", c.SessionIDLen)
		}
	})
}

func FuzzServerHello(f *testing.F) {
	for _, b := range seedBodies(f, typeServerHello) {
		f.Add(b)
	}
	f.Add(buildServerHello(helloRetryRequestRandom, 0x1301, []ext{tls13Version, {extKeyShare, []byte{0, 0x17}}}))
	f.Fuzz(func(t *testing.T, body []byte) {
		h, err := ParseServerHello(body)
		if err != nil {
			return
		}
		if h.HelloRetryRequest != (h.Random == helloRetryRequestRandom) {
			t.Fatal("HelloRetryRequest does not match Random")
		}
		hasVersions := false
		for _, e := range h.Extensions {
			hasVersions = hasVersions || e == extSupportedVersions
		}
		if !hasVersions && h.SelectedVersion != h.LegacyVersion {
			t.Fatalf("selected version %#04x without supported_versions", h.SelectedVersion)
		}
	})
}

func FuzzCertificate(f *testing.F) {
	for _, b := range seedBodies(f, typeCertificate) {
		f.Add(b[6:])
	}
	f.Add(withNegativeSerial(f, makeCert(f, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), []string{"a.example"}, false)))
	f.Fuzz(func(t *testing.T, der []byte) {
		c, err := ParseCertificate(der)
		if err == nil && c.Parser != "x509" && c.Parser != "asn1" {
			t.Fatalf("Parser %q", c.Parser)
		}
		ParseCertificateMessage(der)
		ParseCertificateMessageTLS13(der)
	})
}

func FuzzStream(f *testing.F) {
	for _, b := range seedTranscripts(f) {
		f.Add(b, uint16(len(b)/2), false)
		f.Add(b, uint16(7), true)
	}
	f.Fuzz(func(t *testing.T, data []byte, split uint16, gap bool) {
		k := int(split) % (len(data) + 1)
		var s Stream
		s.Feed(data[:k], 1)
		if gap {
			s.Gap()
		}
		s.Feed(data[k:], 2)
		sum := s.Summary()
		checkSummary(t, sum)
		if gap {
			return
		}
		// Where the bytes are cut must not matter.
		var whole, cut Stream
		whole.Feed(data, 1)
		cut.Feed(data[:k], 1)
		cut.Feed(data[k:], 1)
		want := whole.Summary()
		if got := cut.Summary(); !reflect.DeepEqual(want, got) {
			t.Fatalf("cut at %d changed the summary:\n%+v\n%+v", k, want, got)
		}
		if len(data) <= 1024 {
			var bytewise Stream
			for i := range data {
				bytewise.Feed(data[i:i+1], 1)
			}
			if got := bytewise.Summary(); !reflect.DeepEqual(want, got) {
				t.Fatalf("1-byte pieces changed the summary:\n%+v\n%+v", want, got)
			}
		}
	})
}

func checkSummary(t *testing.T, sum Summary) {
	t.Helper()
	frames := []uint64{
		sum.ClientHelloFrame, sum.ServerHelloFrame, sum.HelloRetryRequestFrame, sum.CertificateFrame,
		sum.ServerHelloDoneFrame, sum.ChangeCipherSpecFrame, sum.FirstAppDataFrame,
	}
	for _, fr := range frames {
		if fr > 2 {
			t.Fatalf("frame %d", fr)
		}
	}
	if (sum.ClientHello != nil) != (sum.ClientHelloFrame != 0) || (sum.ServerHello != nil) != (sum.ServerHelloFrame != 0) ||
		(sum.HelloRetryRequest != nil) != (sum.HelloRetryRequestFrame != 0) {
		t.Fatalf("hello and frame disagree: %+v", sum)
	}
	if sum.Records < sum.HandshakeRecords+sum.AppDataRecords+sum.AlertRecords {
		t.Fatalf("records %d < %d + %d + %d", sum.Records, sum.HandshakeRecords, sum.AppDataRecords, sum.AlertRecords)
	}
	if len(sum.Alerts) > MaxAlerts || len(sum.Alerts) > sum.AlertRecords {
		t.Fatalf("%d alerts of %d records", len(sum.Alerts), sum.AlertRecords)
	}
	if (sum.Malformed == "") != (sum.Err == nil) {
		t.Fatalf("Malformed %q, Err %v", sum.Malformed, sum.Err)
	}
	if sum.Err != nil && !strings.HasPrefix(sum.Malformed, "tls: record at stream offset ") {
		t.Fatalf("Malformed %q", sum.Malformed)
	}
}
