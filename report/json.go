// Package report renders an analyze.Result as text tables or JSON. It never
// computes a fact of its own: what it prints is in the Result.
package report

import (
	"io"
	"time"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode"
)

// The JSON contract is documented in docs/json-schema.md. Field names are
// public API: extend, never rename.

type jsonDoc struct {
	SchemaVersion int         `json:"schema_version"`
	Capture       jsonCapture `json:"capture"`
	Flows         []jsonFlow  `json:"flows"`
}

type jsonCapture struct {
	File          string     `json:"file"`
	Format        string     `json:"format"`
	Gzip          bool       `json:"gzip,omitempty"`
	LinkTypes     []string   `json:"link_types"`
	Packets       uint64     `json:"packets"`
	Bytes         uint64     `json:"bytes"`
	First         *string    `json:"first"`
	Last          *string    `json:"last"`
	DurationS     float64    `json:"duration_s"`
	Snaplen       uint32     `json:"snaplen"`
	SnapTruncated uint64     `json:"snap_truncated"`
	Undecoded     uint64     `json:"undecoded"`
	Malformed     uint64     `json:"malformed"`
	Dropped       uint64     `json:"dropped"`
	Untracked     uint64     `json:"untracked,omitempty"`
	FoldedFlows   uint64     `json:"folded_flows,omitempty"`
	Damage        *jsonError `json:"damage"`
	Warnings      []string   `json:"warnings"`
}

type jsonError struct {
	Frame   uint64 `json:"frame"`
	Offset  int64  `json:"offset"`
	Message string `json:"message"`
}

type jsonFlow struct {
	ID         int     `json:"id"`
	Proto      string  `json:"proto"`
	Client     string  `json:"client"`
	Server     string  `json:"server"`
	ClientBy   string  `json:"client_by"`
	FirstFrame uint64  `json:"first_frame"`
	LastFrame  uint64  `json:"last_frame"`
	First      string  `json:"first"`
	Last       string  `json:"last"`
	DurationS  float64 `json:"duration_s"`
	Packets    uint64  `json:"packets"`
	Bytes      uint64  `json:"bytes"`
	ConnState  string  `json:"conn_state"`
	History    string  `json:"history"`
	RTTMs      float64 `json:"rtt_ms,omitempty"`
	MaxIdleS   float64 `json:"max_idle_s"`
	// Per direction: what the client sent, what the server sent.
	ClientToServer jsonDir `json:"client_to_server"`
	ServerToClient jsonDir `json:"server_to_client"`
	// Application layer: omitted when the flow carries none of it.
	App   string     `json:"app,omitempty"`
	Names []jsonName `json:"names,omitempty"`
	TLS   *jsonTLS   `json:"tls,omitempty"`
	HTTP  *jsonHTTP  `json:"http,omitempty"`
	STUN  *jsonSTUN  `json:"stun,omitempty"`
	DNS   *jsonDNS   `json:"dns,omitempty"`
	// QuickAssist is set in the analysis document for Quick Assist flows.
	QuickAssist *jsonQA `json:"quick_assist,omitempty"`
}

type jsonDir struct {
	Packets         uint64 `json:"packets"`
	Bytes           uint64 `json:"bytes"`
	Payload         uint64 `json:"payload"`
	TTL             uint8  `json:"ttl"`
	MSS             uint16 `json:"mss,omitempty"`
	WScale          *int8  `json:"wscale,omitempty"`
	Retransmissions int32  `json:"retransmissions,omitempty"`
	OutOfOrder      int32  `json:"out_of_order,omitempty"`
	ZeroWindows     int32  `json:"zero_windows,omitempty"`
	SeqGaps         int32  `json:"seq_gaps,omitempty"`
	Resets          int32  `json:"resets,omitempty"`
}

