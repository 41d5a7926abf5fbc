package api_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dangol/dangol/events/eventstest"
)

// The console's sign-in over real HTTP against the whole stack: setup
// codes, passwords, TOTP, sessions, throttling and what the log keeps.

// TestConsoleSigninFirstTime: a rep's first day. An admin issues a setup
// code; the rep types it (in lower case, without dashes) with a new
// password, asks for an authenticator, confirms it with a code, and is
// signed in with the second factor. Signing out ends the session; signing
// in again takes the password and a new code (the enrolment's code is
// refused: a code serves once). Nothing secret is in any event or in the
// server's log.
func TestConsoleSigninFirstTime(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	logs, logger := newLogBuffer()
	s := newStack(t, stackOptions{now: clock.Now, logger: logger})
	before := s.staffVersion("R1")
	issued := s.must("A001", "POST", "/v1/staff/R1/setup-codes", nil, 201)
	code := issued["code"].(string)

	u := newWebUser(s)
	u.mustStatus(u.get("/setup"), 200, "GET /setup")
	typed := strings.ToLower(strings.ReplaceAll(code, "-", " "))
	// The two passwords differ: a field error, nothing appended, the code
	// not spent.
	a := u.mustStatus(u.post("/setup", url.Values{"staffId": {"R1"}, "code": {typed}, "password": {signinPassword}, "password2": {signinPassword + "x"}}),
		400, "mismatched passwords")
	if !strings.Contains(a.body, `id="password2-msg"`) || !strings.Contains(a.body, `aria-invalid="true"`) {
		t.Errorf("the mismatch is not shown at its field:\n%.2000s", a.body)
	}
	a = u.mustStatus(u.post("/setup", url.Values{"staffId": {"R1"}, "code": {typed}, "password": {"short"}, "password2": {"short"}}),
		400, "a short password")
	if !strings.Contains(a.body, `id="password-msg"`) {
		t.Errorf("the short password is not refused at its field:\n%.2000s", a.body)
	}
	if got := s.staffSince("R1", before+1); len(got) != 0 {
		t.Fatalf("refused setup forms appended %v", eventTypes(got))
	}

	a = u.mustStatus(u.post("/setup", url.Values{"staffId": {"R1"}, "code": {typed}, "password": {signinPassword}, "password2": {signinPassword},
		"authenticator": {"1"}}), 200, "setup with an authenticator")
	secret, ticket := a.enrolment(t)
	// A wrong code shows the page again; the right one signs in.
	a = u.mustStatus(u.post("/enrol", url.Values{"ticket": {ticket}, "code": {"000000"}}), 400, "a wrong enrolment code")
	if a.alert() == "" {
		t.Error("a wrong enrolment code says nothing")
	}
	enrolCode := authCode(t, secret, clock.Now())
	if enrolCode == "000000" {
		t.Skip("the pinned clock's code is 000000") // never at Epoch; kept so the test cannot lie
	}
	u.mustRedirect(u.post("/enrol", url.Values{"ticket": {ticket}, "code": {enrolCode}}), "/", "the enrolment's confirmation")
	session1 := u.cookie("dangol_session")
	if session1 == "" {
		t.Fatal("no session cookie after enrolment")
	}
	u.mustStatus(u.get("/account"), 200, "the account page, signed in")

	got := s.staffSince("R1", before)
	want := []string{"PasswordSetupIssued", "PasswordSet", "SecondFactorEnrolled", "SignedIn"}
	if !slices.Equal(eventTypes(got), want) {
		t.Fatalf("staff-R1 gained %v, want %v", eventTypes(got), want)
	}
	if got[1].data["setupId"] != issued["setupId"] || got[3].data["secondFactor"] != true || got[3].data["address"] != "127.0.0.1" ||
		got[3].actor != "R1" {
		t.Errorf("PasswordSet %v, SignedIn %v by %s", got[1].data, got[3].data, got[3].actor)
	}
	exp, _ := time.Parse(time.RFC3339Nano, got[3].data["expiresAt"].(string))
	if !exp.Equal(clock.Now().Add(10 * time.Hour)) {
		t.Errorf("the session expires at %v, want 10 hours after %v", exp, clock.Now())
	}

	// The setup code is spent.
	v := s.staffVersion("R1")
	u2 := newWebUser(s)
	u2.mustStatus(u2.get("/setup"), 200, "GET /setup")
	a = u2.mustStatus(u2.post("/setup", url.Values{"staffId": {"R1"}, "code": {code}, "password": {signinPassword}, "password2": {signinPassword}}),
		401, "a used setup code")
	if got := s.staffSince("R1", v); len(got) != 1 || got[0].typ != "SignInFailed" || got[0].data["reason"] != "bad_password" {
		t.Errorf("a used setup code appended %v", got)
	}

	// Sign out: SignedOut, the cookie cleared, the session refused.
	v = s.staffVersion("R1")
	u.mustStatus(u.get("/account"), 200, "the account page")
	u.mustRedirect(u.post("/logout", nil), "/login?reason=signed_out", "sign-out")
	if got := s.staffSince("R1", v); len(got) != 1 || got[0].typ != "SignedOut" || got[0].data["reason"] != "signed_out" {
		t.Errorf("sign-out appended %v", got)
	}
	if u.cookie("dangol_session") != "" {
		t.Error("the session cookie survived sign-out")
	}
	replay := newWebUser(s)
	uu, _ := url.Parse(s.base)
	replay.client.Jar.SetCookies(uu, []*http.Cookie{{Name: "dangol_session", Value: session1, Path: "/"}})
	replay.mustRedirect(replay.get("/account"), "/login?next=%2Faccount&reason=ended", "the signed-out session's cookie, replayed")

	// Signing in again: the enrolment's code served once.
	v = s.staffVersion("R1")
	a = u.mustStatus(u.login("R1", signinPassword, enrolCode), 401, "the enrolment's code again")
	clock.Set(clock.Now().Add(30 * time.Second))
	signInCode := authCode(t, secret, clock.Now())
	u.mustRedirect(u.login("R1", signinPassword, signInCode), "/", "sign-in with password and code")
	if got := s.staffSince("R1", v); !slices.Equal(eventTypes(got), []string{"SignInFailed", "SignedIn"}) ||
		got[0].data["reason"] != "bad_second_factor" || got[1].data["secondFactor"] != true {
		t.Errorf("the sign-ins appended %v", got)
	}
	u.mustStatus(u.get("/account"), 200, "the account page after signing in")

	// Nothing secret in the log or the server's log lines.
	norm := strings.ReplaceAll(code, "-", "")
	secretOf := func(cookie string) string { return strings.Split(cookie, ".")[1] } // id.secret.lastSeen.mac: the id is no secret
	secrets := []string{signinPassword, code, norm, typed, secret, enrolCode, signInCode, secretOf(session1), secretOf(u.cookie("dangol_session"))}
	for _, e := range s.staffLog("R1") {
		for _, sec := range secrets {
			if strings.Contains(string(e.Data), sec) {
				t.Errorf("%s of staff-R1 holds a secret: %s", e.Type, e.Data)
			}
		}
	}
	server := logs.String()
	if !strings.Contains(server, `"route":"/"`) { // the console's requests, under its mount
		t.Fatalf("the server's log has no request of the console; is it the log? %.500s", server)
	}
	for _, sec := range secrets {
		if strings.Contains(server, sec) {
			t.Errorf("the server's log holds a secret (%.6s…)", sec)
		}
	}
}

