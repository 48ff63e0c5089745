package diagnose

import (
	"fmt"
	"slices"

	"github.com/qadiag/qadiag/analyze"
	"github.com/qadiag/qadiag/decode/tlsmsg"
)

// TLS alert descriptions the detectors read (RFC 8446 6, RFC 5246 7.2).
const (
	alertCloseNotify           = 0
	alertHandshakeFailure      = 40
	alertBadCertificate        = 42
	alertCertificateExpired    = 45
	alertCertificateUnknown    = 46
	alertIllegalParameter      = 47
	alertUnknownCA             = 48
	alertAccessDenied          = 49
	alertDecodeError           = 50
	alertProtocolVersion       = 70
	alertInsufficientSecurity  = 71
	alertInternalError         = 80
	alertInappropriateFallback = 86
	alertUserCanceled          = 90
	alertUnrecognizedName      = 112
	alertNoApplicationProto    = 120

	alertFatal = 2

	versionTLS12 = 0x0303
	versionTLS13 = 0x0304
)

// ttlSpread is how far (in hops) the TTLs of one side's packets may spread
// and still come from one sender: research/heuristics.md section 1 row 7
// takes a difference of 3 hops or more as another box's packet.
const ttlSpread = 3

// detectTLSFailure finds Quick Assist handshakes that the server refused
// with a fatal alert of its own before the handshake completed
// (research/heuristics.md section 10): protocol_version (a TLS 1.0/1.1-only
// client, box or policy), handshake_failure and insufficient_security (no
// common cipher suite or group), illegal_parameter and decode_error (a
// ClientHello the peer could not parse), internal_error and others.
//
// The alert is blamed on the server only when every packet from the server
// side, SYN-ACK and alert alike, arrived with the same TTL (within
// ttlSpread hops): a different TTL means another box spoke, which
// sni_blocking reports. Flows that carry a non-Microsoft certificate are
// left to tls_interception. An alert the ClientHello explains (only TLS 1.1
// offered and protocol_version; no TLS 1.3 and handshake_failure) is
// strong; access_denied and unrecognized_name, and alerts on a name whose
// server address serves other names in the same capture, are as likely a
// name filter's and stay medium, so that sni_blocking can outrank them.
func detectTLSFailure(c *Context) []Finding {
	return c.scanQA().tlsFail.findings(func(_ tlsFailKey, tfs []tlsFail) Finding { return tlsFailFinding(c, tfs) })
}

// tlsFailKey groups tls_failure's flows: by name and alert.
type tlsFailKey struct {
	host string
	desc uint8
}

// tlsFailFlow is tls_failure's look at one Quick Assist flow, in scanQA.
func (s *qaScan) tlsFailFlow(c *Context, q *QAFlow, f *analyze.Flow) {
	if f.TLS == nil || f.TLS.ClientFrame == 0 {
		return
	}
	if tf, ok := tlsFailFlow(c, f, q); ok {
		s.tlsFail.add(tlsFailKey{q.Host, tf.alert.Description}, tf)
	}
}

// tlsFail is one flow whose handshake the server refused.
type tlsFail struct {
	f       *analyze.Flow
	q       *QAFlow
	alert   analyze.TLSAlert
	weights []float64
	ev      []Evidence
	reason  string // what in the ClientHello explains the alert, if anything
}

