package api_test

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// The customer page's tests drive it as a browser does (webUser: real
// HTTP, a cookie jar, the real sign-in), read its forms' hidden fields
// from the HTML, and check what each submission appended by reading the
// customer's stream.

// custFixture is a stack with customers C1 and C2 registered by R1 and R1
// signed in through the sign-in pages.
func custFixture(t *testing.T, opt stackOptions) (*stack, *webUser) {
	t.Helper()
	s := newStack(t, opt)
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("R1", "POST", "/v1/customers", newCustomer("C2"), 201)
	u := newWebUser(s)
	u.setPassword("R1", signinPassword)
	return s, u
}

var (
	custFormRe   = regexp.MustCompile(`(?s)<form method="post" action="([^"]+)" class="stack cust-form" novalidate autocomplete="off" data-form="([A-Za-z]+)"[^>]*>(.*?)</form>`)
	custHiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	custEntryRe  = regexp.MustCompile(`<li data-pos="(\d+)" data-at="(\d+)"`)
	custMoreRe   = regexp.MustCompile(`href="(/customers/[^"?]+/timeline\?before=\d+)" data-more`)
)

// custForm returns the action and the hidden fields (_csrf, _key,
// _version, the profile's _was_*) of form kind on page a.
func custForm(t *testing.T, a webAnswer, kind string) (string, url.Values) {
	t.Helper()
	for _, m := range custFormRe.FindAllStringSubmatch(a.body, -1) {
		if m[2] != kind {
			continue
		}
		v := url.Values{}
		for _, h := range custHiddenRe.FindAllStringSubmatch(m[3], -1) {
			v.Set(h[1], html.UnescapeString(h[2]))
		}
		return html.UnescapeString(m[1]), v
	}
	t.Fatalf("no %s form on the page (status %d):\n%.3000s", kind, a.status, a.body)
	return "", nil
}

// submit posts form kind of page a with fields over its hidden ones.
func (u *webUser) submit(a webAnswer, kind string, fields url.Values, hdr ...string) webAnswer {
	u.s.t.Helper()
	action, v := custForm(u.s.t, a, kind)
	for k, vals := range fields {
		v[k] = vals
	}
	return u.do("POST", action, v, hdr...)
}

// customerLog is customer id's stream.
func (s *stack) customerLog(id string) []events.Envelope {
	s.t.Helper()
	return s.streamLog(events.CustomerStream(id))
}

// openedData is an event's data with its personal fields opened, as JSON.
func (s *stack) openedData(e *events.Envelope) map[string]any {
	s.t.Helper()
	d, err := s.sealer.OpenEnvelope(s.t.Context(), e)
	if err != nil {
		s.t.Fatal(err)
	}
	b, err := json.Marshal(d)
	if err != nil {
		s.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		s.t.Fatal(err)
	}
	return m
}

// kstInput is t as a datetime-local input in KST shows it.
func kstInput(t time.Time) string {
	return t.In(kst).Format("2006-01-02T15:04")
}

