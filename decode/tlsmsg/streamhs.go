package tlsmsg

// handshake consumes a handshake record's payload bytes (RFC 8446 4): whole
// messages are parsed in place; a message that continues in a later record
// or Feed call is copied into s.hsBody.
func (s *Stream) handshake(b []byte, frame uint64) {
	for len(b) > 0 && s.parsing() {
		switch {
		case s.hsHdrN == 0 && len(b) >= handshakeHdrLen:
			typ, n := b[0], int(b[1])<<16|int(b[2])<<8|int(b[3])
			if !s.beginMessage(typ, n) {
				return
			}
			if handshakeHdrLen+n <= len(b) {
				s.message(typ, b[handshakeHdrLen:handshakeHdrLen+n], frame)
				b = b[handshakeHdrLen+n:]
				continue
			}
			s.hsHdrN = copy(s.hsHdr[:], b)
			b = b[handshakeHdrLen:]
			if !s.reserve(n) {
				return
			}
		case s.hsHdrN < handshakeHdrLen:
			k := copy(s.hsHdr[s.hsHdrN:], b)
			s.hsHdrN += k
			b = b[k:]
			if s.hsHdrN < handshakeHdrLen {
				return
			}
			n := int(s.hsHdr[1])<<16 | int(s.hsHdr[2])<<8 | int(s.hsHdr[3])
			if !s.beginMessage(s.hsHdr[0], n) || !s.reserve(n) {
				return
			}
		}
		k := min(s.hsLen-len(s.hsBody), len(b))
		s.appendBody(b[:k])
		b = b[k:]
		if len(s.hsBody) == s.hsLen {
			typ, body := s.hsHdr[0], s.hsBody
			s.hsHdrN, s.hsBody = 0, s.hsBody[:0]
			s.message(typ, body, frame)
		}
	}
}

func (s *Stream) parsing() bool { return s.inRecord && !s.stopped && !s.skip }

// beginMessage checks a message header before any byte of its body is
// used. After change_cipher_spec it also decides whether the record is a
// plaintext hello (see Stream) or encrypted.
func (s *Stream) beginMessage(typ uint8, n int) bool {
	if s.probe {
		s.probe = false
		if typ != typeClientHello && typ != typeServerHello || handshakeHdrLen+n != s.recLen {
			s.skip, s.hsHdrN = true, 0
			return false
		}
	}
	limit := maxHandshake
	if typ == typeCertificate {
		limit = maxHandshakeCertificate
	}
	if n > limit {
		s.fail(errorf(ErrTooLarge, "handshake type %d length %d exceeds limit", typ, n))
		return false
	}
	return true
}

// reserve prepares to buffer a body of n bytes, or marks the Stream
// Truncated if the message would exceed MaxBuffer.
func (s *Stream) reserve(n int) bool {
	if handshakeHdrLen+n > MaxBuffer {
		s.capped, s.stopped = true, true
		return false
	}
	s.hsLen = n
	return true
}

// appendBody appends p to the message body, growing the buffer with the
// bytes that actually arrived and never beyond the declared length.
func (s *Stream) appendBody(p []byte) {
	if need := len(s.hsBody) + len(p); need > cap(s.hsBody) {
		nb := make([]byte, len(s.hsBody), min(max(2*cap(s.hsBody), need, 1024), s.hsLen))
		copy(nb, s.hsBody)
		s.hsBody = nb
	}
	s.hsBody = append(s.hsBody, p...)
}

// message handles one complete handshake message; body may be reused
// after it returns.
func (s *Stream) message(typ uint8, body []byte, frame uint64) {
	switch typ {
	case typeClientHello:
		ch := &s.ch
		if s.sum.ClientHello != nil {
			ch = new(ClientHello) // a second hello is checked, not kept
		}
		if err := ch.parse(body, s.Names); err != nil {
			s.fail(err)
			return
		}
		if s.sum.ClientHello == nil {
			s.sum.ClientHello = ch
			s.mark(pendClientHello, frame)
		}
	case typeServerHello:
		sh := &s.sh
		if s.sum.ServerHello != nil || s.sum.HelloRetryRequest != nil {
			// The hello after a HelloRetryRequest, which keeps s.sh, or a
			// second one, which is checked and not kept.
			sh = new(ServerHello)
		}
		if err := sh.parse(body, s.Names); err != nil {
			s.fail(err)
			return
		}
		s.serverHello(sh, frame)
	case typeCertificate:
		if s.sum.CertificateFrame != 0 {
			return
		}
		certs, err := s.Certs.parse(body)
		s.sum.Certificates = certs
		s.mark(pendCertificate, frame)
		if err != nil {
			s.fail(err)
		}
	case typeServerHelloDone:
		// RFC 5246 7.4.5: struct { } ServerHelloDone.
		if len(body) != 0 {
			s.fail(errorf(ErrMalformed, "server hello done has a %d-byte body", len(body)))
			return
		}
		if s.sum.ServerHelloDoneFrame == 0 {
			s.mark(pendServerHelloDone, frame)
		}
	}
}

func (s *Stream) serverHello(sh *ServerHello, frame uint64) {
	switch {
	case sh.HelloRetryRequest:
		if s.sum.HelloRetryRequest == nil {
			s.sum.HelloRetryRequest = sh
			s.mark(pendHelloRetry, frame)
		}
	case s.sum.ServerHello == nil:
		s.sum.ServerHello = sh
		s.mark(pendServerHello, frame)
		if isTLS13(sh.SelectedVersion) {
			// RFC 8446 2: everything after the ServerHello is encrypted.
			s.tls13, s.skip = true, true
		}
		s.askKeys()
	}
}

// mark attributes a message to frame now, and to the frame that completes
// the current record once it does.
func (s *Stream) mark(bit uint8, frame uint64) {
	*s.frameField(bit) = frame
	s.pending |= bit
}

func (s *Stream) frameField(bit uint8) *uint64 {
	switch bit {
	case pendClientHello:
		return &s.sum.ClientHelloFrame
	case pendServerHello:
		return &s.sum.ServerHelloFrame
	case pendHelloRetry:
		return &s.sum.HelloRetryRequestFrame
	case pendCertificate:
		return &s.sum.CertificateFrame
	}
	return &s.sum.ServerHelloDoneFrame
}
