package projections

import (
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// Staff is the read model of staff members and their tokens: who may sign
// in, with which role, for which branches.
type Staff struct {
	members map[string]*StaffMember
	tokens  map[string]*TokenInfo
}

// StaffMember is one member of staff as the log says now.
type StaffMember struct {
	ID           string    `json:"id"`
	Name         string    `json:"name"`
	Role         string    `json:"role"`
	BranchIDs    []string  `json:"branchIds,omitempty"`
	RegisteredAt time.Time `json:"registeredAt"`
	Version      uint64    `json:"version"`
}

// TokenInfo is what is known of one issued token: never the secret, only its hash.
type TokenInfo struct {
	ID        string    `json:"id"`
	StaffID   string    `json:"staffId"`
	Hash      string    `json:"-"`
	IssuedAt  time.Time `json:"issuedAt"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
	Revoked   bool      `json:"revoked"`
}

// NewStaff returns an empty staff read model.
func NewStaff() *Staff {
	return &Staff{members: map[string]*StaffMember{}, tokens: map[string]*TokenInfo{}}
}

// Name returns "staff".
func (*Staff) Name() string { return "staff" }

// Apply folds staff events.
func (s *Staff) Apply(e Event) {
	cat, id := events.StreamID(e.Stream)
	if cat != "staff" {
		return
	}
	id = strings.Clone(id) // e.Stream shares a read buffer that must not be retained
	m := s.members[id]
	switch d := e.Data.(type) {
	case *events.StaffRegistered:
		s.members[id] = &StaffMember{ID: d.StaffID, Name: d.Name, Role: d.Role, BranchIDs: d.BranchIDs,
			RegisteredAt: e.RecordedAt, Version: e.Version}
		return
	case *events.StaffRoleChanged:
		if m != nil {
			m.Role = d.Role
		}
	case *events.TokenIssued:
		s.tokens[d.TokenID] = &TokenInfo{ID: d.TokenID, StaffID: id, Hash: d.TokenHash, IssuedAt: e.RecordedAt, ExpiresAt: d.ExpiresAt}
	case *events.TokenRevoked:
		if t := s.tokens[d.TokenID]; t != nil && t.StaffID == id {
			t.Revoked = true
		}
	}
	if m != nil {
		m.Version = e.Version
	}
}

// Member returns the staff member with id, or false.
func (s *Staff) Member(id string) (StaffMember, bool) {
	m, ok := s.members[id]
	if !ok {
		return StaffMember{}, false
	}
	return *m, true
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
