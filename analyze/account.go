package analyze

import (
	"time"

	"github.com/qadiag/qadiag/decode"
)

// account adds one packet to the flow: counters, baselines, idle gap, and
// for TCP the sequence analysis and Zeek history. now is fr.Time in Unix
// nanoseconds.
func (f *liveFlow) account(dir Direction, fr *decode.Frame, p *decode.Packet, now int64) {
	h := &f.hot[dir]
	if h.packets == 0 {
		d := &f.Dir[dir]
		d.FirstFrame, d.firstNs = fr.Number, now
		d.TTLFirst, d.IPIDFirst = p.TTL, p.IPID
		h.ttlMin, h.ttlMax = p.TTL, p.TTL
	} else {
		h.ttlMin, h.ttlMax = min(h.ttlMin, p.TTL), max(h.ttlMax, p.TTL)
	}
	if f.hot[0].packets+f.hot[1].packets > 0 {
		if gap := time.Duration(now - f.last); gap > f.MaxIdle {
			f.MaxIdle, f.IdleAfterFrame = gap, fr.Number
			if gap >= idleGapMin {
				f.Idle = &IdleGap{Gap: gap, StartFrame: max(f.hot[0].lastFrame, f.hot[1].lastFrame), EndFrame: fr.Number}
			}
		}
	}
	if g := f.Idle; g != nil {
		if dir == FromClient {
			g.ClientAfter++
		} else {
			g.ServerAfter++
			if len(p.Payload) > 0 {
				g.ServerPayloadAfter++
			}
		}
		if p.Flags&decode.FlagRST != 0 && p.Proto == decode.ProtoTCP && g.ResetAfter == 0 {
			g.ResetAfter, g.ResetAfterFromServer = fr.Number, dir == FromServer
		}
	}
	h.packets++
	h.bytes += uint64(fr.OrigLen)
	h.payload += uint64(len(p.Payload))
	prevTTL, prevIPID, hadPrev := h.ttlLast, h.ipidLast, h.packets > 1
	h.lastFrame, h.last, h.ipidLast, h.ttlLast = fr.Number, now, p.IPID, p.TTL
	f.last = now
	if p.Malformed != nil || p.Truncated {
		f.Dir[dir].Malformed++
	}
	if p.Proto == decode.ProtoTCP {
		f.tcp(dir, fr, p, now)
		// The flag first: the resets are in a line of the flow no other
		// packet reads, and looking at them for every segment missed the
		// cache on each (90 ms of a run over the benchmark capture).
		if p.Flags&decode.FlagRST != 0 {
			if rs := f.Resets(); len(rs) > 0 {
				if r := &rs[len(rs)-1]; r.Frame == fr.Number {
					r.PrevTTL, r.PrevIPID, r.HavePrev = prevTTL, prevIPID, hadPrev
				}
			}
		}
	} else if len(p.Payload) > 0 {
		f.mark(dir, 'd')
	}
}

// tcp follows one TCP segment: handshake, options, sequence space, closes.
func (f *liveFlow) tcp(dir Direction, fr *decode.Frame, p *decode.Packet, now int64) {
	d := &f.Dir[dir]
	flags := p.Flags
	syn, ack, fin, rst := flags&decode.FlagSYN != 0, flags&decode.FlagACK != 0, flags&decode.FlagFIN != 0, flags&decode.FlagRST != 0
	switch {
	case syn && (fin || rst):
		f.mark(dir, 'q')
	case syn && !ack:
		d.SYNs++
		f.mark(dir, 's')
		if f.SYNFrame == 0 {
			f.SYNFrame = fr.Number
		}
	case syn && ack:
		d.SYNs++
		f.mark(dir, 'h')
		if f.SYNACKFrame == 0 {
			f.SYNACKFrame = fr.Number
			if f.SYNFrame != 0 && dir == FromServer {
				f.RTT = time.Duration(now - f.Dir[FromClient].firstNs)
			}
		}
	case ack && len(p.Payload) == 0 && !fin && !rst:
		f.mark(dir, 'a')
	}
	if syn {
		d.ISN, d.HaveISN = p.Seq, true
		d.MSS, d.WScale, d.SACKPerm = p.MSS, p.WScale, p.SACKPerm
	}
	if len(p.Payload) > 0 {
		f.mark(dir, 'd')
		// The 'r' letter is this side's first reset: the history bits
		// sit by the per-packet state, the reset counters do not.
		if f.hseen[dir]&(1<<('r'-'a')) != 0 && f.DataAfterReset() == 0 && !rst {
			f.ev().dataAfterReset = fr.Number
		}
		h := &f.hot[dir]
		h.maxPayload = max(h.maxPayload, uint32(len(p.Payload)))
	}
	if p.Window == 0 && !syn && !rst && !fin {
		d.ZeroWindows++
		f.markRepeat(dir, 'w', 1)
	}
	d.sequence(f, &f.hot[dir], dir, now, p)
	if fin {
		d.FINs++
		f.mark(dir, 'f')
		if f.Dir[0].FINs > 0 && f.Dir[1].FINs > 0 && !f.closed {
			f.closedAt, f.closed = now, true
		}
	}
	if rst {
		d.RSTs++
		f.mark(dir, 'r')
		if !f.closed {
			f.closedAt, f.closed = now, true
		}
		if len(f.Resets()) < maxResets {
			other := &f.hot[1-dir]
			r := Reset{Frame: fr.Number, Time: fr.Time, From: dir, TTL: p.TTL, IPID: p.IPID,
				Seq: p.Seq, Ack: p.Ack, Payload: len(p.Payload), Flags: flags, Window: p.Window}
			if other.packets > 0 {
				r.TriggerFrame, r.TriggerTime = other.lastFrame, unixTime(other.last)
			}
			ev := f.ev()
			ev.resets = append(ev.resets, r)
		}
	}
}