// JSON writes the result as one indented JSON document.
func JSON(w io.Writer, r *analyze.Result) error {
	doc := toJSON(r, false)
	return writeDoc(w, []member{{"schema_version", doc.SchemaVersion}, {"capture", doc.Capture}}, r.Flows, nil)
}

// toJSON converts the capture metadata, and the flows when withFlows.
func toJSON(r *analyze.Result, withFlows bool) jsonDoc {
	c := &r.Capture
	doc := jsonDoc{SchemaVersion: r.SchemaVersion, Capture: jsonCapture{
		File: c.File, Format: c.Format, Gzip: c.Gzip, LinkTypes: nonNil(c.LinkTypes), Packets: c.Packets, Bytes: c.Bytes,
		DurationS: seconds(c.Last.Sub(c.First)), Snaplen: c.Snaplen, SnapTruncated: c.SnapTruncated,
		Undecoded: c.Undecoded, Malformed: c.Malformed, Dropped: c.Dropped, Untracked: c.Untracked,
		FoldedFlows: c.Folded.Total(), Warnings: nonNil(c.Warnings),
	}}
	if c.Packets > 0 {
		first, last := timestamp(c.First), timestamp(c.Last)
		doc.Capture.First, doc.Capture.Last = &first, &last
	}
	if c.Damage != nil {
		doc.Capture.Damage = &jsonError{Frame: c.Damage.Frame, Offset: c.Damage.Offset, Message: c.Damage.Error()}
	}
	if withFlows {
		doc.Flows = make([]jsonFlow, 0, len(r.Flows))
		for _, f := range r.Flows {
			doc.Flows = append(doc.Flows, flowJSON(f))
		}
	}
	return doc
}

func flowJSON(f *analyze.Flow) jsonFlow { return flowJSONWith(f, nil) }

// flowJSONWith is flowJSON with the application summaries built in s's
// storage when s is not nil: valid until the next call with the same s
// (writeDoc encodes each flow before the next).
func flowJSONWith(f *analyze.Flow, s *jsonScratch) jsonFlow {
	j := jsonFlow{
		ID: f.ID, Proto: ProtoName(f.Proto), Client: f.Client.String(), Server: f.Server.String(), ClientBy: f.ClientBy(),
		FirstFrame: f.FirstFrame(), LastFrame: f.LastFrame(), First: timestamp(f.First()), Last: timestamp(f.Last()),
		DurationS: seconds(f.Duration()), Packets: f.Packets(), Bytes: f.Bytes(), ConnState: f.ConnState(), History: f.History(),
		RTTMs: millis(f.RTT), MaxIdleS: seconds(f.MaxIdle),
		ClientToServer: dirJSON(&f.Dir[analyze.FromClient]), ServerToClient: dirJSON(&f.Dir[analyze.FromServer]),
	}
	appJSON(&j, f, s)
	return j
}

func dirJSON(d *analyze.DirStats) jsonDir {
	j := jsonDir{Packets: d.Packets, Bytes: d.Bytes, Payload: d.Payload, TTL: d.TTLFirst, MSS: d.MSS,
		Retransmissions: d.Retransmissions, OutOfOrder: d.OutOfOrder, ZeroWindows: d.ZeroWindows, SeqGaps: d.SeqGaps, Resets: d.RSTs}
	if d.WScale >= 0 {
		ws := d.WScale
		j.WScale = &ws
	}
	return j
}

// ProtoName is the lower-case name of an IP protocol number.
func ProtoName(p uint8) string {
	switch p {
	case decode.ProtoTCP:
		return "tcp"
	case decode.ProtoUDP:
		return "udp"
	}
	return "ip" + itoa(int(p))
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// timestamp prints a time in UTC, RFC 3339 with fixed microsecond precision,
// so output never depends on the local zone.
func timestamp(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

func seconds(d time.Duration) float64 { return float64(d.Round(time.Microsecond)) / 1e9 }

func millis(d time.Duration) float64 { return float64(d.Round(time.Microsecond)) / 1e6 }
