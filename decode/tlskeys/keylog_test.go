package tlskeys

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

var (
	cr1  = strings.Repeat("01", 32)
	cr2  = strings.Repeat("02", 32)
	ms48 = strings.Repeat("ab", 48)
	s32  = strings.Repeat("cd", 32)
	s48  = strings.Repeat("ef", 48)
)

func rnd(hexStr string) [32]byte {
	var r [32]byte
	hex.Decode(r[:], []byte(hexStr))
	return r
}

func unhex(s string) []byte {
	b, _ := hex.DecodeString(s)
	return b
}

func TestParseKeyLog(t *testing.T) {
	text := "# comment\n\n" +
		"CLIENT_RANDOM " + cr1 + " " + ms48 + "\r\n" +
		"CLIENT_HANDSHAKE_TRAFFIC_SECRET " + cr2 + " " + s32 + "\n" +
		"SERVER_HANDSHAKE_TRAFFIC_SECRET " + cr2 + " " + strings.ToUpper(s32) + "\n" +
		"CLIENT_TRAFFIC_SECRET_0 " + cr2 + " " + s48 + "\n" +
		"SERVER_TRAFFIC_SECRET_0 " + cr2 + " " + s48 + "\n" +
		"EXPORTER_SECRET " + cr2 + " " + s32 + "\n" +
		"CLIENT_RANDOM " + cr1 + " " + ms48 // duplicate, no final newline
	kl, warns := ParseKeyLog(strings.NewReader(text))
	if len(warns) != 0 {
		t.Fatalf("warnings: %v", warns)
	}
	if kl.Len() != 2 {
		t.Errorf("Len %d, want 2", kl.Len())
	}
	got, ok := kl.Lookup(rnd(cr1))
	if want := (Secrets{MasterSecret: unhex(ms48)}); !ok || !cmp.Equal(want, got) {
		t.Errorf("cr1 (-want +got):\n%s", cmp.Diff(want, got))
	}
	got, ok = kl.Lookup(rnd(cr2))
	want := Secrets{ClientHandshake: unhex(s32), ServerHandshake: unhex(s32), ClientTraffic0: unhex(s48), ServerTraffic0: unhex(s48)}
	if !ok || !cmp.Equal(want, got) {
		t.Errorf("cr2 (-want +got):\n%s", cmp.Diff(want, got))
	}
	if _, ok := kl.Lookup([32]byte{}); ok {
		t.Errorf("Lookup of an unknown random succeeded")
	}
	var nilLog *KeyLog
	if _, ok := nilLog.Lookup(rnd(cr1)); ok || nilLog.Len() != 0 {
		t.Errorf("nil KeyLog is not empty")
	}
}

func TestParseKeyLogWarnings(t *testing.T) {
	tests := []struct {
		name, line, want string
	}{
		{"unknown label", "FOO_SECRET " + cr1 + " " + s32, `unknown label "FOO_SECRET"`},
		{"secret as label", s32, "unknown label (not shown)"},
		{"lower case label", "client_random " + cr1 + " " + ms48, "unknown label (not shown)"},
		{"two fields", "CLIENT_RANDOM " + cr1, "CLIENT_RANDOM: 2 fields, want 3"},
		{"four fields", "CLIENT_RANDOM " + cr1 + " " + ms48 + " x", "CLIENT_RANDOM: 4 fields, want 3"},
		{"short random", "CLIENT_RANDOM " + cr1[2:] + " " + ms48, "CLIENT_RANDOM: client random is 62 hex digits, want 64"},
		{"random not hex", "CLIENT_RANDOM " + strings.Repeat("zz", 32) + " " + ms48, "CLIENT_RANDOM: client random is not hex"},
		{"secret not hex", "CLIENT_RANDOM " + cr1 + " " + ms48[:94] + "zz", "CLIENT_RANDOM: secret is not hex"},
		{"odd secret", "CLIENT_RANDOM " + cr1 + " " + ms48[1:], "CLIENT_RANDOM: secret is not hex"},
		{"master 32 bytes", "CLIENT_RANDOM " + cr1 + " " + s32, "CLIENT_RANDOM: secret is 32 bytes, want 48"},
		{"tls13 40 bytes", "CLIENT_TRAFFIC_SECRET_0 " + cr1 + " " + strings.Repeat("11", 40), "CLIENT_TRAFFIC_SECRET_0: secret is 40 bytes, want 32 or 48"},
		{"long line", "CLIENT_RANDOM " + cr1 + " " + strings.Repeat("a", MaxLineLen), "line longer than 4096 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text := "# first\n" + tt.line + "\nCLIENT_RANDOM " + cr2 + " " + ms48 + "\n"
			kl, warns := ParseKeyLog(strings.NewReader(text))
			want := []Warning{{Line: 2, Reason: tt.want}}
			if diff := cmp.Diff(want, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			for _, w := range warns {
				if strings.Contains(strings.ToLower(w.String()), s32[:16]) || strings.Contains(w.String(), ms48[:16]) {
					t.Errorf("warning %q shows a secret", w)
				}
			}
			if _, ok := kl.Lookup(rnd(cr2)); !ok {
				t.Errorf("the line after the bad one was lost")
			}
		})
	}
}

