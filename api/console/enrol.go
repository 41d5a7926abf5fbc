package console

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Enrolling an authenticator: the page shows a new secret as a QR code and
// as text; the member adds it to their app and types the code it shows.
// Before sign-in (a role that requires a second factor, or the setup page)
// enrolling signs the member in; from the account page it only enrols.
// The state between the two pages is an enrolment ticket (secondfactor.go).

// enrolPage is the enrolment page's data.
type enrolPage struct {
	Action  string // where the form posts
	Ticket  string
	StaffID string
	Current bool         // ask for the current password (from the account page: reauthenticate)
	Secret  string       // the secret in groups of four, for typing
	QR      template.URL // data: URI of the PNG
	Error   string       // a catalog key
}

// startEnrolment shows the enrolment page with a new secret for m, whose
// password (verifier phc) was just proven.
func (c *Console) startEnrolment(w http.ResponseWriter, r *http.Request, m projections.StaffMember, phc, purpose, next string, status int) {
	bind := c.csrfCookieValue(r)
	action := "/enrol"
	if purpose == purposeAccount {
		bind, action = sessionOf(r.Context()).ID, "/account/second-factor"
	}
	secret := randomBytes(20)
	t := enrolTicket{Staff: m.ID, Secret: c.seal(secret, "enrolment:"+m.ID), Pw: c.passwordDigest(phc), Bind: bind,
		Purpose: purpose, Next: next, Expires: c.now().Add(enrolTTL).Unix()}
	c.showEnrolment(w, r, status, enrolPage{Action: action, Ticket: c.encodeTicket(t), StaffID: m.ID, Current: purpose == purposeAccount}, secret)
}

// showEnrolment renders the enrolment page of secret.
func (c *Console) showEnrolment(w http.ResponseWriter, r *http.Request, status int, p enrolPage, secret []byte) {
	k, err := totpKey(secret, p.StaffID)
	if err != nil {
		c.fail(w, r, 0, err)
		return
	}
	qr, err := qrDataURI(k)
	if err != nil {
		c.fail(w, r, 0, err)
		return
	}
	p.QR = template.URL(qr) // a data:image/png URI this console made
	p.Secret = groupsOf4(k.Secret())
	c.render(w, r, status, "enrol", "enrol.title", p)
}

// groupsOf4 spaces s in groups of four characters, for reading.
func groupsOf4(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// enrolment is a ticket presented with its confirmation code, checked.
type enrolment struct {
	ticket enrolTicket
	secret []byte
	member projections.StaffMember
}

// confirm checks the ticket of r for bind and the code typed. ok false
// with a nil error: the page was shown again or the browser sent on.
func (c *Console) confirm(w http.ResponseWriter, r *http.Request, bind, purpose string) (enrolment, bool) {
	now := c.now()
	t, ok := c.decodeTicket(r.PostFormValue("ticket"), now)
	if !ok || t.Purpose != purpose || !equalString(t.Bind, bind) {
		// Expired or not this browser's: start again from the password.
		if purpose == purposeAccount {
			http.Redirect(w, r, "/account/second-factor", http.StatusSeeOther)
		} else {
			http.Redirect(w, r, "/login?reason=ended", http.StatusSeeOther)
		}
		return enrolment{}, false
	}
	secret, err := c.unseal(t.Secret, "enrolment:"+t.Staff)
	if err != nil {
		c.fail(w, r, http.StatusBadRequest, events.Errorf(events.Invalid, "the enrolment form is damaged; start again"))
		return enrolment{}, false
	}
	m, err := c.Queries.StaffMember(r.Context(), t.Staff)
	if err != nil {
		c.fail(w, r, 0, err)
		return enrolment{}, false
	}
	if !m.Active || !equalString(c.passwordDigest(m.PasswordHash), t.Pw) || m.SecondFactorSealed != "" {
		// Deactivated, a new password, or enrolled meanwhile: the ticket
		// is void.
		if purpose == purposeAccount {
			http.Redirect(w, r, "/account", http.StatusSeeOther)
		} else {
			http.Redirect(w, r, "/login?reason=ended", http.StatusSeeOther)
		}
		return enrolment{}, false
	}
	again := func(status int, key string) {
		p := enrolPage{Action: r.URL.Path, Ticket: r.PostFormValue("ticket"), StaffID: m.ID, Current: purpose == purposeAccount, Error: key}
		c.showEnrolment(w, r, status, p, secret)
	}
	// From the account page the current password first: a wrong one must
	// not spend the code.
	if purpose == purposeAccount {
		switch failure, err := c.reauthenticate(r, m, r.PostFormValue("current"), now); {
		case err != nil:
			c.fail(w, r, 0, err)
			return enrolment{}, false
		case failure == "locked":
			again(http.StatusTooManyRequests, "login.error.locked")
			return enrolment{}, false
		case failure != "":
			again(http.StatusBadRequest, "account.error.current")
			return enrolment{}, false
		}
	}
	if !c.auth.codes.check(m.ID, base32Secret(secret), r.PostFormValue("code"), now) {
		again(http.StatusBadRequest, "enrol.error.code")
		return enrolment{}, false
	}
	return enrolment{ticket: t, secret: secret, member: m}, true
}

// postEnrol confirms an enrolment before sign-in, and signs the member in
// with the second factor (SecondFactorEnrolled and SignedIn, one append).
func (c *Console) postEnrol(w http.ResponseWriter, r *http.Request) {
	t, _ := c.decodeTicket(r.PostFormValue("ticket"), c.now())
	if events.ValidID(t.Staff) {
		defer c.auth.lockAccount(t.Staff)()
	}
	e, ok := c.confirm(w, r, c.csrfCookieValue(r), purposeSignIn)
	if !ok {
		return
	}
	c.signIn(w, r, e.member, true, e.ticket.Next, &events.SecondFactorEnrolled{SecretSealed: c.sealSecret(e.secret, e.member.ID)})
}

// getAccountEnrol starts an enrolment from the account page.
func (c *Console) getAccountEnrol(w http.ResponseWriter, r *http.Request, s *Session) error {
	m, err := c.Queries.StaffMember(r.Context(), s.StaffID)
	if err != nil {
		return err
	}
	if m.SecondFactorSealed != "" {
		http.Redirect(w, r, "/account", http.StatusSeeOther)
		return nil
	}
	c.startEnrolment(w, r, m, m.PasswordHash, purposeAccount, "", http.StatusOK)
	return nil
}

// postAccountEnrol confirms an enrolment from the account page.
func (c *Console) postAccountEnrol(w http.ResponseWriter, r *http.Request, s *Session) error {
	defer c.auth.lockAccount(s.StaffID)()
	e, ok := c.confirm(w, r, s.ID, purposeAccount)
	if !ok {
		return nil
	}
	if e.member.ID != s.StaffID {
		return events.Errorf("forbidden", "this enrolment is another member's")
	}
	if _, err := c.appendEvents(r.Context(), s.StaffID, memberActor(s.StaffID, s.Role), events.StreamExists,
		&events.SecondFactorEnrolled{SecretSealed: c.sealSecret(e.secret, s.StaffID)}); err != nil {
		return err
	}
	http.Redirect(w, r, "/account?done=enrolled", http.StatusSeeOther)
	return nil
}