// TestConsoleCustomerForms: each form of the customer page appends exactly
// the event its API route appends for the same input (same type, actor and
// data, personal fields opened), then sends the browser back to the
// timeline, where the entry is marked and the notice says it was saved.
func TestConsoleCustomerForms(t *testing.T) {
	s, u := custFixture(t, stackOptions{})
	at := s.now().Add(-30 * time.Minute).Truncate(time.Minute)
	when, whenJSON := kstInput(at), at.UTC().Format(time.RFC3339)
	cases := []struct {
		kind, path string
		form       url.Values
		api        map[string]any
		saved      string
	}{
		// A browser sends a text area's line break as CR LF (HTML's form
		// encoding); a program posting JSON to the API sends LF.
		{"contact", "contacts",
			url.Values{"channel": {"phone_outbound"}, "purpose": {"advice"}, "occurredAt": {when}, "durationMin": {"5"}, "summary": {"예금 만기 안내\r\n재예치 희망"}, "callId": {""}},
			map[string]any{"channel": "phone_outbound", "purpose": "advice", "occurredAt": whenJSON, "durationSec": 300, "summary": "예금 만기 안내\n재예치 희망"},
			"Contact saved."},
		{"pitch", "pitches",
			url.Values{"product": {"FUND01"}, "outcome": {"considering"}, "channel": {"phone_outbound"}, "occurredAt": {when}, "followUpOn": {"2026-12-10"}, "campaignId": {""}, "reason": {"금리 비교 후 결정"}},
			map[string]any{"product": "FUND01", "outcome": "considering", "channel": "phone_outbound", "occurredAt": whenJSON, "followUpOn": "2026-12-10", "reason": "금리 비교 후 결정"},
			"Pitch saved."},
		{"lifeEvent", "life-events",
			url.Values{"kind": {"child_wedding"}, "expectedOn": {"2027-03-01"}, "note": {"딸 결혼"}},
			map[string]any{"kind": "child_wedding", "expectedOn": "2027-03-01", "note": "딸 결혼"},
			"Life event saved."},
		{"verification", "verifications",
			url.Values{"channel": {"phone_outbound"}, "fields": {"name", "phone", "email"}, "occurredAt": {when}},
			map[string]any{"channel": "phone_outbound", "fields": []string{"name", "phone", "email"}, "occurredAt": whenJSON},
			"Verification saved: the data is fresh again."},
		{"profile", "profile",
			url.Values{"phone": {"010-9999-0000"}, "source": {"phone_inbound"}, "occurredAt": {when}, "reason": {"번호 변경"}},
			map[string]any{"changes": map[string]string{"phone": "010-9999-0000"}, "source": "phone_inbound", "occurredAt": whenJSON, "reason": "번호 변경"},
			"Profile change saved."},
		{"consent", "consents",
			url.Values{"channel": {"sms"}, "purpose": {"marketing"}, "granted": {"true"}},
			map[string]any{"channel": "sms", "purpose": "marketing", "granted": true},
			"Consent change saved."},
		{"request", "requests",
			url.Values{"text": {"ATM 수수료 면제 요청"}, "category": {"fees"}, "occurredAt": {when}},
			map[string]any{"text": "ATM 수수료 면제 요청", "category": "fees", "occurredAt": whenJSON},
			"Request saved."},
	}
	for _, tc := range cases {
		t.Run(tc.kind, func(t *testing.T) {
			page := u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", "en"), 200, "customer page")
			before := len(s.customerLog("C1"))
			// The profile form sends what differs from what it showed:
			// the name, email, address and birth date go back unchanged.
			form := url.Values{}
			for k, v := range tc.form {
				form[k] = v
			}
			if tc.kind == "profile" {
				_, hidden := custForm(t, page, "profile")
				for _, f := range []string{"name", "birthDate", "email", "address"} {
					form.Set(f, hidden.Get("_was_"+f))
				}
			}
			a := u.submit(page, tc.kind, form, "Accept-Language", "en")
			u.mustRedirect(a, "/customers/C1#timeline", "submit "+tc.kind)

			s.must("R1", "POST", "/v1/customers/C2/"+tc.path, tc.api, 201)
			logC1, logC2 := s.customerLog("C1"), s.customerLog("C2")
			if len(logC1) != before+1 {
				t.Fatalf("the %s form appended %d events, want 1", tc.kind, len(logC1)-before)
			}
			got, want := &logC1[len(logC1)-1], &logC2[len(logC2)-1]
			if got.Type != want.Type || got.Actor != want.Actor {
				t.Fatalf("console appended %s by %v, the API %s by %v", got.Type, got.Actor, want.Type, want.Actor)
			}
			if gd, wd := s.openedData(got), s.openedData(want); !reflect.DeepEqual(gd, wd) {
				t.Fatalf("the %s form appended\n%v\nthe API, for the same input,\n%v", tc.kind, gd, wd)
			}
			if !got.OccurredAt.Equal(want.OccurredAt) {
				t.Fatalf("occurredAt %v, the API's %v", got.OccurredAt, want.OccurredAt)
			}

			back := u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", "en"), 200, "back on the page")
			if !strings.Contains(back.body, `<p class="notice ok" role="status" id="flash">`+tc.saved+`</p>`) {
				t.Fatalf("no notice %q after saving:\n%.3000s", tc.saved, back.body)
			}
			mark := `data-version="` + strconv.FormatUint(got.Version, 10) + `" class="new"`
			if !strings.Contains(back.body, mark) {
				t.Fatalf("the new entry (version %d) is not marked on the timeline", got.Version)
			}
			again := u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", "en"), 200, "reload")
			if strings.Contains(again.body, `id="flash"`) || strings.Contains(again.body, `class="new"`) {
				t.Fatal("the notice shows again on a reload")
			}
		})
	}
}

// invalidCase is bad input to one form and the message expected next to
// the input it is about, in both languages.
type invalidCase struct {
	name, kind, input string
	form              url.Values
	en, ko            string
}

