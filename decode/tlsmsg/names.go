package tlsmsg

import "fmt"

// IsGREASE reports whether v is one of the sixteen GREASE values of RFC 8701
// 2 (0x0a0a, 0x1a1a, ... 0xfafa), which clients put among cipher suites,
// extensions, groups, versions and signature algorithms to keep servers
// tolerant of unknown values.
func IsGREASE(v uint16) bool {
	return v&0x0f0f == 0x0a0a && v>>8 == v&0xff
}

// VersionName names a protocol version: "SSL 3.0", "TLS 1.0" to "TLS 1.3",
// "TLS 1.3 draft N" for the 0x7fNN draft code points, the DTLS versions, and
// "0x%04x" for anything else (GREASE included).
func VersionName(v uint16) string {
	switch v {
	case 0x0002:
		return "SSL 2.0"
	case 0x0300:
		return "SSL 3.0"
	case 0x0301:
		return "TLS 1.0"
	case 0x0302:
		return "TLS 1.1"
	case 0x0303:
		return "TLS 1.2"
	case 0x0304:
		return "TLS 1.3"
	case 0xfeff:
		return "DTLS 1.0"
	case 0xfefd:
		return "DTLS 1.2"
	case 0xfefc:
		return "DTLS 1.3"
	}
	if v>>8 == 0x7f {
		return fmt.Sprintf("TLS 1.3 draft %d", v&0xff)
	}
	return fmt.Sprintf("0x%04x", v)
}

// isTLS13 reports whether a selected version is TLS 1.3 or one of its
// drafts, after which the rest of the handshake is encrypted.
func isTLS13(v uint16) bool { return v == 0x0304 || v>>8 == 0x7f }

// cipherSuites holds the IANA names (TLS Cipher Suites registry) of the
// suites that current clients, servers and inspection proxies send.
var cipherSuites = map[uint16]string{
	0x0000: "TLS_NULL_WITH_NULL_NULL",
	0x0004: "TLS_RSA_WITH_RC4_128_MD5",
	0x0005: "TLS_RSA_WITH_RC4_128_SHA",
	0x000a: "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
	0x002f: "TLS_RSA_WITH_AES_128_CBC_SHA",
	0x0033: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
	0x0035: "TLS_RSA_WITH_AES_256_CBC_SHA",
	0x0039: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
	0x003c: "TLS_RSA_WITH_AES_128_CBC_SHA256",
	0x003d: "TLS_RSA_WITH_AES_256_CBC_SHA256",
	0x0067: "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
	0x006b: "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
	0x009c: "TLS_RSA_WITH_AES_128_GCM_SHA256",
	0x009d: "TLS_RSA_WITH_AES_256_GCM_SHA384",
	0x009e: "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
	0x009f: "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
	0x00ff: "TLS_EMPTY_RENEGOTIATION_INFO_SCSV",
	0x1301: "TLS_AES_128_GCM_SHA256",
	0x1302: "TLS_AES_256_GCM_SHA384",
	0x1303: "TLS_CHACHA20_POLY1305_SHA256",
	0x1304: "TLS_AES_128_CCM_SHA256",
	0x1305: "TLS_AES_128_CCM_8_SHA256",
	0x5600: "TLS_FALLBACK_SCSV",
	0xc007: "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
	0xc008: "TLS_ECDHE_ECDSA_WITH_3DES_EDE_CBC_SHA",
	0xc009: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	0xc00a: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	0xc011: "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
	0xc012: "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
	0xc013: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	0xc014: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	0xc023: "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
	0xc024: "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
	0xc027: "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	0xc028: "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
	0xc02b: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	0xc02c: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	0xc02f: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	0xc030: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	0xcca8: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	0xcca9: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	0xccaa: "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
}

// CipherSuiteName returns the IANA name of a common cipher suite, or
// "0x%04x".
func CipherSuiteName(id uint16) string {
	if n, ok := cipherSuites[id]; ok {
		return n
	}
	return fmt.Sprintf("0x%04x", id)
}