func tlsFailFlow(c *Context, f *analyze.Flow, q *QAFlow) (tlsFail, bool) {
	al, ok := serverFatalAlert(f.TLS)
	if !ok {
		return tlsFail{}, false
	}
	if _, _, foreign := foreignIssuer(c, f.TLS); foreign {
		return tlsFail{}, false // a proxy's certificate: tls_interception explains the failure
	}
	if !ttlConsistent(f) {
		return tlsFail{}, false // another box spoke: not the server's refusal
	}
	tf := tlsFail{f: f, q: q, alert: al}
	flt := FlowFilter(f)
	srv := &f.Dir[analyze.FromServer]
	name := tlsmsg.AlertDescriptionName(al.Description)
	base := Strong
	if f.SYNACKFrame == 0 {
		base = Medium // no SYN-ACK to compare the alert's sender with
	}
	tf.reason = helloExplains(f.TLS, al.Description)
	switch {
	case tf.reason != "":
	case al.Description == alertAccessDenied || al.Description == alertUnrecognizedName:
		base = Medium // as often a name filter's answer as the server's (section 3)
	case !f.TLS.InTunnel && otherNameWorks(c, f) != nil:
		base = Medium // the address serves other names: a name filter fits better (section 3, differential)
	}
	text := fmt.Sprintf("the server answered the ClientHello (frame %d) with a fatal %s alert in frame %d, before the handshake completed", f.TLS.ClientFrame, name, al.Frame)
	frames := []uint64{f.TLS.ClientFrame, al.Frame}
	if f.SYNACKFrame != 0 {
		text += fmt.Sprintf("; it came with TTL %d like the SYN-ACK in frame %d (%d hops): the server itself sent it", srv.TTLMin, f.SYNACKFrame, hops(srv.TTLFirst))
		frames = append(frames, f.SYNACKFrame)
	}
	tf.ev = append(tf.ev, Evidence{Text: text, Frames: frames, Filter: AndFrames(flt, frames...),
		Values: []Value{{Name: "alert", Num: float64(al.Description)}, {Name: "server_ttl", Num: float64(srv.TTLFirst)}}})
	tf.weights = append(tf.weights, base)
	if tf.reason != "" {
		tf.ev = append(tf.ev, Evidence{Text: tf.reason, Frames: []uint64{f.TLS.ClientFrame}, Filter: AndFrames(flt, f.TLS.ClientFrame),
			Values: []Value{{Name: "max_offered_version", Num: float64(maxOffered(f.TLS))}, {Name: "cipher_suites", Num: float64(f.TLS.Offered().Ciphers)}}})
		tf.weights = append(tf.weights, Medium)
	}
	if srv.FINs > 0 || len(f.Resets()) > 0 {
		tf.ev = append(tf.ev, Evidence{Text: "the server then closed the connection", Filter: flt + " && (tcp.flags.fin == 1 || tcp.flags.reset == 1)"})
	}
	return tf, true
}

func tlsFailFinding(c *Context, fs []tlsFail) Finding {
	best := fs[0]
	for _, tf := range fs[1:] {
		if Combine(tf.weights...) > Combine(best.weights...) {
			best = tf
		}
	}
	weights := slices.Clone(best.weights)
	fd := Finding{Hosts: []string{best.q.Host}, Evidence: slices.Clone(best.ev)}
	var alerts []uint64
	for _, tf := range fs {
		fd.Flows = append(fd.Flows, tf.f.ID)
		alerts = append(alerts, tf.alert.Frame)
	}
	name := tlsmsg.AlertDescriptionName(best.alert.Description)
	if len(fs) >= 2 {
		// The same refusal on every try: a configuration, not a glitch.
		fd.Evidence = append(fd.Evidence, Evidence{Text: fmt.Sprintf("%d connections to %s ended with the same %s alert", len(fs), best.q.Host, name),
			Frames: alerts, Filter: fmt.Sprintf("tls.alert_message.desc == %d && %s", best.alert.Description, FramesFilter(alerts))})
		weights = append(weights, Weak)
	}
	fd.Score = Combine(weights...)
	what, fix := alertAdvice(best)
	fd.Explanation = fmt.Sprintf("The TLS handshake with %s failed: the server refused the ClientHello with %s. %s", best.q.Host, name, what)
	fd.Remediation = append(fix, fmt.Sprintf("Then check that a new connection to %s (TCP/443) completes its handshake", best.q.Host))
	if fd.Score < 0.85 {
		fd.Conclusive = fmt.Sprintf("the same ClientHello sent to %s from another network (or a capture on the server side) getting the same alert would settle that the server, not a box on the path, refuses it", best.q.Host)
	}
	return fd
}

// serverFatalAlert returns the first readable fatal alert the server sent
// before the handshake completed: before its change_cipher_spec and
// application data (RFC 5246 7.2.2, RFC 8446 6.2).
func serverFatalAlert(t *analyze.TLSInfo) (analyze.TLSAlert, bool) {
	for _, al := range t.Details().Alerts {
		if al.From != analyze.FromServer || al.Encrypted || al.Level != alertFatal {
			continue
		}
		if al.Description == alertCloseNotify || al.Description == alertUserCanceled {
			continue
		}
		if done := t.CCSFrame[analyze.FromServer]; done != 0 && al.Frame > done {
			continue
		}
		if done := t.AppDataFrame[analyze.FromServer]; done != 0 && al.Frame > done {
			continue
		}
		return al, true
	}
	return analyze.TLSAlert{}, false
}

// ttlConsistent reports whether every packet from the server side arrived
// within ttlSpread hops of the others, so that one sender plausibly sent
// them all.
func ttlConsistent(f *analyze.Flow) bool {
	s := &f.Dir[analyze.FromServer]
	return s.Packets > 0 && int(s.TTLMax)-int(s.TTLMin) < ttlSpread
}

