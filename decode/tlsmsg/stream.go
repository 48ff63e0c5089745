package tlsmsg

// Summary is what a Stream saw in one direction of a connection. Frame
// fields hold 1-based capture frame numbers; 0 means not seen. A handshake
// message is attributed to the frame that carried the last byte of the
// record completing it, the frame in which Wireshark shows the reassembled
// message (or, if that record never completes, the frame that carried the
// message's last byte).
type Summary struct {
	// ClientHello is the first ClientHello (a second one, after a
	// HelloRetryRequest, is checked but not kept).
	ClientHello      *ClientHello
	ClientHelloFrame uint64
	// ServerHello is the first ServerHello that is not a HelloRetryRequest.
	ServerHello      *ServerHello
	ServerHelloFrame uint64
	// HelloRetryRequest is the first HelloRetryRequest (RFC 8446 4.1.4).
	HelloRetryRequest      *ServerHello
	HelloRetryRequestFrame uint64
	// Certificates is the first plaintext Certificate message's chain
	// (TLS 1.2 and earlier; TLS 1.3 encrypts it).
	Certificates     []Certificate
	CertificateFrame uint64
	// ServerHelloDoneFrame is where the TLS 1.2 server flight ended.
	ServerHelloDoneFrame uint64
	// Alerts lists the first MaxAlerts alert records; AlertRecords counts
	// all of them.
	Alerts       []Alert
	AlertRecords int
	// ChangeCipherSpecFrame is the first change_cipher_spec record.
	ChangeCipherSpecFrame uint64
	// FirstAppDataFrame is the first application_data record. In TLS 1.3
	// that is already the encrypted handshake (RFC 8446 5.2).
	FirstAppDataFrame uint64
	// FirstAppData are the first application_data records. Their lengths
	// tell a TLS 1.3 Finished (hash length + 21 bytes) from an encrypted
	// alert (19 bytes with a 16-byte AEAD tag, RFC 8446 5.2).
	FirstAppData [4]AppRecord
	// AppDataRecords, HandshakeRecords and Records count complete records
	// (Records counts all content types).
	AppDataRecords   int
	HandshakeRecords int
	Records          int
	// Gaps counts calls to Stream.Gap.
	Gaps int
	// Malformed is Err's text, empty if none. After the first structural
	// error the Stream stops parsing.
	Malformed string
	// Err is the first structural error, a *StreamError wrapping a sentinel.
	Err error
	// Truncated reports that the bytes stopped inside a record or a
	// handshake message (the capture ended or was cut), or that a message
	// exceeded MaxBuffer.
	Truncated bool
	// Decrypted counts protected records opened with keys (a key log);
	// CertificatesDecrypted reports the chain came from one of them (TLS
	// 1.3's encrypted Certificate); FinishedFrame is the decrypted
	// Finished.
	Decrypted             int
	CertificatesDecrypted bool
	FinishedFrame         uint64
	// DecryptErrors counts protected records the keys did not open.
	DecryptErrors int
}

// AppRecord is one application_data record: the frame that completed it and
// its length.
type AppRecord struct {
	Frame uint64
	Len   uint16
}

// Frames to move to the end of the current record (see Summary).
const (
	pendClientHello uint8 = 1 << iota
	pendServerHello
	pendHelloRetry
	pendCertificate
	pendServerHelloDone
)

