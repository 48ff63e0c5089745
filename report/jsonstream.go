package report

import (
	"bufio"
	"bytes"
	"encoding/json"
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
	for _, m := range head {
		b, err := marshalIndent(m.value, "  ", "  ")
		if err != nil {
			return err
		}
		bw.WriteString(`  "` + m.name + `": `)
		bw.Write(b)
		bw.WriteString(",\n")
	}
	bw.WriteString(`  "flows": [`)
	// The flows are encoded and indented into two buffers reused from one
	// flow to the next: json.Marshal and a fresh indent buffer each time
	// allocated 600 MB for a capture of 150,000 flows.
	var raw bytes.Buffer
	enc := json.NewEncoder(&raw)
	var ind []byte
	var j jsonFlow // one for all flows: each one put in a fresh one escaped to the heap, 60 MB
	var scratch jsonScratch
	for i, f := range flows {
		j = flowJSONWith(f, &scratch)
		if decorate != nil {
			decorate(&j)
		}
		raw.Reset()
		if err := enc.Encode(&j); err != nil {
			return err
		}
		ind = indentCompact(ind[:0], bytes.TrimSuffix(raw.Bytes(), []byte("\n")), "    ", "  ")
		if i > 0 {
			bw.WriteString(",")
		}
		bw.WriteString("\n    ")
		bw.Write(ind)
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