// maxOffered is the highest TLS version the ClientHello offered.
func maxOffered(t *analyze.TLSInfo) uint16 {
	var v uint16
	for _, o := range t.Offered().OfferedVersions {
		if o <= versionTLS13 || o>>8 == 0x7f { // drafts count as TLS 1.3
			v = max(v, min(o, versionTLS13))
		}
	}
	return v
}

// helloExplains says what in the ClientHello accounts for the alert, or "":
// only TLS 1.1 or older offered against protocol_version (Quick Assist needs
// TLS 1.2: research/quickassist.md section 3), or no TLS 1.3 offered against
// handshake_failure/insufficient_security (then the server had to find a
// common TLS 1.2 suite in a list a policy may have cut down; section 10).
func helloExplains(t *analyze.TLSInfo, desc uint8) string {
	top := maxOffered(t)
	if top == 0 {
		return ""
	}
	switch desc {
	case alertProtocolVersion:
		if top < versionTLS12 {
			return fmt.Sprintf("the ClientHello offered at most %s; Quick Assist's servers require TLS 1.2", tlsmsg.VersionName(top))
		}
	case alertHandshakeFailure, alertInsufficientSecurity:
		if top < versionTLS13 {
			return fmt.Sprintf("the ClientHello offered no TLS 1.3, only %s with %d cipher suites: the server found no suite or group in common", tlsmsg.VersionName(top), t.Offered().Ciphers)
		}
	}
	return ""
}

// alertAdvice explains an alert and says what to change.
func alertAdvice(tf tlsFail) (string, []string) {
	host := tf.q.Host
	switch tf.alert.Description {
	case alertProtocolVersion:
		if tf.reason != "" {
			return "TLS 1.2 is switched off on this PC (Schannel registry or policy), so it offered only older versions.",
				[]string{`Enable TLS 1.2 for clients on the PC: HKLM\SYSTEM\CurrentControlSet\Control\SecurityProviders\SCHANNEL\Protocols\TLS 1.2\Client, Enabled=1 and DisabledByDefault=0 (or the equivalent GPO/Intune setting)`}
		}
		return "The client offered TLS 1.2 or newer, so the peer that refused it speaks only TLS 1.0/1.1: an old proxy or firewall that terminates TLS, or a version policy.",
			[]string{fmt.Sprintf("Find the box that answers for %s on TCP/443 and upgrade it to TLS 1.2, or exempt the Quick Assist names from it", host)}
	case alertHandshakeFailure, alertInsufficientSecurity:
		if tf.reason != "" {
			return "A cipher-suite policy on this PC leaves no suite the server accepts.",
				[]string{"Restore the default Windows cipher suites (remove or widen the 'SSL Cipher Suite Order' GPO) so that the client offers ECDHE with AES-GCM and TLS 1.3"}
		}
		return "The client's offer was modern, so the peer has a restricted or outdated TLS configuration (no common cipher suite or group).",
			[]string{fmt.Sprintf("Check the TLS configuration of whatever answers for %s on TCP/443 (a proxy or load balancer in between?) against the client's offer", host)}
	case alertIllegalParameter, alertDecodeError:
		return "The peer could not parse the ClientHello: a middlebox rewrote it, or cannot handle its size (a post-quantum key share makes it span two segments).",
			[]string{fmt.Sprintf("Look for an IPS or TLS-aware firewall on the path to %s and update it or exempt the Quick Assist names from TLS parsing", host)}
	case alertInternalError:
		return "internal_error is generic and often comes from middleboxes.",
			[]string{fmt.Sprintf("Check the proxies and firewalls on the path to %s (TCP/443) for TLS errors at this time", host)}
	case alertAccessDenied:
		return "access_denied is a policy refusal, usually a filter's.",
			[]string{fmt.Sprintf("Find the policy that refuses %s (web filter or firewall TLS rule) and allow TCP/443 to it", host)}
	case alertUnrecognizedName:
		return "The peer does not serve this name.",
			[]string{fmt.Sprintf("Check that %s resolves to Microsoft's servers (not an internal or filtering address)", host)}
	case alertInappropriateFallback:
		return "The client retried with a lower TLS version after a failure, and the server refused the downgrade: an earlier attempt failed first.",
			[]string{fmt.Sprintf("Look at the earlier failed connection to %s for the first cause", host)}
	case alertNoApplicationProto:
		return "No application protocol (ALPN) in common.",
			[]string{fmt.Sprintf("Check that no proxy strips or rewrites ALPN for %s", host)}
	}
	return "", []string{fmt.Sprintf("Check the TLS configuration of whatever answers for %s on TCP/443", host)}
}
