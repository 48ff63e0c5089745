package stunmsg

import (
	"bytes"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzSTUN drives Parse, IsSTUN, IsClassicSTUN, ParseChannelData and
// NextTCPMessage with arbitrary bytes and checks properties that must hold
// for any input.
func FuzzSTUN(f *testing.F) {
	for _, name := range fixtureNames(f) {
		f.Add(fixture(f, name))
	}
	for _, v := range []string{rfc5769Request, rfc5769IPv4Response, rfc5769IPv6Response, rfc5769LongTermRequest} {
		f.Add([]byte(v))
	}
	var p Parser
	var m1, m2 Message
	f.Fuzz(func(t *testing.T, b []byte) {
		checkParse(t, &p, &m1, &m2, b)
		checkChannelData(t, b)
		checkTCP(t, b)
	})
}

// checkParse parses b twice with a reused Parser and Message pair.
func checkParse(t *testing.T, p *Parser, m1, m2 *Message, b []byte) {
	t.Helper()
	err1 := p.Parse(b, m1)
	err2 := p.Parse(b, m2)
	if (err1 == nil) != (err2 == nil) {
		t.Fatalf("second parse disagrees: %v vs %v", err1, err2)
	}
	if diff := cmp.Diff(*m1, *m2, cmpOpts...); diff != "" {
		t.Fatalf("second parse differs (-first +second):\n%s", diff)
	}
	// A classic message is structurally sound, though an attribute value
	// may still be impossible (testdata/fuzz/FuzzSTUN/398f16646476b183).
	if IsClassicSTUN(b) && (!m1.Classic || m1.Class == "" || (len(b) > headerLen && len(m1.Attributes) == 0)) {
		t.Fatalf("IsClassicSTUN but Parse = %v, Classic = %v, %d attributes", err1, m1.Classic, len(m1.Attributes))
	}
	if len(b) >= headerLen && 4*len(m1.Attributes) > len(b)-headerLen {
		t.Fatalf("%d attributes in %d bytes", len(m1.Attributes), len(b))
	}
	for _, s := range []string{m1.Software, m1.Realm, m1.Username, m1.ErrorReason} {
		if len(s) > maxTextLen {
			t.Fatalf("text of %d bytes kept", len(s))
		}
	}
	if err1 == nil && m1.Class == "" {
		t.Fatalf("parsed without a class")
	}
}

// checkChannelData checks ParseChannelData's result against b.
func checkChannelData(t *testing.T, b []byte) {
	t.Helper()
	ch, n, ok := ParseChannelData(b)
	if !ok {
		return
	}
	if ch < MinChannel || ch > MaxChannel || 4+n > len(b) || len(b)-(4+n) > 3 {
		t.Fatalf("ParseChannelData(%x) = %#x, %d, true", b, ch, n)
	}
}

// checkTCP walks b with NextTCPMessage and checks that the pieces are in
// order, inside b and parseable as what they claim to be.
func checkTCP(t *testing.T, b []byte) {
	t.Helper()
	rest := b
	for {
		msg, next, kind, ok := NextTCPMessage(rest)
		if !ok {
			if !bytes.Equal(next, rest) || msg != nil {
				t.Fatalf("failed step changed rest or returned a message")
			}
			return
		}
		if len(msg) == 0 || len(next) >= len(rest) || !bytes.HasSuffix(rest, next) {
			t.Fatalf("step did not advance: msg %d, rest %d -> %d", len(msg), len(rest), len(next))
		}
		switch kind {
		case KindChannelData:
			if _, n, ok := ParseChannelData(msg); !ok || n != len(msg)-4 {
				t.Fatalf("ChannelData step %x does not parse", msg)
			}
		case KindSTUN, KindFramed4571STUN:
			if !IsSTUN(msg) || int(msg[2])<<8|int(msg[3]) != len(msg)-headerLen {
				t.Fatalf("STUN step %x is not one STUN message", msg)
			}
		default:
			t.Fatalf("ok step of kind %v", kind)
		}
		rest = next
	}
}
