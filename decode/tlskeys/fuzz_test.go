package tlskeys

import (
	"bytes"
	"crypto/tls"
	"encoding/binary"
	"strings"
	"testing"
)

var fuzzSuites = []uint16{
	TLS_AES_128_GCM_SHA256, TLS_AES_256_GCM_SHA384, TLS_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256, tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256, tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

// fuzzDecrypter builds a Decrypter from fuzz input: the suite index picks a
// suite, which also chooses TLS 1.2 or 1.3; a secret of the wrong length
// gives nil.
func fuzzDecrypter(suite uint8, secret []byte, randoms []byte, server bool) *Decrypter {
	id := fuzzSuites[int(suite)%len(fuzzSuites)]
	var cr, sr [32]byte
	copy(cr[:], randoms)
	if len(randoms) > 32 {
		copy(sr[:], randoms[32:])
	}
	var d *Decrypter
	if id>>8 == 0x13 {
		d, _ = NewTLS13(id, secret)
	} else {
		d, _ = NewTLS12(id, secret, cr, sr, server)
	}
	return d
}

// FuzzOpen feeds corrupted records, keys and sequence numbers to Open: it
// must not panic, a failure must leave the sequence number alone, and a
// success must advance it and return no more bytes than were sent. The
// seeds include a real TLS 1.3 handshake record and TLS 1.2 Finished
// records (AES-GCM and AES-CBC), so the fuzzer starts from records that
// open.
func FuzzOpen(f *testing.F) {
	ec, _ := certs(f)
	s := runSession(f, sessionConfig{cert: ec})
	if sec, _, srecs, ok := fuzzSeedKeys(s); ok {
		for _, r := range srecs {
			if r.hdr[0] == TypeApplicationData {
				f.Add(uint8(0), sec.ServerHandshake, []byte(nil), false, uint64(0), r.hdr[:], r.payload)
				break
			}
		}
	}
	s = runSession(f, sessionConfig{cert: ec, maxVersion: tls.VersionTLS12,
		suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384}})
	if sec, crecs, srecs, ok := fuzzSeedKeys(s); ok && len(crecs) > 0 {
		randoms := append(bytes.Clone(crecs[0].payload[6:38]), srecs[0].payload[6:38]...)
		for i, r := range srecs {
			if r.hdr[0] == TypeChangeCipherSpec && i+1 < len(srecs) {
				f.Add(uint8(4), sec.MasterSecret, randoms, true, uint64(0), srecs[i+1].hdr[:], srecs[i+1].payload)
			}
		}
	}
	s = runSession(f, sessionConfig{cert: ec, maxVersion: tls.VersionTLS12,
		suites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256}})
	if sec, crecs, srecs, ok := fuzzSeedKeys(s); ok && len(crecs) > 0 {
		randoms := append(bytes.Clone(crecs[0].payload[6:38]), srecs[0].payload[6:38]...)
		for i, r := range crecs {
			if r.hdr[0] == TypeChangeCipherSpec && i+1 < len(crecs) {
				f.Add(uint8(7), sec.MasterSecret, randoms, false, uint64(0), crecs[i+1].hdr[:], crecs[i+1].payload)
			}
		}
	}
	f.Add(uint8(2), make([]byte, 32), []byte(nil), false, uint64(1<<63), []byte{23, 3, 3, 0, 17}, make([]byte, 17))
	f.Add(uint8(3), make([]byte, 48), make([]byte, 64), false, uint64(0), []byte{22, 3, 3, 0, 8}, make([]byte, 8))
	f.Add(uint8(5), make([]byte, 48), make([]byte, 64), true, ^uint64(0), []byte{23, 3, 3, 0, 0}, []byte{})
	// CBC: a block-sized record and one that is not whole blocks (3DES).
	f.Add(uint8(6), make([]byte, 48), make([]byte, 64), false, uint64(0), []byte{23, 3, 3, 0, 48}, bytes.Repeat([]byte{0xff}, 48))
	f.Add(uint8(8), make([]byte, 48), make([]byte, 64), true, uint64(3), []byte{21, 3, 3, 0, 33}, make([]byte, 33))
	f.Fuzz(func(t *testing.T, suite uint8, secret, randoms []byte, server bool, seq uint64, hdr, ct []byte) {
		d := fuzzDecrypter(suite, secret, randoms, server)
		if d == nil {
			return
		}
		var h [5]byte
		copy(h[:], hdr)
		d.SetSeq(seq)
		pt, _, err := d.Open(h, ct)
		switch {
		case err != nil && d.Seq() != seq:
			t.Errorf("Seq %d after a failure, want %d", d.Seq(), seq)
		case err == nil && d.Seq() != seq+1:
			t.Errorf("Seq %d after a success, want %d", d.Seq(), seq+1)
		case err == nil && len(pt) >= len(ct):
			t.Errorf("plaintext %d bytes from %d bytes", len(pt), len(ct))
		}
	})
}

