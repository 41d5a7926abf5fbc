package console

import (
	"net/http"
	"net/url"
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
// password), for both throttles; the right one opens a locked account.
// Setting the password ends every session the member still has
// (SignedOut, password_changed). Then the member enrols an authenticator
// if their role requires one or they asked to, and is signed in; a member who already has one signs in as usual.

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
	lang := language(r)
	p := setupPage{StaffID: strings.TrimSpace(r.PostFormValue("staffId")), Authenticator: r.PostFormValue("authenticator") != "",
		Fields: map[string]string{}}
	code, pw, pw2 := r.PostFormValue("code"), r.PostFormValue("password"), r.PostFormValue("password2")
	a, ok := c.beginAttempt(w, r, "setup.error.failed", func(status int, key string) {
		p.Error = key
		c.render(w, r, status, "setup", "setup.title", p)
	})
	if !ok {
		return
	}
	defer a.end()
	// The new password's rules first: fixing them costs no attempt.
	c.checkNewPassword(lang, pw, pw2, p.Fields)
	if len(p.Fields) > 0 {
		c.render(w, r, http.StatusBadRequest, "setup", "setup.title", p)
		return
	}
	m, ok := a.member(p.StaffID, nil)
	if !ok {
		return
	}
	// The right code opens a locked account: a code is how an admin lets a
	// member out of a lock (the refusal says so), and 80 random bits used
	// once are no guess the lock need stop. A wrong one is refused as
	// locked, uncounted, as a password would be.
	hash := api.HashSetupCode(code)
	right := hash != "" && m.SetupHash != "" && a.now.Before(m.SetupExpiresAt) && equalString(hash, m.SetupHash)
	switch {
	case !right && !lockedUntil(m.FailedSignIns, a.now).IsZero():
		a.failed(m, "locked")
		return
	case !m.Active:
		a.failed(m, "inactive")
		return
	case !right:
		a.failed(m, "bad_password")
		return
	}

	phc := hashPassword(pw, c.Password)
	ds := []events.Data{&events.PasswordSet{PasswordHash: phc, SetupID: m.SetupID}}
	ended, err := c.endOthers(r.Context(), m.ID, "", "password_changed", a.now)
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
	if m.SecondFactorSealed == "" && !required && !p.Authenticator {
		c.signInAt(w, r, m, false, "", exp, ds...)
		return
	}
	// The password is set; the member signs in with the second factor,
	// enrolling one first if they have none.
	if _, err := c.appendEvents(r.Context(), m.ID, actor, exp, ds...); err != nil {
		c.fail(w, r, 0, err)
		return
	}
	if m.SecondFactorSealed == "" {
		c.startEnrolment(w, r, m, phc, purposeSignIn, "", http.StatusOK)
		return
	}
	http.Redirect(w, r, "/login?"+url.Values{"reason": {"password_set"}, "id": {m.ID}}.Encode(), http.StatusSeeOther)
}

// checkNewPassword puts in fields, translated, what is wrong with a new
// password pw and its repetition pw2 (as "password" and "password2", the
// fields of the setup page and of the account's password change), and
// leaves fields alone if nothing is.
func (c *Console) checkNewPassword(lang, pw, pw2 string, fields map[string]string) {
	if err := checkPassword("password", pw); err != nil {
		fields["password"] = c.passwordError(lang, err)
	} else if pw2 != pw {
		fields["password2"] = c.cat.text(lang, "setup.error.mismatch")
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
