package analyze

import (
	"encoding/hex"
	"net/netip"
	"slices"
	"time"

	"github.com/qadiag/qadiag/decode/stunmsg"
)

// STUNInfo summarises the STUN and TURN messages of one flow (RFC 8489,
// RFC 8656, [MS-TURN]).
type STUNInfo struct {
	Messages     int // STUN messages, all classes
	Classic      int // of which without the magic cookie (RFC 3489, legacy MS-TURN)
	Malformed    int // STUN-looking datagrams that did not parse
	Indications  int
	ChannelData  int // TURN ChannelData messages (RFC 8656 12.4)
	ChannelBytes int
	Channels     []STUNChannel // by channel number

	// Transactions are the first maxTransactions by first request;
	// TransactionCount counts all.
	Transactions     []STUNTransaction
	TransactionCount int
	Unanswered       int // kept transactions whose requests got no response
	Retransmissions  int // request copies beyond the first, all transactions

	// MappedAddresses are the distinct XOR-MAPPED-ADDRESS values the
	// server reported (the client's address as the server saw it), in
	// order; a change means a NAT rebinding.
	MappedAddresses  []netip.AddrPort
	RelayedAddresses []netip.AddrPort
	ErrorCodes       []int // distinct, in order seen
	Software         string
	Realm            string
	MSTURN           bool
}

// STUNTransaction is one request and its retransmissions, matched to its
// response by transaction ID (RFC 8489 6.3).
type STUNTransaction struct {
	ID     string // 24 hex digits
	Method string
	// RequestFrames are the frames of the request and its retransmissions
	// (the first maxRetransmitFrames); Requests counts them all.
	RequestFrames []uint64
	Requests      int
	FirstRequest  time.Time
	LastRequest   time.Time

	ResponseFrame uint64 // 0: unanswered
	Class         string // "success" or "error"
	ErrorCode     int
	RTT           time.Duration // first request to first response
	Lifetime      uint32
	Mapped        netip.AddrPort
	Relayed       netip.AddrPort
}

// STUNChannel counts the ChannelData of one TURN channel per direction.
type STUNChannel struct {
	Number  uint16
	Packets [2]int
	Bytes   [2]int
}

const (
	maxTransactions     = 64
	maxRetransmitFrames = 10
	maxAddrList         = 8
	maxChannels         = 16
	// maxTrackedIDs bounds the transaction IDs (and DNS queries) a flow
	// remembers, kept or not, so that a retransmission of a transaction
	// past maxTransactions counts as a retransmission and not as a new
	// transaction; past this bound every copy counts as new.
	maxTrackedIDs = 1024
)

type stunState struct {
	byID map[[12]byte]int // index into Transactions, -1 when not kept
}

func newSTUNState() *stunState { return &stunState{byID: map[[12]byte]int{}} }

func (s *stunState) finish(info *STUNInfo) {
	for i := range info.Transactions {
		if info.Transactions[i].ResponseFrame == 0 {
			info.Unanswered++
		}
	}
	slices.SortFunc(info.Channels, func(a, b STUNChannel) int { return int(a.Number) - int(b.Number) })
}

// stunDatagram reads one UDP payload of a STUN flow.
func (a *appState) stunDatagram(dir Direction, frame uint64, now int64, b []byte) {
	if ch, n, ok := stunmsg.ParseChannelData(b); ok && b[0]>>6 == 1 {
		a.channel(dir, ch, n)
		return
	}
	a.stunMessage(dir, frame, now, b)
}

// stunStream reads STUN over TCP (RFC 8489 6.2.2, RFC 4571 framing).
func (a *appState) stunStream(dir Direction, b []byte, frame uint64) {
	buf := b
	if len(a.tcpBuf[dir]) > 0 {
		a.tcpBuf[dir] = append(a.tcpBuf[dir], b...)
		buf = a.tcpBuf[dir]
	}
	for len(buf) > 0 {
		msg, rest, kind, ok := stunmsg.NextTCPMessage(buf)
		if !ok {
			// NextTCPMessage needs 10 bytes to tell an RFC 4571 frame
			// from anything else: fewer may be a message's start.
			if kind == stunmsg.KindUnknown && len(buf) >= 10 {
				a.f.STUN.Malformed++
				a.tcpBuf[dir] = nil
				a.stop()
				return
			}
			break
		}
		switch kind {
		case stunmsg.KindChannelData:
			if ch, n, ok := stunmsg.ParseChannelData(msg); ok {
				a.channel(dir, ch, n)
			}
		default:
			a.stunMessage(dir, frame, a.now, msg)
		}
		buf = rest
	}
	if len(buf) > maxBuffered {
		a.stop()
		return
	}
	a.tcpBuf[dir] = append(a.tcpBuf[dir][:0], buf...)
}

