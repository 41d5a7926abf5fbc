package console

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Signing in: staff id and password, and the 6-digit code of the
// member's authenticator when they enrolled one. A member whose role
// requires a second factor and who has none yet enrols one right after
// the password (secondfactor.go). Every attempt on a known id is an event
// on the member's staff stream (SignedIn or SignInFailed); the page says
// one thing for an unknown id, a wrong password and a wrong code, so that
// it tells nobody which staff ids exist or which half was wrong.

// loginPage is the sign-in page's data.
type loginPage struct {
	StaffID string
	Next    string
	Notice  string // a catalog key: why the member is asked to sign in
	Error   string // a catalog key: why the attempt was refused
}

// loginNotices are the reasons /login?reason= may show.
var loginNotices = map[string]string{
	"idle":         "login.notice.idle",
	"ended":        "login.notice.ended",
	"signed_out":   "login.notice.signed_out",
	"password_set": "login.notice.password_set",
}

func (c *Console) getLogin(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p := loginPage{Next: localPath(q.Get("next")), Notice: loginNotices[q.Get("reason")]}
	if id := q.Get("id"); events.ValidID(id) {
		p.StaffID = id
	}
	c.render(w, r, http.StatusOK, "login", "login.title", p)
}

// signInFailure is the generic refusal: unknown id, wrong password, wrong
// or missing code all read the same.
const signInFailure = "login.error.failed"

func (c *Console) postLogin(w http.ResponseWriter, r *http.Request) {
	p := loginPage{StaffID: strings.TrimSpace(r.PostFormValue("staffId")), Next: localPath(r.PostFormValue("next"))}
	pw, code := r.PostFormValue("password"), r.PostFormValue("code")
	a, ok := c.beginAttempt(w, r, signInFailure, func(status int, key string) {
		p.Error = key
		c.render(w, r, status, "login", "login.title", p)
	})
	if !ok {
		return
	}
	defer a.end()
	m, ok := a.member(p.StaffID, func() { c.spendCheck(pw) })
	if !ok {
		return
	}
	if !lockedUntil(m.FailedSignIns, a.now).IsZero() {
		a.failed(m, "locked")
		return
	}
	switch {
	case !m.Active:
		c.spendCheck(pw)
		a.failed(m, "inactive")
		return
	case m.PasswordHash == "":
		c.spendCheck(pw)
		a.failed(m, "no_password")
		return
	case !verifyPassword(pw, m.PasswordHash):
		a.failed(m, "bad_password")
		return
	}
	if m.SecondFactorSealed != "" {
		secret, err := c.openSecret(m.SecondFactorSealed, m.ID)
		if err != nil {
			c.fail(w, r, 0, err)
			return
		}
		if !c.auth.codes.check(m.ID, secret, code, a.now) {
			a.failed(m, "bad_second_factor")
			return
		}
		c.signIn(w, r, m, true, p.Next)
		return
	}
	required, err := c.secondFactorRequired(r.Context(), m.Role)
	if err != nil {
		c.fail(w, r, 0, err)
		return
	}
	if required {
		c.startEnrolment(w, r, m, m.PasswordHash, purposeSignIn, p.Next, http.StatusOK)
		return
	}
	c.signIn(w, r, m, false, p.Next)
}

// secondFactorRequired reports whether the sign-in policy requires role
// to sign in with a second factor.
func (c *Console) secondFactorRequired(ctx context.Context, role string) (bool, error) {
	pol, err := c.Queries.SignInPolicy(ctx)
	if err != nil {
		return false, err
	}
	return slices.Contains(pol.SecondFactorRoles, role), nil
}

// recordFailure appends SignInFailed for m, and waits for the read side,
// so that the next attempt is judged with this failure counted.
func (c *Console) recordFailure(ctx context.Context, m projections.StaffMember, reason string, addr netip.Addr) error {
	_, err := c.appendEvents(ctx, m.ID, anonymous, events.StreamExists, &events.SignInFailed{Reason: reason, Address: addrString(addr)})
	return err
}

// addrString is the canonical form of a, "" when unknown.
func addrString(a netip.Addr) string {
	if !a.IsValid() {
		return ""
	}
	return a.String()
}

// signIn opens a session for m (after whatever proof the caller checked),
// appending before it the events in also (an enrolment, a new password) in
// the same append, sets the cookie and sends the browser to next, or to
// the member's start page.
func (c *Console) signIn(w http.ResponseWriter, r *http.Request, m projections.StaffMember, secondFactor bool, next string, also ...events.Data) {
	c.signInAt(w, r, m, secondFactor, next, events.StreamExists, also...)
}

// signInAt is signIn appending at the expected version exp.
func (c *Console) signInAt(w http.ResponseWriter, r *http.Request, m projections.StaffMember, secondFactor bool, next string,
	exp events.ExpectedVersion, also ...events.Data) {
	now := c.now()
	k := cookie{id: events.NewID().String(), secret: encodeSecret(newSecret()), lastSeen: now.Unix()}
	d := &events.SignedIn{SessionID: k.id, SessionHash: api.HashToken(k.secret), ExpiresAt: now.Add(c.SessionTimeout),
		SecondFactor: secondFactor, Address: addrString(c.clientAddr(r))}
	if _, err := c.appendEvents(r.Context(), m.ID, memberActor(m.ID, m.Role), exp, append(also, d)...); err != nil {
		c.fail(w, r, 0, err)
		return
	}
	c.setSessionCookie(w, k)
	if next == "" {
		next = startPage(m.Role)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// encodeSecret is a session secret as the cookie holds it (43 characters).
func encodeSecret(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// startPage is where a member lands after signing in without a next.
func startPage(role string) string {
	switch role {
	case "rep", "private_banker":
		return "/"
	case "admin":
		return "/admin/staff"
	case "auditor":
		return "/audit"
	case "supervisor":
		return "/qa"
	case "centre_head":
		return "/coaching"
	case "marketer":
		return "/campaigns"
	}
	return "/account"
}

// localPath returns next if it is a path on this console ("/…", not
// "//host" or "/\host", which browsers read as another host), "" if not.
func localPath(next string) string {
	if next == "" || next[0] != '/' || len(next) > 2000 {
		return ""
	}
	if len(next) > 1 && (next[1] == '/' || next[1] == '\\') {
		return ""
	}
	for i := 0; i < len(next); i++ {
		if b := next[i]; b < 0x20 || b == 0x7f || b == '\\' {
			return ""
		}
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return ""
	}
	return next
}

// postLogout ends the session: SignedOut (signed_out), then the cookie.
func (c *Console) postLogout(w http.ResponseWriter, r *http.Request, s *Session) error {
	if _, err := c.appendEvents(r.Context(), s.StaffID, memberActor(s.StaffID, s.Role), events.StreamExists,
		&events.SignedOut{SessionID: s.ID, Reason: "signed_out"}); err != nil {
		return err
	}
	c.clearSessionCookie(w)
	http.Redirect(w, r, "/login?reason=signed_out", http.StatusSeeOther)
	return nil
}

// openSessions returns the ids of staff member id's sessions that are
// neither ended nor expired at now, read from their stream (the read
// model keeps sessions by id only).
func (c *Console) openSessions(ctx context.Context, id string, now time.Time) ([]string, error) {
	var open []string
	ended := map[string]bool{}
	for from := uint64(0); ; {
		evs, err := c.Store.ReadStream(ctx, events.StaffStream(id), from, events.Forward, 500)
		if err != nil {
			return nil, err
		}
		for i := range evs {
			from = evs[i].Version + 1
			switch evs[i].Type {
			case "SignedIn", "SignedOut":
			default:
				continue
			}
			d, err := events.Decode(&evs[i])
			if err != nil {
				return nil, err
			}
			switch d := d.(type) {
			case *events.SignedIn:
				if now.Before(d.ExpiresAt) {
					open = append(open, d.SessionID)
				}
			case *events.SignedOut:
				ended[d.SessionID] = true
			}
		}
		if len(evs) < 500 {
			break
		}
	}
	return slices.DeleteFunc(open, func(id string) bool { return ended[id] }), nil
}

// endOthers returns SignedOut events, for reason, of every open session
// of staff member id but keep.
func (c *Console) endOthers(ctx context.Context, id, keep, reason string, now time.Time) ([]events.Data, error) {
	open, err := c.openSessions(ctx, id, now)
	if err != nil {
		return nil, err
	}
	var out []events.Data
	for _, sid := range open {
		if sid != keep {
			out = append(out, &events.SignedOut{SessionID: sid, Reason: reason})
		}
	}
	return out, nil
}
