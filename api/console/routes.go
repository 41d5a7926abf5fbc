package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"github.com/dangol/dangol/events"
)

// maxFormBytes bounds a form's body; the console's forms are small (a
// request text or a summary is at most 2,000 characters).
const maxFormBytes = 64 << 10

// pageFunc is a handler of a signed-in page; a returned error is rendered
// as the error page (fail), so handlers never write error pages themselves.
type pageFunc func(w http.ResponseWriter, r *http.Request, s *Session) error

// Roles of the console's pages (events.Roles).
var (
	advisorRoles = []string{"rep", "private_banker"}
	readerRoles  = []string{"rep", "private_banker", "supervisor", "centre_head", "auditor"}
	adminRoles   = []string{"admin"}
	everyone     = []string{"rep", "private_banker", "supervisor", "centre_head", "auditor", "admin"}
)

func (c *Console) routes() {
	c.mux.Handle("GET /static/", c.serveStatic())
	c.authRoutes()
	c.workRoutes()
	c.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c.fail(w, r, http.StatusNotFound, events.Errorf(events.NotFound, "no such page"))
	})
}

// page registers a signed-in page for roles. Without a live session a GET
// is sent to sign in (and back afterwards) and anything else is refused; a
// session found idle is signed out for good (SignedOut, reason idle). A
// state-changing request must carry the session's CSRF token, or nothing
// happens.
func (c *Console) page(pattern string, roles []string, f pageFunc) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		now := c.now()
		s, k, state, err := c.lookup(r, now)
		if err != nil {
			c.fail(w, r, 0, err)
			return
		}
		switch state {
		case idleSession:
			c.endSession(r.Context(), s, "idle")
			fallthrough
		case endedSession, noSession:
			if state != noSession || k.id != "" {
				c.clearSessionCookie(w)
			}
			if r.Method == http.MethodGet {
				next := r.URL.Path
				if r.URL.RawQuery != "" {
					next += "?" + r.URL.RawQuery
				}
				q := url.Values{"next": {next}}
				if state == idleSession {
					q.Set("reason", "idle")
				} else if state == endedSession {
					q.Set("reason", "ended")
				}
				http.Redirect(w, r, "/login?"+q.Encode(), http.StatusSeeOther)
				return
			}
			c.fail(w, r, http.StatusUnauthorized, events.Errorf("signin_required", "sign in again"))
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), sessionCtx, s))
		if !slices.Contains(roles, s.Role) {
			c.fail(w, r, http.StatusForbidden, events.Errorf("forbidden", "your role may not open this page"))
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if !validCSRF(r, c.csrfToken(s)) {
				c.fail(w, r, http.StatusForbidden, events.Errorf("csrf", "the form is stale or not from this console"))
				return
			}
		}
		if !background(r) { // a page refreshing itself is not use (live.go)
			c.touch(w, k, now)
		}
		if err := f(w, r, s); err != nil {
			c.fail(w, r, 0, err)
		}
	})
}

// public registers a page open without a session (sign-in, setup). Its
// POSTs carry the anonymous CSRF token of the browser's csrf cookie.
func (c *Console) public(pattern string, f http.HandlerFunc) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
			if !validCSRF(r, c.anonymousCSRF(r)) {
				c.fail(w, r, http.StatusForbidden, events.Errorf("csrf", "the form is stale or not from this console"))
				return
			}
		} else {
			r = c.ensureCSRFCookie(w, r)
		}
		f(w, r)
	})
}

// appendStaff appends d to staff member id's stream as actor.
func (c *Console) appendStaff(ctx context.Context, id string, actor events.Actor, d events.Data) (events.AppendResult, error) {
	ev, err := events.NewEvent(d, events.Meta{Actor: actor, CorrelationID: events.NewID().String()})
	if err != nil {
		return events.AppendResult{}, err
	}
	return c.Store.Append(ctx, events.StaffStream(id), events.StreamExists, ev)
}

// endSession appends SignedOut for s with reason; a failure is logged (the
// session is refused either way: idle or ended, it does not come back).
func (c *Console) endSession(ctx context.Context, s *Session, reason string) {
	if _, err := c.appendStaff(ctx, s.StaffID, events.Actor{ID: s.StaffID, Role: s.Role}, &events.SignedOut{SessionID: s.ID, Reason: reason}); err != nil {
		c.Logger.Warn("console: cannot record the end of a session", "staff", s.StaffID, "reason", reason, "err", err.Error())
	}
}
