package scenario

import (
	"time"

	"github.com/qadiag/qadiag/decode/decodetest"
)

// session is a working Quick Assist session as the helper's PC captures
// it (shared/research/quickassist.md section 3): telemetry, the service,
// sign-in, ACS signaling, the Trouter WebSocket and the RDP relay.
type session struct {
	c                       *capture
	monitor, service, login *conn
	acs, trouter, relay     *conn
	serviceHS, relayHS      handshake
	serviceSyn              handle
	serviceSynAck           handle
	closed                  map[*conn]bool
}

// quickAssist captures the stages of a session from at and relayFor of
// relay traffic; the connections stay open until close.
func (c *capture) quickAssist(at time.Duration, v6 bool, relayFor time.Duration) *session {
	s := &session{c: c, closed: map[*conn]bool{}}
	end, _ := c.resolve(at, &qaMonitor)
	s.monitor = c.https(end+c.jitter(time.Millisecond), &qaMonitor, v6, 1)
	end, _ = c.resolve(at+c.jitter(150*time.Millisecond), &qaService)
	s.service = c.dial(end+c.jitter(time.Millisecond), &qaService, v6, 443)
	s.serviceSyn, s.serviceSynAck, _ = s.service.open()
	s.serviceHS = s.service.tls13(c.chromium(qaService.name))
	for range 3 {
		s.service.exchange(c.jitter(5*time.Millisecond), 300+c.r.IntN(500), 1500+c.r.IntN(6000), c.jitter(12*time.Millisecond))
	}
	end, _ = c.resolve(s.service.t+c.jitter(400*time.Millisecond), &qaLogin)
	s.login = c.https(end+c.jitter(time.Millisecond), &qaLogin, v6, 3)
	end, _ = c.resolve(s.login.t+c.jitter(1200*time.Millisecond), &qaACS)
	s.acs = c.https(end+c.jitter(time.Millisecond), &qaACS, v6, 2)
	end, _ = c.resolve(s.acs.t+c.jitter(200*time.Millisecond), &qaTrouter)
	s.trouter = c.https(end+c.jitter(time.Millisecond), &qaTrouter, v6, 1) // the WebSocket upgrade
	end, _ = c.resolve(s.trouter.t+c.jitter(1500*time.Millisecond), &qaRelay)
	s.relay, s.relayHS = c.relay(end+c.jitter(time.Millisecond), v6, relayFor)
	// WebSocket pings and chat polls while the relay runs.
	for s.trouter.t+4*time.Second < s.relay.t {
		s.trouter.exchange(c.jitter(4*time.Second), 40, 40, c.jitter(time.Millisecond))
	}
	for s.acs.t+6*time.Second < s.relay.t {
		s.acs.exchange(c.jitter(6*time.Second), 420, 900, c.jitter(8*time.Millisecond))
	}
	return s
}

// close ends every connection still open, relay first: close_notify and
// FIN from the client. It returns the relay's FIN.
func (s *session) close(dt time.Duration) handle {
	at := s.relay.t + dt
	var relayFin handle
	for i, k := range []*conn{s.relay, s.trouter, s.acs, s.service, s.login, s.monitor} {
		if s.closed[k] {
			continue
		}
		fin := k.closeNotify(max(0, at+time.Duration(i)*s.c.jitter(30*time.Millisecond)-k.t), k == s.relay)
		if k == s.relay {
			relayFin = fin
		}
		s.closed[k] = true
	}
	return relayFin
}

// closeNotify captures the client's encrypted close_notify alert (RFC 8446
// 6.1; in TLS 1.2 an alert record, RFC 5246 7.2.1) and an orderly close;
// it returns the client's FIN.
func (k *conn) closeNotify(dt time.Duration, tls12 bool) handle {
	rec := decodetest.ApplicationData(19)
	if tls12 {
		body := make([]byte, 26)
		k.c.fill(body)
		rec = decodetest.AppendRecord(nil, decodetest.RecordAlert, decodetest.VersionTLS12, body)
	}
	k.send(dt, c2s, rec)
	fin, _ := k.closeFrom(k.c.jitter(50*time.Microsecond), c2s)
	return fin
}
