package decodetest

import (
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"

	"github.com/pion/stun/v3"
)

// STUNPort is the default STUN and TURN port (RFC 8489 18.6).
const STUNPort = 3478

// STUN error codes used by TURN servers (RFC 8489 14.8, RFC 8656 18).
const (
	STUNUnauthorized         = 401
	STUNStaleNonce           = 438
	STUNAllocationQuota      = 486
	STUNAllocationMismatch   = 437
	STUNInsufficientCapacity = 508
)

// STUNAuth holds long-term credentials (RFC 8489 9.2): requests carry
// USERNAME, REALM, NONCE and MESSAGE-INTEGRITY keyed with
// MD5(username:realm:password); responses carry MESSAGE-INTEGRITY.
type STUNAuth struct {
	Username, Realm, Nonce, Password string
}

// STUNTxID draws a 96-bit transaction ID (RFC 8489 5) from r.
func STUNTxID(r *rand.Rand) [stun.TransactionIDSize]byte {
	var id [stun.TransactionIDSize]byte
	binary.LittleEndian.PutUint64(id[:8], r.Uint64())
	binary.LittleEndian.PutUint32(id[8:], r.Uint32())
	return id
}

// STUNMessage builds a message of type t with transaction ID id and the
// given attributes, then MESSAGE-INTEGRITY when auth is not nil (with
// USERNAME, REALM and NONCE first on requests) and FINGERPRINT last
// (RFC 8489 14.7).
func STUNMessage(t stun.MessageType, id [stun.TransactionIDSize]byte, auth *STUNAuth, attrs ...stun.Setter) []byte {
	setters := make([]stun.Setter, 0, len(attrs)+7)
	setters = append(setters, t, stun.NewTransactionIDSetter(id))
	if auth != nil && t.Class == stun.ClassRequest {
		setters = append(setters, stun.NewUsername(auth.Username), stun.NewRealm(auth.Realm), stun.NewNonce(auth.Nonce))
	}
	setters = append(setters, attrs...)
	if auth != nil {
		setters = append(setters, stun.NewLongTermIntegrity(auth.Username, auth.Realm, auth.Password))
	}
	setters = append(setters, stun.Fingerprint)
	m, err := stun.Build(setters...)
	if err != nil {
		panic(fmt.Sprintf("decodetest: building STUN %v: %v", t, err))
	}
	return m.Raw
}

// xorAddr returns an XOR address attribute of type t (RFC 8489 14.2).
func xorAddr(t stun.AttrType, a netip.AddrPort) stun.Setter {
	return setterFunc(func(m *stun.Message) error {
		x := stun.XORMappedAddress{IP: net.IP(a.Addr().AsSlice()), Port: int(a.Port())}
		return x.AddToAs(m, t)
	})
}

// setterFunc adapts a function to stun.Setter.
type setterFunc func(m *stun.Message) error

// AddTo calls f.
func (f setterFunc) AddTo(m *stun.Message) error { return f(m) }

// uint32Attr returns a 4-byte attribute of type t.
func uint32Attr(t stun.AttrType, v uint32) stun.Setter {
	return stun.RawAttribute{Type: t, Value: binary.BigEndian.AppendUint32(nil, v)}
}

// lifetime is a LIFETIME attribute (RFC 8656 14.2).
func lifetime(d time.Duration) stun.Setter {
	return uint32Attr(stun.AttrLifetime, uint32(d/time.Second))
}

var (
	bindingRequest  = stun.NewType(stun.MethodBinding, stun.ClassRequest)
	bindingSuccess  = stun.NewType(stun.MethodBinding, stun.ClassSuccessResponse)
	allocateRequest = stun.NewType(stun.MethodAllocate, stun.ClassRequest)
	allocateSuccess = stun.NewType(stun.MethodAllocate, stun.ClassSuccessResponse)
)

// BindingRequest returns a Binding request (RFC 8489 6).
func BindingRequest(id [stun.TransactionIDSize]byte) []byte {
	return STUNMessage(bindingRequest, id, nil)
}

// BindingSuccess returns a Binding success response with
// XOR-MAPPED-ADDRESS mapped (RFC 8489 14.2).
func BindingSuccess(id [stun.TransactionIDSize]byte, mapped netip.AddrPort) []byte {
	return STUNMessage(bindingSuccess, id, nil, xorAddr(stun.AttrXORMappedAddress, mapped))
}

// AllocateRequest returns a TURN Allocate request for a UDP relay (RFC 8656
// 7.1: REQUESTED-TRANSPORT 17); the first one a client sends has no auth.
func AllocateRequest(id [stun.TransactionIDSize]byte, auth *STUNAuth) []byte {
	return STUNMessage(allocateRequest, id, auth, uint32Attr(stun.AttrRequestedTransport, uint32(ProtoUDP)<<24))
}

