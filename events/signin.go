package events

import "time"

// Event types of signing in, for people (programs keep their bearer
// tokens, TokenIssued). All but SecondFactorPolicySet are on the
// staff-<staffId> stream of the member they concern; SecondFactorPolicySet
// is on the one stream SignInSettingsStream.
//
// No secret is ever in one of these events: a password is kept as an
// argon2id verifier (PasswordSet.PasswordHash), setup codes and session
// secrets as their SHA-256 (256-bit random secrets, so a hash cannot be
// reversed by guessing), and the TOTP secret sealed under a key the console
// derives from the master key (SecondFactorEnrolled.SecretSealed).

func init() {
	Register(func() Data { return new(StaffDeactivated) })
	Register(func() Data { return new(PasswordSetupIssued) })
	Register(func() Data { return new(PasswordSet) })
	Register(func() Data { return new(SecondFactorEnrolled) })
	Register(func() Data { return new(SecondFactorReset) })
	Register(func() Data { return new(SignedIn) })
	Register(func() Data { return new(SignInFailed) })
	Register(func() Data { return new(SignedOut) })
	Register(func() Data { return new(SecondFactorPolicySet) })
}

// SignInFailures are the values of SignInFailed.reason.
var SignInFailures = []string{"bad_password", "bad_second_factor", "no_password", "inactive", "locked"}

// SignOutReasons are the values of SignedOut.reason: the member signed out,
// the session was idle too long, an admin revoked it, or the member's
// password changed or the member was deactivated.
var SignOutReasons = []string{"signed_out", "idle", "revoked", "password_changed", "deactivated"}

// Limits of the sign-in events.
const (
	maxPasswordHash = 256 // an argon2id PHC string with a 16-byte salt and 32-byte hash is ~100
	maxSealedSecret = 512 // a 20-byte TOTP secret sealed with AES-GCM is ~64 in base64
)

// StaffDeactivated ends a member's access: from it on, the member can
// neither sign in nor use a token, whatever their sessions and tokens say.
type StaffDeactivated struct {
	Reason string `json:"reason,omitempty"`
}

// EventType returns "StaffDeactivated".
func (*StaffDeactivated) EventType() string { return "StaffDeactivated" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *StaffDeactivated) Validate() error {
	c := check{}
	c.line("reason", &d.Reason, maxReason, false)
	return c.errOrNil()
}

// PasswordSetupIssued records a one-time code with which the member sets
// a password, by the SHA-256 of the code; a later one replaces it.
type PasswordSetupIssued struct {
	SetupID   string    `json:"setupId"`
	CodeHash  string    `json:"codeHash"`
	ExpiresAt time.Time `json:"expiresAt"`
}

// EventType returns "PasswordSetupIssued".
func (*PasswordSetupIssued) EventType() string { return "PasswordSetupIssued" }

// Validate checks the catalog rules; errors are Invalid naming the field.
// ExpiresAt is kept to the microsecond, as recordedAt is, so that every
// read store holds it exactly.
func (d *PasswordSetupIssued) Validate() error {
	c := check{}
	c.id("setupId", &d.SetupID, true)
	c.hex64("codeHash", &d.CodeHash, true)
	c.instant("expiresAt", &d.ExpiresAt, true)
	return c.errOrNil()
}

// PasswordSet records a member's new password as an argon2id verifier, and
// the setup code it consumed if it was set through one.
type PasswordSet struct {
	PasswordHash string `json:"passwordHash"`
	SetupID      string `json:"setupId,omitempty"`
}

// EventType returns "PasswordSet".
func (*PasswordSet) EventType() string { return "PasswordSet" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *PasswordSet) Validate() error {
	c := check{}
	c.phc("passwordHash", &d.PasswordHash, maxPasswordHash)
	c.id("setupId", &d.SetupID, false)
	return c.errOrNil()
}

// SecondFactorEnrolled records a member's TOTP secret, sealed (standard
// base64 of the AEAD ciphertext); a later one replaces it.
type SecondFactorEnrolled struct {
	SecretSealed string `json:"secretSealed"`
}

// EventType returns "SecondFactorEnrolled".
func (*SecondFactorEnrolled) EventType() string { return "SecondFactorEnrolled" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *SecondFactorEnrolled) Validate() error {
	c := check{}
	c.sealed("secretSealed", &d.SecretSealed, maxSealedSecret)
	return c.errOrNil()
}

// SecondFactorReset removes a member's second factor (a lost phone), so
// that they enrol again at their next sign-in.
type SecondFactorReset struct {
	Reason string `json:"reason,omitempty"`
}

// EventType returns "SecondFactorReset".
func (*SecondFactorReset) EventType() string { return "SecondFactorReset" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *SecondFactorReset) Validate() error {
	c := check{}
	c.line("reason", &d.Reason, maxReason, false)
	return c.errOrNil()
}

// SignedIn opens a session, recorded by the SHA-256 of its secret, valid
// until ExpiresAt at the latest (idle expiry is the console's business).
// Address is the client's IP address, in its canonical form.
type SignedIn struct {
	SessionID    string    `json:"sessionId"`
	SessionHash  string    `json:"sessionHash"`
	ExpiresAt    time.Time `json:"expiresAt"`
	SecondFactor bool      `json:"secondFactor,omitempty"`
	Address      string    `json:"address,omitempty"`
}

// EventType returns "SignedIn".
func (*SignedIn) EventType() string { return "SignedIn" }

// Validate checks the catalog rules; errors are Invalid naming the field.
// ExpiresAt is kept to the microsecond, like PasswordSetupIssued's.
func (d *SignedIn) Validate() error {
	c := check{}
	c.id("sessionId", &d.SessionID, true)
	c.hex64("sessionHash", &d.SessionHash, true)
	c.instant("expiresAt", &d.ExpiresAt, true)
	c.ip("address", &d.Address)
	return c.errOrNil()
}

// SignInFailed records a refused sign-in of the member, for throttling and
// the audit; Reason is one of SignInFailures.
type SignInFailed struct {
	Reason  string `json:"reason"`
	Address string `json:"address,omitempty"`
}

// EventType returns "SignInFailed".
func (*SignInFailed) EventType() string { return "SignInFailed" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *SignInFailed) Validate() error {
	c := check{}
	c.enum("reason", &d.Reason, SignInFailures...)
	c.ip("address", &d.Address)
	return c.errOrNil()
}

// SignedOut ends the session SessionID of the member; Reason is one of
// SignOutReasons.
type SignedOut struct {
	SessionID string `json:"sessionId"`
	Reason    string `json:"reason"`
}

// EventType returns "SignedOut".
func (*SignedOut) EventType() string { return "SignedOut" }

// Validate checks the catalog rules; errors are Invalid naming the field.
func (d *SignedOut) Validate() error {
	c := check{}
	c.id("sessionId", &d.SessionID, true)
	c.enum("reason", &d.Reason, SignOutReasons...)
	return c.errOrNil()
}

// SecondFactorPolicySet says which roles must sign in with a second
// factor, replacing the previous policy; no roles means none must.
type SecondFactorPolicySet struct {
	Roles []string `json:"roles"`
}

// EventType returns "SecondFactorPolicySet".
func (*SecondFactorPolicySet) EventType() string { return "SecondFactorPolicySet" }

// Validate checks the catalog rules; errors are Invalid naming the field.
// A missing or null list is the empty one, so that the canonical encoding
// always says "roles":[].
func (d *SecondFactorPolicySet) Validate() error {
	c := check{}
	if d.Roles == nil {
		d.Roles = []string{}
	}
	c.enums("roles", d.Roles, Roles)
	return c.errOrNil()
}
