package report

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"io"
	"math/rand/v2"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket/layers"
	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/analyze/catalog"
	"github.com/qadiag/qadiag/analyze/diagnose"
	"github.com/qadiag/qadiag/decode/decodetest"
)

// TestGoldenHTML renders every scenario as HTML against the reviewed files
// in testdata/golden, and checks each page is well-formed, fetches nothing
// and draws its timeline.
func TestGoldenHTML(t *testing.T) {
	for _, path := range scenarios(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			t.Parallel()
			res, v := analyzeFile(t, path)
			out := render(t, renderHTML, res, v)
			checkHTML(t, out)
			if !strings.Contains(out, "<svg class=\"timeline\"") {
				t.Error("no timeline")
			}
			if v.Fault() && !strings.Contains(out, `<g class="failure">`) {
				t.Error("a fault verdict without the failing moment on the timeline")
			}
			compareGolden(t, filepath.Base(path)+".html", out)
		})
	}
}

const (
	hostile     = "<script>alert(1)</script>"
	hostileZone = ".qa-test.example"
)

// hostileCapture is a Quick Assist connection (by a wildcard of a test
// catalog: the catalog refuses markup in a host pattern, but a wildcard
// matches any first label) whose SNI and certificate names carry markup,
// answered by an inspecting proxy, and a second one whose SNI would break a
// Markdown table or an HTML attribute.
func hostileCapture(t *testing.T) (*analyze.Result, *diagnose.Verdict) {
	t.Helper()
	var buf bytes.Buffer
	w, err := decodetest.NewPcapWriter(&buf, layers.LinkTypeEthernet, false)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	write := func(frame []byte, after time.Duration) {
		t.Helper()
		at = at.Add(after)
		if err := w.WritePacket(at, frame); err != nil {
			t.Fatal(err)
		}
	}
	conn := func(server, sni string, chain [][]byte, port uint16) {
		s := decodetest.NewSession(netip.AddrPortFrom(netip.MustParseAddr("10.20.30.40"), port), netip.MustParseAddrPort(server))
		for i, f := range s.Handshake() {
			write(f, time.Duration(i)*20*time.Millisecond)
		}
		hello := decodetest.ClientHello(decodetest.ChromiumHello(sni, rand.New(rand.NewPCG(1, 2))))
		s.Segments(decodetest.ClientToServer, hello, func(f []byte) { write(f, time.Millisecond) })
		flight := slices.Concat(decodetest.ServerHello(decodetest.VersionTLS12, decodetest.SuiteECDHERSAAES128GCMSHA256, false),
			decodetest.Certificate(chain), decodetest.ServerHelloDone())
		s.Segments(decodetest.ServerToClient, flight, func(f []byte) { write(f, 2*time.Millisecond) })
		write(s.Data(nil, decodetest.ClientToServer, decodetest.Alert(decodetest.AlertFatal, decodetest.AlertUnknownCA)), time.Millisecond)
		write(s.RST(nil, decodetest.ClientToServer), time.Millisecond)
	}
	conn("203.0.113.10:443", hostile+hostileZone, decodetest.CertChain(hostile, hostile+" CA", "<b>Org</b>"), 50000)
	conn("203.0.113.11:443", "x|y`z\"'><img src=x onerror=alert(2)>"+hostileZone, decodetest.CertChain("a|b", "c`d CA", "e&f"), 50001)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	res, err := analyze.Read(context.Background(), &buf, "hostile-<script>.pcap")
	if err != nil {
		t.Fatal(err)
	}
	extra, err := catalog.Load(strings.NewReader(`{"version": 1, "entries": [{"host": "*` + hostileZone + `", "ports": ["tcp/443"],
		"role": "service", "required": true, "broad": false, "source": "test"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	v := diagnose.Diagnose(res, catalog.Default().Merge(extra))
	if len(v.QuickAssist) != 2 || res.Flows[0].TLS == nil || res.Flows[0].TLS.SNI != hostile+hostileZone ||
		len(res.Flows[0].TLS.Details().Certificates) == 0 || res.Flows[0].TLS.Details().Certificates[0].SubjectCN != hostile {
		t.Fatalf("the test capture does not carry the hostile names as Quick Assist flows: %d QA flows", len(v.QuickAssist))
	}
	return res, v
}

// TestHostileNames checks that markup in an SNI, a certificate name or the
// file name stays text: no element in the HTML, escaped in the Markdown, and
// no table row broken.
func TestHostileNames(t *testing.T) {
	res, v := hostileCapture(t)
	page := render(t, renderHTML, res, v)
	checkHTML(t, page)
	if strings.Contains(strings.ToLower(page), "<script") || strings.Contains(page, "<img") || strings.Contains(page, "<b>") {
		t.Error("HTML carries markup from the capture")
	}
	if !strings.Contains(page, "&lt;script&gt;alert(1)&lt;/script&gt;") {
		t.Error("HTML does not show the hostile SNI as text")
	}
	md := render(t, renderMarkdown, res, v)
	if m := rawTag.FindString(md); m != "" {
		t.Errorf("Markdown carries raw markup %q:\n%s", m, md)
	}
	if !strings.Contains(md, `\<script\>alert(1)\</script\>`) {
		t.Errorf("Markdown does not show the hostile SNI escaped:\n%s", md)
	}
	checkMarkdownTables(t, md)
}

// rawTag finds a tag that Markdown would pass through as HTML: a '<' not
// escaped by a backslash.
var rawTag = regexp.MustCompile(`(^|[^\\])<[a-zA-Z/!?]`)

// fetchAttrs are the attributes through which a page loads or links to a
// resource.
var fetchAttrs = []string{"src", "srcset", "href", "action", "formaction", "poster", "data", "background", "cite", "manifest", "ping", "http-equiv"}

// fetchElements load or run something by themselves.
var fetchElements = []string{"script", "link", "img", "iframe", "frame", "object", "embed", "image", "use", "foreignObject",
	"audio", "video", "source", "track", "base", "form"}

// checkHTML parses page as XML (the template writes XHTML-compatible
// markup, so a strict XML parser checks that every element is closed and
// nested) and checks it references no resource: no loading element, no
// link attribute, no http(s) in an attribute, no url() or @import in CSS.
func checkHTML(t *testing.T, page string) {
	t.Helper()
	if !strings.HasPrefix(page, "<!DOCTYPE html>\n") {
		t.Error("no doctype")
	}
	d := xml.NewDecoder(strings.NewReader(page))
	d.Strict = true
	var stack []string
	sawSVG := false
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			name := tok.Name.Local
			stack = append(stack, name)
			sawSVG = sawSVG || name == "svg"
			if slices.Contains(fetchElements, name) {
				t.Errorf("element <%s> loads a resource", name)
			}
			for _, a := range tok.Attr {
				v := strings.ToLower(a.Value)
				if slices.Contains(fetchAttrs, a.Name.Local) || strings.HasPrefix(a.Name.Local, "on") ||
					strings.Contains(v, "http:") || strings.Contains(v, "https:") || strings.Contains(v, "url(") {
					t.Errorf("<%s %s=%q> references a resource or runs code", name, a.Name.Local, a.Value)
				}
			}
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 && stack[len(stack)-1] == "style" {
				css := strings.ToLower(string(tok))
				if strings.Contains(css, "url(") || strings.Contains(css, "@import") || strings.Contains(css, "@font-face") {
					t.Error("CSS fetches a resource")
				}
			}
		}
	}
	if len(stack) != 0 || !sawSVG {
		t.Errorf("unclosed elements %v, svg %v", stack, sawSVG)
	}
}

// browser returns a Chromium binary on PATH, or "".
func browser() string {
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// TestHTMLInBrowser renders reports in headless Chromium: the DOM it builds
// holds the verdict and the SVG and no script element (the hostile names
// stayed text), and a screenshot can be taken.
func TestHTMLInBrowser(t *testing.T) {
	bin := browser()
	if bin == "" {
		t.Skip("neither chromium nor chromium-browser is on PATH: the HTML report was not rendered in a real browser (apt-get install chromium)")
	}
	if testing.Short() {
		t.Skip("-short: no browser")
	}
	dir := t.TempDir()
	res, v := analyzeFile(t, filepath.Join(scenarioDir, "rst_injection-ttl-mismatch.pcap"))
	hres, hv := hostileCapture(t)
	for _, tc := range []struct {
		name string
		res  *analyze.Result
		v    *diagnose.Verdict
		want []string
	}{
		{"rst_injection", res, v, []string{"Verdict:", "rst_injection", "<svg", "failure: frame 37"}},
		{"hostile", hres, hv, []string{"Verdict:", hv.Cause, "<svg", "&lt;script&gt;alert(1)&lt;/script&gt;"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := filepath.Join(dir, tc.name+".html")
			if err := os.WriteFile(file, []byte(render(t, renderHTML, tc.res, tc.v)), 0o644); err != nil {
				t.Fatal(err)
			}
			dom := chromium(t, bin, dir, "--dump-dom", "file://"+file)
			for _, w := range tc.want {
				if !strings.Contains(dom, w) {
					t.Errorf("the browser's DOM lacks %q", w)
				}
			}
			if strings.Contains(strings.ToLower(dom), "<script") {
				t.Error("the browser's DOM has a script element")
			}
			shot := filepath.Join(dir, tc.name+".png")
			chromium(t, bin, dir, "--window-size=1100,1600", "--screenshot="+shot, "file://"+file)
			if b, err := os.ReadFile(shot); err != nil || !bytes.HasPrefix(b, []byte("\x89PNG")) {
				t.Errorf("no screenshot: %v", err)
			}
		})
	}
}

func chromium(t *testing.T, bin, dir string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args = append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir=" + filepath.Join(dir, "profile"), "--no-first-run", "--disable-extensions"}, args...)
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", bin, err, errb.String())
	}
	return out.String()
}
