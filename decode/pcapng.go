package decode

import (
	"encoding/binary"
	"fmt"
	"time"

	"github.com/gopacket/gopacket/layers"
)

// pcapng block types (draft-ietf-opsawg-pcapng 4).
const (
	blockSHB = 0x0a0d0d0a
	blockIDB = 0x00000001
	blockPB  = 0x00000002 // obsolete Packet Block
	blockSPB = 0x00000003
	blockISB = 0x00000005
	blockEPB = 0x00000006
	// Custom blocks (pcapng 4.8). Wireshark shows each as a frame of its own
	// and numbers it, so qadiag counts them to keep frame numbers equal.
	blockDSB    = 0x0000000a
	blockCB     = 0x00000bad
	blockCBCopy = 0x40000bad
)

// customBlock is a custom block found ahead of the next packet block.
type customBlock struct {
	offset int64
	length int // bytes after the 12-byte block header and trailer
}

// scanBlocks looks ahead, without consuming, from the current position to the
// next packet block, checking every block header on the way: the length is at
// least 12, a multiple of 4, equal to its trailing copy, and large enough for
// the block's fixed fields and captured bytes. pcapgo checks none of this and
// does not say where a block starts; this scan gives each frame its exact
// offset and each damaged block an error naming it. It returns the offset of
// the packet block (or of the end of the file).
//
// Blocks are peeked inside the read buffer only; a run of non-packet blocks
// longer than the buffer is left to pcapgo unchecked, and the offset returned
// is then that of the first block not scanned.
func (r *Reader) scanBlocks() (int64, error) {
	pos := r.cr.n - int64(r.br.Buffered())
	k := 0
	for {
		hdr, _ := r.br.Peek(k + 12)
		switch {
		case len(hdr) == k:
			return pos + int64(k), nil // clean end of file; pcapgo returns io.EOF
		case len(hdr) < k+12:
			return 0, r.blockError(pos+int64(k), "pcapng block header", fmt.Errorf("%w: %d of 12 bytes", ErrTruncated, len(hdr)-k))
		}
		typ := binary.LittleEndian.Uint32(hdr[k:])
		if typ == blockSHB {
			switch binary.LittleEndian.Uint32(hdr[k+8:]) {
			case 0x1a2b3c4d:
				r.ngSection, r.ngBig = true, false
			case 0x4d3c2b1a:
				r.ngSection, r.ngBig = true, true
			default:
				return 0, r.blockError(pos+int64(k), "pcapng section header block", fmt.Errorf("%w: byte-order magic % x", ErrCorrupt, hdr[k+8:k+12]))
			}
			// Wireshark stops at a section of another major version; so does
			// qadiag, so that both number the same frames.
			if vb, _ := r.br.Peek(k + 14); len(vb) == k+14 {
				if major := r.ng16(vb[k+12:]); major != 1 {
					return 0, r.blockError(pos+int64(k), "pcapng section header block", fmt.Errorf("%w: unsupported pcapng major version %d", ErrCorrupt, major))
				}
			}
			r.info.Sections++
		} else if !r.ngSection {
			return 0, r.blockError(pos+int64(k), "pcapng block", fmt.Errorf("%w: block type %#x before any section header", ErrCorrupt, typ))
		}
		typ = r.ng32(hdr[k:])
		blen := int(r.ng32(hdr[k+4:]))
		if err := checkBlockLength(typ, blen); err != nil {
			return 0, r.blockError(pos+int64(k), blockName(typ), err)
		}
		if k+blen > bufSize {
			return pos + int64(k), nil // too large to peek: pcapgo reads it unchecked
		}
		block, _ := r.br.Peek(k + blen)
		if len(block) < k+blen {
			return 0, r.blockError(pos+int64(k), blockName(typ), fmt.Errorf("%w: block length %d, %d bytes left in file", ErrTruncated, blen, len(block)-k))
		}
		b := block[k : k+blen]
		if trail := int(r.ng32(b[blen-4:])); trail != blen {
			return 0, r.blockError(pos+int64(k), blockName(typ), fmt.Errorf("%w: block length %d, trailing length %d", ErrCorrupt, blen, trail))
		}
		switch typ {
		case blockIDB:
			r.info.Interfaces++
			if snap := r.ng32(b[12:]); snap > r.info.Snaplen {
				r.info.Snaplen = snap
			}
		case blockEPB, blockPB:
			caplen := int(r.ng32(b[20:]))
			if caplen > blen-32 {
				return 0, r.blockError(pos+int64(k), blockName(typ), fmt.Errorf("%w: captured length %d exceeds block length %d", ErrCorrupt, caplen, blen))
			}
			if typ == blockEPB && k == 0 && blen == 32+(caplen+3)&^3 {
				r.nextEPB = b // the very next block, without options: readEPB can take it
			}
			return pos + int64(k), nil
		case blockSPB:
			return pos + int64(k), nil
		case blockCB, blockCBCopy:
			r.custom = append(r.custom, customBlock{offset: pos + int64(k), length: blen - 12})
		case blockDSB:
			if n := r.secretBytes + blen; blen > 12 && n <= maxSecrets {
				r.info.Secrets = append(r.info.Secrets, append([]byte(nil), b[8:blen-4]...))
				r.secretBytes = n
			}
		}
		k += blen
	}
}

