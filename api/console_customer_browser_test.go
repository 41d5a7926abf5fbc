package api_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dangol/dangol/events/eventstest"
)

// TestConsoleCustomerBrowser drives the customer page's scripts in
// Chromium: at 1280×800 the facts and the timeline show without scrolling,
// the forms closed, opened one at a time by their keys (not while typing);
// a colleague's contact arrives live (marked new, the head and
// details refreshed) while a half-typed form keeps its input and says the
// customer changed; a bad submission focuses the invalid input; a double
// click appends once; the older entries load by scrolling. The page passes
// the axe check at both widths (browser.screen).
func TestConsoleCustomerBrowser(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	for i := range 40 {
		c := newContact("지난 통화 " + strconv.Itoa(i))
		c["occurredAt"] = eventstest.Epoch.Add(-time.Duration(i+2) * time.Hour).Format(time.RFC3339)
		s.must("R1", "POST", "/v1/customers/C1/contacts", c, 201)
	}
	b := custBrowser(s, "R1")
	b.open("/customers/C1")
	b.waitText("#live", "Live")
	b.screen("customer")

	// At 1280×800 the facts a call needs and the timeline are in view
	// without scrolling: every form is closed, their strip and keys shown.
	if out := eval[[]string](b, `["#cust-head h1", "#h-tier", "#h-consents", "#h-pitches", "#h-requests", "#h-life",
		"#cust-forms .form-strip", "#cust-keys", "#timeline-list li"].filter(sel => {
		const e = document.querySelector(sel), r = e && e.getBoundingClientRect();
		return !r || r.height === 0 || r.top < 0 || r.bottom > innerHeight; })`); len(out) > 0 {
		t.Fatalf("not in view at %dx%d without scrolling: %v", desktopWidth, desktopHeight, out)
	}
	if n := eval[int](b, `document.querySelectorAll("#cust-forms details[open]").length`); n != 0 {
		t.Fatalf("%d forms open on a new page, want none", n)
	}
	// The keys: 1 opens the contact form on the first input to fill; a
	// digit typed in a field is text; 7 opens the request form and closes
	// the contact form; Esc closes it again, the focus on its name.
	open := func() string {
		return eval[string](b, `Array.from(document.querySelectorAll("#cust-forms details[open]")).map(d => d.id).join(" ")`)
	}
	b.shortcut("1")
	if got := open(); got != "form-contact" || !b.matchesFocus("#contact-purpose") {
		t.Fatalf("1: forms open %q, the focus on %s; want the contact form, on its purpose", got, b.focused())
	}
	b.do(chromedp.Focus(chromedp.CSS("#contact-summary"), chromedp.NodeVisible))
	b.press("7")
	if got := eval[string](b, `document.getElementById("contact-summary").value`); got != "7" || open() != "form-contact" {
		t.Fatalf("7 typed in the summary: it reads %q, forms open %q", got, open())
	}
	b.clear("#contact-summary")
	b.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
	b.shortcut("7")
	if got := open(); got != "form-request" || !b.matchesFocus("#request-text") {
		t.Fatalf("7: forms open %q, the focus on %s; want the request form alone, on its text", got, b.focused())
	}
	if got := eval[string](b, `document.querySelector('[data-opens="form-request"]').getAttribute("aria-expanded") + document.querySelector('[data-opens="form-contact"]').getAttribute("aria-expanded")`); got != "truefalse" {
		t.Errorf("the strip's aria-expanded (request, contact): %s", got)
	}
	b.press(kb.Escape)
	if got := open(); got != "" || !b.matchesFocus(`[data-opens="form-request"]`) {
		t.Fatalf("Esc: forms open %q, the focus on %s; want none, on the request form's name", got, b.focused())
	}
	b.shortcut("1")

	// A half-typed contact, then a colleague's contact arrives.
	b.do(chromedp.SendKeys(chromedp.CSS("#contact-summary"), "반쯤 쓴 메모", chromedp.NodeVisible),
		chromedp.SetValue(chromedp.CSS("#contact-purpose"), "advice", chromedp.NodeVisible))
	s.must("R2", "POST", "/v1/customers/C1/contacts", newContact("동료의 통화"), 201)
	b.poll("the colleague's contact to arrive", func() (bool, string) {
		got := eval[string](b, `(document.querySelector("#timeline-list li.new") || {}).innerText || ""`)
		return strings.Contains(got, "동료의 통화"), got
	})
	if v := eval[string](b, `document.getElementById("contact-summary").value`); v != "반쯤 쓴 메모" {
		t.Fatalf("the refresh reset the form being typed in: %q", v)
	}
	if !eval[bool](b, `!document.querySelector("#form-contact [data-stale]").hidden`) {
		t.Fatal("the form does not say that the customer changed")
	}
	if !strings.Contains(b.text("#cust-head"), "version 41") {
		t.Fatalf("the head was not refreshed: %q", b.text("#cust-head"))
	}

	// Submitting the stale form shows the conflict; submitting again saves.
	b.navigate(chromedp.Click(chromedp.CSS(`#form-contact button[type=submit]`), chromedp.NodeVisible))
	b.waitText("#form-contact .conflict", "Rep Two")
	if f := b.focused(); f != "main" && !strings.Contains(eval[string](b, `document.activeElement.className`), "conflict") {
		t.Fatalf("the conflict notice does not have the focus: %s", f)
	}
	b.takeProblems() // the conflict's page is a 409, on purpose
	b.click(`#form-contact button[type=submit]`)
	b.waitPath("/customers/C1")
	b.waitText("#flash", "Contact saved.")

	// A bad request: the invalid input gets the focus.
	b.do(chromedp.Click(chromedp.CSS(`#cust-forms [data-opens="form-request"]`), chromedp.NodeVisible))
	b.navigate(chromedp.Click(chromedp.CSS(`#form-request button[type=submit]`), chromedp.NodeVisible))
	b.waitText("#request-text-msg", "Required.")
	if f := b.focused(); f != "#request-text" {
		t.Fatalf("focus on %s, want the invalid #request-text", f)
	}
	b.takeProblems() // the page of the bad input is a 400, on purpose
	b.screen("customer-invalid")

	// A double click appends once.
	n := len(s.customerLog("C1"))
	b.do(chromedp.SendKeys(chromedp.CSS("#request-text"), "두 번 누른 요청", chromedp.NodeVisible))
	b.navigate(chromedp.DoubleClick(chromedp.CSS(`#form-request button[type=submit]`), chromedp.NodeVisible))
	b.waitText("#flash", "Request saved.")
	if got := len(s.customerLog("C1")); got != n+1 {
		t.Fatalf("a double click appended %d events", got-n)
	}

	// Scrolling to the end loads every older entry.
	total := len(s.customerLog("C1"))
	b.poll("the whole timeline by scrolling", func() (bool, string) {
		b.do(chromedp.Evaluate[chromedp.Void](`window.scrollTo(0, document.body.scrollHeight)`))
		got := eval[int](b, `document.querySelectorAll("#timeline-list li[data-pos]").length`)
		return got >= total, strconv.Itoa(got) + " of " + strconv.Itoa(total)
	})
	if p := b.takeProblems(); len(p) > 0 {
		t.Fatalf("the page logged errors: %v", p)
	}
}

