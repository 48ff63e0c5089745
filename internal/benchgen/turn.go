package benchgen

import (
	"encoding/hex"
	"math/rand/v2"
	"net/netip"
	"time"

	"github.com/pion/stun/v3"
	"github.com/qadiag/qadiag/decode/decodetest"
)

// turnSession is the coroutine state of one TURN session.
type turnSession struct {
	script
	up, down decodetest.UDP // client to server, server to client
	buf      []byte
	rtt      int64
}

// STUN retransmission schedule of RFC 8489 6.2.1: RTO 500 ms doubled
// after each of Rc = 7 transmissions.
const (
	stunRTO = 500 * time.Millisecond
	stunRc  = 7
)

// channel is the TURN channel number the sessions bind (RFC 8656 12).
const channel = 0x4000

// startSTUN starts a TURN session at time at to an ACS media relay in
// 20.202.0.0/16 (shared/research/quickassist.md section 2): Binding,
// Allocate and its 401 challenge, the authenticated Allocate,
// CreatePermission, ChannelBind, ChannelData media with a Refresh halfway
// and a deallocating Refresh at the end. 10 % get no answer and retransmit
// their Binding request; 5 % hit 486 Allocation Quota Reached.
func (g *gen) startSTUN(r *rand.Rand, at int64) {
	hi := r.IntN(numHosts)
	h := &g.hosts[hi]
	v6 := chance(r, g.cfg.IPv6Fraction)
	ts := &turnSession{rtt: dur(r, 30*time.Millisecond, 0.5, 5*time.Millisecond, 300*time.Millisecond)}
	ts.f, ts.r, ts.t = &flow{v6: v6, udp: true}, r, at
	client := netip.AddrPortFrom(h.v4, uint16(50000+r.IntN(15000)))
	server := netip.AddrPortFrom(netip.AddrFrom4([4]byte{20, 202, byte(r.IntN(64)), byte(2 + r.IntN(250))}), decodetest.STUNPort)
	mapped := netip.AddrPortFrom(natPublic, uint16(1024+r.IntN(60000)))
	if v6 {
		client = netip.AddrPortFrom(h.v6, client.Port())
		server = netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x26, 0x03, 0x10, 0x63, 0, 0x40, 15: byte(2 + r.IntN(250))}), decodetest.STUNPort)
		mapped = client
	}
	ts.up = decodetest.UDP{
		Link: decodetest.Link{SrcMAC: h.mac, DstMAC: gatewayMAC},
		IP:   decodetest.IP{TTL: 128, IPID: uint16(r.Uint32())}, Src: client, Dst: server,
	}
	ts.down = decodetest.UDP{
		Link: decodetest.Link{SrcMAC: gatewayMAC, DstMAC: h.mac, Pad: true},
		IP:   decodetest.IP{TTL: 114, IPID: uint16(r.Uint32())}, Src: server, Dst: client,
	}
	g.start(ts.f, func(yield func(int64) bool) {
		ts.yield = yield
		ts.run(mapped)
	})
}

// send emits payload from the client (up) or the server dt later.
func (ts *turnSession) send(dt int64, up bool, payload []byte) bool {
	ts.t += dt
	u := &ts.down
	if up {
		u = &ts.up
	}
	u.Payload = payload
	ts.buf = u.AppendFrame(ts.buf[:0])
	u.IPID++
	return ts.emit(ts.buf)
}

// exchange sends a request and, rtt later, its response.
func (ts *turnSession) exchange(dt int64, req, resp []byte) bool {
	return ts.send(dt, true, req) && ts.send(ts.rtt, false, resp)
}

