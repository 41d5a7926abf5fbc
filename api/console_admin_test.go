package api_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// The admin's staff screen over real HTTP: each action runs its API route
// (the same events as through the API), once however often it is sent.

// TestConsoleStaffScreen: an admin registers a member and is shown their
// setup code once (a resubmitted form appends nothing more and shows no
// code), issues a code for another, resets a second factor, deactivates a
// member; the list shows each member's sign-in state; other roles may not
// open it.
func TestConsoleStaffScreen(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	admin := newWebUser(s)
	admin.setPassword("A001", signinPassword)
	p1 := newWebUser(s)
	p1.enrolWithSetup("P1", signinPassword, clock)

	a := admin.mustStatus(admin.get("/admin/staff"), 200, "the staff screen")
	for _, id := range []string{"A001", "R1", "P1", "S1", "X1"} {
		if !strings.Contains(a.body, `id="staff-`+id+`"`) {
			t.Errorf("the staff screen does not list %s", id)
		}
	}
	row := func(a webAnswer, id string) string {
		m := regexp.MustCompile(`(?s)<tr id="staff-` + id + `">(.*?)</tr>`).FindStringSubmatch(a.body)
		if m == nil {
			t.Fatalf("no row of %s", id)
		}
		return m[1]
	}
	if r := row(a, "P1"); !strings.Contains(r, "authenticator") || !strings.Contains(r, "second-factor/reset") || !strings.Contains(r, kstOf(clock.Now())) {
		t.Errorf("P1's row does not show the password, authenticator and sign-in: %s", r)
	}
	if r := row(a, "A001"); strings.Contains(r, "/deactivate") {
		t.Errorf("the admin may deactivate themselves from the screen: %s", r)
	}

	// Register N1: the code is shown; the same form again appends nothing.
	form := func(a webAnswer) url.Values {
		keys := regexp.MustCompile(`name="(_key2?)" value="([^"]+)"`).FindAllStringSubmatch(a.body[strings.Index(a.body, `action="/admin/staff" method`):], 2)
		return url.Values{"staffId": {"N1"}, "name": {"New Rep"}, "role": {"rep"}, "branches": {"B001, B002"}, keys[0][1]: {keys[0][2]}, keys[1][1]: {keys[1][2]}}
	}
	reg := form(a)
	a = admin.mustStatus(admin.post("/admin/staff", reg), 200, "register N1")
	m := codeRe.FindStringSubmatch(a.body)
	if m == nil {
		t.Fatalf("no setup code shown for N1:\n%.3000s", a.body)
	}
	got := s.staffAll("N1")
	if !slices.Equal(eventTypes(got), []string{"StaffRegistered", "PasswordSetupIssued"}) || got[0].actor != "A001" {
		t.Fatalf("staff-N1 holds %v", got)
	}
	if b := got[0].data["branchIds"].([]any); len(b) != 2 || b[1] != "B002" {
		t.Errorf("N1's branches %v", b)
	}
	a = admin.post("/admin/staff", reg)
	if a.status != http.StatusConflict || codeRe.MatchString(a.body) || a.alert() == "" {
		t.Errorf("the resubmitted registration: %d, code shown %v, message %q", a.status, codeRe.MatchString(a.body), a.alert())
	}
	if again := s.staffAll("N1"); len(again) != 2 {
		t.Errorf("the resubmitted registration appended %v", eventTypes(again[2:]))
	}
	// The code works.
	n1 := newWebUser(s)
	n1.mustStatus(n1.get("/setup"), 200, "GET /setup")
	n1.mustRedirect(n1.post("/setup", url.Values{"staffId": {"N1"}, "code": {m[1]}, "password": {signinPassword}, "password2": {signinPassword}}),
		"/", "N1's setup with the code shown")

	// Bad input is shown at its field, nothing appended.
	bad := form(a)
	bad.Set("staffId", "N 2")
	a = admin.mustStatus(admin.post("/admin/staff", bad), 400, "an invalid staff id")
	if !strings.Contains(a.body, `id="reg-id-msg"`) || !strings.Contains(a.body, `value="N 2"`) {
		t.Errorf("the invalid id is not shown at its field with what was typed:\n%.3000s", a.body)
	}
	dup := form(a)
	dup.Set("staffId", "R1")
	a = admin.mustStatus(admin.post("/admin/staff", dup), 409, "an existing staff id")
	if !strings.Contains(a.body, `id="reg-id-msg"`) {
		t.Errorf("an existing id is not shown at its field")
	}

	// A setup code for R2, from its row.
	key := func(a webAnswer, action string) string {
		i := strings.Index(a.body, `action="`+action+`"`)
		if i < 0 {
			t.Fatalf("no form %s", action)
		}
		return regexp.MustCompile(`name="_key" value="([^"]+)"`).FindStringSubmatch(a.body[i:])[1]
	}
	a = admin.get("/admin/staff")
	a = admin.mustStatus(admin.post("/admin/staff/R2/setup-code", url.Values{"_key": {key(a, "/admin/staff/R2/setup-code")}}), 200, "a code for R2")
	if !codeRe.MatchString(a.body) || !strings.Contains(row(a, "R2"), "setup code until") {
		t.Errorf("R2's code is not shown, or its row does not say a code is pending")
	}

	// Reset P1's second factor; deactivate R2; each once.
	a = admin.get("/admin/staff")
	resetKey := key(a, "/admin/staff/P1/second-factor/reset")
	v := s.staffVersion("P1")
	admin.mustRedirect(admin.post("/admin/staff/P1/second-factor/reset", url.Values{"_key": {resetKey}}), "/admin/staff?done=reset&id=P1", "reset P1")
	admin.mustRedirect(admin.post("/admin/staff/P1/second-factor/reset", url.Values{"_key": {resetKey}}), "/admin/staff?done=reset&id=P1", "reset P1 again")
	if got := s.staffSince("P1", v); len(got) != 1 || got[0].typ != "SecondFactorReset" || got[0].actor != "A001" {
		t.Errorf("the reset appended %v", got)
	}
	a = admin.get("/admin/staff")
	deactKey := key(a, "/admin/staff/R2/deactivate")
	admin.mustRedirect(admin.post("/admin/staff/R2/deactivate", url.Values{"_key": {deactKey}}), "/admin/staff?done=deactivated&id=R2", "deactivate R2")
	a = admin.get("/admin/staff")
	admin.mustRedirect(admin.post("/admin/staff/R2/deactivate", url.Values{"_key": {events.NewID().String()}}), "/admin/staff?done=deactivated&id=R2", "deactivate R2 again")
	if got := s.staffAll("R2"); len(slices.DeleteFunc(got, func(e signinEvent) bool { return e.typ != "StaffDeactivated" })) != 1 {
		t.Errorf("R2 was deactivated %d times", len(got))
	}
	a = admin.mustStatus(admin.get("/admin/staff?done=deactivated&id=R2"), 200, "the screen after deactivating")
	if r := row(a, "R2"); !strings.Contains(r, "deactivated") || strings.Contains(r, "/setup-code") {
		t.Errorf("R2's row: %s", r)
	}

	// Others may not open it.
	r1 := newWebUser(s)
	r1.setPassword("R1", signinPassword)
	r1.mustStatus(r1.get("/admin/staff"), 403, "a rep on the staff screen")
	v = s.staffVersion("R2")
	r1.mustStatus(r1.get("/account"), 200, "the rep's account")
	r1.mustStatus(r1.post("/admin/staff/R2/setup-code", nil), 403, "a rep issuing a code")
	if got := s.staffSince("R2", v); len(got) != 0 {
		t.Errorf("a rep's post appended %v", eventTypes(got))
	}
}

