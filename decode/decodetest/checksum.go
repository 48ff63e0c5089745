package decodetest

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// sum adds b to the running one's complement sum acc (RFC 1071). It adds
// 64-bit big-endian words with end-around carry, which folds to the same
// 16-bit result because 2^64 is congruent to 1 modulo 2^16-1 (RFC 1071
// 2(C), "parallel summation"). b starts at an even offset of the summed data.
func sum(b []byte, acc uint64) uint64 {
	var c uint64
	for len(b) >= 32 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[8:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[16:]), c)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b[24:]), c)
		b = b[32:]
	}
	for len(b) >= 8 {
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(b), c)
		b = b[8:]
	}
	if len(b) > 0 {
		var tail [8]byte // zero padding at the end, RFC 1071 4.1
		copy(tail[:], b)
		acc, c = bits.Add64(acc, binary.BigEndian.Uint64(tail[:]), c)
	}
	acc, c = bits.Add64(acc, c, 0)
	return acc + c
}

// fold reduces acc to 16 bits and returns its one's complement, the value
// that goes into a checksum field.
func fold(acc uint64) uint16 {
	for acc>>16 != 0 {
		acc = (acc & 0xffff) + acc>>16
	}
	return ^uint16(acc)
}

// pseudoSum is the sum of the pseudo-header of RFC 9293 3.1 (IPv4) or
// RFC 8200 8.1 (IPv6) for a transport segment of length n.
func pseudoSum(src, dst netip.Addr, proto uint8, n int) uint64 {
	var acc uint64
	if src.Is4() {
		s, d := src.As4(), dst.As4()
		acc = sum(s[:], acc)
		acc = sum(d[:], acc)
	} else {
		s, d := src.As16(), dst.As16()
		acc = sum(s[:], acc)
		acc = sum(d[:], acc)
	}
	return acc + uint64(proto) + uint64(n)
}

// Checksum returns the Internet checksum (RFC 1071) of b: the value to store
// in a zeroed checksum field, or 0 when b already holds a correct one.
func Checksum(b []byte) uint16 {
	return fold(sum(b, 0))
}