func (ts *turnSession) run(mapped netip.AddrPort) {
	r := ts.r
	id := decodetest.STUNTxID(r)
	if chance(r, 0.10) {
		req := decodetest.BindingRequest(id)
		rto := int64(stunRTO)
		for i := range stunRc {
			dt := int64(0)
			if i > 0 {
				dt, rto = rto, 2*rto
			}
			if !ts.send(dt, true, req) {
				return
			}
		}
		return
	}
	relayed := netip.AddrPortFrom(ts.up.Dst.Addr(), uint16(49152+r.IntN(16000)))
	peer := netip.AddrPortFrom(netip.AddrFrom4([4]byte{20, 202, byte(r.IntN(256)), byte(1 + r.IntN(254))}), uint16(49152+r.IntN(16000)))
	if !ts.up.Src.Addr().Is4() {
		peer = netip.AddrPortFrom(netip.AddrFrom16([16]byte{0x26, 0x03, 0x10, 0x63, 0, 0x41, 14: byte(r.IntN(256)), 15: byte(1 + r.IntN(254))}), peer.Port())
	}
	nonce := make([]byte, 16)
	fill(r, nonce)
	user := make([]byte, 12)
	fill(r, user)
	auth := &decodetest.STUNAuth{
		Username: "1764000000:" + hex.EncodeToString(user), Realm: "rtcmedia", Nonce: hex.EncodeToString(nonce), Password: "p",
	}
	if !ts.exchange(0, decodetest.BindingRequest(id), decodetest.BindingSuccess(id, mapped)) {
		return
	}
	id = decodetest.STUNTxID(r)
	if !ts.exchange(ms(r, 1, 5), decodetest.AllocateRequest(id, nil), decodetest.AllocateUnauthorized(id, auth.Realm, auth.Nonce)) {
		return
	}
	id = decodetest.STUNTxID(r)
	if chance(r, 0.05) {
		ts.exchange(ms(r, 0, 1), decodetest.AllocateRequest(id, auth),
			decodetest.STUNError(stun.MethodAllocate, id, decodetest.STUNAllocationQuota, "", ""))
		return
	}
	lifetime := 10 * time.Minute
	ok := ts.exchange(ms(r, 0, 1), decodetest.AllocateRequest(id, auth), decodetest.AllocateSuccess(id, relayed, mapped, lifetime, auth))
	id = decodetest.STUNTxID(r)
	ok = ok && ts.exchange(ms(r, 1, 20), decodetest.CreatePermissionRequest(id, peer.Addr(), auth), decodetest.STUNSuccess(stun.MethodCreatePermission, id, auth))
	id = decodetest.STUNTxID(r)
	ok = ok && ts.exchange(ms(r, 0, 2), decodetest.ChannelBindRequest(id, channel, peer, auth), decodetest.STUNSuccess(stun.MethodChannelBind, id, auth))
	if !ok || !ts.media(auth, lifetime) {
		return
	}
	id = decodetest.STUNTxID(r)
	ts.exchange(ms(r, 5, 50), decodetest.RefreshRequest(id, 0, auth), decodetest.RefreshSuccess(id, 0, auth))
}

// media sends ChannelData both ways, one packet every 10 ms alternating
// directions (20 ms audio frames each way), with occasional video-sized
// packets, and refreshes the allocation halfway.
func (ts *turnSession) media(auth *decodetest.STUNAuth, lifetime time.Duration) bool {
	r := ts.r
	n := 240 + r.IntN(360)
	var pay []byte
	for k := range n {
		if k == n/2 {
			id := decodetest.STUNTxID(r)
			if !ts.exchange(ms(r, 1, 5), decodetest.RefreshRequest(id, lifetime, auth), decodetest.RefreshSuccess(id, lifetime, auth)) {
				return false
			}
		}
		size := 100 + r.IntN(80)
		if chance(r, 0.05) {
			size = 800 + r.IntN(350)
		}
		pay = decodetest.AppendChannelData(pay[:0], channel, filler(size))
		if !ts.send(uniformDur(r, 7*time.Millisecond, 13*time.Millisecond), k%2 == 0, pay) {
			return false
		}
	}
	return true
}

// ms draws a duration between lo and hi milliseconds.
func ms(r *rand.Rand, lo, hi int) int64 {
	return uniformDur(r, time.Duration(lo)*time.Millisecond, time.Duration(hi+1)*time.Millisecond)
}

// mediaBytes is SRTP-looking payload shared by every ChannelData message.
var mediaBytes = decodetest.ApplicationData(2048)[5:]

// filler returns n bytes of media payload.
func filler(n int) []byte { return mediaBytes[:n] }