// TestConsoleCustomerInvalid: bad input shows the page again (400) with the
// form open, the user's input kept, the same Idempotency-Key, and the
// validation's message next to the input in the member's language, the
// input marked aria-invalid and described by the message; nothing is
// appended.
func TestConsoleCustomerInvalid(t *testing.T) {
	s, u := custFixture(t, stackOptions{})
	now := s.now()
	kstDay := now.In(kst).Format(time.DateOnly)
	long := strings.Repeat("가", 2001)
	cases := []invalidCase{
		{"empty request", "request", "text", url.Values{"text": {"  "}, "category": {"fees"}},
			"Required.", "필수 항목입니다."},
		{"oversized summary", "contact", "summary", url.Values{"channel": {"phone_outbound"}, "purpose": {"advice"}, "summary": {long}},
			"Must be at most 2,000 characters.", "2,000자 이하여야 합니다."},
		{"unknown outcome", "pitch", "outcome", url.Values{"product": {"FUND01"}, "outcome": {"maybe"}, "channel": {"phone_outbound"}},
			"Must be one of: accepted, declined, considering, unreachable.", "다음 중 하나여야 합니다: accepted, declined, considering, unreachable."},
		{"impossible date", "lifeEvent", "expectedOn", url.Values{"kind": {"birth"}, "expectedOn": {"2027-02-30"}},
			"Must be a real date such as 2026-11-25.", "2026-11-25와 같은 실제 날짜여야 합니다."},
		{"not a time", "contact", "occurredAt", url.Values{"channel": {"phone_outbound"}, "purpose": {"advice"}, "occurredAt": {"yesterday"}},
			"Must be a date and time (KST) such as 2026-11-25T09:30.", "2026-11-25T09:30와 같은 날짜와 시간(KST)이어야 합니다."},
		{"no time", "contact", "occurredAt", url.Values{"channel": {"phone_outbound"}, "purpose": {"advice"}, "occurredAt": {""}},
			"Required: enter a date and time.", "필수 항목입니다. 날짜와 시간을 입력해 주세요."},
		{"future", "contact", "occurredAt", url.Values{"channel": {"phone_outbound"}, "purpose": {"advice"}, "occurredAt": {kstInput(now.Add(48 * time.Hour))}},
			// The server's clock in KST, as every time the console shows.
			"Must not be in the future (at most 5 min ahead of the server's clock, " + kstDay + " ", "미래일 수 없습니다 (서버 시각 " + kstDay + " "},
		{"bad duration", "contact", "durationMin", url.Values{"channel": {"phone_outbound"}, "purpose": {"advice"}, "durationMin": {"five"}},
			"Must be a whole number of minutes from 0 to 1,440.", "0~1,440 사이의 분 단위 정수여야 합니다."},
		{"bad phone", "profile", "phone", url.Values{"phone": {"call me"}, "source": {"phone_inbound"}},
			"Must be a phone number: digits, a leading '+', spaces, '-', '.', '/' or parentheses.", "전화번호여야 합니다: 숫자, 맨 앞의 '+', 공백, '-', '.', '/', 괄호만 쓸 수 있습니다."},
		{"no change", "profile", "", url.Values{"source": {"phone_inbound"}},
			"Change at least one field.", "변경할 항목을 하나 이상 입력해 주세요."},
		{"unknown field", "verification", "fields", url.Values{"channel": {"branch"}, "fields": {"name", "shoeSize"}},
			"Must be one of: name, birthDate, phone, email, address.", "다음 중 하나여야 합니다: name, birthDate, phone, email, address."},
		{"no consent answer", "consent", "granted", url.Values{"channel": {"sms"}, "purpose": {"marketing"}, "granted": {""}},
			"Required.", "필수 항목입니다."},
	}
	for _, lang := range []string{"en", "ko"} {
		for _, tc := range cases {
			t.Run(lang+"/"+tc.name, func(t *testing.T) {
				page := u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", lang), 200, "customer page")
				_, hidden := custForm(t, page, tc.kind)
				form := url.Values{}
				for k, v := range tc.form {
					form[k] = v
				}
				if tc.kind == "profile" { // what was shown, but for the field under test
					for _, f := range []string{"name", "birthDate", "phone", "email", "address"} {
						if !form.Has(f) {
							form.Set(f, hidden.Get("_was_"+f))
						}
					}
				}
				before := len(s.customerLog("C1"))
				a := u.mustStatus(u.submit(page, tc.kind, form, "Accept-Language", lang), http.StatusBadRequest, tc.name)
				if n := len(s.customerLog("C1")); n != before {
					t.Fatalf("bad input appended %d events", n-before)
				}
				want := tc.en
				if lang == "ko" {
					want = tc.ko
				}
				checkFieldMessage(t, a, tc, want)
				_, again := custForm(t, a, tc.kind)
				if again.Get("_key") != hidden.Get("_key") || again.Get("_version") != hidden.Get("_version") {
					t.Fatalf("the re-rendered form has key %s version %s, want the first rendering's %s %s",
						again.Get("_key"), again.Get("_version"), hidden.Get("_key"), hidden.Get("_version"))
				}
				if !strings.Contains(a.body, `<details class="form" id="form-`+tc.kind+`" open>`) {
					t.Fatalf("the %s form is not shown open", tc.kind)
				}
			})
		}
	}
}

