package decode

import (
	"errors"
	"fmt"
)

// Sentinels classify why a capture could not be read to its end. Callers test
// them with errors.Is; the *Error that wraps them says where.
var (
	// ErrNotCapture means the file starts with neither a pcap nor a pcapng magic.
	ErrNotCapture = errors.New("not a pcap or pcapng capture")
	// ErrTruncated means the file ends inside a record or block.
	ErrTruncated = errors.New("capture truncated")
	// ErrCorrupt means a record or block header holds impossible values.
	ErrCorrupt = errors.New("capture corrupt")
	// ErrUnsupportedLinkType means no decoder exists for an interface's link
	// type. It is reported per frame as Packet.Malformed, never as a read error.
	ErrUnsupportedLinkType = errors.New("unsupported link type")
)

// Error is a failure to read a capture. Frame is the number (1-based, as
// Wireshark counts) of the frame that could not be read, Offset the byte
// offset from the start of the file of the record or block where reading
// stopped. Everything before Frame was read and stays valid.
type Error struct {
	Frame  uint64
	Offset int64
	What   string // the structure being read, e.g. "pcapng enhanced packet block"
	Err    error
}

func (e *Error) Error() string {
	return fmt.Sprintf("decode: frame %d at offset %#x: %s: %v", e.Frame, e.Offset, e.What, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }
