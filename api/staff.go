package api

import (
	"context"
	"net/http"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// tokenAuth authenticates bearer tokens against the staff read model: the
// token's id is embedded in it, its SHA-256 must match TokenIssued, it
// must be neither expired nor revoked, and its member must be active. A
// sign-in session is never a bearer token, however its secret is shaped:
// a session is the console's, held to its idle expiry and CSRF checks,
// which a bearer skips.
type tokenAuth struct{ q projections.Queries }

func (a tokenAuth) Authenticate(ctx context.Context, bearer string, now time.Time) (Principal, error) {
	id, ok := ParseToken(bearer)
	if !ok {
		return Principal{}, errUnauthenticated
	}
	t, err := a.q.Token(ctx, id)
	if unavailable(err) {
		return Principal{}, err // the read store cannot answer: 503, not 401
	}
	if err != nil || t.Kind != projections.KindToken || !TokenMatches(bearer, t.Hash) || !t.ValidAt(now) {
		return Principal{}, errUnauthenticated
	}
	m, err := a.q.StaffMember(ctx, t.StaffID)
	if unavailable(err) {
		return Principal{}, err
	}
	if err != nil || !m.Active {
		return Principal{}, errUnauthenticated
	}
	return Principal{StaffID: m.ID, Role: m.Role, TokenID: t.ID, Until: t.ExpiresAt}, nil
}

func (s *Server) postStaff(w http.ResponseWriter, r *http.Request, p Principal) error {
	var d events.StaffRegistered
	if err := s.readBody(w, r, &d); err != nil {
		return err
	}
	if err := d.Validate(); err != nil {
		return err
	}
	return s.appendData(w, r, p, events.StaffStream(d.StaffID), events.NoStream, "", "staff member", &d)
}

// tokenRequest is the body of POST /v1/staff/{id}/tokens (optional).
type tokenRequest struct {
	TTLHours int `json:"ttlHours"`
}

func (s *Server) postToken(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	req := tokenRequest{TTLHours: 24 * 90}
	if err := s.readOptional(w, r, &req); err != nil {
		return err
	}
	if req.TTLHours < 1 || req.TTLHours > 24*366 {
		return events.InvalidField("ttlHours", "must be from 1 to 8784")
	}
	// A deactivated member's token would never authenticate (tokenAuth).
	if err := s.activeMember(r, id); err != nil {
		return err
	}
	opt, err := parseWriteOptions(r, events.StreamExists)
	if err != nil {
		return err
	}
	tok := NewToken()
	d := &events.TokenIssued{TokenID: tok.ID, TokenHash: tok.Hash, ExpiresAt: s.now().Add(time.Duration(req.TTLHours) * time.Hour).Truncate(time.Second)}
	return s.appendSecret(w, r, p, events.StaffStream(id), opt, d, "this token was already issued; its secret cannot be shown again",
		map[string]any{"tokenId": tok.ID, "token": tok.Secret, "expiresAt": d.ExpiresAt})
}

// revokeToken handles DELETE /v1/staff/{id}/tokens/{tokenId} (admin). A
// token already revoked is answered with the revocation on record, and
// nothing is appended: a revocation is done once.
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	tid, err := pathID(r, "tokenId")
	if err != nil {
		return err
	}
	t, err := s.Queries.Token(r.Context(), tid)
	if unavailable(err) {
		return err
	}
	if err != nil || t.StaffID != id {
		return events.Errorf(events.NotFound, "token not found")
	}
	return s.appendOnce(w, r, p, events.StaffStream(id), "staff member", &events.TokenRevoked{TokenID: tid, Reason: "revoked by " + p.StaffID},
		func(e *events.Envelope) bool {
			if e.Type != "TokenRevoked" {
				return false
			}
			d, err := events.Decode(e)
			rev, ok := d.(*events.TokenRevoked)
			return err == nil && ok && rev.TokenID == tid
		})
}

func unavailable(err error) bool { return events.ErrorCode(err) == events.Unavailable }
