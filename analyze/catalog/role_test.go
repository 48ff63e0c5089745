package catalog

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestRoleString(t *testing.T) {
	var got []string
	for r := RoleUnknown; r <= numRoles; r++ {
		got = append(got, r.String())
	}
	want := []string{"unknown", "sign_in", "service", "signaling", "relay", "media", "telemetry", "runtime", "pki", "role(9)"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Role.String (-want +got):\n%s", diff)
	}
}

func TestParseRole(t *testing.T) {
	for _, r := range Roles() {
		got, err := ParseRole(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRole(%q) = %v, %v; want %v", r.String(), got, err, r)
		}
	}
	for _, s := range []string{"unknown", "", "Sign_In", "sign-in", "chat", "role(9)"} {
		if _, err := ParseRole(s); !errors.Is(err, ErrRole) {
			t.Errorf("ParseRole(%q) error = %v, want ErrRole", s, err)
		}
	}
}

func TestRoleJSON(t *testing.T) {
	in := []Role{RoleUnknown, RoleRelay, RolePKI}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(`["unknown","relay","pki"]`, string(b)); diff != "" {
		t.Errorf("Marshal (-want +got):\n%s", diff)
	}
	var out []Role
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if err := json.Unmarshal([]byte(`["chat"]`), &out); !errors.Is(err, ErrRole) {
		t.Errorf("Unmarshal chat: %v, want ErrRole", err)
	}
}
