package api_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// hangul matches Korean text.
var hangul = regexp.MustCompile(`\p{Hangul}`)

// TestBrowserFormRefusals: what the customer page's forms refuse, and how
// it shows. Two browsers of the rep open the same customer; the first logs
// a contact; the second's contact form, opened at the older version, shows
// the conflict with what changed and appends nothing, and submitted again
// appends. Input the API refuses shows the API's message next to its field,
// in Korean, and appends nothing. A form whose CSRF token was tampered with
// is refused with the 403 page and appends nothing.
func TestBrowserFormRefusals(t *testing.T) {
	requireBrowser(t)
	s := newStack(t, stackOptions{})
	s.seedBook()
	s.givePassword("R1", "rep", testPassword)
	first := s.newBrowser("rep R1", "ko")
	first.signIn("R1", testPassword, "")
	second := s.newBrowser("rep R1, second browser", "ko")
	second.signIn("R1", testPassword, "")
	for _, b := range []*browser{first, second} {
		b.open("/customers/C103")
		b.waitLive()
		b.shortcut("1") // the contact form
	}

	// A stale version: the second form meets the first's contact.
	n := len(s.customerLog("C103"))
	first.do(chromedp.SetValue(chromedp.CSS("#contact-purpose"), "advice", chromedp.NodeVisible))
	first.fill("#contact-summary", "첫 번째 브라우저의 통화")
	first.click(`#form-contact button[type="submit"]`)
	first.waitText("#timeline-list", "첫 번째 브라우저의 통화")
	if got := len(s.customerLog("C103")); got != n+1 {
		t.Fatalf("the first contact appended %d events", got-n)
	}
	second.do(chromedp.SetValue(chromedp.CSS("#contact-purpose"), "service", chromedp.NodeVisible))
	second.fill("#contact-summary", "두 번째 브라우저의 통화")
	second.click(`#form-contact button[type="submit"]`)
	second.waitText("#form-contact .conflict", "Rep One")
	if got := len(s.customerLog("C103")); got != n+1 {
		t.Fatalf("the stale form appended %d events", got-n-1)
	}
	if v := eval[string](second, `document.getElementById("contact-summary").value`); v != "두 번째 브라우저의 통화" {
		t.Errorf("the conflict page lost what was typed: %q", v)
	}
	second.screen("customer-conflict")
	second.click(`#form-contact button[type="submit"]`)
	second.waitText("#timeline-list", "두 번째 브라우저의 통화")
	if got := len(s.customerLog("C103")); got != n+2 {
		t.Fatalf("submitted again after the conflict, the form appended %d events", got-n-1)
	}

	// Input the API refuses: the message next to the field, nothing appended.
	n = len(s.customerLog("C103"))
	first.open("/customers/C103")
	first.shortcut("1")
	first.do(chromedp.SetValue(chromedp.CSS("#contact-purpose"), "advice", chromedp.NodeVisible),
		chromedp.SetValue(chromedp.CSS("#contact-summary"), strings.Repeat("가", 2001), chromedp.NodeVisible))
	first.click(`#form-contact button[type="submit"]`)
	msg := first.text("#contact-summary-msg")
	if !strings.Contains(msg, "2,000") && !strings.Contains(msg, "2000") || !hangul.MatchString(msg) {
		t.Errorf("the summary's message is %q: not the API's limit in Korean", msg)
	}
	if got := eval[string](first, `document.getElementById("contact-summary").getAttribute("aria-invalid") || ""`); got != "true" {
		t.Errorf("the refused summary is not marked aria-invalid (%q)", got)
	}
	if !first.matchesFocus("#contact-summary") {
		t.Errorf("the focus is on %s, not the refused field", first.focused())
	}
	if got := len(s.customerLog("C103")); got != n {
		t.Fatalf("refused input appended %d events", got-n)
	}
	first.screen("customer-invalid")

	// A tampered CSRF token: the 403 page, nothing appended.
	first.open("/customers/C103")
	first.shortcut("1")
	first.do(chromedp.SetValue(chromedp.CSS("#contact-purpose"), "advice", chromedp.NodeVisible),
		chromedp.SetAttributeValue(chromedp.CSS(`#form-contact input[name="_csrf"]`), "value", "forged-by-another-site"))
	first.fill("#contact-summary", "위조된 요청")
	first.click(`#form-contact button[type="submit"]`)
	first.waitText("main", "403")
	if got := len(s.customerLog("C103")); got != n {
		t.Fatalf("a forged form appended %d events", got-n)
	}
	first.screen("error-forbidden")
}
