package decodetest

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/pion/stun/v3"
)

func TestSTUNMessages(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	id := STUNTxID(r)
	auth := &STUNAuth{Username: "1732435200:acs", Realm: "azure.com", Nonce: "abc123", Password: "secret"}
	mapped := netip.MustParseAddrPort("203.0.113.7:61000")
	relayed := netip.MustParseAddrPort("20.202.1.2:52000")
	peer := netip.MustParseAddrPort("20.202.3.4:49152")
	tests := []struct {
		name   string
		raw    []byte
		typ    stun.MessageType
		auth   bool
		attrs  []stun.AttrType
		xorTyp stun.AttrType
		xor    netip.AddrPort
	}{
		{"binding request", BindingRequest(id), bindingRequest, false, nil, 0, netip.AddrPort{}},
		{"binding success", BindingSuccess(id, mapped), bindingSuccess, false, nil, stun.AttrXORMappedAddress, mapped},
		{"allocate", AllocateRequest(id, nil), allocateRequest, false, []stun.AttrType{stun.AttrRequestedTransport}, 0, netip.AddrPort{}},
		{"allocate 401", AllocateUnauthorized(id, "azure.com", "abc123"), stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse), false, []stun.AttrType{stun.AttrErrorCode, stun.AttrRealm, stun.AttrNonce}, 0, netip.AddrPort{}},
		{"allocate authenticated", AllocateRequest(id, auth), allocateRequest, true, []stun.AttrType{stun.AttrUsername, stun.AttrRealm, stun.AttrNonce, stun.AttrRequestedTransport}, 0, netip.AddrPort{}},
		{"allocate success", AllocateSuccess(id, relayed, mapped, 10*time.Minute, auth), allocateSuccess, true, []stun.AttrType{stun.AttrLifetime}, stun.AttrXORRelayedAddress, relayed},
		{"allocate 486", STUNError(stun.MethodAllocate, id, STUNAllocationQuota, "", ""), stun.NewType(stun.MethodAllocate, stun.ClassErrorResponse), false, []stun.AttrType{stun.AttrErrorCode}, 0, netip.AddrPort{}},
		{"create permission", CreatePermissionRequest(id, peer.Addr(), auth), stun.NewType(stun.MethodCreatePermission, stun.ClassRequest), true, nil, stun.AttrXORPeerAddress, netip.AddrPortFrom(peer.Addr(), 0)},
		{"channel bind", ChannelBindRequest(id, 0x4000, peer, auth), stun.NewType(stun.MethodChannelBind, stun.ClassRequest), true, []stun.AttrType{stun.AttrChannelNumber}, stun.AttrXORPeerAddress, peer},
		{"channel bind success", STUNSuccess(stun.MethodChannelBind, id, auth), stun.NewType(stun.MethodChannelBind, stun.ClassSuccessResponse), true, nil, 0, netip.AddrPort{}},
		{"refresh", RefreshRequest(id, 0, auth), stun.NewType(stun.MethodRefresh, stun.ClassRequest), true, []stun.AttrType{stun.AttrLifetime}, 0, netip.AddrPort{}},
		{"refresh success", RefreshSuccess(id, 600*time.Second, auth), stun.NewType(stun.MethodRefresh, stun.ClassSuccessResponse), true, []stun.AttrType{stun.AttrLifetime}, 0, netip.AddrPort{}},
		{"stale nonce", STUNError(stun.MethodRefresh, id, STUNStaleNonce, "azure.com", "n2"), stun.NewType(stun.MethodRefresh, stun.ClassErrorResponse), false, []stun.AttrType{stun.AttrErrorCode, stun.AttrNonce}, 0, netip.AddrPort{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !stun.IsMessage(tt.raw) {
				t.Fatal("stun.IsMessage = false")
			}
			m := new(stun.Message)
			if err := stun.Decode(tt.raw, m); err != nil {
				t.Fatal(err)
			}
			if m.Type != tt.typ || m.TransactionID != id {
				t.Errorf("type %v id %x, want %v %x", m.Type, m.TransactionID, tt.typ, id)
			}
			if err := stun.Fingerprint.Check(m); err != nil {
				t.Errorf("fingerprint: %v", err)
			}
			if tt.auth {
				mi := stun.NewLongTermIntegrity(auth.Username, auth.Realm, auth.Password)
				if err := mi.Check(m); err != nil {
					t.Errorf("message integrity: %v", err)
				}
			} else if m.Contains(stun.AttrMessageIntegrity) {
				t.Error("unexpected MESSAGE-INTEGRITY")
			}
			for _, a := range tt.attrs {
				if !m.Contains(a) {
					t.Errorf("no %v", a)
				}
			}
			if tt.xorTyp != 0 {
				var x stun.XORMappedAddress
				if err := x.GetFromAs(m, tt.xorTyp); err != nil {
					t.Fatal(err)
				}
				got, _ := netip.AddrFromSlice(x.IP)
				if diff := cmp.Diff(tt.xor, netip.AddrPortFrom(got.Unmap(), uint16(x.Port)), cmp.Comparer(func(a, b netip.AddrPort) bool { return a == b })); diff != "" {
					t.Errorf("%v (-want +got):\n%s", tt.xorTyp, diff)
				}
			}
		})
	}
}

func TestSTUNErrorCode(t *testing.T) {
	m := new(stun.Message)
	if err := stun.Decode(STUNError(stun.MethodAllocate, [12]byte{}, STUNAllocationQuota, "", ""), m); err != nil {
		t.Fatal(err)
	}
	var ec stun.ErrorCodeAttribute
	if err := ec.GetFrom(m); err != nil {
		t.Fatal(err)
	}
	if ec.Code != 486 || string(ec.Reason) != "Allocation Quota Reached" {
		t.Errorf("error code %v", ec)
	}
}

func TestChannelData(t *testing.T) {
	got := ChannelData(0x4001, []byte{1, 2, 3})
	if want := []byte{0x40, 0x01, 0, 3, 1, 2, 3}; !bytes.Equal(got, want) {
		t.Errorf("ChannelData = %x, want %x", got, want)
	}
	if stun.IsMessage(got) {
		t.Error("ChannelData classified as a STUN message")
	}
}