// TestConsoleSigninRefusals: an unknown id, a wrong password, a missing
// or wrong code, no password yet and a deactivated member all read the
// same; each refusal of a known id is a SignInFailed with its reason (and
// the address), an unknown id appends nothing anywhere.
func TestConsoleSigninRefusals(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	newWebUser(s).setPassword("R1", signinPassword)
	newWebUser(s).setPassword("R2", signinPassword)
	secret := newWebUser(s).enrolWithSetup("P1", signinPassword, clock)
	s.must("A001", "POST", "/v1/staff/R2/deactivation", nil, 201)
	clock.Set(clock.Now().Add(time.Minute))
	head := s.head()

	u := newWebUser(s)
	var message string
	for _, c := range []struct {
		what, id, pw, code, reason string
	}{
		{"unknown id", "NOPE", signinPassword, "", ""},
		{"malformed id", "../x", signinPassword, "", ""},
		{"wrong password", "R1", signinPassword + "!", "", "bad_password"},
		{"no code", "P1", signinPassword, "", "bad_second_factor"},
		{"wrong code", "P1", signinPassword, "12345", "bad_second_factor"},
		{"another step's code", "P1", signinPassword, authCode(t, secret, clock.Now().Add(-2*time.Minute)), "bad_second_factor"},
		{"wrong password, right code", "P1", "not the password!", authCode(t, secret, clock.Now()), "bad_password"},
		{"no password yet", "S1", signinPassword, "", "no_password"},
		{"deactivated", "R2", signinPassword, "", "inactive"},
	} {
		var v uint64
		if c.reason != "" {
			v = s.staffVersion(c.id)
		}
		a := u.mustStatus(u.login(c.id, c.pw, c.code), 401, c.what)
		if message == "" {
			message = a.alert()
		}
		if a.alert() != message || message == "" {
			t.Errorf("%s: says %q, the first refusal said %q", c.what, a.alert(), message)
		}
		if strings.Contains(a.body, signinPassword) || strings.Contains(a.body, c.pw) {
			t.Errorf("%s: the page shows the password typed", c.what)
		}
		if c.reason == "" {
			continue
		}
		got := s.staffSince(c.id, v)
		if len(got) != 1 || got[0].typ != "SignInFailed" || got[0].data["reason"] != c.reason || got[0].data["address"] != "127.0.0.1" ||
			got[0].actor != "system:console" {
			t.Errorf("%s: staff-%s gained %v, want one SignInFailed %s", c.what, c.id, got, c.reason)
		}
	}
	for _, e := range s.logEvents(head) {
		if e["stream"] == "staff-NOPE" || strings.Contains(e["stream"].(string), "x") {
			t.Errorf("an unknown id appended %v", e)
		}
	}
	// The right password and code still sign P1 in: failures below the
	// lock do not.
	u.mustRedirect(u.login("P1", signinPassword, authCode(t, secret, clock.Now())), "/", "P1 with password and code")
}

