// Package tshark runs Wireshark's tshark on a capture and parses what it
// says, for differential tests: qadiag's facts are checked against the tool
// engineers trust. Tests skip, saying why, when tshark is not installed.
package tshark

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Require returns tshark's path or skips the test with the reason.
func Require(t testing.TB) string {
	t.Helper()
	path, err := exec.LookPath("tshark")
	if err != nil {
		t.Skip("SKIP: tshark not installed (apt-get install tshark); differential checks against Wireshark not run")
	}
	return path
}

// Run runs tshark with args and returns its standard output. Outputs are
// cached under the user cache directory by file content and arguments, so
// repeated test runs do not pay tshark's start-up again.
func Run(t testing.TB, args ...string) []byte {
	t.Helper()
	path := Require(t)
	key := cacheKey(args)
	if out, ok := readCache(key); ok {
		return out
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil && len(out) == 0 {
		// tshark exits non-zero on damaged captures after printing what it
		// read; with nothing printed it failed (a bad filter, say), and a
		// failure is not cached: the next run tries again.
		t.Logf("tshark %s: %v: %s", strings.Join(args, " "), err, firstLine(stderr.String()))
		return out
	}
	writeCache(key, out)
	return out
}

// cacheKey hashes the arguments and the contents of every argument that
// names a file, so a changed capture is never served a stale answer.
func cacheKey(args []string) string {
	h := sha256.New()
	for _, a := range args {
		h.Write([]byte(a))
		h.Write([]byte{0})
		if b, err := os.ReadFile(a); err == nil {
			h.Write(b)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func cacheDir() string {
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "qadiag-tshark")
}

func readCache(key string) ([]byte, bool) {
	if cacheDir() == "" {
		return nil, false
	}
	b, err := os.ReadFile(filepath.Join(cacheDir(), key))
	return b, err == nil
}

func writeCache(key string, out []byte) {
	if dir := cacheDir(); dir != "" && os.MkdirAll(dir, 0o755) == nil {
		_ = os.WriteFile(filepath.Join(dir, key), out, 0o644)
	}
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

// Conversation is one row of tshark's -z conv table.
type Conversation struct {
	A, B   string // "addr:port" as tshark prints them
	Frames uint64
	// Bytes is the total as printed, in bytes: exact below 10 kB ("9136
	// bytes"), rounded above ("86 kB"), where Slack is the rounding (one
	// unit) and 0 when exact.
	Bytes, Slack uint64
}

// BytesMatch reports whether an exact byte count agrees with the row's
// printed, possibly rounded, total.
func (c Conversation) BytesMatch(n uint64) bool {
	return n+c.Slack >= c.Bytes && n <= c.Bytes+c.Slack
}

// Merge adds another row of the same address pair (tshark lists a reused
// port pair once per connection).
func (c Conversation) Merge(o Conversation) Conversation {
	c.Frames += o.Frames
	c.Bytes += o.Bytes
	c.Slack += o.Slack
	return c
}

// sizeUnits are the units of tshark's rounded byte columns.
var sizeUnits = map[string]uint64{"bytes": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}

// Key is the unordered endpoint pair, for matching rows from two tools.
func Key(a, b string) string {
	if a > b {
		a, b = b, a
	}
	return a + " <-> " + b
}

// Conversations runs `tshark -q -z conv,tcp -z conv,udp` and returns the
// rows of both tables by protocol. Byte columns are printed rounded
// ("86 kB") and are not returned; sum frame.len from Fields for exact bytes.
func Conversations(t testing.TB, file string) map[string][]Conversation {
	t.Helper()
	out := Run(t, "-n", "-r", file, "-q", "-z", "conv,tcp", "-z", "conv,udp")
	convs := map[string][]Conversation{}
	proto := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		switch strings.TrimSpace(sc.Text()) {
		case "TCP Conversations":
			proto = "tcp"
		case "UDP Conversations":
			proto = "udp"
		}
		f := strings.Fields(sc.Text())
		if len(f) < 6 || f[1] != "<->" {
			continue
		}
		// a <-> b  frames bytes unit  frames bytes unit  frames bytes unit ...
		total, err := strconv.ParseUint(f[9], 10, 64)
		if err != nil {
			t.Fatalf("tshark conv row %q: %v", sc.Text(), err)
		}
		bytes, _ := strconv.ParseUint(f[10], 10, 64)
		unit, ok := sizeUnits[f[11]]
		if !ok {
			t.Fatalf("tshark conv row %q: unknown unit %q", sc.Text(), f[11])
		}
		c := Conversation{A: f[0], B: f[2], Frames: total, Bytes: bytes * unit}
		if unit > 1 {
			c.Slack = unit
		}
		convs[proto] = append(convs[proto], c)
	}
	return convs
}

// Fields runs tshark -T fields with the display filter and fields given and
// returns one slice of values per frame.
func Fields(t testing.TB, file, filter string, fields ...string) [][]string {
	t.Helper()
	args := []string{"-n", "-r", file, "-T", "fields", "-E", "separator=\t", "-E", "occurrence=a", "-E", "aggregator=,"}
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	out := Run(t, args...)
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line == "" {
			continue
		}
		rows = append(rows, strings.Split(line, "\t"))
	}
	return rows
}