// TestConsoleStaffPolicy: when the admin requires a second factor of
// reps, a rep signed in without one is sent to sign in again at their next
// request, and after the password enrols an authenticator, which then
// signs them in with it.
func TestConsoleStaffPolicy(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	admin := newWebUser(s)
	admin.setPassword("A001", signinPassword)
	rep := newWebUser(s)
	rep.setPassword("R1", signinPassword)
	rep.mustStatus(rep.get("/account"), 200, "the rep's account")

	a := admin.mustStatus(admin.get("/admin/staff"), 200, "the staff screen")
	i := strings.Index(a.body, `action="/admin/signin-policy"`)
	k := regexp.MustCompile(`name="_key" value="([^"]+)"`).FindStringSubmatch(a.body[i:])[1]
	admin.mustRedirect(admin.post("/admin/signin-policy", url.Values{"_key": {k}, "role_rep": {"1"}, "role_auditor": {"1"}}),
		"/admin/staff?done=policy", "the policy")
	if evs := s.streamLog(events.SignInSettingsStream); len(evs) != 1 || string(evs[0].Data) != `{"roles":["rep","auditor"]}` || evs[0].Actor.ID != "A001" {
		t.Fatalf("settings-signin: %v", evs)
	}
	a = admin.mustStatus(admin.get("/admin/staff"), 200, "the staff screen")
	if !strings.Contains(a.body, `id="pol-rep" name="role_rep" type="checkbox" value="1" checked`) ||
		strings.Contains(a.body, `id="pol-supervisor" name="role_supervisor" type="checkbox" value="1" checked`) {
		t.Error("the screen does not show the policy saved")
	}

	rep.mustRedirect(rep.get("/account"), "/login?next=%2Faccount&reason=ended", "the rep's session without a second factor")
	a = rep.mustStatus(rep.login("R1", signinPassword, ""), 200, "the rep's password")
	secret, ticket := a.enrolment(t)
	v := s.staffVersion("R1")
	rep.mustRedirect(rep.post("/enrol", url.Values{"ticket": {ticket}, "code": {authCode(t, secret, clock.Now())}}), "/", "the rep's enrolment")
	if got := s.staffSince("R1", v); !slices.Equal(eventTypes(got), []string{"SecondFactorEnrolled", "SignedIn"}) || got[1].data["secondFactor"] != true {
		t.Errorf("the enrolment appended %v", got)
	}
	rep.mustStatus(rep.get("/account"), 200, "the rep's account, with the second factor")

	// A ticket is bound to its browser and dies with its time.
	other := newWebUser(s)
	clock.Set(clock.Now().Add(time.Minute))
	s.must("A001", "POST", "/v1/staff/R1/second-factor/reset", nil, 201)
	a = rep.mustStatus(rep.login("R1", signinPassword, ""), 200, "the password after the reset")
	_, ticket = a.enrolment(t)
	other.mustStatus(other.get("/login"), 200, "another browser")
	other.mustRedirect(other.post("/enrol", url.Values{"ticket": {ticket}, "code": {"123456"}}), "/login?reason=ended", "the ticket in another browser")
	clock.Set(clock.Now().Add(10 * time.Minute))
	rep.mustRedirect(rep.post("/enrol", url.Values{"ticket": {ticket}, "code": {authCode(t, secret, clock.Now())}}), "/login?reason=ended",
		"an expired ticket")
	forged := strings.Replace(ticket, ".", "x.", 1)
	rep.mustRedirect(rep.post("/enrol", url.Values{"ticket": {forged}, "code": {"123456"}}), "/login?reason=ended", "a forged ticket")
	if got := s.staffSince("R1", v+2); slices.Contains(eventTypes(got), "SecondFactorEnrolled") {
		t.Errorf("a refused ticket enrolled: %v", eventTypes(got))
	}
}