// alertDescriptions holds RFC 8446 6 AlertDescription values, plus those
// RFC 5246 7.2 and RFC 6066 defined and TLS 1.3 keeps as reserved, and
// ech_required (TLS Encrypted Client Hello, draft-ietf-tls-esni).
var alertDescriptions = map[uint8]string{
	0:   "close_notify",
	10:  "unexpected_message",
	20:  "bad_record_mac",
	21:  "decryption_failed",
	22:  "record_overflow",
	30:  "decompression_failure",
	40:  "handshake_failure",
	41:  "no_certificate",
	42:  "bad_certificate",
	43:  "unsupported_certificate",
	44:  "certificate_revoked",
	45:  "certificate_expired",
	46:  "certificate_unknown",
	47:  "illegal_parameter",
	48:  "unknown_ca",
	49:  "access_denied",
	50:  "decode_error",
	51:  "decrypt_error",
	60:  "export_restriction",
	70:  "protocol_version",
	71:  "insufficient_security",
	80:  "internal_error",
	86:  "inappropriate_fallback",
	90:  "user_canceled",
	100: "no_renegotiation",
	109: "missing_extension",
	110: "unsupported_extension",
	111: "certificate_unobtainable",
	112: "unrecognized_name",
	113: "bad_certificate_status_response",
	114: "bad_certificate_hash_value",
	115: "unknown_psk_identity",
	116: "certificate_required",
	120: "no_application_protocol",
	121: "ech_required",
}

// AlertDescriptionName returns the RFC name of an alert description
// ("handshake_failure", "unknown_ca", ...), or "alert_<n>".
func AlertDescriptionName(d uint8) string {
	if n, ok := alertDescriptions[d]; ok {
		return n
	}
	return fmt.Sprintf("alert_%d", d)
}

// AlertLevelName returns "warning" (1) or "fatal" (2) (RFC 8446 6), or
// "level_<n>".
func AlertLevelName(l uint8) string {
	switch l {
	case 1:
		return "warning"
	case 2:
		return "fatal"
	}
	return fmt.Sprintf("level_%d", l)
}

// handshakeTypes holds HandshakeType values of RFC 8446 4 and RFC 5246 7.4.
var handshakeTypes = map[uint8]string{
	0:   "hello_request",
	1:   "client_hello",
	2:   "server_hello",
	4:   "new_session_ticket",
	5:   "end_of_early_data",
	8:   "encrypted_extensions",
	11:  "certificate",
	12:  "server_key_exchange",
	13:  "certificate_request",
	14:  "server_hello_done",
	15:  "certificate_verify",
	16:  "client_key_exchange",
	20:  "finished",
	22:  "certificate_status",
	24:  "key_update",
	254: "message_hash",
}

// HandshakeTypeName returns the RFC name of a handshake message type, or
// "handshake_<n>".
func HandshakeTypeName(t uint8) string {
	if n, ok := handshakeTypes[t]; ok {
		return n
	}
	return fmt.Sprintf("handshake_%d", t)
}

// extensionNames holds IANA TLS ExtensionType names of the extensions this
// package parses or that commonly appear in hellos.
var extensionNames = map[uint16]string{
	0x0000: "server_name",
	0x0005: "status_request",
	0x000a: "supported_groups",
	0x000b: "ec_point_formats",
	0x000d: "signature_algorithms",
	0x0010: "application_layer_protocol_negotiation",
	0x0012: "signed_certificate_timestamp",
	0x0015: "padding",
	0x0017: "extended_master_secret",
	0x001b: "compress_certificate",
	0x0023: "session_ticket",
	0x0029: "pre_shared_key",
	0x002a: "early_data",
	0x002b: "supported_versions",
	0x002c: "cookie",
	0x002d: "psk_key_exchange_modes",
	0x0031: "post_handshake_auth",
	0x0032: "signature_algorithms_cert",
	0x0033: "key_share",
	0x0039: "quic_transport_parameters",
	0x44cd: "application_settings",
	0x4469: "application_settings_old",
	0xfe0d: "encrypted_client_hello",
	0xff01: "renegotiation_info",
}

// ExtensionName returns the IANA name of a common extension type, "GREASE",
// or "0x%04x".
func ExtensionName(t uint16) string {
	if n, ok := extensionNames[t]; ok {
		return n
	}
	if IsGREASE(t) {
		return "GREASE"
	}
	return fmt.Sprintf("0x%04x", t)
}

// groupNames holds IANA TLS Supported Groups names.
var groupNames = map[uint16]string{
	0x0017: "secp256r1",
	0x0018: "secp384r1",
	0x0019: "secp521r1",
	0x001d: "x25519",
	0x001e: "x448",
	0x0100: "ffdhe2048",
	0x0101: "ffdhe3072",
	0x11ec: "X25519MLKEM768",
	0x6399: "X25519Kyber768Draft00",
}

// GroupName returns the IANA name of a key exchange group ("x25519",
// "X25519MLKEM768", ...), "GREASE", or "0x%04x".
func GroupName(g uint16) string {
	if n, ok := groupNames[g]; ok {
		return n
	}
	if IsGREASE(g) {
		return "GREASE"
	}
	return fmt.Sprintf("0x%04x", g)
}
