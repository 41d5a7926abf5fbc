package api

import (
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/dangol/dangol/events"
	"github.com/gorilla/websocket"
)

// Roles (shared/API.md, "Authentication and roles").
const (
	roleRep        = "rep"
	rolePB         = "private_banker"
	roleSupervisor = "supervisor"
	roleCentreHead = "centre_head"
	roleAuditor    = "auditor"
	roleAdmin      = "admin"
	// roleMarketer launches, amends and closes campaigns and reads their
	// target lists and outcomes; it reads no customer's personal data.
	roleMarketer = "marketer"
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
	// qaLeads change what QA runs on: scorecard forms, the sampling plan,
	// calibration sessions (and are the evaluators these may have).
	qaLeads = []string{roleSupervisor, roleCentreHead}
	// campaigners launch, amend and close campaigns and preview criteria.
	campaigners = []string{roleCentreHead, roleMarketer}
	// campaignReaders read campaigns (the advisors: what their worklists
	// are asked to pitch).
	campaignReaders = []string{roleCentreHead, roleMarketer, roleAuditor, roleSupervisor, roleRep, rolePB}
	// targetReaders read a campaign's target list; reps and private
	// bankers their own book's part of it only.
	targetReaders = []string{roleCentreHead, roleMarketer, roleAuditor, roleRep, rolePB}
	// campaignReporters read a campaign's outcome.
	campaignReporters = []string{roleCentreHead, roleMarketer, roleAuditor}
	// tierReaders read the tier migration report: the reporters and the
	// marketers.
	tierReaders = []string{roleSupervisor, roleCentreHead, roleAuditor, roleMarketer}
)

// liveRoute is the one route that takes a token in the URL: browsers cannot
// set headers on a WebSocket. Anywhere else a token in the URL would leak
// through proxy logs, browser history and Referer, so it is refused.
const liveRoute = "GET /v1/live"

// realm is the realm of every WWW-Authenticate challenge (RFC 6750).
const realm = `Bearer realm="dangol"`

// credentials are what a request presents to authenticate.
type credentials struct {
	token   string // the bearer token, "" if none
	urlOnly bool   // an access_token query parameter where none is allowed
}

// bearer returns the credentials of r: the token of an Authorization header
// of the Bearer scheme (case-insensitive, RFC 7235 section 2.1), or, on the
// live WebSocket upgrade only, the access_token query parameter. Another
// scheme counts as no token.
func bearer(r *http.Request) credentials {
	inURL := r.URL.Query().Has("access_token")
	if inURL && (r.Pattern != liveRoute || !websocket.IsWebSocketUpgrade(r)) {
		return credentials{urlOnly: true}
	}
	if h := r.Header.Get("Authorization"); h != "" {
		scheme, tok, _ := strings.Cut(strings.TrimSpace(h), " ")
		if !strings.EqualFold(scheme, "Bearer") {
			return credentials{}
		}
		return credentials{token: strings.TrimSpace(tok)}
	}
	if inURL {
		return credentials{token: r.URL.Query().Get("access_token")}
	}
	return credentials{}
}

// authError is a 401 answer with its RFC 6750 challenge.
type authError struct {
	*apiError
	challenge string // the WWW-Authenticate value
}

func (e *authError) Unwrap() error { return e.apiError }

var (
	// errNoToken: no credentials at all, so the challenge carries no error
	// code (RFC 6750 section 3.1).
	errNoToken = &authError{errUnauthenticated, realm}
	// errBadToken: a token was given but is unknown, malformed, expired or revoked.
	errBadToken = &authError{errUnauthenticated, realm + `, error="invalid_token", error_description="the token is unknown, expired or revoked"`}
	// errTokenInURL: a token in the URL of a route other than the live feed.
	errTokenInURL = &authError{&apiError{http.StatusUnauthorized, codeUnauthenticated,
		"access_token in the URL is accepted only when opening the live WebSocket (GET /v1/live); send the token in an Authorization: Bearer header"},
		realm + `, error="invalid_request", error_description="access_token in the URL is accepted only on GET /v1/live"`}
)

// authorize returns the principal of r if its token is valid (401 otherwise)
// and its role is one of roles (403 otherwise). A 401 sets its challenge
// (WWW-Authenticate) on w.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, roles []string) (Principal, error) {
	p, err := s.authenticate(r)
	var ae *authError
	if errors.As(err, &ae) {
		w.Header().Set("WWW-Authenticate", ae.challenge)
	}
	if err != nil {
		return Principal{}, err
	}
	if rec := recordOf(r); rec != nil {
		rec.staffID = p.StaffID
	}
	if !slices.Contains(roles, p.Role) {
		return p, errForbidden
	}
	return p, nil
}

func (s *Server) authenticate(r *http.Request) (Principal, error) {
	if p, ok := dispatched(r); ok {
		return p, nil // a console request, authenticated by its session
	}
	c := bearer(r)
	switch {
	case c.urlOnly:
		return Principal{}, errTokenInURL
	case c.token == "":
		if p, ok, err := s.sessionLive(r); ok || err != nil {
			return p, err
		}
		return Principal{}, errNoToken
	}
	p, err := s.auth.Authenticate(r.Context(), c.token, s.now())
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
		return Principal{}, errBadToken
	}
	return p, nil
}
