// Package tlskeys decrypts TLS records with secrets from a key log, so that
// the encrypted part of a captured handshake (TLS 1.3 EncryptedExtensions,
// Certificate and alerts; TLS 1.2 Finished) can be read.
//
// A KeyLog holds the secrets of the NSS key log format
// (draft-ietf-tls-keylogfile, the SSLKEYLOGFILE that browsers and Go's
// tls.Config.KeyLogWriter write), read from a file or from a pcapng
// Decryption Secrets Block. A Decrypter opens the records of one direction
// of one connection: NewTLS13 for TLS 1.3 (RFC 8446 5.2, 7.1, 7.3) and
// NewTLS12 for TLS 1.2 with AEAD suites (RFC 5246 6.2.3.3: AES-GCM,
// RFC 5288 and RFC 5289; ChaCha20-Poly1305, RFC 7905) or CBC suites
// (RFC 5246 6.2.3.2, MAC-then-encrypt with an explicit IV: AES-128/256 and
// 3DES with HMAC-SHA1, AES-128/256 with HMAC-SHA256, AES-256 with
// HMAC-SHA384, RFC 5246 C and RFC 5289 3.2). TLS 1.0 and 1.1 (another PRF;
// TLS 1.0 chains IVs), RC4, CCM, RSA pre-master secrets and 0-RTT are not
// supported.
//
// Ciphers come from crypto/aes, crypto/des, crypto/cipher and
// golang.org/x/crypto/chacha20poly1305, key derivation from crypto/hkdf and
// crypto/hmac, record MACs from crypto/hmac. Nothing here logs or returns a secret in an error or warning.
package tlskeys