// Stream parses the bytes of one direction of a TCP connection, in
// sequence order, as records (RFC 8446 5.1, RFC 5246 6.2) and handshake
// messages, reassembling messages across records and Feed calls. Its zero
// value is ready to use.
//
// Once this direction has sent change_cipher_spec, its handshake records
// are encrypted (TLS 1.2 Finished) and are counted, not parsed; the one
// exception is a record holding exactly one whole ClientHello or
// ServerHello: TLS 1.3's compatibility mode sends its dummy
// change_cipher_spec before the second hello after a HelloRetryRequest
// (RFC 8446 D.4). An encrypted TLS 1.2 Finished passes that test with a
// probability near 2^-31 (a first byte of 1 or 2, then a 24-bit length
// equal to the record's). Once TLS 1.3 is selected (by this direction's
// ServerHello, or SetTLS13Encrypted), handshake records are not parsed.
//
// Alerts are read when the record is 2 bytes long and reported Encrypted
// otherwise. Length alone decides: every TLS 1.2 cipher adds a MAC or tag
// to a protected record, and TLS 1.3 protects alerts inside
// application_data records, so an alert record of 2 bytes is plaintext
// even after change_cipher_spec.
//
// An SSL 2.0-compatible ClientHello (first byte with the high bit set,
// RFC 5246 E.2) is recognised and recorded as an ErrSSLv2 error, not parsed.
type Stream struct {
	// Certs, when set, shares parsed certificate chains between streams:
	// connections to one server send the same chain, and parsing X.509 is
	// the costliest step of a handshake.
	Certs *CertCache
	// Names, when set, interns server names across streams.
	Names *Names

	// Decryption (LinkDecryption): the keys, the other direction's Stream,
	// this direction's opener, the protected record being gathered and
	// decrypted handshake bytes not yet parsed.
	keys     Keys
	peer     *Stream
	isClient bool
	opener   RecordOpener
	enc      []byte
	// encrypted is decided at the record header: a record already under
	// way when the keys arrive (the ServerHello itself) is not protected.
	encrypted bool
	decHS     []byte

	sum Summary
	// ch holds the first ClientHello (Summary.ClientHello points here);
	// Reset keeps its lists' storage for the next connection.
	ch ClientHello
	// sh holds the first ServerHello the same way.
	sh ServerHello

	off    int64 // bytes fed, excluding gaps: the offset of the next byte
	recOff int64 // offset of the current record's header

	hdr      [recordHeaderLen]byte
	hdrN     int
	inRecord bool
	recType  uint8
	recLen   int
	recLeft  int
	skip     bool // the rest of the current record is not parsed
	probe    bool // the record must hold exactly one plaintext hello
	alert    [2]byte

	hsHdr  [handshakeHdrLen]byte
	hsHdrN int
	hsLen  int
	hsBody []byte // a message body spanning records or Feed calls

	ccs, tls13        bool
	resync, tentative bool
	stopped, capped   bool
	pending           uint8
}

// Feed hands the Stream the next bytes in sequence order; all of b arrived
// in the capture frame numbered frame (1-based). Messages and records are
// attributed to frames as Summary describes. Feed copies what it keeps, so
// b may be reused; complete records are parsed in place.
func (s *Stream) Feed(b []byte, frame uint64) {
	for len(b) > 0 && !s.stopped {
		switch {
		case s.resync:
			b = s.scan(b, frame)
		case !s.inRecord:
			b = s.readHeader(b, frame)
		default:
			b = s.readPayload(b, frame)
		}
	}
}

// Gap tells the Stream that bytes are missing before the next Feed
// (capture loss, or a capture starting mid-connection). The partial record
// and message are dropped, and parsing resumes at the next plausible record
// header. Errors in the first record after a gap, which may be a false
// match inside encrypted data, resume the search instead of stopping the
// Stream.
func (s *Stream) Gap() {
	s.sum.Gaps++
	if s.stopped {
		return
	}
	s.dropPartial()
	s.resync, s.tentative = true, false
}

// ServerHello is the first ServerHello that is not a HelloRetryRequest, or
// nil; cheaper than Summary for a caller that polls.
func (s *Stream) ServerHello() *ServerHello { return s.sum.ServerHello }

// AppDataRecords is Summary().AppDataRecords, cheaply.
func (s *Stream) AppDataRecords() int { return s.sum.AppDataRecords }

// Stopped reports whether the Stream stopped parsing after an error.
func (s *Stream) Stopped() bool { return s.stopped }

