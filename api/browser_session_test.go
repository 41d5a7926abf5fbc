package api_test

import (
	"slices"
	"strings"
	"testing"
)

// TestBrowserRevokedMember: a rep works with the worklist open (its live
// feed connected) when an admin deactivates them on the staff screen. The
// rep's open page says the session ended and goes to the sign-in page by
// itself; the next page the rep asks for lands there too, and signing in
// again is refused.
func TestBrowserRevokedMember(t *testing.T) {
	requireBrowser(t)
	s := newStack(t, stackOptions{})
	s.seedBook()
	s.givePassword("R1", "rep", testPassword)
	s.givePassword("A001", "admin", testPassword)
	rep := s.newBrowser("rep R1", "ko")
	rep.signIn("R1", testPassword, "")
	rep.waitPath("/")
	rep.waitLive()
	// The page's live states, kept where the sign-in page can read them
	// after the page went there (the same tab's session storage).
	eval[bool](rep, `(() => { document.addEventListener("dangol:live-state", e => {
		const seen = JSON.parse(sessionStorage.getItem("dangolTestStates") || "[]");
		seen.push(e.detail.state + ": " + document.querySelector("#live .text").textContent);
		sessionStorage.setItem("dangolTestStates", JSON.stringify(seen)); }); return true; })()`)

	admin := s.newBrowser("admin A001", "ko")
	admin.signIn("A001", testPassword, "")
	admin.waitPath("/admin/staff")
	admin.click(`form[action="/admin/staff/R1/deactivate"] button[type="submit"]`)
	if !admin.has("#staff-R1 .tag.bad") {
		t.Fatalf("the staff screen does not show R1 inactive: %q", admin.text("#staff-R1"))
	}
	if types := s.staffEventTypes("R1"); !slices.Contains(types, "StaffDeactivated") {
		t.Fatalf("R1's stream has no StaffDeactivated: %v", types)
	}

	// The open page ends by itself: the feed closes it, the indicator says
	// ended, and it goes to sign in.
	rep.waitPath("/login")
	if loc := rep.location(); !strings.Contains(loc, "reason=ended") {
		t.Errorf("the ended page went to %s, not the sign-in page saying why", loc)
	}
	states := eval[[]string](rep, `JSON.parse(sessionStorage.getItem("dangolTestStates") || "[]")`)
	if len(states) != 1 || !strings.HasPrefix(states[0], "ended: ") || !hangul.MatchString(states[0]) {
		t.Errorf("the live indicator went through %q, want ended (in Korean) alone", states)
	}
	if !rep.has(".notice") {
		t.Errorf("the sign-in page does not say why: %s", rep.text("main"))
	}
	rep.screen("login-ended")

	// The next navigation lands on sign-in; signing in is refused.
	rep.open("/customers/C101")
	rep.waitPath("/login?")
	rep.signInRefused("R1", testPassword, "a deactivated member")
}