func TestParseKeyLogConflict(t *testing.T) {
	text := "CLIENT_RANDOM " + cr1 + " " + ms48 + "\nCLIENT_RANDOM " + cr1 + " " + strings.Repeat("00", 48) + "\n"
	kl, warns := ParseKeyLog(strings.NewReader(text))
	if len(warns) != 1 || warns[0].Line != 2 {
		t.Fatalf("warnings %v, want one on line 2", warns)
	}
	if s, _ := kl.Lookup(rnd(cr1)); !bytes.Equal(s.MasterSecret, unhex(ms48)) {
		t.Errorf("the first secret was not kept")
	}
}

func TestParseKeyLogLimits(t *testing.T) {
	text := strings.Repeat("\n", MaxLines) + "CLIENT_RANDOM " + cr1 + " " + ms48 + "\n"
	kl, warns := ParseKeyLog(strings.NewReader(text))
	want := []Warning{{Line: MaxLines + 1, Reason: "stopped after 100000 lines"}}
	if diff := cmp.Diff(want, warns); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	if kl.Len() != 0 {
		t.Errorf("read past MaxLines")
	}
	_, warns = ParseKeyLog(iotest.TimeoutReader(strings.NewReader(strings.Repeat("# x\n", 2000))))
	if len(warns) != 1 || !strings.HasPrefix(warns[0].Reason, "read error: ") {
		t.Errorf("warnings %v, want one read error", warns)
	}
}

func dsb(order binary.AppendByteOrder, typ uint32, payload string, pad int) []byte {
	b := order.AppendUint32(nil, typ)
	b = order.AppendUint32(b, uint32(len(payload)))
	b = append(b, payload...)
	return append(b, make([]byte, pad)...)
}

func TestAddPcapngSecrets(t *testing.T) {
	payload := "CLIENT_RANDOM " + cr1 + " " + ms48 + "\n"
	tests := []struct {
		name  string
		data  []byte
		ok    bool
		warns []Warning
	}{
		{"little endian", dsb(binary.LittleEndian, SecretsTypeTLS, payload, 3), true, nil},
		{"big endian", dsb(binary.BigEndian, SecretsTypeTLS, payload, 3), true, nil},
		{"nul padded", dsb(binary.LittleEndian, SecretsTypeTLS, payload+"\x00\x00", 0), true, nil},
		{"wireguard", dsb(binary.LittleEndian, 0x57474b4c, payload, 0), false,
			[]Warning{{Reason: "decryption secrets type 0x57474b4c is not a TLS key log"}}},
		{"short", []byte{1, 2, 3}, false,
			[]Warning{{Reason: "decryption secrets block body is 3 bytes, want at least 8"}}},
		{"length past end", dsb(binary.LittleEndian, SecretsTypeTLS, payload, 0)[:50], false,
			[]Warning{{Reason: "decryption secrets length 176 exceeds the 42 bytes left in the block"}}},
		{"bad line", dsb(binary.LittleEndian, SecretsTypeTLS, "X\n"+payload, 0), true,
			[]Warning{{Line: 1, Reason: `unknown label "X"`}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var kl KeyLog
			warns := kl.AddPcapngSecrets(tt.data)
			if diff := cmp.Diff(tt.warns, warns); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if _, ok := kl.Lookup(rnd(cr1)); ok != tt.ok {
				t.Errorf("Lookup ok %v, want %v", ok, tt.ok)
			}
		})
	}
}
