package tlskeys

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Limits on key log input. A browser's key log grows by about five lines
// per connection, so 100 000 lines cover some 20 000 connections; a valid
// line is under 250 bytes.
const (
	MaxLines   = 100_000
	MaxLineLen = 4096
)

// Secrets are the key log entries for one client random. A nil slice means
// the key log had no such line. Slices are shared with the KeyLog and must
// not be modified.
type Secrets struct {
	// MasterSecret is the TLS 1.2 (and earlier) master secret, 48 bytes
	// (CLIENT_RANDOM, RFC 5246 8.1).
	MasterSecret []byte
	// ClientHandshake and ServerHandshake are the TLS 1.3 handshake traffic
	// secrets (CLIENT_/SERVER_HANDSHAKE_TRAFFIC_SECRET, RFC 8446 7.1),
	// 32 or 48 bytes (the suite's hash length).
	ClientHandshake []byte
	ServerHandshake []byte
	// ClientTraffic0 and ServerTraffic0 are the first TLS 1.3 application
	// traffic secrets (CLIENT_/SERVER_TRAFFIC_SECRET_0).
	ClientTraffic0 []byte
	ServerTraffic0 []byte
}

// Warning is a key log line that was skipped. Reason never contains a
// secret.
type Warning struct {
	// Line is the 1-based line number; 0 for a problem not tied to a line
	// (a pcapng block header).
	Line   int
	Reason string
}

// String returns "line 3: client random is 31 bytes, want 32".
func (w Warning) String() string {
	if w.Line == 0 {
		return w.Reason
	}
	return fmt.Sprintf("line %d: %s", w.Line, w.Reason)
}

// KeyLog maps client randoms to secrets. Its zero value is an empty key log
// ready for AddPcapngSecrets or Add.
type KeyLog struct {
	m map[[32]byte]*Secrets
}

// label describes one key log label: where its secret goes and which
// lengths are valid.
type label struct {
	field   func(*Secrets) *[]byte
	lengths []int
}

var labels = map[string]label{
	"CLIENT_RANDOM":                   {func(s *Secrets) *[]byte { return &s.MasterSecret }, []int{48}},
	"CLIENT_HANDSHAKE_TRAFFIC_SECRET": {func(s *Secrets) *[]byte { return &s.ClientHandshake }, []int{32, 48}},
	"SERVER_HANDSHAKE_TRAFFIC_SECRET": {func(s *Secrets) *[]byte { return &s.ServerHandshake }, []int{32, 48}},
	"CLIENT_TRAFFIC_SECRET_0":         {func(s *Secrets) *[]byte { return &s.ClientTraffic0 }, []int{32, 48}},
	"SERVER_TRAFFIC_SECRET_0":         {func(s *Secrets) *[]byte { return &s.ServerTraffic0 }, []int{32, 48}},
}

// ignoredLabels are valid labels whose secrets this package does not use
// (0-RTT, exporters, ECH, Wireshark's RSA pre-master forms); their lines are
// skipped without a warning.
var ignoredLabels = map[string]bool{
	"CLIENT_EARLY_TRAFFIC_SECRET": true,
	"EXPORTER_SECRET":             true,
	"EARLY_EXPORTER_SECRET":       true,
	"ECH_SECRET":                  true,
	"ECH_CONFIG":                  true,
	"RSA":                         true,
	"PMS_CLIENT_RANDOM":           true,
}

// ParseKeyLog reads a key log in the NSS format: one "LABEL <client random
// hex> <secret hex>" per line, '#' comments and blank lines skipped. Lines
// that cannot be used are reported as warnings, never as an error; a read
// error ends the input with a warning. At most MaxLines lines of at most
// MaxLineLen bytes are read. When a client random repeats a label with a
// different secret, the first secret is kept.
func ParseKeyLog(r io.Reader) (*KeyLog, []Warning) {
	k := &KeyLog{}
	return k, k.Add(r)
}