// checkBlockLength checks a block's total length against the pcapng rules and
// the fixed part of the block types qadiag reads.
func checkBlockLength(typ uint32, blen int) error {
	minLen := 12
	switch typ {
	case blockSHB:
		minLen = 28
	case blockIDB:
		minLen = 20
	case blockEPB, blockPB:
		minLen = 32
	case blockSPB:
		minLen = 16
	case blockISB:
		minLen = 24
	}
	if blen < minLen || blen%4 != 0 {
		return fmt.Errorf("%w: block length %d (must be a multiple of 4, at least %d)", ErrCorrupt, blen, minLen)
	}
	return nil
}

func blockName(typ uint32) string {
	switch typ {
	case blockSHB:
		return "pcapng section header block"
	case blockIDB:
		return "pcapng interface description block"
	case blockPB:
		return "pcapng packet block"
	case blockSPB:
		return "pcapng simple packet block"
	case blockISB:
		return "pcapng interface statistics block"
	case blockEPB:
		return "pcapng enhanced packet block"
	}
	return fmt.Sprintf("pcapng block type %#x", typ)
}

// ng32 reads a 32-bit field in the current section's byte order: a
// predictable branch and two inlined loads, where a call through the
// binary.ByteOrder interface per field cost about 15 ns a packet.
func (r *Reader) ng32(b []byte) uint32 {
	if r.ngBig {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (r *Reader) ng16(b []byte) uint16 {
	if r.ngBig {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (r *Reader) blockError(off int64, what string, err error) error {
	return &Error{Frame: r.next, Offset: off, What: what, Err: err}
}

// slowEPB turns readEPB off, for the tests that check it reads as pcapgo.
var slowEPB = false

// ngIface is what readEPB needs of a pcapng interface: pcapgo's timestamp
// arithmetic (NgReader.convertTime, from the interface's public resolution
// and offset) and its link type.
type ngIface struct {
	secondMask, scaleUp, scaleDown, offset uint64
	link                                   layers.LinkType
}

// iface returns interface i of the current section as pcapgo holds it, or
// false when pcapgo has no such interface (it then reports the error).
func (r *Reader) iface(i int) (*ngIface, bool) {
	if i < len(r.ifaces) {
		return &r.ifaces[i], true
	}
	for n := r.ng.NInterfaces(); len(r.ifaces) < n; {
		in, err := r.ng.Interface(len(r.ifaces))
		if err != nil {
			return nil, false
		}
		// As pcapgo's readInterfaceDescriptor: a power of 2 or of 10, the
		// latter allowed to overflow as it always was.
		x := ngIface{scaleUp: 1, scaleDown: 1, offset: in.TimestampOffset, link: in.LinkType}
		if res := in.TimestampResolution; res.Binary() {
			x.secondMask = 1 << res.Exponent()
		} else {
			x.secondMask = 1
			for range res.Exponent() {
				x.secondMask *= 10
			}
		}
		if x.secondMask == 0 {
			return nil, false
		}
		if x.secondMask < 1e9 {
			x.scaleUp = 1e9 / x.secondMask
		} else {
			x.scaleDown = x.secondMask / 1e9
		}
		r.ifaces = append(r.ifaces, x)
	}
	if i < len(r.ifaces) {
		return &r.ifaces[i], true
	}
	return nil, false
}

// readEPB reads the enhanced packet block scanBlocks found next, when it
// has no options, into f itself, as pcapgo would (same time, lengths,
// interface and link type), and consumes it from the read buffer: pcapgo's
// general block reader cost about 130 ns a packet, twice the rest of
// reading. Anything else (options, an unknown interface) is left to pcapgo.
func (r *Reader) readEPB(f *Frame, b []byte) bool {
	id := int(r.ng32(b[8:]))
	in, ok := r.iface(id)
	if !ok {
		return false
	}
	ts := uint64(r.ng32(b[12:]))<<32 | uint64(r.ng32(b[16:]))
	caplen := int(r.ng32(b[20:]))
	f.Time = time.Unix(int64(ts/in.secondMask+in.offset), int64(ts%in.secondMask*in.scaleUp/in.scaleDown)).UTC()
	f.CapLen, f.OrigLen = caplen, int(r.ng32(b[24:]))
	f.Interface = id
	f.LinkType = in.link
	f.Comments = 0
	f.Data = b[28 : 28+caplen : 28+caplen] // valid until the buffer is refilled, as pcapgo's
	_, _ = r.br.Discard(len(b))
	return true
}