// checkFieldMessage checks that page a shows want next to tc's input (or,
// for no input, as the form's notice), and that the input is marked and
// still holds what the user typed.
func checkFieldMessage(t *testing.T, a webAnswer, tc invalidCase, want string) {
	t.Helper()
	_, _, body := formBody(t, a, tc.kind)
	if tc.input == "" {
		if !strings.Contains(body, `<p class="notice bad" role="alert" tabindex="-1">`+html.EscapeString(want)) {
			t.Fatalf("no form message %q:\n%s", want, body)
		}
		return
	}
	id := tc.kind + "-" + tc.input
	msg := regexp.MustCompile(`<span class="msg" id="` + id + `-msg">([^<]*)</span>`).FindStringSubmatch(body)
	if msg == nil || !strings.HasPrefix(html.UnescapeString(msg[1]), want) {
		t.Fatalf("message of %s: %q, want %q\n%s", id, msg, want, body)
	}
	// The input (or, for checkboxes, each box) is invalid and described by the message.
	tag := regexp.MustCompile(`<(?:input|select|textarea)[^>]* id="` + id + `(?:-[a-zA-Z]+)?"[^>]*>`).FindString(body)
	if !strings.Contains(tag, `aria-invalid="true"`) || !regexp.MustCompile(`aria-describedby="[^"]*\b`+id+`-msg\b`).MatchString(tag) {
		t.Fatalf("the input is not marked invalid and described by its message: %s", tag)
	}
	if strings.Contains(body, `<select id="`+id+`"`) || strings.Contains(body, `<fieldset class="field checks invalid" id="`+id+`"`) {
		return // an unknown value cannot be shown as chosen
	}
	for _, v := range tc.form[tc.input] {
		if v = strings.TrimSpace(v); v != "" && !strings.Contains(body, html.EscapeString(v)) && !strings.Contains(body, `value="`+v+`"`) {
			t.Fatalf("the input %q was not kept", v)
		}
	}
}

// formBody returns form kind's action, kind and inner HTML on page a.
func formBody(t *testing.T, a webAnswer, kind string) (string, string, string) {
	t.Helper()
	for _, m := range custFormRe.FindAllStringSubmatch(a.body, -1) {
		if m[2] == kind {
			return m[1], m[2], m[3]
		}
	}
	t.Fatalf("no %s form on the page", kind)
	return "", "", ""
}

// TestConsoleCustomerConflict: a form opened at version N that meets a
// newer version shows what changed since N (type, who, when), keeps the
// input and its key, and moves its version to the current one; nothing is
// appended; submitting it again appends once. The profile form keeps the
// user's change and takes the others' for the fields the user left alone.
func TestConsoleCustomerConflict(t *testing.T) {
	s, u := custFixture(t, stackOptions{})
	page := u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", "en"), 200, "customer page")
	_, opened := custForm(t, page, "contact")
	_, profile := custForm(t, page, "profile")

	// A colleague logs a contact and changes the email in the meantime.
	s.must("R2", "POST", "/v1/customers/C1/contacts", newContact("동료 통화"), 201)
	s.must("R2", "POST", "/v1/customers/C1/profile", map[string]any{"changes": map[string]string{"email": "new@example.com"}, "source": "branch"}, 201)
	current := s.customerLog("C1")
	n := len(current)
	head := current[n-1].Version

	form := url.Values{"channel": {"phone_outbound"}, "purpose": {"service"}, "summary": {"카드 재발급 안내"}, "occurredAt": {kstInput(s.now().Add(-time.Minute))}}
	a := u.mustStatus(u.submit(page, "contact", form, "Accept-Language", "en"), http.StatusConflict, "stale contact form")
	if len(s.customerLog("C1")) != n {
		t.Fatal("a stale form appended")
	}
	_, _, body := formBody(t, a, "contact")
	intro := "Someone else changed this customer after you opened the form (version " + opened.Get("_version") + " → " + strconv.FormatUint(head, 10) + "):"
	if !strings.Contains(body, html.EscapeString(intro)) {
		t.Fatalf("no conflict notice %q:\n%s", intro, body)
	}
	for _, line := range []string{"Contact · Rep Two", "Profile changed · Rep Two"} {
		if !strings.Contains(body, html.EscapeString(line)) {
			t.Fatalf("the notice does not list %q:\n%s", line, body)
		}
	}
	if strings.Contains(body, "동료 통화") || strings.Contains(body, "new@example.com") {
		t.Fatal("the notice shows the changes' content")
	}
	if !strings.Contains(body, "카드 재발급 안내") {
		t.Fatal("the user's input was not kept")
	}
	_, hidden := custForm(t, a, "contact")
	if hidden.Get("_key") != opened.Get("_key") || hidden.Get("_version") != strconv.FormatUint(head, 10) {
		t.Fatalf("after the conflict: key %s version %s, want %s %d", hidden.Get("_key"), hidden.Get("_version"), opened.Get("_key"), head)
	}
	u.mustRedirect(u.submit(a, "contact", form, "Accept-Language", "en"), "/customers/C1#timeline", "submit again")
	if got := s.customerLog("C1"); len(got) != n+1 || got[n].Type != "ContactLogged" || got[n].ID.String() != opened.Get("_key") {
		t.Fatalf("the second submission appended %d events, want the contact with the form's key", len(got)-n)
	}

	// The profile form, opened before the email changed, changes the phone.
	pf := url.Values{"phone": {"010-2222-3333"}, "source": {"phone_inbound"}}
	for _, f := range []string{"name", "birthDate", "email", "address"} {
		pf.Set(f, profile.Get("_was_"+f))
	}
	n = len(s.customerLog("C1"))
	a = u.mustStatus(u.do("POST", "/customers/C1/profile", mergeValues(profile, pf), "Accept-Language", "en"), http.StatusConflict, "stale profile form")
	_, rebased := custForm(t, a, "profile")
	if rebased.Get("_was_email") != "new@example.com" || !strings.Contains(a.body, `id="profile-email" name="email" type="text" value="new@example.com"`) {
		t.Fatalf("the profile form does not show the colleague's email: was %q", rebased.Get("_was_email"))
	}
	if !strings.Contains(a.body, `value="010-2222-3333"`) {
		t.Fatal("the user's phone was not kept")
	}
	resend := url.Values{"phone": {"010-2222-3333"}, "source": {"phone_inbound"}}
	for _, f := range []string{"name", "birthDate", "email", "address"} {
		resend.Set(f, rebased.Get("_was_"+f))
	}
	u.mustRedirect(u.submit(a, "profile", resend, "Accept-Language", "en"), "/customers/C1#timeline", "profile again")
	log := s.customerLog("C1")
	if len(log) != n+1 {
		t.Fatalf("appended %d events, want 1", len(log)-n)
	}
	if ch := s.openedData(&log[n])["changes"]; !reflect.DeepEqual(ch, map[string]any{"phone": "010-2222-3333"}) {
		t.Fatalf("the profile change is %v, want the phone only (the colleague's email stays)", ch)
	}
}

