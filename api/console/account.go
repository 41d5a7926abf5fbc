package console

import (
	"net/http"
	"strconv"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The account page: who the member is, their second factor, and changing
// their password. A password is a console credential, not an API write:
// the console appends PasswordSet itself (there is no API route for it,
// and a program has no business setting a person's password). Changing it
// ends the member's other sessions (SignedOut, password_changed); a wrong
// current password counts as a failed sign-in.

// accountPage is the account page's data.
type accountPage struct {
	Member   projections.StaffMember
	Required bool   // the member's role must sign in with a second factor
	Done     string // a catalog key: what was just done
	Ended    int    // how many other sessions a password change ended
	Error    string // a catalog key: a refusal of the whole form
	Fields   map[string]string
}

// accountDone are the notices /account?done= may show.
var accountDone = map[string]string{
	"password": "account.done.password",
	"enrolled": "account.done.enrolled",
}

func (c *Console) getAccount(w http.ResponseWriter, r *http.Request, s *Session) error {
	q := r.URL.Query()
	p := accountPage{Done: accountDone[q.Get("done")]}
	p.Ended, _ = strconv.Atoi(q.Get("ended"))
	return c.renderAccount(w, r, s, http.StatusOK, p)
}

func (c *Console) renderAccount(w http.ResponseWriter, r *http.Request, s *Session, status int, p accountPage) error {
	m, err := c.Queries.StaffMember(r.Context(), s.StaffID)
	if err != nil {
		return err
	}
	if p.Required, err = c.secondFactorRequired(r.Context(), m.Role); err != nil {
		return err
	}
	p.Member = m
	c.render(w, r, status, "account", "account.title", p)
	return nil
}

func (c *Console) postPassword(w http.ResponseWriter, r *http.Request, s *Session) error {
	now := c.now()
	lang := language(r)
	p := accountPage{Fields: map[string]string{}}
	current, pw, pw2 := r.PostFormValue("current"), r.PostFormValue("password"), r.PostFormValue("password2")
	c.checkNewPassword(lang, pw, pw2, p.Fields)
	if len(p.Fields) > 0 {
		return c.renderAccount(w, r, s, http.StatusBadRequest, p)
	}
	defer c.auth.lockAccount(s.StaffID)()
	m, err := c.Queries.StaffMember(r.Context(), s.StaffID)
	if err != nil {
		return err
	}
	switch failure, err := c.reauthenticate(r, m, current, now); {
	case err != nil:
		return err
	case failure == "locked":
		p.Error = "login.error.locked"
		return c.renderAccount(w, r, s, http.StatusTooManyRequests, p)
	case failure != "":
		p.Fields["current"] = c.cat.text(lang, "account.error.current")
		return c.renderAccount(w, r, s, http.StatusBadRequest, p)
	}
	ended, err := c.endOthers(r.Context(), s.StaffID, s.ID, "password_changed", now)
	if err != nil {
		return err
	}
	ds := append([]events.Data{&events.PasswordSet{PasswordHash: hashPassword(pw, c.Password)}}, ended...)
	if _, err := c.appendEvents(r.Context(), s.StaffID, memberActor(s.StaffID, s.Role), events.StreamExists, ds...); err != nil {
		return err
	}
	http.Redirect(w, r, "/account?done=password&ended="+strconv.Itoa(len(ended)), http.StatusSeeOther)
	return nil
}

// reauthenticate checks the current password pw of signed-in member m,
// which changing a credential takes (a session alone, a terminal left
// signed in, must not): "" if right, else the failure it recorded as a
// failed sign-in (SignInFailed, and the address's throttle): "locked"
// (the password not checked) or "bad_password". The caller holds the
// account's lock.
func (c *Console) reauthenticate(r *http.Request, m projections.StaffMember, pw string, now time.Time) (string, error) {
	addr := c.clientAddr(r)
	failure := ""
	switch {
	case !lockedUntil(m.FailedSignIns, now).IsZero():
		failure = "locked"
	case !verifyPassword(pw, m.PasswordHash):
		failure = "bad_password"
		c.auth.addrs.fail(addr, now)
	}
	if failure != "" {
		if err := c.recordFailure(r.Context(), m, failure, addr); err != nil {
			return "", err
		}
	}
	return failure, nil
}
