package api

import (
	"net/http"

	"github.com/dangol/dangol/events"
	"slices"
	"strings"
)

// Roles (shared/API.md, "Authentication and roles").
const (
	roleRep        = "rep"
	rolePB         = "private_banker"
	roleSupervisor = "supervisor"
	roleCentreHead = "centre_head"
	roleAuditor    = "auditor"
	roleAdmin      = "admin"
)

// Role sets of the endpoints.
var (
	advisors    = []string{roleRep, rolePB}
	readers     = []string{roleRep, rolePB, roleSupervisor, roleCentreHead, roleAuditor}
	qaReaders   = []string{roleSupervisor, roleCentreHead, roleAuditor}
	managers    = []string{roleSupervisor, roleCentreHead, roleAdmin}
	auditors    = []string{roleAuditor}
	adminsOnly  = []string{roleAdmin}
	uploaders   = []string{roleRep, rolePB, roleAdmin}
	registrars  = []string{roleRep, rolePB, roleAdmin}
	supervisors = []string{roleSupervisor}
	heads       = []string{roleCentreHead}
	coachees    = []string{roleRep, rolePB}
	reporters   = []string{roleSupervisor, roleCentreHead, roleAuditor}
)

// bearer returns the token of a request: the Authorization header, or the
// access_token query parameter (browsers cannot set headers on WebSockets).
func bearer(r *http.Request) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if t, ok := strings.CutPrefix(h, "Bearer "); ok {
			return strings.TrimSpace(t)
		}
		return ""
	}
	return r.URL.Query().Get("access_token")
}

// authorize returns the principal of r if its token is valid (401 otherwise)
// and its role is one of roles (403 otherwise).
func (s *Server) authorize(r *http.Request, roles []string) (Principal, error) {
	tok := bearer(r)
	if tok == "" {
		return Principal{}, errUnauthenticated
	}
	p, err := s.auth.Authenticate(r.Context(), tok, s.now())
	if err != nil {
		if unavailable(err) {
			return Principal{}, err
		}
		if s.Progress != nil {
			select {
			case <-s.Progress.CaughtUp():
			default:
				// The token may be in the part of the log not replayed yet.
				return Principal{}, events.Errorf(events.Unavailable, "starting: the read models are catching up with the log; retry shortly")
			}
		}
		return Principal{}, errUnauthenticated
	}
	if rec := recordOf(r); rec != nil {
		rec.staffID = p.StaffID
	}
	if !slices.Contains(roles, p.Role) {
		return p, errForbidden
	}
	return p, nil
}