// TestConsoleSigninLockout: five failures within 15 minutes lock the
// account for 15 minutes from the fifth, even for the right password
// (which is then not checked); attempts while locked are recorded and do
// not prolong the lock; it ends on time, and a success clears the count.
func TestConsoleSigninLockout(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	newWebUser(s).setPassword("R1", signinPassword)
	start := clock.Now()
	u := newWebUser(s)
	for i := range 5 {
		clock.Set(start.Add(time.Duration(i) * time.Minute))
		u.mustStatus(u.login("R1", "wrong password "+string(rune('a'+i)), ""), 401, "a wrong password")
	}
	fifth := clock.Now()
	locked := func(at time.Time, what string) {
		t.Helper()
		clock.Set(at)
		v := s.staffVersion("R1")
		a := u.mustStatus(u.login("R1", signinPassword, ""), 429, what)
		if !strings.Contains(a.alert(), "15") {
			t.Errorf("%s: the lock does not say to wait: %q", what, a.alert())
		}
		if got := s.staffSince("R1", v); len(got) != 1 || got[0].data["reason"] != "locked" {
			t.Errorf("%s: appended %v, want SignInFailed locked", what, got)
		}
	}
	locked(fifth, "the right password right after the fifth failure")
	locked(fifth.Add(10*time.Minute), "10 minutes later")
	locked(fifth.Add(15*time.Minute-time.Second), "a second before the lock ends")
	clock.Set(fifth.Add(15 * time.Minute))
	u.mustRedirect(u.login("R1", signinPassword, ""), "/", "15 minutes after the fifth failure")
	// The success cleared the count: four more failures do not lock.
	for range 4 {
		u.mustStatus(u.login("R1", "wrong again!!", ""), 401, "a wrong password after the lock")
	}
	u.mustRedirect(u.login("R1", signinPassword, ""), "/", "after four new failures")

	// Failures spread over more than 15 minutes never lock.
	s2 := newWebUser(s)
	s2.setPassword("R2", signinPassword)
	for i := range 8 {
		clock.Set(fifth.Add(time.Hour + time.Duration(i)*4*time.Minute))
		s2.mustStatus(s2.login("R2", "wrong password!!", ""), 401, "a slow failure")
	}
	s2.mustRedirect(s2.login("R2", signinPassword, ""), "/", "after slow failures")
}