func mergeValues(a, b url.Values) url.Values {
	out := url.Values{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// TestConsoleCustomerDoubleSubmit: the same form submitted twice (a double
// click, a retry) appends once, also when its time was left as shown (each
// submission's time is its own moment: the retry is answered as the saved
// one); the same form changed and submitted again after it was saved is
// not taken for a retry: nothing is appended, and the page says it was
// saved and offers a new form.
func TestConsoleCustomerDoubleSubmit(t *testing.T) {
	s, u := custFixture(t, stackOptions{})
	page := u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", "en"), 200, "customer page")
	_, first := custForm(t, page, "request")
	n := len(s.customerLog("C1"))
	form := url.Values{"text": {"통장 재발급"}, "category": {"passbook"}, "occurredAt": {renderedValue(t, page, "request-occurredAt")}}
	u.mustRedirect(u.submit(page, "request", form), "/customers/C1#timeline", "first submit")
	u.mustRedirect(u.submit(page, "request", form), "/customers/C1#timeline", "second submit")
	log := s.customerLog("C1")
	if len(log) != n+1 || log[n].ID.String() != first.Get("_key") {
		t.Fatalf("two submissions of one form appended %d events, want 1", len(log)-n)
	}

	changed := url.Values{"text": {"통장 재발급 (급함)"}, "category": {"passbook"}, "occurredAt": form["occurredAt"]}
	a := u.mustStatus(u.submit(page, "request", changed, "Accept-Language", "en"), http.StatusConflict, "changed resubmission")
	if len(s.customerLog("C1")) != n+1 {
		t.Fatal("a changed resubmission of a saved form appended")
	}
	if !strings.Contains(a.body, "This was saved already.") {
		t.Fatalf("no notice that the form was saved:\n%.3000s", a.body)
	}
	_, next := custForm(t, a, "request")
	if next.Get("_key") == first.Get("_key") {
		t.Fatal("the form after a saved one has the same key")
	}
	u.mustRedirect(u.submit(a, "request", changed), "/customers/C1#timeline", "the new form")
	if len(s.customerLog("C1")) != n+2 {
		t.Fatal("the new form did not append")
	}
}

// TestConsoleCustomerCSRF: a form without the CSRF token, or with another
// one, or from another origin, is refused (403) and appends nothing; the
// console's own post, which browsers send with "Origin: null" under its
// Referrer-Policy, is not.
func TestConsoleCustomerCSRF(t *testing.T) {
	s, u := custFixture(t, stackOptions{})
	page := u.mustStatus(u.get("/customers/C1"), 200, "customer page")
	n := len(s.customerLog("C1"))
	_, hidden := custForm(t, page, "request")
	for name, token := range map[string][]string{"missing": nil, "forged": {"AAAA" + hidden.Get("_csrf")[4:]}, "empty": {""}} {
		v := mergeValues(hidden, url.Values{"text": {"요청"}})
		if token == nil {
			v.Del("_csrf")
		} else {
			v["_csrf"] = token
		}
		u.mustStatus(u.do("POST", "/customers/C1/requests", v), http.StatusForbidden, name+" CSRF token")
	}
	// A page elsewhere posting with the right token is refused too.
	u.mustStatus(u.do("POST", "/customers/C1/requests", mergeValues(hidden, url.Values{"text": {"요청"}}), "Origin", "https://evil.example"),
		http.StatusForbidden, "cross-origin post")
	// Under Referrer-Policy no-referrer a browser's own form post says
	// "Origin: null"; Sec-Fetch-Site tells where it comes from.
	u.mustStatus(u.do("POST", "/customers/C1/requests", mergeValues(hidden, url.Values{"text": {"요청"}}), "Origin", "null", "Sec-Fetch-Site", "cross-site"),
		http.StatusForbidden, "null-origin cross-site post")
	if len(s.customerLog("C1")) != n {
		t.Fatal("a refused form appended")
	}
	u.mustRedirect(u.do("POST", "/customers/C1/requests", mergeValues(hidden, url.Values{"text": {"요청"}}), "Origin", "null", "Sec-Fetch-Site", "same-origin"),
		"/customers/C1#timeline", "the console's own post under no-referrer")
	if len(s.customerLog("C1")) != n+1 {
		t.Fatal("the console's own post did not append")
	}
}

// TestConsoleCustomerView: the page shows the whole picture: profile,
// do-not-contact until marketing is consented, the consents, financials in
// won, the tier and its basis, life events, last pitch per product, open
// requests and the advisor; a supervisor reads it without forms and may
// not post them; an erased customer shows as erased, without forms.
func TestConsoleCustomerView(t *testing.T) {
	s, u := custFixture(t, stackOptions{})
	en := func(path string) webAnswer {
		return u.mustStatus(u.do("GET", path, nil, "Accept-Language", "en"), 200, path)
	}
	a := en("/customers/C1")
	for _, want := range []string{"김민준 C1", "1970-05-01", "010-1234-5678", "minjun@example.com", "서울특별시 강남구 테헤란로 1",
		`<p class="dnc" role="alert"><strong>Do not contact for marketing.</strong>`, "Data up to date", "Not segmented yet."} {
		if !strings.Contains(a.body, want) {
			t.Fatalf("the page does not show %q:\n%.4000s", want, a.body)
		}
	}
	ko := u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", "ko"), 200, "ko")
	if !strings.Contains(ko.body, "마케팅 연락 금지.") || !strings.Contains(ko.body, `<html lang="ko">`) {
		t.Fatal("the Korean page does not warn do-not-contact")
	}

	s.must("R1", "POST", "/v1/customers/C1/consents", map[string]any{"channel": "sms", "purpose": "marketing", "granted": true}, 201)
	s.must("R1", "POST", "/v1/customers/C1/life-events", map[string]any{"kind": "retirement", "expectedOn": "2027-06-30"}, 201)
	s.must("R1", "POST", "/v1/customers/C1/pitches", map[string]any{"product": "PENSION1", "channel": "branch", "outcome": "accepted"}, 201)
	s.must("R1", "POST", "/v1/customers/C1/requests", map[string]any{"text": "모바일 OTP 문의"}, 201)
	s.must("S1", "POST", "/v1/customers/C1/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
	deposit, profit := int64(1_234_567_890), int64(-12_345)
	ev, err := events.NewEvent(&events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: &deposit, ProfitContribution: &profit, Currency: "KRW"},
		events.Meta{Actor: events.System("core"), CorrelationID: events.NewID().String()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.store.Append(t.Context(), events.CustomerStream("C1"), events.StreamExists, ev); err != nil {
		t.Fatal(err)
	}
	s.waitUntil("the segmentation job's tier", func() bool {
		v, err := s.queries.Customer(t.Context(), "C1", s.now())
		return err == nil && v.Tier != ""
	})
	s.awaitApplied()
	a = en("/customers/C1")
	for _, want := range []string{"Marketing allowed by SMS", "₩1,234,567,890", "-₩12,345", "Retirement", "2027-06-30",
		"PENSION1", "Accepted", "모바일 OTP 문의", "Rep One", "call-centre rep", "Financials reported", "Tier assigned"} {
		if !strings.Contains(a.body, want) {
			t.Fatalf("the page does not show %q:\n%.6000s", want, a.body)
		}
	}
	if strings.Contains(a.body, `class="dnc"`) {
		t.Fatal("do-not-contact is still shown after marketing consent")
	}

	// The live sections alone, for customer.js.
	f := u.mustStatus(u.do("GET", "/customers/C1", nil, "X-Dangol-Fragment", "sections"), 200, "sections")
	if f.header.Get("X-Dangol-Fragment") != "sections" || !strings.Contains(f.body, `id="cust-head"`) || !strings.Contains(f.body, `id="cust-facts"`) ||
		!strings.Contains(f.body, `id="timeline-list"`) || strings.Contains(f.body, "<form") || strings.Contains(f.body, "<html") {
		t.Fatalf("the sections fragment:\n%.2000s", f.body)
	}

	// A supervisor reads the page but has no forms, and may not post them.
	sup := newWebUser(s)
	sup.setPassword("S1", signinPassword)
	sa := sup.mustStatus(sup.get("/customers/C1"), 200, "supervisor")
	if strings.Contains(sa.body, `data-form=`) {
		t.Fatal("a supervisor is shown the advisors' forms")
	}
	n := len(s.customerLog("C1"))
	sup.mustStatus(sup.post("/customers/C1/requests", url.Values{"text": {"요청"}}), http.StatusForbidden, "supervisor posts")
	if len(s.customerLog("C1")) != n {
		t.Fatal("a supervisor's post appended")
	}

	// Unknown customer, malformed id.
	u.mustStatus(u.get("/customers/C404"), http.StatusNotFound, "unknown customer")
	u.mustStatus(u.get("/customers/bad%20id"), http.StatusNotFound, "malformed id")

	s.must("A001", "POST", "/v1/customers/C1/erasure", map[string]any{"reason": "customer request", "requestedBy": "customer"}, 201)
	s.awaitApplied()
	a = en("/customers/C1")
	if !strings.Contains(a.body, "This customer&#39;s personal data was erased.") || strings.Contains(a.body, "김민준") ||
		strings.Contains(a.body, "010-1234-5678") || strings.Contains(a.body, `data-form=`) || !strings.Contains(a.body, "(erased)") {
		t.Fatalf("the erased customer's page:\n%.4000s", a.body)
	}
}

// TestConsoleCustomerTimeline: the timeline shows the newest entries and
// pages through the rest with the API's cursor, as fragments (customer.js)
// and as plain pages; together the pages hold every event of the stream
// once, in the order things happened.
func TestConsoleCustomerTimeline(t *testing.T) {
	s, u := custFixture(t, stackOptions{})
	for i := range 60 {
		c := newContact("통화 " + strconv.Itoa(i))
		c["occurredAt"] = eventstest.Epoch.Add(-time.Duration(i*7%60) * time.Hour).Format(time.RFC3339) // entered out of order
		s.must("R1", "POST", "/v1/customers/C1/contacts", c, 201)
	}
	a := u.mustStatus(u.get("/customers/C1"), 200, "customer page")
	seen := map[string]bool{}
	var order []int64
	collect := func(body string, want int) {
		t.Helper()
		got := custEntryRe.FindAllStringSubmatch(body, -1)
		if want >= 0 && len(got) != want {
			t.Fatalf("%d entries on a page, want %d", len(got), want)
		}
		for _, m := range got {
			if seen[m[1]] {
				t.Fatalf("entry at position %s shown twice", m[1])
			}
			seen[m[1]] = true
			at, _ := strconv.ParseInt(m[2], 10, 64)
			order = append(order, at)
		}
	}
	collect(a.body, 25)
	more := custMoreRe.FindStringSubmatch(a.body)
	if more == nil {
		t.Fatal("no link to older entries")
	}
	// The plain page of older entries (no script).
	plain := u.mustStatus(u.get(html.UnescapeString(more[1])), 200, "older entries page")
	if len(custEntryRe.FindAllString(plain.body, -1)) != 25 || !strings.Contains(plain.body, "<html") {
		t.Fatal("the page of older entries")
	}
	for pages := 1; more != nil; pages++ {
		if pages > 5 {
			t.Fatal("the timeline does not end")
		}
		f := u.mustStatus(u.do("GET", html.UnescapeString(more[1]), nil, "X-Dangol-Fragment", "entries"), 200, "more")
		if f.header.Get("X-Dangol-Fragment") != "entries" || strings.Contains(f.body, "<html") {
			t.Fatalf("not a fragment:\n%.500s", f.body)
		}
		collect(f.body, -1)
		more = custMoreRe.FindStringSubmatch(f.body)
	}
	stream := s.customerLog("C1")
	if len(seen) != len(stream) {
		t.Fatalf("the pages show %d entries, the stream has %d events", len(seen), len(stream))
	}
	for _, e := range stream {
		if !seen[strconv.FormatUint(e.Position.Seq(), 10)] {
			t.Fatalf("event %s at %v is not on the timeline", e.Type, e.Position)
		}
	}
	for i := 1; i < len(order); i++ {
		if order[i] > order[i-1] {
			t.Fatalf("entry %d is newer than the one before it", i)
		}
	}
	u.mustStatus(u.get("/customers/C1/timeline?before=999999"), http.StatusBadRequest, "a cursor of no event")
}

// TestConsoleCustomerAsOf: the page as of a date shows the customer as they
// stood at the end of that day (KST), read-only; a malformed date, a day
// after today or before the customer was registered shows the page of now
// with the date's message next to it; freshness is judged at read time.
func TestConsoleCustomerAsOf(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	s, u := custFixture(t, stackOptions{now: clock.Now})
	day1 := eventstest.Epoch.In(kst).Format(time.DateOnly)
	clock.Set(eventstest.Epoch.Add(24 * time.Hour))
	s.must("R1", "POST", "/v1/customers/C1/consents", map[string]any{"channel": "phone", "purpose": "marketing", "granted": true}, 201)
	s.awaitApplied()

	u = signInAgain(t, s, "R1") // a session of the new day
	now := u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", "en"), 200, "now")
	if strings.Contains(now.body, `class="dnc"`) || !strings.Contains(now.body, `id="asOf" name="asOf"`) {
		t.Fatal("today's page: do-not-contact shown, or no as-of control")
	}
	then := u.mustStatus(u.do("GET", "/customers/C1?asOf="+day1, nil, "Accept-Language", "en"), 200, "as of day 1")
	if !strings.Contains(then.body, `class="dnc"`) || !strings.Contains(then.body, "As of "+day1) || strings.Contains(then.body, "data-form=") ||
		strings.Contains(then.body, "data-live-topics") {
		t.Fatalf("the page as of %s:\n%.3000s", day1, then.body)
	}
	bad := u.mustStatus(u.do("GET", "/customers/C1?asOf=2026-13-01", nil, "Accept-Language", "en"), http.StatusBadRequest, "bad date")
	checkAsOfMessage(t, bad, "2026-13-01", "Must be a date such as 2026-11-25.")
	before := u.mustStatus(u.do("GET", "/customers/C1?asOf=2026-01-01", nil, "Accept-Language", "en"), http.StatusNotFound, "before registration")
	checkAsOfMessage(t, before, "2026-01-01", "The customer was not registered yet on that day.")

	// An hour before the data turns two months old, the view as of today
	// is the view of now, not of the end of the day still to come; a day
	// after today has no view yet.
	clock.Set(eventstest.Epoch.AddDate(0, 2, 0).Add(-time.Hour))
	u = signInAgain(t, s, "R1")
	today := clock.Now().In(kst).Format(time.DateOnly)
	asToday := u.mustStatus(u.do("GET", "/customers/C1?asOf="+today, nil, "Accept-Language", "en"), 200, "as of today")
	if !strings.Contains(asToday.body, "Data up to date") || strings.Contains(asToday.body, "Data over 2 months old") {
		t.Fatalf("as of today (%s), an hour before the data is two months old, the page says it is stale", today)
	}
	tomorrow := clock.Now().In(kst).AddDate(0, 0, 1).Format(time.DateOnly)
	future := u.mustStatus(u.do("GET", "/customers/C1?asOf="+tomorrow, nil, "Accept-Language", "en"), http.StatusBadRequest, "as of tomorrow")
	checkAsOfMessage(t, future, tomorrow, "Must not be after today ("+today+").")

	clock.Set(eventstest.Epoch.Add(70 * 24 * time.Hour))
	u = signInAgain(t, s, "R1")
	stale := u.mustStatus(u.do("GET", "/customers/C1", nil, "Accept-Language", "en"), 200, "70 days on")
	if !strings.Contains(stale.body, "Data over 2 months old") {
		t.Fatal("data verified 70 days ago is not flagged stale")
	}
}

// checkAsOfMessage checks that page a, asked as of the date typed, is the
// customer page of now with want next to the as-of date, which still
// holds what was typed: the rep stays on the customer.
func checkAsOfMessage(t *testing.T, a webAnswer, typed, want string) {
	t.Helper()
	input := `<input type="date" id="asOf" name="asOf" value="` + typed + `" max="[0-9-]+" aria-invalid="true" aria-describedby="asOf-msg">`
	if !regexp.MustCompile(input).MatchString(a.body) || !strings.Contains(a.body, `<span class="msg" id="asOf-msg" role="alert">`+html.EscapeString(want)+`</span>`) ||
		!strings.Contains(a.body, `id="cust-head"`) || strings.Contains(a.body, "As of "+typed) {
		t.Fatalf("as of %s: not the page of now with %q next to the date:\n%.4000s", typed, want, a.body)
	}
}

// signInAgain signs id in again in a new browser (after the clock moved
// past the first session's expiry).
func signInAgain(t *testing.T, s *stack, id string) *webUser {
	t.Helper()
	u := newWebUser(s)
	a := u.login(id, signinPassword, "")
	if a.status != http.StatusSeeOther {
		t.Fatalf("sign in %s again: %d\n%.2000s", id, a.status, a.body)
	}
	return u
}
