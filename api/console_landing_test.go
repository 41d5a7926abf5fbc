package api_test

import "testing"

// TestConsoleLandingPage: each role lands where its day's work is, both
// when its password is first set and on every sign-in after: reps and
// private bankers on their worklist, supervisors on the QA queue, centre
// heads on the coaching follow-ups, auditors on the seals, admins on the
// staff screen.
func TestConsoleLandingPage(t *testing.T) {
	s := newStack(t, stackOptions{})
	for _, c := range []struct{ id, page string }{
		{"R1", "/"}, {"P1", "/"}, {"S1", "/qa"}, {"H1", "/coaching"}, {"U1", "/audit"}, {"A001", "/admin/staff"},
	} {
		u := newWebUser(s)
		code := s.setupCode(c.id)
		u.mustStatus(u.get("/setup"), 200, "GET /setup")
		u.mustRedirect(u.post("/setup", map[string][]string{"staffId": {c.id}, "code": {code},
			"password": {signinPassword}, "password2": {signinPassword}}), c.page, c.id+"'s setup")
		again := newWebUser(s)
		again.mustRedirect(again.login(c.id, signinPassword, ""), c.page, c.id+"'s sign-in")
	}
}
