package report

import (
	"bytes"
	"encoding/json"
	"strings"
)

// indenter encodes values as json.MarshalIndent does, byte for byte, with
// a faster indent pass and buffers reused from one value to the next.
// encoding/json indents by running its full validating scanner over the
// compact encoding, about 7 ns a byte: for the benchmark capture's 320 MB
// of flows that was 2.3 s of a 9 s run, more than encoding them. What the
// encoder writes is valid compact JSON already, so here only strings need
// to be told apart from structure (indentCompact). The reused buffers
// matter as much: a json.Marshal and a fresh indent buffer for each of
// 150,000 flows allocated 600 MB. TestIndentMatchesEncodingJSON and
// FuzzIndentJSON check the bytes against json.Indent's.
type indenter struct {
	raw bytes.Buffer
	enc *json.Encoder
	out []byte
}

// indent returns v encoded and indented, valid until the next call.
func (in *indenter) indent(v any, prefix, indent string) ([]byte, error) {
	if in.enc == nil {
		in.enc = json.NewEncoder(&in.raw) // escapes HTML as json.Marshal does
	}
	in.raw.Reset()
	if err := in.enc.Encode(v); err != nil {
		return nil, err
	}
	in.out = indentCompact(in.out[:0], bytes.TrimSuffix(in.raw.Bytes(), []byte("\n")), prefix, indent)
	return in.out, nil
}

// indentCompact appends src, compact JSON as json.Marshal writes it, to dst
// laid out as json.Indent lays it out: a newline and the indent after each
// opening bracket (none inside an empty object or array), after each comma
// and before each closing bracket, and a space after each colon.
func indentCompact(dst, src []byte, prefix, indent string) []byte {
	depth, pending := 0, false // pending: an opening bracket whose newline waits to see if it is empty
	for i := 0; i < len(src); i++ {
		c := src[i]
		if pending && c != '}' && c != ']' {
			pending = false
			depth++
			dst = newline(dst, prefix, indent, depth)
		}
		switch c {
		case '"':
			// The closing quote is the next one not escaped, that is not
			// after an odd run of backslashes. Each run is looked at once,
			// for the quote that follows it, so a long string costs its
			// length, escapes or not.
			j := len(src) - 1
			for from := i + 1; from < len(src); {
				k := bytes.IndexByte(src[from:], '"')
				if k < 0 {
					break
				}
				q, esc := from+k, false
				for p := q - 1; p > i && src[p] == '\\'; p-- {
					esc = !esc
				}
				if !esc {
					j = q
					break
				}
				from = q + 1
			}
			dst = append(dst, src[i:j+1]...)
			i = j
		case '{', '[':
			pending = true
			dst = append(dst, c)
		case ',':
			dst = newline(append(dst, c), prefix, indent, depth)
		case ':':
			dst = append(dst, ':', ' ')
		case '}', ']':
			if pending {
				pending = false
			} else {
				depth--
				dst = newline(dst, prefix, indent, depth)
			}
			dst = append(dst, c)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

func newline(dst []byte, prefix, indent string, depth int) []byte {
	// qadiag's documents indent by the same prefix and two spaces: one
	// append of a ready line start instead of one per level.
	if prefix == newlinePrefix && indent == "  " && depth <= maxReadyDepth {
		return append(dst, readyNewlines[:1+len(newlinePrefix)+2*depth]...)
	}
	dst = append(append(dst, '\n'), prefix...)
	for range depth {
		dst = append(dst, indent...)
	}
	return dst
}

// newlinePrefix is the prefix of every flow in a document (writeDoc).
const (
	newlinePrefix = "    "
	maxReadyDepth = 32
)

var readyNewlines = "\n" + newlinePrefix + strings.Repeat("  ", maxReadyDepth)
