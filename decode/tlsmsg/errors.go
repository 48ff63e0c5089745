package tlsmsg

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors, for use with errors.Is.
var (
	// ErrMalformed reports a structural fault: a length that reaches past its
	// parent, a list of odd length, bytes left over, a repeated extension, an
	// unknown record content type.
	ErrMalformed = errors.New("malformed")
	// ErrTooLarge reports a record or handshake message longer than the
	// protocol or this package allows.
	ErrTooLarge = errors.New("exceeds limit")
	// ErrSSLv2 reports an SSL 2.0-compatible ClientHello (RFC 5246 E.2), which
	// is recognised but not parsed.
	ErrSSLv2 = errors.New("sslv2-compatible hello")
)

// Error is a parse error. Msg says what failed and where in the message;
// Err is one of the sentinels; Cause, when set, is the underlying error
// (crypto/x509's, for a certificate).
type Error struct {
	Msg   string
	Err   error
	Cause error
}

// Error returns "tls: " followed by Msg.
func (e *Error) Error() string { return "tls: " + e.Msg }

// Unwrap returns the sentinel and the cause.
func (e *Error) Unwrap() []error {
	if e.Cause == nil {
		return []error{e.Err}
	}
	return []error{e.Err, e.Cause}
}

func errorf(sentinel error, format string, args ...any) *Error {
	return &Error{Msg: fmt.Sprintf(format, args...), Err: sentinel}
}

// StreamError locates a fault found by a Stream. Offset counts the bytes
// handed to the Stream before the first byte of the record in which the fault
// was found (bytes lost in gaps are not counted).
type StreamError struct {
	Offset int64
	Err    error
}

// Error reports the offset and the fault, e.g. "tls: record at stream offset
// 517: handshake type 1 length 70000 exceeds limit".
func (e *StreamError) Error() string {
	return fmt.Sprintf("tls: record at stream offset %d: %s", e.Offset,
		strings.TrimPrefix(e.Err.Error(), "tls: "))
}

// Unwrap returns the fault.
func (e *StreamError) Unwrap() error { return e.Err }
