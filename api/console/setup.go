package console

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
)

// Setting a password with a setup code: an admin (or `dangol staff add`)
// issues a one-time code (PasswordSetupIssued, its SHA-256 only); the
// member types their staff id, the code and a new password twice. The
// code must be the member's latest, unexpired and unused (a PasswordSet
// naming it uses it up). A wrong code counts as a failed sign-in
// (SignInFailed, reason bad_password: a setup code is a one-time
// password), for both throttles; the right one opens a locked account. Setting the password ends every session
// the member still has (SignedOut, password_changed). Then the member
// enrols an authenticator if their role requires one or they asked to,
// and is signed in; a member who already has one signs in as usual.

// setupPage is the setup page's data.
type setupPage struct {
	StaffID       string
	Authenticator bool
	Error         string            // a catalog key: the refusal, said alike for every wrong id or code
	Fields        map[string]string // field name → message, translated
}

func (c *Console) getSetup(w http.ResponseWriter, r *http.Request) {
	p := setupPage{}
	if id := r.URL.Query().Get("id"); events.ValidID(id) {
		p.StaffID = id
	}
	c.render(w, r, http.StatusOK, "setup", "setup.title", p)
}

func (c *Console) postSetup(w http.ResponseWriter, r *http.Request) {
	now := c.now()
	addr := c.clientAddr(r)
	lang := language(r)
	p := setupPage{StaffID: strings.TrimSpace(r.PostFormValue("staffId")), Authenticator: r.PostFormValue("authenticator") != "",
		Fields: map[string]string{}}
	code, pw, pw2 := r.PostFormValue("code"), r.PostFormValue("password"), r.PostFormValue("password2")
	end, ok := c.auth.addrs.begin(addr, now)
	if !ok {
		p.Error = "login.error.throttled"
		w.Header().Set("Retry-After", strconv.Itoa(int(addrWindow.Seconds())))
		c.render(w, r, http.StatusTooManyRequests, "setup", "setup.title", p)
		return
	}
	defer end()
	// The new password's rules first: fixing them costs no attempt.
	if err := checkPassword("password", pw); err != nil {
		p.Fields["password"] = c.passwordError(lang, err)
	} else if pw2 != pw {
		p.Fields["password2"] = c.cat.text(lang, "setup.error.mismatch")
	}
	if len(p.Fields) > 0 {
		c.render(w, r, http.StatusBadRequest, "setup", "setup.title", p)
		return
	}
	refuse := func(status int, key string) {
		c.auth.addrs.fail(addr, now)
		p.Error = key
		c.render(w, r, status, "setup", "setup.title", p)
	}
	if !events.ValidID(p.StaffID) {
		refuse(http.StatusUnauthorized, "setup.error.failed")
		return
	}
	defer c.auth.lockAccount(p.StaffID)()
	m, err := c.Queries.StaffMember(r.Context(), p.StaffID)
	if events.ErrorCode(err) == events.NotFound {
		if c.auth.unknown.fail(p.StaffID, now) {
			refuse(http.StatusTooManyRequests, "login.error.locked")
			return
		}
		refuse(http.StatusUnauthorized, "setup.error.failed")
		return
	}
	if err != nil {
		c.fail(w, r, 0, err)
		return
	}
	failed := func(reason string) {
		if err := c.recordFailure(r.Context(), m, reason, addr); err != nil {
			c.fail(w, r, 0, err)
			return
		}
		if reason == "locked" {
			refuse(http.StatusTooManyRequests, "login.error.locked")
			return
		}
		refuse(http.StatusUnauthorized, "setup.error.failed")
	}
	// The right code opens a locked account: a code is how an admin lets a
	// member out of a lock (the refusal says so), and 80 random bits used
	// once are no guess the lock need stop. A wrong one is refused as
	// locked, uncounted, as a password would be.
	hash := api.HashSetupCode(code)
	right := hash != "" && m.SetupHash != "" && now.Before(m.SetupExpiresAt) && equalString(hash, m.SetupHash)
	switch {
	case !right && !lockedUntil(m.FailedSignIns, now).IsZero():
		failed("locked")
		return
	case !m.Active:
		failed("inactive")
		return
	case !right:
		failed("bad_password")
		return
	}

	phc := hashPassword(pw, c.Password)
	ds := []events.Data{&events.PasswordSet{PasswordHash: phc, SetupID: m.SetupID}}
	ended, err := c.endOthers(r.Context(), m.ID, "", "password_changed", now)
	if err != nil {
		c.fail(w, r, 0, err)
		return
	}
	ds = append(ds, ended...)
	required, err := c.secondFactorRequired(r.Context(), m.Role)
	if err != nil {
		c.fail(w, r, 0, err)
		return
	}
	// The version read: of two uses of one code racing (another server),
	// one appends and the other meets a conflict.
	exp := events.Exact(m.Version)
	actor := memberActor(m.ID, m.Role)
	switch {
	case m.SecondFactorSealed == "" && (required || p.Authenticator):
		if _, err := c.appendEvents(r.Context(), m.ID, actor, exp, ds...); err != nil {
			c.fail(w, r, 0, err)
			return
		}
		c.startEnrolment(w, r, m, phc, purposeSignIn, "", http.StatusOK)
	case m.SecondFactorSealed != "":
		if _, err := c.appendEvents(r.Context(), m.ID, actor, exp, ds...); err != nil {
			c.fail(w, r, 0, err)
			return
		}
		http.Redirect(w, r, "/login?"+url.Values{"reason": {"password_set"}, "id": {m.ID}}.Encode(), http.StatusSeeOther)
	default:
		c.signInAt(w, r, m, false, "", exp, ds...)
	}
}

// passwordError translates checkPassword's refusal with the console's own
// messages (the API never checks a password).
func (c *Console) passwordError(lang string, err error) string {
	var ee *events.Error
	if asEventsError(err, &ee) {
		switch ee.Template {
		case "must be at least %d characters":
			return c.cat.text(lang, "auth.password.short", minPassword)
		case "must be at most %d characters":
			return c.cat.text(lang, "auth.password.long", maxPassword)
		}
	}
	return c.cat.text(lang, "auth.password.invalid")
}