func (a *appState) channel(dir Direction, ch uint16, n int) {
	info := a.f.STUN
	info.ChannelData++
	info.ChannelBytes += n
	for i := range info.Channels {
		if info.Channels[i].Number == ch {
			info.Channels[i].Packets[dir]++
			info.Channels[i].Bytes[dir] += n
			return
		}
	}
	if len(info.Channels) < maxChannels {
		c := STUNChannel{Number: ch}
		c.Packets[dir], c.Bytes[dir] = 1, n
		info.Channels = append(info.Channels, c)
	}
}

func (a *appState) stunMessage(dir Direction, frame uint64, now int64, b []byte) {
	info, sh := a.f.STUN, a.t.shared
	m := &sh.stunM
	if err := sh.stunP.Parse(b, m); err != nil && m.Class == "" {
		info.Malformed++
		return
	}
	info.Messages++
	if m.Classic {
		info.Classic++
	}
	info.MSTURN = info.MSTURN || m.MSTURN
	if m.Software != "" && info.Software == "" {
		info.Software = m.Software
	}
	if m.Realm != "" && info.Realm == "" {
		info.Realm = m.Realm
	}
	st := a.stun
	switch m.Class {
	case "indication":
		info.Indications++
	case "request":
		i, ok := st.byID[m.TransactionID]
		switch {
		case ok && i < 0:
			info.Retransmissions++ // of a transaction not kept
			return
		case !ok:
			info.TransactionCount++
			if len(info.Transactions) >= maxTransactions {
				if len(st.byID) < maxTrackedIDs {
					st.byID[m.TransactionID] = -1
				}
				return
			}
			i = len(info.Transactions)
			st.byID[m.TransactionID] = i
			info.Transactions = append(info.Transactions, STUNTransaction{
				ID: hex.EncodeToString(m.TransactionID[:]), Method: m.Method, FirstRequest: unixTime(now)})
		default:
			info.Retransmissions++
		}
		tx := &info.Transactions[i]
		tx.Requests++
		tx.LastRequest = unixTime(now)
		if len(tx.RequestFrames) < maxRetransmitFrames {
			tx.RequestFrames = append(tx.RequestFrames, frame)
		}
	case "success", "error":
		if m.ErrorCode != 0 && !slices.Contains(info.ErrorCodes, m.ErrorCode) {
			info.ErrorCodes = append(info.ErrorCodes, m.ErrorCode)
		}
		mapped := m.XORMappedAddress
		if !mapped.IsValid() {
			mapped = m.MappedAddress
		}
		if mapped.IsValid() && !slices.Contains(info.MappedAddresses, mapped) && len(info.MappedAddresses) < maxAddrList {
			info.MappedAddresses = append(info.MappedAddresses, mapped)
		}
		if r := m.XORRelayedAddress; r.IsValid() && !slices.Contains(info.RelayedAddresses, r) && len(info.RelayedAddresses) < maxAddrList {
			info.RelayedAddresses = append(info.RelayedAddresses, r)
		}
		i, ok := st.byID[m.TransactionID]
		if !ok || i < 0 {
			return // the request was not captured, or not kept
		}
		tx := &info.Transactions[i]
		if tx.ResponseFrame != 0 {
			return // a response to a retransmission: the first one counts
		}
		tx.ResponseFrame, tx.Class, tx.ErrorCode = frame, m.Class, m.ErrorCode
		tx.RTT = unixTime(now).Sub(tx.FirstRequest)
		tx.Lifetime, tx.Mapped, tx.Relayed = m.Lifetime, mapped, m.XORRelayedAddress
	}
}

func unixTime(ns int64) time.Time { return time.Unix(0, ns).UTC() }
