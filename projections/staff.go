package projections

import (
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// Staff is the read model of staff members, their bearer tokens and
// sign-in sessions, and the sign-in policy: who may sign in, how, with
// which role, for which branches.
type Staff struct {
	members map[string]*StaffMember
	tokens  map[string]*TokenInfo // tokens and sessions, by id
	policy  SignInPolicy
}

// MaxFailedSignIns is how many failed sign-ins StaffMember.FailedSignIns
// keeps: the latest, enough for any throttling window of the console.
const MaxFailedSignIns = 20

// StaffMember is one member of staff as the log says now. The fields
// tagged json:"-" are derived from secrets (a verifier, hashes, a sealed
// secret) or are throttling state: the console reads them, the API never
// serves them.
type StaffMember struct {
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	Role          string    `json:"role"`
	BranchIDs     []string  `json:"branchIds,omitempty"`
	RegisteredAt  time.Time `json:"registeredAt"`
	Version       uint64    `json:"version"`
	Active        bool      `json:"active"` // true from StaffRegistered until StaffDeactivated
	DeactivatedAt time.Time `json:"deactivatedAt,omitzero"`
	PasswordHash  string    `json:"-"` // the latest PasswordSet's argon2id verifier
	PasswordSetAt time.Time `json:"passwordSetAt,omitzero"`
	// SetupID, SetupHash and SetupExpiresAt are the pending setup code: the
	// latest PasswordSetupIssued, cleared by a PasswordSet naming its SetupID.
	SetupID        string    `json:"-"`
	SetupHash      string    `json:"-"`
	SetupExpiresAt time.Time `json:"-"`
	// SecondFactorSealed is the latest SecondFactorEnrolled's sealed
	// secret, and SecondFactorAt when it was recorded; a SecondFactorReset
	// clears both.
	SecondFactorSealed string    `json:"-"`
	SecondFactorAt     time.Time `json:"secondFactorAt,omitzero"`
	LastSignInAt       time.Time `json:"lastSignInAt,omitzero"`
	// FailedSignIns are the recordedAt of the SignInFailed since the last
	// SignedIn or PasswordSet, at most the latest MaxFailedSignIns, oldest
	// first; nil if none.
	FailedSignIns []time.Time `json:"-"`
}

// TokenInfo is what is known of one issued bearer token or one sign-in
// session: never the secret, only its hash.
type TokenInfo struct {
	ID        string    `json:"id"`
	StaffID   string    `json:"staffId"`
	Hash      string    `json:"-"`
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	// Revoked is set by TokenRevoked for a token and by SignedOut for a
	// session, each only from the stream of the member it belongs to.
	Revoked bool `json:"revoked"`
	// Kind is KindToken (TokenIssued) or KindSession (SignedIn): a
	// session's secret is never a bearer token.
	Kind         string `json:"kind"`
	SecondFactor bool   `json:"secondFactor"` // a session opened with the second factor
}

// The kinds of TokenInfo.
const (
	KindToken   = "token"
	KindSession = "session"
)

// SignInPolicy is the sign-in policy as the latest SecondFactorPolicySet
// says: the roles that must sign in with a second factor, never nil.
type SignInPolicy struct {
	SecondFactorRoles []string `json:"secondFactorRoles"`
}

// NewStaff returns an empty staff read model.
func NewStaff() *Staff {
	return &Staff{members: map[string]*StaffMember{}, tokens: map[string]*TokenInfo{},
		policy: SignInPolicy{SecondFactorRoles: []string{}}}
}

// Name returns "staff".
func (*Staff) Name() string { return "staff" }

// Apply folds staff events and the sign-in settings.
func (s *Staff) Apply(e Event) {
	if e.Stream == events.SignInSettingsStream {
		if d, ok := e.Data.(*events.SecondFactorPolicySet); ok {
			s.policy = SignInPolicy{SecondFactorRoles: slices.Clone(d.Roles)}
			if s.policy.SecondFactorRoles == nil {
				s.policy.SecondFactorRoles = []string{}
			}
		}
		return
	}
	cat, id := e.StreamID()
	if cat != events.CategoryStaff {
		return
	}
	id = strings.Clone(id) // e.Stream shares a read buffer that must not be retained
	m := s.members[id]
	switch d := e.Data.(type) {
	case *events.StaffRegistered:
		s.members[id] = &StaffMember{ID: d.StaffID, Name: d.Name, Role: d.Role, BranchIDs: d.BranchIDs,
			RegisteredAt: e.RecordedAt, Version: e.Version, Active: true}
		return
	case *events.TokenIssued:
		// A session's id is never taken over by a token.
		if t := s.tokens[d.TokenID]; t == nil || t.Kind == KindToken {
			s.tokens[d.TokenID] = &TokenInfo{ID: d.TokenID, StaffID: id, Hash: d.TokenHash, IssuedAt: e.RecordedAt,
				ExpiresAt: d.ExpiresAt, Kind: KindToken}
		}
	case *events.TokenRevoked:
		s.revoke(d.TokenID, id, KindToken)
	case *events.SignedIn:
		// The first record of an id stands: a session never replaces a
		// token or another session (ids are fresh ULIDs; this is a fence).
		if s.tokens[d.SessionID] == nil {
			s.tokens[d.SessionID] = &TokenInfo{ID: d.SessionID, StaffID: id, Hash: d.SessionHash, IssuedAt: e.RecordedAt,
				ExpiresAt: d.ExpiresAt, Kind: KindSession, SecondFactor: d.SecondFactor}
		}
	case *events.SignedOut:
		s.revoke(d.SessionID, id, KindSession)
	}
	if m == nil {
		return
	}
	m.Version = e.Version
	switch d := e.Data.(type) {
	case *events.StaffRoleChanged:
		m.Role = d.Role
	case *events.StaffDeactivated:
		m.Active, m.DeactivatedAt = false, e.RecordedAt
	case *events.PasswordSetupIssued:
		m.SetupID, m.SetupHash, m.SetupExpiresAt = d.SetupID, d.CodeHash, d.ExpiresAt
	case *events.PasswordSet:
		m.PasswordHash, m.PasswordSetAt, m.FailedSignIns = d.PasswordHash, e.RecordedAt, nil
		if d.SetupID != "" && d.SetupID == m.SetupID {
			m.SetupID, m.SetupHash, m.SetupExpiresAt = "", "", time.Time{}
		}
	case *events.SecondFactorEnrolled:
		m.SecondFactorSealed, m.SecondFactorAt = d.SecretSealed, e.RecordedAt
	case *events.SecondFactorReset:
		m.SecondFactorSealed, m.SecondFactorAt = "", time.Time{}
	case *events.SignedIn:
		m.LastSignInAt, m.FailedSignIns = e.RecordedAt, nil
	case *events.SignInFailed:
		if len(m.FailedSignIns) == MaxFailedSignIns {
			m.FailedSignIns = slices.Delete(m.FailedSignIns, 0, 1)
		}
		m.FailedSignIns = append(m.FailedSignIns, e.RecordedAt)
	}
}

// revoke revokes token or session id of kind if it belongs to staff.
func (s *Staff) revoke(id, staff, kind string) {
	if t := s.tokens[id]; t != nil && t.StaffID == staff && t.Kind == kind {
		t.Revoked = true
	}
}

// Member returns the staff member with id, or false. Its slices are
// copies the caller owns.
func (s *Staff) Member(id string) (StaffMember, bool) {
	m, ok := s.members[id]
	if !ok {
		return StaffMember{}, false
	}
	return m.clone(), true
}

// Members returns every registered member, by id, as copies the caller
// owns; empty, not nil, if there is none.
func (s *Staff) Members() []StaffMember {
	out := make([]StaffMember, 0, len(s.members))
	for _, m := range s.members {
		out = append(out, m.clone())
	}
	slices.SortFunc(out, func(a, b StaffMember) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Policy returns the sign-in policy, its slice a copy the caller owns.
func (s *Staff) Policy() SignInPolicy {
	return SignInPolicy{SecondFactorRoles: slices.Clone(s.policy.SecondFactorRoles)}
}

// clone copies m with slices of its own (nil stays nil).
func (m *StaffMember) clone() StaffMember {
	c := *m
	c.BranchIDs = slices.Clone(m.BranchIDs)
	c.FailedSignIns = slices.Clone(m.FailedSignIns)
	return c
}

// Token returns the token with id, or false.
func (s *Staff) Token(id string) (TokenInfo, bool) {
	t, ok := s.tokens[id]
	if !ok {
		return TokenInfo{}, false
	}
	return *t, true
}

// Count returns the number of staff members.
func (s *Staff) Count() int { return len(s.members) }

// ValidAt reports whether the token may be used at now.
func (t TokenInfo) ValidAt(now time.Time) bool {
	return !t.Revoked && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}
