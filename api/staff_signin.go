package api

import (
	"crypto/rand"
	"net/http"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// The admin's writes of people's sign-in (the web console signs people in;
// these routes are how an admin, or a program acting as one, manages it):
// issuing a one-time setup code with which a member sets their password,
// deactivating a member, resetting a member's second factor, and the
// second-factor policy per role. A member's own password is not an API
// write: it is a console credential, set through the console's pages only.

// SetupCodeTTL is how long a setup code is valid after it is issued.
const SetupCodeTTL = 72 * time.Hour

// crockford is Crockford's base32 alphabet: no I, L, O or U, so that a code
// read aloud or typed from paper is not misread.
const crockford = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// NewSetupCode returns a fresh setup code of 80 random bits: 16 characters
// of Crockford base32, shown in groups of four ("7KQ2-M9XD-0RTA-4HVE").
func NewSetupCode() string {
	var b [10]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("api: crypto/rand failed: " + err.Error())
	}
	var out strings.Builder
	var acc uint64
	bits := 0
	n := 0
	for _, x := range b {
		acc = acc<<8 | uint64(x)
		bits += 8
		for bits >= 5 {
			bits -= 5
			if n > 0 && n%4 == 0 {
				out.WriteByte('-')
			}
			out.WriteByte(crockford[(acc>>bits)&31])
			n++
		}
	}
	return out.String()
}

// NormalizeSetupCode returns the 16 characters of a setup code as a person
// typed it (any case, with or without dashes and spaces; O read as 0, I
// and L as 1), or false if it cannot be one.
func NormalizeSetupCode(s string) (string, bool) {
	var out strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '-', ' ', '\t':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if r > 'Z' || !strings.ContainsRune(crockford, r) {
			return "", false
		}
		out.WriteRune(r)
		if out.Len() > 16 {
			return "", false
		}
	}
	if out.Len() != 16 {
		return "", false
	}
	return out.String(), true
}

// HashSetupCode returns the hex SHA-256 of a setup code's normalised form,
// as PasswordSetupIssued stores it ("" if code cannot be a setup code).
func HashSetupCode(code string) string {
	n, ok := NormalizeSetupCode(code)
	if !ok {
		return ""
	}
	return HashToken(n)
}

// reasonRequest is the optional body of the deactivation and the second
// factor's reset.
type reasonRequest struct {
	Reason string `json:"reason"`
}

// setupCodeRequest is the optional body of POST /v1/staff/{id}/setup-codes;
// it has no fields yet (a code is valid SetupCodeTTL).
type setupCodeRequest struct{}

// readOptional reads an optional JSON body into v.
func (s *Server) readOptional(w http.ResponseWriter, r *http.Request, v any) error {
	if r.ContentLength == 0 {
		return nil
	}
	return s.readBody(w, r, v)
}

// activeMember returns nil if staff member id is active, NotFound if never
// registered and Conflict if deactivated.
func (s *Server) activeMember(r *http.Request, id string) error {
	m, err := s.Queries.StaffMember(r.Context(), id)
	if err != nil {
		return err
	}
	if !m.Active {
		return events.Errorf(events.Conflict, "staff member %s is deactivated", id)
	}
	return nil
}

// postSetupCode handles POST /v1/staff/{id}/setup-codes (admin): a new
// one-time setup code, answered once (only its SHA-256 is stored); it
// replaces any code issued before. A retry with the same Idempotency-Key
// is a conflict, as for tokens: the code cannot be shown again.
func (s *Server) postSetupCode(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	if err := s.readOptional(w, r, &setupCodeRequest{}); err != nil {
		return err
	}
	opt, err := parseWriteOptions(r, events.StreamExists)
	if err != nil {
		return err
	}
	if err := s.activeMember(r, id); err != nil {
		return err
	}
	code := NewSetupCode()
	d := &events.PasswordSetupIssued{SetupID: events.NewID().String(), CodeHash: HashSetupCode(code),
		ExpiresAt: s.now().Add(SetupCodeTTL).Truncate(time.Second)}
	return s.appendSecret(w, r, p, events.StaffStream(id), opt, d, "this setup code was already issued; it cannot be shown again (issue a new one)",
		map[string]any{"setupId": d.SetupID, "code": code, "expiresAt": d.ExpiresAt})
}

// postDeactivation handles POST /v1/staff/{id}/deactivation (admin): the
// member can no longer sign in or use a token, and their sessions and live
// connections end. Done once: a repeat answers the deactivation on record.
// An admin cannot deactivate themselves (the last admin would lock
// everyone out).
func (s *Server) postDeactivation(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req reasonRequest
	if err := s.readOptional(w, r, &req); err != nil {
		return err
	}
	if id == p.StaffID {
		return events.Errorf(events.Conflict, "you cannot deactivate yourself; another admin can")
	}
	if req.Reason == "" {
		req.Reason = "deactivated by " + p.StaffID
	}
	return s.appendOnce(w, r, p, events.StaffStream(id), "staff member", &events.StaffDeactivated{Reason: req.Reason},
		func(e *events.Envelope) bool { return e.Type == "StaffDeactivated" })
}

// postSecondFactorReset handles POST /v1/staff/{id}/second-factor/reset
// (admin): the member's authenticator is forgotten, and they enrol a new
// one at their next sign-in. A member with none enrolled is a conflict
// (nothing to reset), except for the retry of a reset that was done.
func (s *Server) postSecondFactorReset(w http.ResponseWriter, r *http.Request, p Principal) error {
	id, err := pathID(r, "id")
	if err != nil {
		return err
	}
	var req reasonRequest
	if err := s.readOptional(w, r, &req); err != nil {
		return err
	}
	if req.Reason == "" {
		req.Reason = "reset by " + p.StaffID
	}
	d := &events.SecondFactorReset{Reason: req.Reason}
	if err := d.Validate(); err != nil {
		return err
	}
	stream := events.StaffStream(id)
	if done, err := s.answerRetry(w, r, p, stream); done || err != nil {
		return err
	}
	m, err := s.Queries.StaffMember(r.Context(), id)
	if err != nil {
		return err
	}
	if m.SecondFactorSealed == "" {
		return events.Errorf(events.Conflict, "staff member %s has no second factor enrolled", id)
	}
	// Expect the version read, so that a reset racing an enrolment does
	// not remove the authenticator enrolled after the check.
	opt, err := parseWriteOptions(r, events.Exact(m.Version))
	if err != nil {
		return err
	}
	return s.appendData(w, r, p, stream, opt.expected, "", "staff member", d)
}

// putSignInPolicy handles PUT /v1/signin-policy (admin): the roles that
// must sign in with a second factor, replacing the policy before. Members
// of a role newly requiring it who signed in without one are sent to sign
// in again at their next request.
func (s *Server) putSignInPolicy(w http.ResponseWriter, r *http.Request, p Principal) error {
	var d events.SecondFactorPolicySet
	if err := s.readBody(w, r, &d); err != nil {
		return err
	}
	// appendData validates d.
	return s.appendData(w, r, p, events.SignInSettingsStream, events.Any, "", "sign-in policy", &d)
}
