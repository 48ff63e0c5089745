package catalog

import "fmt"

// Role is the part an endpoint plays in a Quick Assist session. The zero
// value, RoleUnknown, means the catalog does not say. String gives the stable
// snake_case id used in the endpoint file, in JSON output and in tests.
type Role uint8

// Roles, in the order a session normally meets them. The names follow the
// role column of research/quickassist.md section 1. Chat, real-time
// notifications (Trouter WebSockets), Web PubSub and ACS REST traffic are all
// RoleSignaling: they carry the conversation between the parties, never the
// screen. TURN and the ACS/Teams media ranges are RoleMedia.
const (
	// RoleUnknown means no role is known.
	RoleUnknown Role = iota
	// RoleSignIn is the helper's sign-in: Microsoft account or Entra ID.
	RoleSignIn
	// RoleService is the Remote Assistance web service that creates and
	// joins sessions (remoteassistance.support.services.microsoft.com).
	RoleService
	// RoleSignaling is Azure Communication Services chat, notification
	// (Trouter) and registration traffic between the parties.
	RoleSignaling
	// RoleRelay is the RDP relay that carries screen and input over TCP 443.
	RoleRelay
	// RoleMedia is ACS or Teams media and TURN (UDP 3478-3481, TCP 443).
	RoleMedia
	// RoleTelemetry is diagnostic data and the Azure Monitor endpoints that
	// Quick Assist also needs to initialise.
	RoleTelemetry
	// RoleRuntime is the WebView2 (Edge) runtime and its update and CDN hosts.
	RoleRuntime
	// RolePKI is certificate status and issuer retrieval: AIA, CRL and OCSP.
	RolePKI

	numRoles
)

var roleNames = [numRoles]string{
	RoleUnknown:   "unknown",
	RoleSignIn:    "sign_in",
	RoleService:   "service",
	RoleSignaling: "signaling",
	RoleRelay:     "relay",
	RoleMedia:     "media",
	RoleTelemetry: "telemetry",
	RoleRuntime:   "runtime",
	RolePKI:       "pki",
}

// String returns the role's stable snake_case id, or "role(N)" for a value
// outside the defined set.
func (r Role) String() string {
	if r < numRoles {
		return roleNames[r]
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// Roles returns every defined role except RoleUnknown, in declaration order.
func Roles() []Role {
	out := make([]Role, 0, numRoles-1)
	for r := RoleSignIn; r < numRoles; r++ {
		out = append(out, r)
	}
	return out
}

// ParseRole returns the role whose id is s. It accepts exactly the ids String
// produces, except "unknown", which an endpoint may not claim.
func ParseRole(s string) (Role, error) {
	for r := RoleSignIn; r < numRoles; r++ {
		if roleNames[r] == s {
			return r, nil
		}
	}
	return RoleUnknown, fmt.Errorf("%w %q (want one of %v)", ErrRole, s, Roles())
}

// MarshalText implements encoding.TextMarshaler with the snake_case id.
func (r Role) MarshalText() ([]byte, error) {
	return []byte(r.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; "unknown" decodes to
// RoleUnknown so that a marshaled zero value round-trips.
func (r *Role) UnmarshalText(b []byte) error {
	if string(b) == roleNames[RoleUnknown] {
		*r = RoleUnknown
		return nil
	}
	v, err := ParseRole(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}
