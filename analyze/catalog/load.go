package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

// Sentinel errors wrapped by *Error; test with errors.Is.
var (
	// ErrSyntax: the file is not JSON of the expected shape.
	ErrSyntax = errors.New("malformed endpoint file")
	// ErrVersion: "version" is missing or not 1.
	ErrVersion = errors.New("unsupported version")
	// ErrTooLarge: the file exceeds MaxFileBytes.
	ErrTooLarge = errors.New("endpoint file too large")
	// ErrEntry: an entry sets neither or both of host and prefix, or
	// repeats an earlier entry's pattern with overlapping ports.
	ErrEntry = errors.New("bad entry")
	// ErrHost: a host pattern is not a valid name or wildcard.
	ErrHost = errors.New("bad host pattern")
	// ErrPrefix: a prefix does not parse or has host bits set.
	ErrPrefix = errors.New("bad prefix")
	// ErrPort: a port range is missing or malformed.
	ErrPort = errors.New("bad port range")
	// ErrRole: a role is not one of the ids Role.String returns.
	ErrRole = errors.New("unknown role")
	// ErrSource: an entry or issuer has no source.
	ErrSource = errors.New("missing source")
	// ErrIssuer: an issuer has no name, an unknown kind, or a duplicate name.
	ErrIssuer = errors.New("bad issuer")
)

// MaxFileBytes caps the size of an endpoint file; the embedded one is about
// a tenth of it.
const MaxFileBytes = 1 << 20

// Error locates a problem in an endpoint file.
type Error struct {
	// File is the path given to LoadFile; empty for Load.
	File string
	// Line is the 1-based line where the offending item starts; 0 when
	// the problem concerns the file as a whole.
	Line int
	// Item names the entry or issuer, e.g. `entries[3] (host "x.com")`.
	Item string
	// Err wraps one of the sentinels above or an I/O error.
	Err error
}

// Error formats as "catalog: FILE: line N: ITEM: problem", leaving out the
// parts that are unknown.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("catalog: ")
	if e.File != "" {
		b.WriteString(e.File + ": ")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Item != "" {
		b.WriteString(e.Item + ": ")
	}
	b.WriteString(e.Err.Error())
	return b.String()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// LoadFile reads the endpoint file at path. With replace it returns that
// catalog alone; otherwise base.Merge of it, so the file's entries override
// base's entries with the same pattern and add the rest.
func LoadFile(path string, replace bool, base *Catalog) (*Catalog, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &Error{File: path, Err: err}
	}
	defer f.Close()
	c, err := Load(f)
	if err != nil {
		if e, ok := errors.AsType[*Error](err); ok {
			e.File = path
		}
		return nil, err
	}
	if replace {
		return c, nil
	}
	return base.Merge(c), nil
}

// Load parses an endpoint file (format in the package documentation). The
// error is an *Error that names the line and the entry at fault.
func Load(r io.Reader) (*Catalog, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, &Error{Err: err}
	}
	if len(data) > MaxFileBytes {
		return nil, &Error{Err: fmt.Errorf("%w: more than %d bytes", ErrTooLarge, MaxFileBytes)}
	}
	p := &parser{
		data:  data,
		dec:   json.NewDecoder(bytes.NewReader(data)),
		seen:  map[string][]seenEntry{},
		names: map[string]bool{},
	}
	p.dec.DisallowUnknownFields()
	if err := p.file(); err != nil {
		return nil, err
	}
	return build(p.entries, p.issuers), nil
}

// entryJSON and issuerJSON are the file's objects before validation.
type entryJSON struct {
	Host     string   `json:"host"`
	Prefix   string   `json:"prefix"`
	Ports    []string `json:"ports"`
	Role     string   `json:"role"`
	Required bool     `json:"required"`
	Broad    bool     `json:"broad"`
	Note     string   `json:"note"`
	Source   string   `json:"source"`
}

type issuerJSON struct {
	Name   string `json:"name"`
	Org    string `json:"org"`
	Kind   string `json:"kind"`
	Note   string `json:"note"`
	Source string `json:"source"`
}

type seenEntry struct {
	ports []PortRange
	line  int
}

// parser walks the file token by token so that every error can name the
// line where its item starts, which json.Unmarshal cannot.
type parser struct {
	data    []byte
	dec     *json.Decoder
	entries []Entry
	issuers []Issuer
	seen    map[string][]seenEntry // entry key -> earlier entries
	names   map[string]bool        // issuer names so far
	lineOff int                    // data[:lineOff] holds lines newlines
	lines   int
}

// line returns the 1-based line of the next value: the decoder's offset
// past any separators. Offsets only grow, so it counts newlines from where
// the previous call stopped and the whole file is scanned once.
func (p *parser) line() int {
	off := int(p.dec.InputOffset())
	for off < len(p.data) && strings.IndexByte(" \t\r\n,:", p.data[off]) >= 0 {
		off++
	}
	if off > p.lineOff {
		p.lines += bytes.Count(p.data[p.lineOff:off], []byte{'\n'})
		p.lineOff = off
	}
	return 1 + p.lines
}

func (p *parser) syntax(line int, item string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		err = errors.New("unexpected end of file")
	}
	return &Error{Line: line, Item: item, Err: fmt.Errorf("%w: %v", ErrSyntax, err)}
}

