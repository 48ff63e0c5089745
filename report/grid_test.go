package report

import (
	"bytes"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/qadiag/qadiag/analyze/diagnose"
)

// TestGridMatchesTablewriter draws random tables both ways: grid's own
// drawing must give tablewriter's bytes whenever it draws, and tables it
// declines (other scripts, control characters, spaces to trim) must still
// come out as tablewriter draws them.
func TestGridMatchesTablewriter(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"a", "Z", "0", "9", ".", ":", "-", "_", "[", "]", "|", "+", " ", "/", "é", "\t", "\n", "中"}
	cell := func(ascii bool) string {
		n := r.IntN(12)
		var b strings.Builder
		for range n {
			k := len(alphabet)
			if ascii {
				k = 14 // printable ASCII only, spaces included
			}
			b.WriteString(alphabet[r.IntN(k)])
		}
		s := b.String()
		if ascii {
			s = strings.TrimSpace(s)
		}
		return s
	}
	drawn := 0
	for i := range 2000 {
		ascii := i%4 != 0
		cols := 1 + r.IntN(13)
		header := make([]string, cols)
		for c := range header {
			header[c] = cell(true)
		}
		var want, got bytes.Buffer
		tw := newTable(&want)
		tw.Header(anySlice(header)...)
		g := newGrid(&got, header...)
		for range 1 + r.IntN(20) {
			row := make([]string, cols)
			for c := range row {
				row[c] = cell(ascii)
			}
			if err := tw.Append(row); err != nil {
				t.Fatal(err)
			}
			g.Append(row)
		}
		if err := tw.Render(); err != nil {
			t.Fatal(err)
		}
		if err := g.Render(); err != nil {
			t.Fatal(err)
		}
		if ascii {
			drawn++
		}
		if got.String() != want.String() {
			t.Fatalf("table %d differs:\ngrid:\n%s\ntablewriter:\n%s", i, got.String(), want.String())
		}
	}
	if drawn < 1000 {
		t.Fatalf("only %d tables drawn by grid itself", drawn)
	}
}

// TestQALookup finds classifications by flow id in the verdict's list,
// sorted as diagnose writes it or not.
func TestQALookup(t *testing.T) {
	for _, ids := range [][]int{{2, 5, 9, 40}, {40, 2, 9, 5}} {
		v := &diagnose.Verdict{}
		for _, id := range ids {
			v.QuickAssist = append(v.QuickAssist, diagnose.QAFlow{ID: id, Host: "h" + strconv.Itoa(id)})
		}
		qa := qaLookup(v)
		for id := 0; id <= 41; id++ {
			q, ok := qa(id)
			if want := slices.Contains(ids, id); ok != want || ok && (q.ID != id || q.Host != "h"+strconv.Itoa(id)) {
				t.Fatalf("ids %v: lookup(%d) = %+v, %v", ids, id, q, ok)
			}
		}
	}
}