// TestConsoleSigninAddressThrottle: 20 failures from one address within
// 15 minutes, on any ids, make it 429 for a while, even with the right
// password, and nothing is appended or checked then; X-Forwarded-For does
// not get around it (no proxy is trusted); it lifts as the failures age.
func TestConsoleSigninAddressThrottle(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	newWebUser(s).setPassword("R1", signinPassword)
	start := clock.Now()
	u := newWebUser(s)
	for i := range 20 {
		clock.Set(start.Add(time.Duration(i) * 10 * time.Second))
		u.mustStatus(u.login("GUESS"+string(rune('A'+i)), "guess", ""), 401, "a guessed id")
	}
	v := s.staffVersion("R1")
	a := u.mustStatus(u.login("R1", signinPassword, ""), 429, "the 21st attempt, right password")
	if a.header.Get("Retry-After") == "" || a.alert() == "" {
		t.Errorf("a throttled attempt has no Retry-After or message: %v %q", a.header, a.alert())
	}
	u.mustStatus(u.get("/login"), 200, "GET /login")
	a = u.post("/login", map[string][]string{"staffId": {"R1"}, "password": {signinPassword}}, "X-Forwarded-For", "203.0.113.9")
	u.mustStatus(a, 429, "the same with X-Forwarded-For")
	if got := s.staffSince("R1", v); len(got) != 0 {
		t.Errorf("throttled attempts appended %v", eventTypes(got))
	}
	// The first failure leaves the window 15 minutes after it was made.
	clock.Set(start.Add(15*time.Minute + time.Second))
	u.mustRedirect(u.login("R1", signinPassword, ""), "/", "once the oldest failure left the window")
}

