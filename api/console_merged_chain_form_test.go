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

// TestConsoleMergedFormChain: a contact form of C2's page sent after C2 was
// merged into C1 and C1 in turn into C3 appends nothing and answers C3's
// page (the chain's end, not an error page) with the form open, the input
// kept, the refusal naming C2 and C3, and the form posting to C3 at C3's
// version; sent again, it records the contact on C3.
func TestConsoleMergedFormChain(t *testing.T) {
	s, u := custFixture(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C3"), 201)
	lang := []string{"Accept-Language", "en"}
	page := u.mustStatus(u.do("GET", "/customers/C2", nil, lang...), 200, "C2's page")
	s.must("H1", "POST", "/v1/customers/C1/merges", map[string]any{"mergedId": "C2", "reason": "same phone and birth date"}, 201, "If-Match", `"0"`)
	s.must("H1", "POST", "/v1/customers/C3/merges", map[string]any{"mergedId": "C1", "reason": "same phone and birth date"}, 201, "If-Match", `"0"`)
	s.awaitApplied()
	lens := map[string]int{}
	for _, id := range []string{"C1", "C2", "C3"} {
		lens[id] = len(s.customerLog(id))
	}
	survivor := s.customerLog("C3")

	form := url.Values{"channel": {"phone_outbound"}, "purpose": {"service"}, "summary": {"카드 재발급 안내"}, "occurredAt": {kstInput(s.now().Add(-time.Minute))}}
	a := u.mustStatus(u.submit(page, "contact", form, lang...), http.StatusConflict, "the stale form of C2, merged through C1 into C3")
	for id, n := range lens {
		if got := len(s.customerLog(id)); got != n {
			t.Fatalf("the refused form appended %d events to %s", got-n, id)
		}
	}
	want := "Not saved: customer C2 was merged into customer C3 before this form was sent."
	if !strings.Contains(a.body, html.EscapeString(want)) {
		t.Fatalf("no refusal %q:\n%.4000s", want, a.body)
	}
	if !strings.Contains(a.body, "카드 재발급 안내") {
		t.Fatal("the user's input was not kept")
	}
	action, hidden := custForm(t, a, "contact")
	if v := strconv.FormatUint(survivor[len(survivor)-1].Version, 10); action != "/customers/C3/contacts" || hidden.Get("_version") != v {
		t.Fatalf("the form posts to %s at version %s, want /customers/C3/contacts at %s", action, hidden.Get("_version"), v)
	}
	u.mustRedirect(u.submit(a, "contact", form, lang...), "/customers/C3#timeline", "the form sent again")
	if got := s.customerLog("C3"); len(got) != len(survivor)+1 || got[len(got)-1].Type != "ContactLogged" {
		t.Fatalf("sent again, C3's stream got %d events, want the contact", len(got)-len(survivor))
	}
}
