package console

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/dangol/dangol/events"
)

// DefaultRefusalFloor is Config.RefusalFloor's default: well above what a
// refusal costs (an argon2id check and an append), well below what a
// person notices.
const DefaultRefusalFloor = 250 * time.Millisecond

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
	everyone     = []string{"rep", "private_banker", "supervisor", "centre_head", "auditor", "admin", "marketer"}
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
// POSTs carry the anonymous CSRF token of the browser's csrf cookie, and
// a refusal is held until RefusalFloor after the request arrived: a
// member's failure is appended to the log before the answer and an
// unknown id's is not, so the answer's time alone would tell which ids
// exist. The floor is on the machine's clock, and counted after the
// account's lock is released, so that it never delays another attempt.
func (c *Console) public(pattern string, f http.HandlerFunc) {
	c.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet || r.Method == http.MethodHead {
			f(w, c.ensureCSRFCookie(w, r))
			return
		}
		arrived := time.Now()
		r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
		if !validCSRF(r, c.anonymousCSRF(r)) {
			c.fail(w, r, http.StatusForbidden, events.Errorf("csrf", "the form is stale or not from this console"))
			return
		}
		held := &heldAnswer{w: w}
		f(held, r)
		if held.status >= 400 {
			time.Sleep(time.Until(arrived.Add(c.RefusalFloor)))
		}
		held.send()
	})
}

// heldAnswer keeps an answer's status and body until send; its header is
// the real answer's.
type heldAnswer struct {
	w      http.ResponseWriter
	status int
	body   []byte
}

func (h *heldAnswer) Header() http.Header { return h.w.Header() }

func (h *heldAnswer) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

func (h *heldAnswer) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	h.body = append(h.body, b...)
	return len(b), nil
}

func (h *heldAnswer) send() {
	h.WriteHeader(http.StatusOK)
	h.w.WriteHeader(h.status)
	_, _ = h.w.Write(h.body)
}

// endSession appends SignedOut for s with reason; a failure is logged (the
// session is refused either way: idle or ended, it does not come back).
func (c *Console) endSession(ctx context.Context, s *Session, reason string) {
	if _, err := c.appendEvents(ctx, s.StaffID, memberActor(s.StaffID, s.Role), events.StreamExists,
		&events.SignedOut{SessionID: s.ID, Reason: reason}); err != nil {
		c.Logger.Warn("console: cannot record the end of a session", "staff", s.StaffID, "reason", reason, "err", err.Error())
	}
}