// largeSegment is the payload size from which a lost segment may be a path
// MTU problem: above what fits a 1280-byte IPv6 minimum MTU, below a full
// 1460-byte Ethernet segment (research/heuristics.md section 9).
const largeSegment = 1200

// idleGapMin is the shortest silence kept as IdleGap: the shortest common
// UDP state timer (30 s: Linux conntrack, PAN-OS, AWS security groups;
// research/heuristics.md section 5).
const idleGapMin = 30 * time.Second

// reorderWindow is how soon after a gap opens a segment filling it counts as
// out of order rather than retransmitted, when no RTT is known; Wireshark
// uses 3 ms the same way (tcp.analysis "ooo_threshold").
const reorderWindow = 3 * time.Millisecond

// sequence classifies a segment against the sequence space already seen in
// its direction (RFC 9293 3.4; comparisons are modulo 2^32).
func (d *DirStats) sequence(f *liveFlow, h *dirHot, dir Direction, now int64, p *decode.Packet) {
	seglen := uint32(len(p.Payload))
	if p.Flags&decode.FlagSYN != 0 {
		seglen++
	}
	if p.Flags&decode.FlagFIN != 0 {
		seglen++
	}
	end := p.Seq + seglen
	if !h.haveSeq {
		h.nextSeq, h.haveSeq = end, true
		return
	}
	if p.Flags&decode.FlagRST != 0 {
		return
	}
	switch diff := int32(p.Seq - h.nextSeq); {
	case seglen == 0:
		return
	case diff > 0: // jumped ahead: the bytes in between are missing here
		d.SeqGaps++
		f.holeAt[dir], f.holeTime[dir] = h.nextSeq, now
		h.nextSeq = end
	case diff == 0:
		h.nextSeq = end
	case diff == -1 && seglen <= 1 && p.Flags&(decode.FlagFIN|decode.FlagSYN) == 0:
		d.KeepAlives++ // RFC 9293 3.8.4: one byte (or none) just below the window edge
	case int32(p.Seq-f.holeAt[dir]) >= 0 && time.Duration(now-f.holeTime[dir]) < max(reorderWindow, f.RTT):
		d.OutOfOrder++
		if int32(end-h.nextSeq) > 0 {
			h.nextSeq = end
		}
	default:
		d.Retransmissions++
		if len(p.Payload) >= largeSegment {
			d.LargeRetrans++
		}
		if f.Idle != nil && dir == FromClient {
			f.Idle.ClientRetransAfter++
		}
		f.markRepeat(dir, 't', 0)
		if int32(end-h.nextSeq) > 0 {
			h.nextSeq = end
		}
	}
}

// mark records a history letter once per direction: upper case for the
// client, lower case for the server, as Zeek writes them.
func (f *liveFlow) mark(dir Direction, c byte) {
	bit := uint32(1) << (c - 'a')
	if f.hseen[dir]&bit != 0 {
		return
	}
	f.hseen[dir] |= bit
	f.appendLetter(dir, c)
}

// markRepeat records letters Zeek repeats as their count reaches 1, 10,
// 100, ... (retransmissions, zero windows).
func (f *liveFlow) markRepeat(dir Direction, c byte, slot int) {
	f.hcount[dir][slot]++
	n := f.hcount[dir][slot]
	for n%10 == 0 {
		n /= 10
	}
	if n == 1 {
		f.appendLetter(dir, c)
	}
}

func (f *liveFlow) appendLetter(dir Direction, c byte) {
	if dir == FromClient {
		c -= 'a' - 'A'
	}
	if int(f.lettersLen) < len(f.letters) {
		f.letters[f.lettersLen] = c
		f.lettersLen++
		return
	}
	f.lettersMore = append(f.lettersMore, c)
}

// ConnState is Zeek's conn_state for the flow (Zeek conn.log documentation):
// S0 attempt unanswered, S1 established, SF closed normally, REJ rejected,
// S2/S3 half closed, RSTO/RSTR reset by client/server, RSTOS0/RSTRH reset
// before the handshake completed, SH/SHR half-open, OTH no SYN seen.
func (f *Flow) ConnState() string {
	c, s := &f.Dir[FromClient], &f.Dir[FromServer]
	if f.Proto != decode.ProtoTCP {
		switch {
		case c.Packets > 0 && s.Packets > 0:
			return "SF"
		case s.Packets > 0:
			return "SHR"
		}
		return "S0"
	}
	origSYN, respSYNACK := f.hseen[FromClient]&bitOf('s') != 0, f.hseen[FromServer]&bitOf('h') != 0
	switch {
	case origSYN && !respSYNACK:
		switch {
		case s.RSTs > 0:
			return "REJ"
		case c.RSTs > 0:
			return "RSTOS0"
		case c.FINs > 0:
			return "SH"
		}
		return "S0"
	case !origSYN && respSYNACK:
		switch {
		case s.RSTs > 0:
			return "RSTRH"
		case s.FINs > 0:
			return "SHR"
		}
		return "OTH"
	case !origSYN:
		return "OTH"
	}
	switch {
	case c.RSTs > 0 && (s.RSTs == 0 || f.firstResetFrom() == FromClient):
		return "RSTO"
	case s.RSTs > 0:
		return "RSTR"
	case c.FINs > 0 && s.FINs > 0:
		return "SF"
	case c.FINs > 0:
		return "S2"
	case s.FINs > 0:
		return "S3"
	}
	return "S1"
}

func bitOf(c byte) uint32 { return 1 << (c - 'a') }

func (f *Flow) firstResetFrom() Direction {
	if rs := f.Resets(); len(rs) > 0 {
		return rs[0].From
	}
	return FromClient
}