func fuzzSeedKeys(s session) (Secrets, []record, []record, bool) {
	kl, _ := ParseKeyLog(bytes.NewReader(s.keyLog))
	crecs, srecs := splitRecords(s.client), splitRecords(s.server)
	if len(crecs) == 0 || len(srecs) == 0 || len(crecs[0].payload) < 38 || len(srecs[0].payload) < 38 {
		return Secrets{}, nil, nil, false
	}
	sec, ok := kl.Lookup([32]byte(crecs[0].payload[6:38]))
	return sec, crecs, srecs, ok
}

// FuzzParseKeyLog checks that any input parses without panic, that every
// stored secret has a valid length, and that warnings point at real lines.
func FuzzParseKeyLog(f *testing.F) {
	f.Add("CLIENT_RANDOM " + cr1 + " " + ms48 + "\n")
	f.Add("# c\r\n\r\nSERVER_HANDSHAKE_TRAFFIC_SECRET " + cr2 + " " + s48)
	f.Add("CLIENT_TRAFFIC_SECRET_0 " + cr2 + " " + s32 + "\nCLIENT_TRAFFIC_SECRET_0 " + cr2 + " " + s48 + "\n")
	f.Add("CLIENT_RANDOM  \t" + cr1 + "\v" + ms48[2:] + "\n")
	f.Add("RSA 0102030405060708 " + ms48 + "\nX\x00Y " + cr1 + " 00\n")
	f.Add(strings.Repeat("x", MaxLineLen+3) + "\nCLIENT_RANDOM")
	f.Fuzz(func(t *testing.T, text string) {
		kl, warns := ParseKeyLog(strings.NewReader(text))
		lines := strings.Count(text, "\n") + 1
		for _, w := range warns {
			if w.Line < 1 || w.Line > lines {
				t.Errorf("warning on line %d of %d: %v", w.Line, lines, w)
			}
		}
		for _, s := range kl.m {
			if s.MasterSecret != nil && len(s.MasterSecret) != 48 {
				t.Errorf("master secret of %d bytes", len(s.MasterSecret))
			}
			for _, v := range [][]byte{s.ClientHandshake, s.ServerHandshake, s.ClientTraffic0, s.ServerTraffic0} {
				if v != nil && len(v) != 32 && len(v) != 48 {
					t.Errorf("traffic secret of %d bytes", len(v))
				}
			}
		}
		// The same text as a pcapng block gives the same warnings.
		b := binary.LittleEndian.AppendUint32(nil, SecretsTypeTLS)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(text)))
		var k2 KeyLog
		if w2 := k2.AddPcapngSecrets(append(b, text...)); len(w2) != len(warns) && !strings.HasSuffix(text, "\x00") {
			t.Errorf("pcapng block gave %d warnings, text %d", len(w2), len(warns))
		}
	})
}