// TestConsoleSigninCSRF: a sign-in or a sign-out without the form's token,
// with a forged one, or from another origin is refused 403 and appends
// nothing (a wrong password, which would append SignInFailed, shows that
// the refused requests were not even judged).
func TestConsoleSigninCSRF(t *testing.T) {
	s := newStack(t, stackOptions{})
	u := newWebUser(s)
	u.setPassword("R1", signinPassword)
	v := s.staffVersion("R1")
	form := func(token string) url.Values {
		return url.Values{"staffId": {"R1"}, "password": {"not the password"}, "_csrf": {token}}
	}
	anon := newWebUser(s)
	anon.mustStatus(anon.get("/login"), 200, "GET /login")
	good := anon.csrf
	for _, c := range []struct {
		what string
		who  *webUser
		form url.Values
		hdr  []string
	}{
		{"no token", anon, url.Values{"staffId": {"R1"}, "password": {"x"}}, nil},
		{"a forged token", anon, form("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), nil},
		{"another browser's token", newWebUser(s), form(good), nil},
		{"the right token from another origin", anon, form(good), []string{"Origin", "https://evil.example"}},
		{"the right token, cross-site fetch", anon, form(good), []string{"Sec-Fetch-Site", "cross-site"}},
	} {
		if c.form.Get("_csrf") == "" {
			c.form["_csrf"] = []string{""}
		}
		a := c.who.do("POST", "/login", c.form, c.hdr...)
		if a.status != http.StatusForbidden {
			t.Errorf("sign-in with %s: %d, want 403", c.what, a.status)
		}
	}
	if got := s.staffSince("R1", v); len(got) != 0 {
		t.Errorf("refused sign-ins appended %v", eventTypes(got))
	}
	// The right token works (and a wrong password appends its failure).
	anon.mustStatus(anon.do("POST", "/login", form(good)), 401, "sign-in with the right token")
	if got := s.staffSince("R1", v); len(got) != 1 {
		t.Fatalf("the judged sign-in appended %v", eventTypes(got))
	}

	// Sign-out: refused without the session's token; the session lives on.
	u.mustStatus(u.get("/account"), 200, "the account page")
	v = s.staffVersion("R1")
	for _, c := range []struct {
		what string
		form url.Values
		hdr  []string
	}{
		{"no token", url.Values{"_csrf": {""}}, nil},
		{"a forged token", url.Values{"_csrf": {"forged"}}, nil},
		{"the sign-in form's token", url.Values{"_csrf": {good}}, nil},
		{"another origin", url.Values{}, []string{"Origin", "http://evil.example"}},
	} {
		if a := u.post("/logout", c.form, c.hdr...); a.status != http.StatusForbidden {
			t.Errorf("sign-out with %s: %d, want 403", c.what, a.status)
		}
	}
	if got := s.staffSince("R1", v); len(got) != 0 {
		t.Errorf("refused sign-outs appended %v", eventTypes(got))
	}
	u.mustStatus(u.get("/account"), 200, "the account page after refused sign-outs")
	u.mustRedirect(u.post("/logout", nil), "/login?reason=signed_out", "sign-out with the token")
}

// TestConsoleSigninCookies: the session cookie is HttpOnly, SameSite=Strict,
// host-only at Path=/, a browser-session cookie; behind TLS
// (SecureCookies) it is Secure and named __Host-, as is the sign-in
// form's cookie Secure, and the answers carry HSTS.
func TestConsoleSigninCookies(t *testing.T) {
	s := newStack(t, stackOptions{})
	u := newWebUser(s)
	code := s.setupCode("R1")
	u.mustStatus(u.get("/setup"), 200, "GET /setup")
	a := u.post("/setup", url.Values{"staffId": {"R1"}, "code": {code}, "password": {signinPassword}, "password2": {signinPassword}})
	u.mustRedirect(a, "/", "setup")
	checkSessionCookie(t, a.header, "dangol_session", false)

	w := s.secondConsole(true)
	a = w.mustStatus(w.get("/login"), 200, "GET /login over TLS")
	if !strings.Contains(strings.Join(a.header.Values("Set-Cookie"), "\n"), "; Secure") {
		t.Errorf("the sign-in form's cookie over TLS is not Secure: %v", a.header.Values("Set-Cookie"))
	}
	if a.header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS over TLS")
	}
	a = w.post("/login", url.Values{"staffId": {"R1"}, "password": {signinPassword}})
	w.mustRedirect(a, "/", "sign-in over TLS")
	checkSessionCookie(t, a.header, "__Host-dangol_session", true)
}

// checkSessionCookie checks the session cookie set in h.
func checkSessionCookie(t *testing.T, h http.Header, name string, secure bool) {
	t.Helper()
	var set *http.Cookie
	for _, line := range h.Values("Set-Cookie") {
		if ck, err := http.ParseSetCookie(line); err == nil && ck.Name == name {
			set = ck
		}
	}
	if set == nil {
		t.Fatalf("no %s cookie set: %v", name, h.Values("Set-Cookie"))
	}
	if !set.HttpOnly || set.SameSite != http.SameSiteStrictMode || set.Path != "/" || set.Domain != "" || set.Secure != secure ||
		set.MaxAge != 0 || !set.Expires.IsZero() {
		t.Errorf("%s: %+v, want HttpOnly, SameSite=Strict, Path=/, no Domain, Secure %v, no expiry", name, set, secure)
	}
}

// TestConsoleSigninExpiry: a session unused for more than 30 minutes is
// signed out for good at its next request (SignedOut idle, back to
// sign-in with reason idle and the page to return to); one used all day
// still ends 10 hours after sign-in.
func TestConsoleSigninExpiry(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	u := newWebUser(s)
	u.setPassword("R1", signinPassword)
	signedIn := clock.Now()
	clock.Set(signedIn.Add(29 * time.Minute))
	u.mustStatus(u.get("/account"), 200, "after 29 minutes")
	clock.Set(signedIn.Add(29*time.Minute + 30*time.Minute)) // 30 minutes after the last use: not more
	u.mustStatus(u.get("/account"), 200, "30 minutes after the last request")
	v := s.staffVersion("R1")
	clock.Set(clock.Now().Add(30*time.Minute + time.Second))
	u.mustRedirect(u.get("/account?tab=1"), "/login?"+url.Values{"next": {"/account?tab=1"}, "reason": {"idle"}}.Encode(), "idle")
	if got := s.staffSince("R1", v); len(got) != 1 || got[0].typ != "SignedOut" || got[0].data["reason"] != "idle" {
		t.Errorf("the idle session ended with %v", got)
	}
	if u.cookie("dangol_session") != "" {
		t.Error("the idle session's cookie was not cleared")
	}
	// After signing in again, it ends on its own after 10 hours.
	u.mustRedirect(u.login("R1", signinPassword, ""), "/", "sign-in")
	start := clock.Now()
	for at := start; at.Before(start.Add(10 * time.Hour)); at = at.Add(20 * time.Minute) {
		clock.Set(at)
		u.mustStatus(u.get("/account"), 200, "a busy day, "+at.Sub(start).String())
	}
	v = s.staffVersion("R1")
	clock.Set(start.Add(10 * time.Hour))
	u.mustRedirect(u.get("/account"), "/login?next=%2Faccount&reason=ended", "10 hours after sign-in")
	if got := s.staffSince("R1", v); len(got) != 0 {
		t.Errorf("an expired session appended %v", eventTypes(got))
	}
}

// TestConsoleSigninDeactivated: deactivating a member ends their session:
// the next page goes to sign-in, and their open live feed (opened with the
// session cookie) closes with 4401.
func TestConsoleSigninDeactivated(t *testing.T) {
	s := newStack(t, stackOptions{})
	u := newWebUser(s)
	u.setPassword("R1", signinPassword)
	u.mustStatus(u.get("/account"), 200, "the account page")
	hdr := http.Header{"Origin": {s.base}, "Cookie": {"dangol_session=" + u.cookie("dangol_session")}}
	conn, resp, err := (&websocket.Dialer{HandshakeTimeout: hang}).Dial(s.liveURL(), hdr)
	if err != nil {
		t.Fatalf("live feed with the session: %v (%v)", err, resp)
	}
	l := &liveSub{who: "R1", topics: []string{"advisor:R1"}, conn: conn, done: make(chan struct{})}
	if err := conn.WriteMessage(websocket.TextMessage, []byte(`{"subscribe":["advisor:R1"]}`)); err != nil {
		t.Fatal(err)
	}
	go l.read()
	s.must("A001", "POST", "/v1/staff/R1/deactivation", nil, 201)
	if code := l.closeCode(t); code != 4401 {
		t.Errorf("the deactivated member's live feed closed with %d, want 4401", code)
	}
	u.mustRedirect(u.get("/account"), "/login?next=%2Faccount&reason=ended", "the deactivated member's next page")
	u.mustStatus(u.login("R1", signinPassword, ""), 401, "the deactivated member signing in")
}

// TestConsoleSigninHeaders: every sign-in page carries the CSP without
// unsafe-inline and the other headers a reviewer checks, and has no
// inline script, style or handler that the CSP would block.
func TestConsoleSigninHeaders(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s := newStack(t, stackOptions{now: clock.Now})
	admin := newWebUser(s)
	admin.setPassword("A001", signinPassword)
	u := newWebUser(s)
	code := s.setupCode("R1")
	pages := map[string]webAnswer{"login": u.get("/login"), "setup": u.get("/setup")}
	pages["enrol"] = u.post("/setup", url.Values{"staffId": {"R1"}, "code": {code}, "password": {signinPassword}, "password2": {signinPassword},
		"authenticator": {"1"}})
	pages["account"] = admin.get("/account")
	pages["admin"] = admin.get("/admin/staff")
	pages["enrol (account)"] = admin.get("/account/second-factor")
	inline := regexp.MustCompile(`(?i)\sstyle=|\son[a-z]+=|<style|javascript:`)
	scripts := regexp.MustCompile(`(?is)<script([^>]*)>(.*?)</script>`)
	for name, a := range pages {
		if a.status != 200 {
			t.Errorf("%s: %d", name, a.status)
			continue
		}
		h := a.header
		csp := h.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "form-action 'self'",
			"base-uri 'none'", "object-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %s", name, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("%s: CSP %q allows unsafe code", name, csp)
		}
		for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer",
			"Cache-Control": "no-store", "Cross-Origin-Opener-Policy": "same-origin"} {
			if h.Get(k) != v {
				t.Errorf("%s: %s %q, want %q", name, k, h.Get(k), v)
			}
		}
		if m := inline.FindString(a.body); m != "" {
			t.Errorf("%s: inline code the CSP blocks: %q", name, m)
		}
		for _, m := range scripts.FindAllStringSubmatch(a.body, -1) {
			if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
				t.Errorf("%s: an inline script the CSP blocks: %q", name, m[0])
			}
		}
		for _, id := range regexp.MustCompile(`<input[^>]+id="([^"]+)"[^>]*>`).FindAllStringSubmatch(a.body, -1) {
			if strings.Contains(id[0], `type="hidden"`) || strings.Contains(id[0], " hidden") {
				continue
			}
			if !strings.Contains(a.body, `for="`+id[1]+`"`) {
				t.Errorf("%s: input #%s has no label", name, id[1])
			}
		}
	}
}

// TestConsoleSigninNext: after sign-in the browser goes to next only if it
// is a path of this console; anything else goes to the member's start.
func TestConsoleSigninNext(t *testing.T) {
	s := newStack(t, stackOptions{})
	newWebUser(s).setPassword("R1", signinPassword)
	newWebUser(s).setPassword("U1", signinPassword)
	for next, want := range map[string]string{
		"//evil.example":         "/",
		"/\\evil.example":        "/",
		"https://evil.example/x": "/",
		"/%2F/evil.example":      "/%2F/evil.example", // a path of this console: the mux finds no page there
		"javascript:alert(1)":    "/",
		"/account?tab=1":         "/account?tab=1",
		"":                       "/",
	} {
		u := newWebUser(s)
		u.mustStatus(u.get("/login?next="+url.QueryEscape(next)), 200, "GET /login")
		u.mustRedirect(u.post("/login", url.Values{"staffId": {"R1"}, "password": {signinPassword}, "next": {next}}), want, "next="+next)
	}
	u := newWebUser(s)
	u.mustRedirect(u.login("U1", signinPassword, ""), "/audit", "an auditor's start")
}