// TestConsoleStaffAccount: changing one's password needs the current one
// (a wrong one counts as a failed sign-in), ends one's other sessions and
// keeps this one; the new password signs in, the old one no longer.
func TestConsoleStaffAccount(t *testing.T) {
	s := newStack(t, stackOptions{})
	u := newWebUser(s)
	u.setPassword("R1", signinPassword)
	other := newWebUser(s)
	other.mustRedirect(other.login("R1", signinPassword, ""), "/", "a second browser")
	u.mustStatus(u.get("/account"), 200, "the account page")
	v := s.staffVersion("R1")
	a := u.mustStatus(u.post("/account/password", url.Values{"current": {"wrong password!"}, "password": {"a new long passphrase"},
		"password2": {"a new long passphrase"}}), 400, "a wrong current password")
	if !strings.Contains(a.body, `id="current-msg"`) {
		t.Error("the wrong current password is not shown at its field")
	}
	if got := s.staffSince("R1", v); len(got) != 1 || got[0].data["reason"] != "bad_password" {
		t.Errorf("a wrong current password appended %v", got)
	}
	v = s.staffVersion("R1")
	u.mustRedirect(u.post("/account/password", url.Values{"current": {signinPassword}, "password": {"a new long passphrase"},
		"password2": {"a new long passphrase"}}), "/account?done=password&ended=1", "the password change")
	got := s.staffSince("R1", v)
	if !slices.Equal(eventTypes(got), []string{"PasswordSet", "SignedOut"}) || got[1].data["reason"] != "password_changed" {
		t.Errorf("the change appended %v", got)
	}
	a = u.mustStatus(u.get("/account?done=password&ended=1"), 200, "this session")
	if !strings.Contains(a.body, "1 other sessions were signed out") && !strings.Contains(a.body, "다른 세션 1개") {
		t.Errorf("the page does not say the other session ended:\n%.2000s", a.body)
	}
	other.mustRedirect(other.get("/account"), "/login?next=%2Faccount&reason=ended", "the other session")
	other.mustStatus(other.login("R1", signinPassword, ""), 401, "the old password")
	other.mustRedirect(other.login("R1", "a new long passphrase", ""), "/", "the new password")
}