// SetTLS13Encrypted tells the Stream that TLS 1.3 was selected, so its
// later handshake records are encrypted. Call it on the client's Stream when
// the server's ServerHello (not a HelloRetryRequest) selects TLS 1.3; the
// server's Stream infers it from its own ServerHello.
func (s *Stream) SetTLS13Encrypted() { s.tls13 = true }

// Summary returns what the Stream has seen so far. Its slices and pointers
// are shared with the Stream and must not be modified; the ClientHello and
// ServerHello are the Stream's own storage, valid until Reset.
func (s *Stream) Summary() Summary {
	sum := s.sum
	sum.Truncated = s.capped ||
		!s.stopped && !s.resync && (s.inRecord || s.hdrN > 0 || s.hsHdrN > 0)
	return sum
}

// Reset returns the Stream to its zero state, keeping its buffers and the
// storage of its hellos for the next connection.
func (s *Stream) Reset() {
	*s = Stream{hsBody: s.hsBody[:0], enc: s.enc[:0], ch: ClientHello{store: s.ch.store}, sh: ServerHello{Extensions: s.sh.Extensions[:0]}}
}

func (s *Stream) readHeader(b []byte, frame uint64) []byte {
	n := copy(s.hdr[s.hdrN:], b)
	s.hdrN += n
	s.off += int64(n)
	if s.hdrN == recordHeaderLen {
		s.startRecord(frame)
	}
	return b[n:]
}

// startRecord checks the header in s.hdr and enters the record.
func (s *Stream) startRecord(frame uint64) {
	s.hdrN = 0
	s.recOff = s.off - recordHeaderLen
	typ := s.hdr[0]
	vers := uint16(s.hdr[1])<<8 | uint16(s.hdr[2])
	n := int(s.hdr[3])<<8 | int(s.hdr[4])
	var err error
	switch {
	case s.recOff == 0 && s.sum.Gaps == 0 && typ&0x80 != 0:
		err = &Error{Msg: "sslv2-compatible hello (not parsed)", Err: ErrSSLv2}
	case !isContentType(typ):
		err = errorf(ErrMalformed, "unknown content type %d", typ)
	case vers>>8 != 3:
		err = errorf(ErrMalformed, "record version 0x%04x", vers)
	case n > MaxRecordLen:
		err = errorf(ErrTooLarge, "record length %d exceeds limit", n)
	case typ != recordHandshake && s.hsHdrN > 0:
		// RFC 8446 5.1: handshake messages MUST NOT be interleaved
		// with other record types.
		err = errorf(ErrMalformed, "content type %d inside a fragmented handshake message", typ)
	}
	if err != nil {
		s.fail(err)
		return
	}
	s.inRecord, s.recType, s.recLen, s.recLeft = true, typ, n, n
	s.skip = typ == recordHandshake && s.tls13
	s.probe = typ == recordHandshake && s.ccs && !s.tls13
	s.encrypted, s.enc = s.opener != nil && s.protected(), s.enc[:0]
	if n == 0 {
		s.endRecord(frame)
	}
}

func (s *Stream) readPayload(b []byte, frame uint64) []byte {
	n := min(s.recLeft, len(b))
	chunk := b[:n]
	pos := s.recLen - s.recLeft
	s.recLeft -= n
	s.off += int64(n)
	switch s.recType {
	case recordHandshake:
		if !s.skip {
			s.handshake(chunk, frame)
		}
	case recordAlert:
		if s.recLen == len(s.alert) {
			copy(s.alert[pos:], chunk)
		}
	}
	if s.encrypted && len(s.enc)+len(chunk) <= maxProtected {
		s.enc = append(s.enc, chunk...)
	}
	if s.inRecord && s.recLeft == 0 && !s.stopped {
		s.endRecord(frame)
	}
	return b[n:]
}

