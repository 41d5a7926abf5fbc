package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dangol/dangol/events/eventstest"
)

// signIn signs b in as id with pw, and the authenticator's code if code is
// not "", through the sign-in form, submitted with Enter; it fails the test
// if the form refuses.
func (b *browser) signIn(id, pw, code string) {
	b.t.Helper()
	b.submitSignIn(id, pw, code)
	if loc := b.location(); strings.HasPrefix(loc, "/login") || b.has("#login-error") {
		b.t.Fatalf("%s: signing in as %s refused (at %s): %s", b.name, id, loc, eval[string](b, "document.querySelector('main').innerText"))
	}
}

// signInRefused fails the test unless the sign-in form refuses id with
// pw alone; what says who would have been signed in.
func (b *browser) signInRefused(id, pw, what string) {
	b.t.Helper()
	b.submitSignIn(id, pw, "")
	if !b.has("#login-error") {
		b.t.Fatalf("%s: %s signed in (at %s)", b.name, what, b.location())
	}
}

// submitSignIn opens the sign-in form, fills in id (and code, if not "")
// and submits pw with Enter.
func (b *browser) submitSignIn(id, pw, code string) {
	b.t.Helper()
	b.open("/login")
	b.fill("#staffId", id)
	if code != "" {
		b.fill("#code", code)
	}
	b.submit("#password", pw)
}

// otherCode is a six-digit code that is not code.
func otherCode(code string) string {
	var n int
	fmt.Sscanf(code, "%d", &n)
	return fmt.Sprintf("%06d", (n+1)%1000000)
}

// staffEventTypes returns the types of the events on staff member id's
// stream, in order.
func (s *stack) staffEventTypes(id string) []string { s.t.Helper(); return eventTypes(s.staffAll(id)) }

// TestBrowserFirstSignIn: an admin registers a rep on the staff screen,
// which shows the rep's one-time setup code; the rep, in a browser of
// their own, sets a password with it, enrols an authenticator (a wrong
// code first, refused), lands on their worklist signed in with the second
// factor, signs out, and signs in again, where the password alone is
// refused and the password with the next code is not. The clock is a
// manual one, so that the codes are those of a known step.
func TestBrowserFirstSignIn(t *testing.T) {
	requireBrowser(t)
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	s.givePassword("A001", "admin", testPassword)

	admin := s.newBrowser("admin A001", "en")
	admin.signIn("A001", testPassword, "")
	admin.waitPath("/admin/staff")
	admin.fill("#reg-id", "R7")
	admin.fill("#reg-name", "일곱째 상담원")
	admin.do(chromedp.SetValue(chromedp.CSS("#reg-role"), "rep"))
	admin.fill("#reg-branches", "B001")
	admin.click(`form[action="/admin/staff"] button[type="submit"]`)
	setupCode := admin.text("#setup-code")
	if setupCode == "" {
		t.Fatal("the staff screen showed no setup code after registering R7")
	}
	admin.screen("admin-staff")

	const pw = "the rep's own long password"
	rep := s.newBrowser("new rep R7", "ko")
	rep.open("/login")
	rep.screen("login")
	rep.click(`a[href="/setup"]`)
	rep.fill("#staffId", "R7")
	rep.fill("#code", setupCode)
	rep.fill("#password", pw)
	rep.fill("#password2", pw)
	rep.do(chromedp.Click(chromedp.CSS("#authenticator"), chromedp.NodeVisible))
	rep.screen("setup")
	rep.click(`form[action="/setup"] button[type="submit"]`)

	// The enrolment page: the secret in text beside its QR code.
	secret := rep.text("#secret")
	if len(strings.ReplaceAll(secret, " ", "")) != 32 {
		t.Fatalf("enrolment secret %q, want 32 base32 characters (20 bytes)", secret)
	}
	rep.screen("enrol")
	code := authCode(t, strings.ReplaceAll(secret, " ", ""), clock.Now())
	rep.submit("#code", otherCode(code))
	if !rep.has("#enrol-error") {
		t.Fatalf("a wrong code was not refused on the enrolment page (at %s)", rep.location())
	}
	rep.submit("#code", code)
	rep.waitPath("/")
	if !rep.has("#worklist") {
		t.Fatalf("after enrolling, the rep is at %s, not on the worklist", rep.location())
	}
	if got := rep.text("header .me"); !strings.Contains(got, "일곱째 상담원") {
		t.Errorf("the header says %q, not the rep's name", got)
	}
	types := s.staffEventTypes("R7")
	for _, want := range []string{"StaffRegistered", "PasswordSetupIssued", "PasswordSet", "SecondFactorEnrolled", "SignedIn"} {
		if !slices.Contains(types, want) {
			t.Errorf("R7's stream has no %s: %v", want, types)
		}
	}

	// Sign out, then in again: the password alone no longer does.
	rep.click(`form[action="/logout"] button[type="submit"]`)
	rep.waitPath("/login")
	if got := s.staffEventTypes("R7"); got[len(got)-1] != "SignedOut" {
		t.Errorf("signing out appended %v", got)
	}
	rep.open("/")
	rep.waitPath("/login?")
	rep.signInRefused("R7", pw, "the password alone of a member with an authenticator")
	clock.Set(clock.Now().Add(30 * time.Second)) // the enrolment's code is used up; the next step's is not
	rep.signIn("R7", pw, authCode(t, strings.ReplaceAll(secret, " ", ""), clock.Now()))
	rep.waitPath("/")
	if !rep.has("#worklist") {
		t.Fatalf("signed in again, the rep is at %s", rep.location())
	}
}
