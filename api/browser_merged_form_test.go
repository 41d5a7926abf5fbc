package api_test

import (
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserMergedForm: a rep has C2's contact form open when C2 is
// merged into C1; sending it appends nothing and shows C1's page with the
// form open, the input kept and the refusal naming both (in Korean and
// English); sent again, the contact is C1's.
func TestBrowserMergedForm(t *testing.T) {
	requireBrowser(t)
	for i, tc := range []struct{ lang, want string }{{"ko", "C2 고객이 C1 고객으로 병합"}, {"en", "customer C2 was merged into customer C1"}} {
		s := newStack(t, stackOptions{})
		s.seedPair()
		s.givePassword("R1", "rep", testPassword)
		s.awaitApplied()
		b := s.newBrowser("rep R1 ("+tc.lang+")", tc.lang)
		b.signIn("R1", testPassword, "")
		b.open("/customers/C2")
		b.waitLive()
		b.shortcut("1") // the contact form
		s.must("H1", "POST", "/v1/customers/C1/merges", map[string]any{"mergedId": "C2", "reason": "same phone and birth date"}, 201, "If-Match", `"0"`)
		merged, survivor := len(s.customerLog("C2")), len(s.customerLog("C1"))

		b.do(chromedp.SetValue(chromedp.CSS("#contact-purpose"), "service", chromedp.NodeVisible))
		b.fill("#contact-summary", "카드 재발급 안내")
		b.click(`#form-contact button[type="submit"]`)
		b.waitText("#form-contact", tc.want)
		if len(s.customerLog("C2")) != merged || len(s.customerLog("C1")) != survivor {
			t.Fatalf("%s: the refused form appended", tc.lang)
		}
		if v := eval[string](b, `document.getElementById("contact-summary").value`); v != "카드 재발급 안내" {
			t.Fatalf("%s: the input was not kept: %q", tc.lang, v)
		}
		if i == 0 {
			b.screen("customer-merged-form")
		}
		b.click(`#form-contact button[type="submit"]`)
		b.waitPath("/customers/C1")
		if got := s.customerLog("C1"); len(got) != survivor+1 || got[survivor].Type != "ContactLogged" {
			t.Fatalf("%s: sent again, C1's stream got %d events, want the contact", tc.lang, len(got)-survivor)
		}
	}
}