// custBrowser is a browser signed in as member id (a rep): signed in
// through the sign-in pages over HTTP, the browser gets that session's
// cookie (the sign-in pages have browser tests of their own).
func custBrowser(s *stack, id string) *browser {
	s.t.Helper()
	u := newWebUser(s)
	u.setPassword(id, signinPassword)
	b := s.newBrowser("rep "+id, "en")
	b.do(func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{Name: "dangol_session", Value: u.cookie("dangol_session"),
			URL: s.base + "/", HTTPOnly: new(true), SameSite: network.CookieSameSiteStrict})
		return chromedp.Void{}, err
	})
	return b
}

// TestConsoleCustomerBrowserBack: a contact saved, the browser's Back
// button, and the form submitted again appends nothing. The page Back
// shows is read anew (no-store), with new keys for its forms; had the
// browser put the saved input back into them (its form restoration), the
// second submission would have been a new contact with a new key. The
// forms keep their input out of the browser's memory (autocomplete off):
// customers' phone numbers and notes are not offered to the next
// customer's form either.
func TestConsoleCustomerBrowserBack(t *testing.T) {
	requireBrowser(t)
	s := newStack(t, stackOptions{})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.must("R1", "POST", "/v1/customers/C1/contacts", newContact("지난 통화"), 201)
	b := custBrowser(s, "R1")
	b.open("/customers/C1")
	b.waitText("#live", "Live")
	b.shortcut("1")
	b.do(chromedp.SetValue(chromedp.CSS("#contact-purpose"), "advice", chromedp.NodeVisible))
	b.fill("#contact-summary", "만기 안내 통화")
	n := len(s.customerLog("C1"))
	b.click(`#form-contact button[type=submit]`)
	b.waitText("#flash", "Contact saved.")
	if got := len(s.customerLog("C1")); got != n+1 {
		t.Fatalf("the contact form appended %d events, want 1", got-n)
	}

	b.navigate(chromedp.NavigateBack())
	if v := eval[string](b, `document.getElementById("contact-summary").value + "|" + document.getElementById("contact-purpose").value`); v != "|" {
		t.Errorf("the page Back shows holds the saved input in a new form: %q", v)
	}
	b.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("form-contact").open = true`))
	b.click(`#form-contact button[type=submit]`)
	b.takeProblems() // an empty form is a 400, on purpose
	if got := len(s.customerLog("C1")); got != n+1 {
		t.Fatalf("the form submitted again after Back appended %d more events", got-n-1)
	}
	if c := eval[int](b, `document.querySelectorAll("form.cust-form:not([autocomplete=off])").length`); c != 0 {
		t.Fatalf("%d customer forms let the browser keep what is typed", c)
	}
}