func (s *Stream) endRecord(frame uint64) {
	s.inRecord, s.tentative = false, false
	s.sum.Records++
	if s.encrypted {
		s.encrypted = false
		plain, inner, err := s.opener.Open(s.hdr, s.enc)
		s.enc = s.enc[:0]
		if err != nil {
			s.sum.DecryptErrors++
		} else {
			s.decrypted(inner, plain, frame)
			if s.recType == recordAlert || inner == recordAlert {
				s.sum.AlertRecords++
				s.finishPending(frame)
				return // the alert was recorded decrypted
			}
		}
	}
	switch s.recType {
	case recordChangeCipherSpec:
		s.ccs = true
		setFirst(&s.sum.ChangeCipherSpecFrame, frame)
	case recordAlert:
		s.sum.AlertRecords++
		a := Alert{Frame: frame, Encrypted: s.recLen != len(s.alert)}
		if !a.Encrypted {
			a.Level, a.Description = s.alert[0], s.alert[1]
		}
		if len(s.sum.Alerts) < MaxAlerts {
			s.sum.Alerts = append(s.sum.Alerts, a)
		}
	case recordHandshake:
		s.sum.HandshakeRecords++
	case recordApplicationData:
		if s.sum.AppDataRecords < len(s.sum.FirstAppData) {
			s.sum.FirstAppData[s.sum.AppDataRecords] = AppRecord{Frame: frame, Len: uint16(s.recLen)}
		}
		s.sum.AppDataRecords++
		setFirst(&s.sum.FirstAppDataFrame, frame)
	}
	s.finishPending(frame)
}

// finishPending attributes messages completed in this record to frame.
func (s *Stream) finishPending(frame uint64) {
	for bit := uint8(1); s.pending != 0; bit <<= 1 {
		if s.pending&bit != 0 {
			*s.frameField(bit) = frame
			s.pending &^= bit
		}
	}
}

// scan looks for a plausible record header after a gap, keeping up to 4
// bytes of a candidate that continues in the next Feed.
func (s *Stream) scan(b []byte, frame uint64) []byte {
	for s.hdrN > 0 && len(b) > 0 {
		s.hdr[s.hdrN] = b[0]
		s.hdrN++
		s.off++
		b = b[1:]
		if s.hdrN < recordHeaderLen {
			continue
		}
		if plausibleHeader(s.hdr[:]) {
			s.found(frame)
			return b
		}
		s.hdrN = copy(s.hdr[:], s.hdr[1:])
		for s.hdrN > 0 && !isContentType(s.hdr[0]) {
			s.hdrN = copy(s.hdr[:], s.hdr[1:s.hdrN])
		}
	}
	if s.hdrN > 0 {
		return b
	}
	for i := 0; i+recordHeaderLen <= len(b); i++ {
		if isContentType(b[i]) && plausibleHeader(b[i:]) {
			s.off += int64(i + recordHeaderLen)
			copy(s.hdr[:], b[i:])
			s.found(frame)
			return b[i+recordHeaderLen:]
		}
	}
	i := max(len(b)-(recordHeaderLen-1), 0)
	for i < len(b) && !isContentType(b[i]) {
		i++
	}
	s.hdrN = copy(s.hdr[:], b[i:])
	s.off += int64(len(b))
	return nil
}

func (s *Stream) found(frame uint64) {
	s.resync, s.tentative = false, true
	s.startRecord(frame)
}

// fail records the first structural error and stops the Stream, or, in
// the tentative record after a gap, resumes the search for a header.
func (s *Stream) fail(err error) {
	if s.tentative {
		s.dropPartial()
		s.resync, s.tentative = true, false
		return
	}
	e := &StreamError{Offset: s.recOff, Err: err}
	s.sum.Err, s.sum.Malformed = e, e.Error()
	s.stopped = true
}

// dropPartial forgets the partial record and handshake message.
func (s *Stream) dropPartial() {
	s.inRecord, s.skip, s.probe = false, false, false
	s.hdrN, s.hsHdrN, s.hsLen = 0, 0, 0
	s.hsBody = s.hsBody[:0]
	s.pending = 0
}

func setFirst(f *uint64, frame uint64) {
	if *f == 0 {
		*f = frame
	}
}
