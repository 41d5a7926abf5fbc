package events

import "time"

// Event types of the staff-<staffId> stream. Staff names are staff data,
// not customer personal data, and are stored in clear.

func init() {
	Register(func() Data { return new(StaffRegistered) })
	Register(func() Data { return new(StaffRoleChanged) })
	Register(func() Data { return new(TokenIssued) })
	Register(func() Data { return new(TokenRevoked) })
}

// StaffRegistered is the first event of a staff stream. BranchIDs are the
// branches the member works for (a call-centre rep covers 6-7), distinct.
type StaffRegistered struct {
	StaffID   string   `json:"staffId"`
	Name      string   `json:"name"`
	Role      string   `json:"role"`
	BranchIDs []string `json:"branchIds,omitempty"`
}

// EventType returns "StaffRegistered".
func (*StaffRegistered) EventType() string { return "StaffRegistered" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *StaffRegistered) Validate() error {
	c := check{}
	c.id("staffId", &d.StaffID, true)
	c.line("name", &d.Name, maxName, true)
	c.enum("role", &d.Role, Roles...)
	c.ids("branchIds", d.BranchIDs, maxListIDs)
	return c.errOrNil()
}

// StaffRoleChanged gives a staff member a new role.
type StaffRoleChanged struct {
	Role string `json:"role"`
}

// EventType returns "StaffRoleChanged".
func (*StaffRoleChanged) EventType() string { return "StaffRoleChanged" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *StaffRoleChanged) Validate() error {
	c := check{}
	c.enum("role", &d.Role, Roles...)
	return c.errOrNil()
}

// TokenIssued records a bearer token by the SHA-256 of its secret (64
// lowercase hex digits); the secret itself is never stored. A zero ExpiresAt
// means the token does not expire.
type TokenIssued struct {
	TokenID   string    `json:"tokenId"`
	TokenHash string    `json:"tokenHash"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// EventType returns "TokenIssued".
func (*TokenIssued) EventType() string { return "TokenIssued" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *TokenIssued) Validate() error {
	c := check{}
	c.id("tokenId", &d.TokenID, true)
	c.hex64("tokenHash", &d.TokenHash, true)
	c.time("expiresAt", &d.ExpiresAt, false)
	return c.errOrNil()
}

// TokenRevoked ends a token before its expiry.
type TokenRevoked struct {
	TokenID string `json:"tokenId"`
	Reason  string `json:"reason,omitempty"`
}

// EventType returns "TokenRevoked".
func (*TokenRevoked) EventType() string { return "TokenRevoked" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *TokenRevoked) Validate() error {
	c := check{}
	c.id("tokenId", &d.TokenID, true)
	c.line("reason", &d.Reason, maxReason, false)
	return c.errOrNil()
}