// Add reads more key log lines into k, as ParseKeyLog does.
func (k *KeyLog) Add(r io.Reader) []Warning {
	var warns []Warning
	br := bufio.NewReaderSize(r, MaxLineLen+1)
	for n := 1; ; n++ {
		if n > MaxLines {
			return append(warns, Warning{Line: n, Reason: fmt.Sprintf("stopped after %d lines", MaxLines)})
		}
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			warns = append(warns, Warning{Line: n, Reason: fmt.Sprintf("line longer than %d bytes", MaxLineLen)})
			if err = discardLine(br); err != nil {
				return appendReadErr(warns, n, err)
			}
			continue
		}
		if len(line) > 0 {
			if reason := k.addLine(line); reason != "" {
				warns = append(warns, Warning{Line: n, Reason: reason})
			}
		}
		if err != nil {
			return appendReadErr(warns, n, err)
		}
	}
}

// discardLine skips to the end of the current line.
func discardLine(br *bufio.Reader) error {
	for {
		_, err := br.ReadSlice('\n')
		if !errors.Is(err, bufio.ErrBufferFull) {
			return err
		}
	}
}

func appendReadErr(warns []Warning, n int, err error) []Warning {
	if err == io.EOF {
		return warns
	}
	return append(warns, Warning{Line: n, Reason: "read error: " + err.Error()})
}

// addLine adds one line and returns why it was skipped, or "".
func (k *KeyLog) addLine(line []byte) string {
	line = bytes.TrimSpace(line)
	if len(line) == 0 || line[0] == '#' {
		return ""
	}
	f := strings.Fields(string(line))
	name := f[0]
	if ignoredLabels[name] {
		return ""
	}
	lb, ok := labels[name]
	if !ok {
		return "unknown label " + safeLabel(name)
	}
	if len(f) != 3 {
		return fmt.Sprintf("%s: %d fields, want 3", name, len(f))
	}
	var cr [32]byte
	if len(f[1]) != 2*len(cr) {
		return fmt.Sprintf("%s: client random is %d hex digits, want 64", name, len(f[1]))
	}
	if _, err := hex.Decode(cr[:], []byte(f[1])); err != nil {
		return name + ": client random is not hex"
	}
	secret, err := hex.DecodeString(f[2])
	if err != nil {
		return name + ": secret is not hex"
	}
	if !validLength(len(secret), lb.lengths) {
		return fmt.Sprintf("%s: secret is %d bytes, want %s", name, len(secret), lengthList(lb.lengths))
	}
	return k.store(cr, name, lb, secret)
}

func (k *KeyLog) store(cr [32]byte, name string, lb label, secret []byte) string {
	if k.m == nil {
		k.m = make(map[[32]byte]*Secrets)
	}
	s := k.m[cr]
	if s == nil {
		s = &Secrets{}
		k.m[cr] = s
	}
	p := lb.field(s)
	if *p != nil {
		if !bytes.Equal(*p, secret) {
			return name + ": conflicts with an earlier line for this client random; keeping the first"
		}
		return ""
	}
	*p = secret
	return ""
}

// safeLabel quotes an unknown label only if it looks like one (upper case
// letters, digits and '_', at most 40 bytes): a garbled line may start with
// a secret.
func safeLabel(s string) string {
	if len(s) > 40 {
		return "(not shown)"
	}
	for _, c := range []byte(s) {
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return "(not shown)"
		}
	}
	if isHex(s) {
		return "(not shown)"
	}
	return fmt.Sprintf("%q", s)
}

func isHex(s string) bool {
	for _, c := range []byte(s) {
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'F' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func validLength(n int, lengths []int) bool {
	for _, l := range lengths {
		if n == l {
			return true
		}
	}
	return false
}

func lengthList(lengths []int) string {
	s := make([]string, len(lengths))
	for i, l := range lengths {
		s[i] = fmt.Sprint(l)
	}
	return strings.Join(s, " or ")
}

// Lookup returns the secrets logged for a connection's client random (the
// ClientHello's random, RFC 8446 4.1.2) and whether there were any.
func (k *KeyLog) Lookup(clientRandom [32]byte) (Secrets, bool) {
	if k == nil || k.m == nil {
		return Secrets{}, false
	}
	s, ok := k.m[clientRandom]
	if !ok {
		return Secrets{}, false
	}
	return *s, true
}

// Len returns the number of client randoms with at least one secret.
func (k *KeyLog) Len() int {
	if k == nil {
		return 0
	}
	return len(k.m)
}
