package report

import (
	"bufio"
	"io"

	"github.com/qadiag/qadiag/analyze"
)

// writeDoc writes a JSON document of named top-level members and a final
// "flows" array, one flow at a time, byte for byte as encoding/json's
// indented encoder would write the whole value: a capture with a hundred
// thousand flows is never held as one document in memory. decorate, when
// set, completes each flow's JSON before it is written.
func writeDoc(w io.Writer, head []member, flows []*analyze.Flow, decorate func(*jsonFlow)) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString("{\n")
	var in indenter
	for _, m := range head {
		b, err := in.indent(m.value, "  ", "  ")
		if err != nil {
			return err
		}
		bw.WriteString(`  "` + m.name + `": `)
		bw.Write(b)
		bw.WriteString(",\n")
	}
	bw.WriteString(`  "flows": [`)
	var j jsonFlow // one for all flows: each one put in a fresh one escaped to the heap, 60 MB
	var scratch jsonScratch
	for i, f := range flows {
		j = flowJSONWith(f, &scratch)
		if decorate != nil {
			decorate(&j)
		}
		b, err := in.indent(&j, "    ", "  ")
		if err != nil {
			return err
		}
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		bw.Write(b)
	}
	if len(flows) > 0 {
		bw.WriteString("\n  ")
	}
	bw.WriteString("]\n}\n")
	return bw.Flush()
}

type member struct {
	name  string
	value any
}