// AllocateSuccess returns an Allocate success response (RFC 8656 7.3) with
// XOR-RELAYED-ADDRESS, LIFETIME and XOR-MAPPED-ADDRESS.
func AllocateSuccess(id [stun.TransactionIDSize]byte, relayed, mapped netip.AddrPort, life time.Duration, auth *STUNAuth) []byte {
	return STUNMessage(allocateSuccess, id, auth,
		xorAddr(stun.AttrXORRelayedAddress, relayed), lifetime(life),
		xorAddr(stun.AttrXORMappedAddress, mapped))
}

// STUNError returns an error response to method (RFC 8489 6.3.4) with
// ERROR-CODE code and REALM and NONCE when not empty, as a 401 or 438
// challenge carries them.
func STUNError(method stun.Method, id [stun.TransactionIDSize]byte, code int, realm, nonce string) []byte {
	attrs := []stun.Setter{stun.ErrorCodeAttribute{Code: stun.ErrorCode(code), Reason: []byte(stunReason(code))}}
	if realm != "" {
		attrs = append(attrs, stun.NewRealm(realm))
	}
	if nonce != "" {
		attrs = append(attrs, stun.NewNonce(nonce))
	}
	return STUNMessage(stun.NewType(method, stun.ClassErrorResponse), id, nil, attrs...)
}

func stunReason(code int) string {
	switch code {
	case STUNUnauthorized:
		return "Unauthorized"
	case STUNStaleNonce:
		return "Stale Nonce"
	case STUNAllocationQuota:
		return "Allocation Quota Reached"
	case STUNAllocationMismatch:
		return "Allocation Mismatch"
	case STUNInsufficientCapacity:
		return "Insufficient Capacity"
	}
	return "Error"
}

// AllocateUnauthorized returns the 401 challenge to an unauthenticated
// Allocate (RFC 8656 7.2, RFC 8489 9.2.4).
func AllocateUnauthorized(id [stun.TransactionIDSize]byte, realm, nonce string) []byte {
	return STUNError(stun.MethodAllocate, id, STUNUnauthorized, realm, nonce)
}

// CreatePermissionRequest returns a CreatePermission request for peer
// (RFC 8656 9.1).
func CreatePermissionRequest(id [stun.TransactionIDSize]byte, peer netip.Addr, auth *STUNAuth) []byte {
	return STUNMessage(stun.NewType(stun.MethodCreatePermission, stun.ClassRequest), id, auth,
		xorAddr(stun.AttrXORPeerAddress, netip.AddrPortFrom(peer, 0)))
}

// ChannelBindRequest returns a ChannelBind request binding channel
// (0x4000-0x4fff) to peer (RFC 8656 11.1).
func ChannelBindRequest(id [stun.TransactionIDSize]byte, channel uint16, peer netip.AddrPort, auth *STUNAuth) []byte {
	return STUNMessage(stun.NewType(stun.MethodChannelBind, stun.ClassRequest), id, auth,
		uint32Attr(stun.AttrChannelNumber, uint32(channel)<<16), xorAddr(stun.AttrXORPeerAddress, peer))
}

// RefreshRequest returns a Refresh request (RFC 8656 8.1); a lifetime of 0
// deletes the allocation.
func RefreshRequest(id [stun.TransactionIDSize]byte, life time.Duration, auth *STUNAuth) []byte {
	return STUNMessage(stun.NewType(stun.MethodRefresh, stun.ClassRequest), id, auth, lifetime(life))
}

// RefreshSuccess returns a Refresh success response with LIFETIME.
func RefreshSuccess(id [stun.TransactionIDSize]byte, life time.Duration, auth *STUNAuth) []byte {
	return STUNMessage(stun.NewType(stun.MethodRefresh, stun.ClassSuccessResponse), id, auth, lifetime(life))
}

// STUNSuccess returns an empty success response to method, as
// CreatePermission and ChannelBind get (RFC 8656 9.2, 11.2).
func STUNSuccess(method stun.Method, id [stun.TransactionIDSize]byte, auth *STUNAuth) []byte {
	return STUNMessage(stun.NewType(method, stun.ClassSuccessResponse), id, auth)
}

// AppendChannelData appends a ChannelData message (RFC 8656 12.4): channel
// number, length, payload, without the padding UDP does not need.
func AppendChannelData(dst []byte, channel uint16, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint16(dst, channel)
	dst = binary.BigEndian.AppendUint16(dst, uint16(len(payload)))
	return append(dst, payload...)
}

// ChannelData returns AppendChannelData(nil, channel, payload).
func ChannelData(channel uint16, payload []byte) []byte {
	return AppendChannelData(make([]byte, 0, 4+len(payload)), channel, payload)
}
