package report

import (
	"io"
	"strings"

	"github.com/qadiag/qadiag/internal/grow"
)

// grid is a text table with the layout of newTable's (tablewriter, ASCII
// borders, left-aligned, cells trimmed). It draws the table itself when
// every cell is plain printable ASCII, which is nearly always, and hands it
// to tablewriter otherwise (a certificate name in another script, a control
// character): tablewriter measured about 40 µs a row, so a capture with
// 60,000 Quick Assist flows spent four seconds on its flow table, where
// drawing it directly takes a few milliseconds. TestGridMatchesTablewriter
// checks the two give the same bytes.
type grid struct {
	w      io.Writer
	header []string
	rows   [][]string
}

func newGrid(w io.Writer, header ...string) *grid { return &grid{w: w, header: header} }

func (g *grid) Append(row []string) { g.rows = grow.Append(g.rows, row) }

// plain reports whether s is drawn the same by measuring bytes: printable
// ASCII, nothing to trim at either end.
func plain(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return s == "" || s[0] != ' ' && s[len(s)-1] != ' '
}

func (g *grid) Render() error {
	simple := len(g.rows) > 0
	width := make([]int, len(g.header))
	measure := func(cells []string) {
		if len(cells) != len(width) {
			simple = false
			return
		}
		for i, c := range cells {
			if !plain(c) {
				simple = false
				return
			}
			width[i] = max(width[i], len(c))
		}
	}
	measure(g.header)
	for _, r := range g.rows {
		if !simple {
			break
		}
		measure(r)
	}
	if !simple {
		t := newTable(g.w)
		t.Header(anySlice(g.header)...)
		for _, r := range g.rows {
			if err := t.Append(r); err != nil {
				return err
			}
		}
		return t.Render()
	}
	// One buffer, flushed every MiB and reused: a strings.Builder reset
	// after each flush grew a new one from nothing each time, 70 MB of
	// garbage for a table of 60,000 rows.
	b := make([]byte, 0, 1<<20+4096)
	widest := 0
	for _, w := range width {
		widest = max(widest, w)
	}
	dashes, spaces := strings.Repeat("-", widest+2), strings.Repeat(" ", widest+2)
	border := func() {
		b = append(b, '+')
		for _, w := range width {
			b = append(b, dashes[:w+2]...)
			b = append(b, '+')
		}
		b = append(b, '\n')
	}
	line := func(cells []string) {
		b = append(b, '|')
		for i, c := range cells {
			b = append(b, ' ')
			b = append(b, c...)
			b = append(b, spaces[:width[i]-len(c)+1]...)
			b = append(b, '|')
		}
		b = append(b, '\n')
	}
	border()
	line(g.header)
	border()
	for i, r := range g.rows {
		line(r)
		if len(b) > 1<<20 || i == len(g.rows)-1 {
			if i == len(g.rows)-1 {
				border()
			}
			if _, err := g.w.Write(b); err != nil {
				return err
			}
			b = b[:0]
		}
	}
	return nil
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}
