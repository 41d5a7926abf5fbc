package api_test

import (
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestConsoleMergedForm: a contact form of C2's page sent after C2 was
// merged into C1 appends nothing; the answer is C1's page with the form
// open, the input kept, the refusal naming both (English and Korean) and
// the form posting to C1 at C1's version, so that sending it again
// records the contact on C1.
func TestConsoleMergedForm(t *testing.T) {
	for _, tc := range []struct{ lang, want string }{
		{"en", "Not saved: customer C2 was merged into customer C1 before this form was sent."},
		{"ko", "저장되지 않았습니다. 이 양식을 보내기 전에 C2 고객이 C1 고객으로 병합되었습니다."},
	} {
		s, u := custFixture(t, stackOptions{})
		lang := []string{"Accept-Language", tc.lang}
		page := u.mustStatus(u.do("GET", "/customers/C2", nil, lang...), 200, "C2's page")
		s.must("H1", "POST", "/v1/customers/C1/merges", map[string]any{"mergedId": "C2", "reason": "same phone and birth date"}, 201, "If-Match", `"0"`)
		merged, survivor := len(s.customerLog("C2")), s.customerLog("C1")

		form := url.Values{"channel": {"phone_outbound"}, "purpose": {"service"}, "summary": {"카드 재발급 안내"}, "occurredAt": {kstInput(s.now().Add(-time.Minute))}}
		a := u.mustStatus(u.submit(page, "contact", form, lang...), http.StatusConflict, "the stale form of the merged C2")
		if len(s.customerLog("C2")) != merged || len(s.customerLog("C1")) != len(survivor) {
			t.Fatalf("%s: the refused form appended", tc.lang)
		}
		if !strings.Contains(a.body, html.EscapeString(tc.want)) {
			t.Fatalf("%s: no refusal %q:\n%.4000s", tc.lang, tc.want, a.body)
		}
		if !strings.Contains(a.body, "카드 재발급 안내") {
			t.Fatalf("%s: the user's input was not kept", tc.lang)
		}
		action, hidden := custForm(t, a, "contact")
		if want := strconv.FormatUint(survivor[len(survivor)-1].Version, 10); action != "/customers/C1/contacts" || hidden.Get("_version") != want {
			t.Fatalf("%s: the form posts to %s at version %s, want /customers/C1/contacts at %s", tc.lang, action, hidden.Get("_version"), want)
		}
		u.mustRedirect(u.submit(a, "contact", form, lang...), "/customers/C1#timeline", "the form sent again")
		if got := s.customerLog("C1"); len(got) != len(survivor)+1 || got[len(got)-1].Type != "ContactLogged" {
			t.Fatalf("%s: sent again, C1's stream got %d events, want the contact", tc.lang, len(got)-len(survivor))
		}
	}
}

// TestConsoleMergedTimelineLinks: the survivor's timeline entry of the
// merge names the merged customer with a link to their timeline, and the
// merged customer's names the survivor with a link to their page, in
// English and Korean.
func TestConsoleMergedTimelineLinks(t *testing.T) {
	s, u := custFixture(t, stackOptions{})
	s.must("H1", "POST", "/v1/customers/C1/merges", map[string]any{"mergedId": "C2", "reason": "same phone and birth date"}, 201, "If-Match", `"0"`)
	s.awaitApplied()
	for _, tc := range []struct{ lang, survivor, merged string }{
		{"en", `<a href="/customers/C1">customer C1</a>`, `<a href="/customers/C2/timeline">customer C2</a>`},
		{"ko", `<a href="/customers/C1">C1 고객</a>`, `<a href="/customers/C2/timeline">C2 고객</a>`},
	} {
		lang := []string{"Accept-Language", tc.lang}
		if a := u.mustStatus(u.do("GET", "/customers/C1", nil, lang...), 200, "C1's page"); !strings.Contains(a.body, tc.merged) {
			t.Errorf("%s: C1's timeline does not link the merged C2 (%s):\n%.4000s", tc.lang, tc.merged, a.body)
		}
		if a := u.mustStatus(u.do("GET", "/customers/C2/timeline", nil, lang...), 200, "C2's timeline"); !strings.Contains(a.body, tc.survivor) {
			t.Errorf("%s: C2's timeline does not link the survivor C1 (%s):\n%.4000s", tc.lang, tc.survivor, a.body)
		}
	}
}
