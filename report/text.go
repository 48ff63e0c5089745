package report

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/olekukonko/tablewriter"
	"github.com/olekukonko/tablewriter/renderer"
	"github.com/olekukonko/tablewriter/tw"
	"github.com/qadiag/qadiag/analyze"
)

// FlowsText writes the capture summary and the flow table as plain ASCII:
// the same bytes on every terminal, so golden files hold.
func FlowsText(w io.Writer, r *analyze.Result) error {
	if err := captureText(w, &r.Capture); err != nil {
		return err
	}
	if len(r.Flows) == 0 {
		_, err := io.WriteString(w, "no TCP or UDP flows\n")
		return err
	}
	t := newGrid(w, "id", "proto", "client", "server", "frames", "packets", "bytes", "state", "history", "rtt", "max idle", "app", "detail")
	for _, f := range r.Flows {
		row := []string{
			itoa(f.ID), ProtoName(f.Proto), f.Client.String(), f.Server.String(),
			fmt.Sprintf("%d-%d", f.FirstFrame(), f.LastFrame()), u64(f.Packets()), u64(f.Bytes()),
			f.ConnState(), f.History(), duration(f.RTT), duration(f.MaxIdle), f.App(), appDetail(f),
		}
		t.Append(row)
	}
	return t.Render()
}

func captureText(w io.Writer, c *analyze.Capture) error {
	var b strings.Builder
	fmt.Fprintf(&b, "capture  %s", c.File)
	if c.Format != "" {
		fmt.Fprintf(&b, " (%s", c.Format)
		if c.Gzip {
			b.WriteString(", gzip")
		}
		if len(c.LinkTypes) > 0 {
			fmt.Fprintf(&b, ", %s", strings.Join(c.LinkTypes, ", "))
		}
		b.WriteString(")")
	}
	b.WriteString("\n")
	fmt.Fprintf(&b, "packets  %d, %d bytes", c.Packets, c.Bytes)
	if c.Packets > 0 {
		fmt.Fprintf(&b, ", %s to %s (%s)", timestamp(c.First), timestamp(c.Last), duration(c.Last.Sub(c.First)))
	}
	b.WriteString("\n")
	for _, warn := range c.Warnings {
		fmt.Fprintf(&b, "warning  %s\n", warn)
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func newTable(w io.Writer) *tablewriter.Table {
	return tablewriter.NewTable(w,
		tablewriter.WithRenderer(renderer.NewBlueprint(tw.Rendition{Symbols: tw.NewSymbols(tw.StyleASCII)})),
		tablewriter.WithHeaderAutoFormat(tw.Off),
		tablewriter.WithRowAlignment(tw.AlignLeft),
		tablewriter.WithHeaderAlignment(tw.AlignLeft),
	)
}

// duration prints a duration with fixed precision; zero prints as "-".
func duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "-"
	case d < time.Second:
		return strconv.FormatFloat(float64(d)/1e6, 'f', 1, 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 3, 64) + "s"
}

func itoa(n int) string   { return strconv.Itoa(n) }
func u64(n uint64) string { return strconv.FormatUint(n, 10) }

// NewTable is the ASCII table every text output uses, for other commands'
// summaries.
func NewTable(w io.Writer) *tablewriter.Table { return newTable(w) }