func (p *parser) delim(want json.Delim, item string) error {
	line := p.line()
	tok, err := p.dec.Token()
	if err != nil {
		return p.syntax(line, item, err)
	}
	if tok != want {
		return p.syntax(line, item, fmt.Errorf("want %q, found %v", want, tok))
	}
	return nil
}

func (p *parser) file() error {
	if err := p.delim('{', ""); err != nil {
		return err
	}
	version := 0
	fields := map[string]bool{}
	for p.dec.More() {
		line := p.line()
		tok, err := p.dec.Token()
		if err != nil {
			return p.syntax(line, "", err)
		}
		key, _ := tok.(string)
		if fields[key] {
			return p.syntax(line, "", fmt.Errorf("field %q repeated", key))
		}
		fields[key] = true
		switch key {
		case "version":
			if err := p.dec.Decode(&version); err != nil {
				return p.syntax(line, "version", err)
			}
		case "entries":
			err = p.array("entries", p.entry)
		case "issuers":
			err = p.array("issuers", p.issuer)
		default:
			return p.syntax(line, "", fmt.Errorf("unknown field %q", key))
		}
		if err != nil {
			return err
		}
	}
	if err := p.delim('}', ""); err != nil {
		return err
	}
	line := p.line()
	if _, err := p.dec.Token(); err != io.EOF {
		return p.syntax(line, "", errors.New("data after the top-level object"))
	}
	if version != 1 {
		return &Error{Item: "version", Err: fmt.Errorf("%w %d (want 1)", ErrVersion, version)}
	}
	return nil
}

func (p *parser) array(name string, item func(i, line int) error) error {
	if err := p.delim('[', name); err != nil {
		return err
	}
	for i := 0; p.dec.More(); i++ {
		if err := item(i, p.line()); err != nil {
			return err
		}
	}
	return p.delim(']', name)
}

func (p *parser) entry(i, line int) error {
	var ej entryJSON
	if err := p.dec.Decode(&ej); err != nil {
		return p.syntax(line, fmt.Sprintf("entries[%d]", i), err)
	}
	item := fmt.Sprintf("entries[%d]", i)
	switch {
	case ej.Host != "":
		item += fmt.Sprintf(" (host %q)", ej.Host)
	case ej.Prefix != "":
		item += fmt.Sprintf(" (prefix %q)", ej.Prefix)
	}
	e, err := parseEntry(&ej)
	if err == nil {
		err = p.checkDuplicate(&e, line)
	}
	if err != nil {
		return &Error{Line: line, Item: item, Err: err}
	}
	p.entries = append(p.entries, e)
	return nil
}

// checkDuplicate refuses a pattern listed twice with overlapping ports:
// which of the two should win would be a guess.
func (p *parser) checkDuplicate(e *Entry, line int) error {
	key := e.Key()
	for _, s := range p.seen[key] {
		for _, a := range s.ports {
			for _, b := range e.Ports {
				if a.overlaps(b) {
					return fmt.Errorf("%w: %s %s repeats the entry on line %d", ErrEntry, key, b, s.line)
				}
			}
		}
	}
	p.seen[key] = append(p.seen[key], seenEntry{ports: e.Ports, line: line})
	return nil
}

func parseEntry(ej *entryJSON) (Entry, error) {
	var e Entry
	switch {
	case (ej.Host == "") == (ej.Prefix == ""):
		return e, fmt.Errorf("%w: set exactly one of host and prefix", ErrEntry)
	case ej.Host != "":
		h, err := parseHost(ej.Host)
		if err != nil {
			return e, err
		}
		e.Host = h.text
	default:
		pfx, err := parsePrefix(ej.Prefix)
		if err != nil {
			return e, err
		}
		e.Prefix = pfx
	}
	if len(ej.Ports) == 0 {
		return e, fmt.Errorf("%w: no ports", ErrPort)
	}
	for _, s := range ej.Ports {
		pr, err := ParsePortRange(s)
		if err != nil {
			return e, err
		}
		e.Ports = append(e.Ports, pr)
	}
	role, err := ParseRole(ej.Role)
	if err != nil {
		return e, err
	}
	if strings.TrimSpace(ej.Source) == "" {
		return e, ErrSource
	}
	e.Role, e.Required, e.Broad, e.Note, e.Source = role, ej.Required, ej.Broad, ej.Note, ej.Source
	return e, nil
}

func (p *parser) issuer(i, line int) error {
	var ij issuerJSON
	item := fmt.Sprintf("issuers[%d]", i)
	if err := p.dec.Decode(&ij); err != nil {
		return p.syntax(line, item, err)
	}
	if ij.Name != "" {
		item += fmt.Sprintf(" (%q)", ij.Name)
	}
	iss := Issuer{Name: ij.Name, Org: ij.Org, Kind: ij.Kind, Note: ij.Note, Source: ij.Source}
	err := iss.validate()
	if err == nil && p.names[iss.Name] {
		err = fmt.Errorf("%w: name listed twice", ErrIssuer)
	}
	if err != nil {
		return &Error{Line: line, Item: item, Err: err}
	}
	p.names[iss.Name] = true
	p.issuers = append(p.issuers, iss)
	return nil
}
