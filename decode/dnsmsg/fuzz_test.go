package dnsmsg

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDNS drives Parse and SplitTCP with arbitrary bytes and checks
// properties that must hold for any input.
func FuzzDNS(f *testing.F) {
	for _, name := range fixtureNames(f) {
		f.Add(fixture(f, name))
	}
	f.Add(msg(7, 0x8180, "quick.example", TypeHTTPS,
		[]rr{{"quick.example", TypeHTTPS, 300, svcb(1, "svc.example.net", true)}}, -1, -1))
	var p Parser
	var m1, m2 Message
	f.Fuzz(func(t *testing.T, b []byte) {
		err1 := p.Parse(b, &m1)
		err2 := p.Parse(b, &m2)
		if (err1 == nil) != (err2 == nil) {
			t.Fatalf("second parse disagrees: %v vs %v", err1, err2)
		}
		if diff := cmp.Diff(m1, m2, cmpOpts...); diff != "" {
			t.Fatalf("second parse differs (-first +second):\n%s", diff)
		}
		if err1 != nil && !errors.Is(err1, ErrTruncated) && !errors.Is(err1, ErrMalformed) {
			t.Fatalf("unwrapped error %v", err1)
		}
		checkMessage(t, &m1)
		checkSplit(t, b)
	})
}

// checkMessage checks the caps and the name form of m.
func checkMessage(t *testing.T, m *Message) {
	t.Helper()
	if len(m.Questions) > MaxQuestions || len(m.Answers) > MaxAnswers {
		t.Fatalf("kept %d questions, %d answers", len(m.Questions), len(m.Answers))
	}
	if len(m.Questions) > int(m.QuestionCount) || len(m.Answers) > int(m.AnswerCount) {
		t.Fatalf("kept more than the header counts")
	}
	names := make([]string, 0, len(m.Questions)+2*len(m.Answers))
	for _, q := range m.Questions {
		names = append(names, q.Name)
	}
	for _, a := range m.Answers {
		names = append(names, a.Name, a.Target)
		if a.Addr.IsValid() && a.Type != TypeA && a.Type != TypeAAAA {
			t.Fatalf("address on a type %d record", a.Type)
		}
	}
	for _, s := range names {
		if len(s) > 255 || strings.ContainsFunc(s, func(r rune) bool { return 'A' <= r && r <= 'Z' }) {
			t.Fatalf("name %q is too long or not lower-cased", s)
		}
	}
}

// checkSplit walks b with SplitTCP.
func checkSplit(t *testing.T, b []byte) {
	t.Helper()
	rest := b
	for {
		m, next, ok := SplitTCP(rest)
		if !ok {
			if m != nil || !bytes.Equal(next, rest) {
				t.Fatalf("failed split changed rest")
			}
			return
		}
		if len(next) >= len(rest) || len(m)+2+len(next) != len(rest) {
			t.Fatalf("split did not advance correctly")
		}
		rest = next
	}
}
