package tlsmsg

// RecordOpener decrypts the protected records of one direction (RFC 8446
// 5.2, RFC 5246 6.2.3): given the record header and its body it returns
// the plaintext and the inner content type. Open is called on every
// protected record in order, so an implementation keeps its own sequence
// number.
type RecordOpener interface {
	Open(header [5]byte, ciphertext []byte) (plaintext []byte, innerType uint8, err error)
}

// Keys finds the record openers of a connection once both hellos are known,
// typically from a key log (SSLKEYLOGFILE). ok is false when it has no keys
// for the connection.
type Keys interface {
	Openers(ch *ClientHello, sh *ServerHello) (client, server RecordOpener, ok bool)
}

// maxProtected bounds a protected record body held for decryption.
const maxProtected = MaxRecordLen + 256

// LinkDecryption lets the two Streams of one connection decrypt their
// protected records with keys: when the server's Stream reads its
// ServerHello, keys is asked for both directions' openers.
func LinkDecryption(client, server *Stream, keys Keys) {
	client.keys, server.keys = keys, keys
	client.peer, server.peer = server, client
	client.isClient = true
}

// SetOpener sets the opener of this direction's protected records.
func (s *Stream) SetOpener(o RecordOpener) { s.opener = o }

// protected reports whether the record whose header was just read is
// encrypted. TLS 1.3 protects every record after the ServerHello inside
// application_data records (RFC 8446 5.2): a handshake or alert record is
// plaintext there (a second ClientHello after HelloRetryRequest, an alert
// sent before the keys). TLS 1.2 protects every record after
// change_cipher_spec (RFC 5246 7.1).
func (s *Stream) protected() bool {
	switch s.recType {
	case recordApplicationData:
		return true
	case recordHandshake, recordAlert:
		return s.ccs && !s.tls13
	}
	return false
}

// askKeys is called after the server's ServerHello: it sets the openers of
// both directions when keys has them.
func (s *Stream) askKeys() {
	if s.keys == nil || s.peer == nil || s.isClient {
		return
	}
	ch, sh := s.peer.sum.ClientHello, s.sum.ServerHello
	if ch == nil || sh == nil {
		return
	}
	if c, srv, ok := s.keys.Openers(ch, sh); ok {
		s.peer.opener, s.opener = c, srv
	}
}

// decrypted handles the plaintext of a protected record: handshake
// messages (TLS 1.3's Certificate, Finished), alerts, application data
// (counted only, never kept).
func (s *Stream) decrypted(inner uint8, plain []byte, frame uint64) {
	s.sum.Decrypted++
	switch inner {
	case recordAlert:
		if len(plain) >= 2 {
			a := Alert{Level: plain[0], Description: plain[1], Frame: frame, Decrypted: true}
			if len(s.sum.Alerts) < MaxAlerts {
				s.sum.Alerts = append(s.sum.Alerts, a)
			}
		}
	case recordHandshake:
		s.decHS = append(s.decHS, plain...)
		for len(s.decHS) >= handshakeHdrLen {
			typ, n := s.decHS[0], int(s.decHS[1])<<16|int(s.decHS[2])<<8|int(s.decHS[3])
			if n > maxHandshakeCertificate {
				s.decHS = nil
				return
			}
			if len(s.decHS) < handshakeHdrLen+n {
				if len(s.decHS) > MaxBuffer {
					s.decHS = nil
				}
				return
			}
			s.decryptedMessage(typ, s.decHS[handshakeHdrLen:handshakeHdrLen+n], frame)
			s.decHS = s.decHS[handshakeHdrLen+n:]
		}
	}
}

func (s *Stream) decryptedMessage(typ uint8, body []byte, frame uint64) {
	const typeCertificateMsg, typeFinished = 11, 20
	switch typ {
	case typeCertificateMsg:
		if s.sum.CertificateFrame != 0 {
			return
		}
		parse := ParseCertificateMessageTLS13
		if !s.tls13 {
			parse = ParseCertificateMessage
		}
		if certs, err := parse(body); err == nil || len(certs) > 0 {
			s.sum.Certificates, s.sum.CertificateFrame, s.sum.CertificatesDecrypted = certs, frame, true
		}
	case typeFinished:
		setFirst(&s.sum.FinishedFrame, frame)
	}
}
