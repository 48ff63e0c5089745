package tlsmsg

import "testing"

func TestNames(t *testing.T) {
	tests := []struct{ got, want string }{
		{VersionName(0x0300), "SSL 3.0"},
		{VersionName(0x0301), "TLS 1.0"},
		{VersionName(0x0304), "TLS 1.3"},
		{VersionName(0x7f1c), "TLS 1.3 draft 28"},
		{VersionName(0x0a0a), "0x0a0a"},
		{CipherSuiteName(0x1301), "TLS_AES_128_GCM_SHA256"},
		{CipherSuiteName(0xc02f), "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"},
		{CipherSuiteName(0x5600), "TLS_FALLBACK_SCSV"},
		{CipherSuiteName(0x0a0a), "0x0a0a"},
		{AlertDescriptionName(0), "close_notify"},
		{AlertDescriptionName(40), "handshake_failure"},
		{AlertDescriptionName(42), "bad_certificate"},
		{AlertDescriptionName(48), "unknown_ca"},
		{AlertDescriptionName(70), "protocol_version"},
		{AlertDescriptionName(112), "unrecognized_name"},
		{AlertDescriptionName(116), "certificate_required"},
		{AlertDescriptionName(120), "no_application_protocol"},
		{AlertDescriptionName(200), "alert_200"},
		{AlertLevelName(2), "fatal"},
		{AlertLevelName(9), "level_9"},
		{Alert{Level: 2, Description: 48}.String(), "fatal unknown_ca"},
		{Alert{Encrypted: true}.String(), "encrypted"},
		{HandshakeTypeName(1), "client_hello"},
		{HandshakeTypeName(99), "handshake_99"},
		{ExtensionName(0), "server_name"},
		{ExtensionName(0xdada), "GREASE"},
		{ExtensionName(0x1234), "0x1234"},
		{GroupName(0x11ec), "X25519MLKEM768"},
		{GroupName(0x001d), "x25519"},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestIsGREASE(t *testing.T) {
	n := 0
	for v := range 1 << 16 {
		if IsGREASE(uint16(v)) {
			n++
			if v&0xff != v>>8 || v&0x0f != 0x0a {
				t.Errorf("IsGREASE(%#04x) = true", v)
			}
		}
	}
	if n != 16 {
		t.Errorf("%d GREASE values, want 16 (RFC 8701 2)", n)
	}
}
