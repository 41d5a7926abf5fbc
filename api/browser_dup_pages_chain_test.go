package api_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

// TestBrowserDuplicatesPages: 21 customers sharing a phone and a birth
// date make 210 pairs, more than a page of the centre head's list holds
// (200): the first page offers the next within a few presses of Tab (not
// after the 600 links of its rows), the second the first again, each with the count and a pair open; in Korean and English, both
// passing the page checks (browser.screen: duplicates-pages,
// duplicates-pages-2).
func TestBrowserDuplicatesPages(t *testing.T) {
	requireBrowser(t)
	s := newStack(t, stackOptions{})
	for i := 1; i <= 21; i++ {
		s.must("R1", "POST", "/v1/customers", newCustomer(fmt.Sprintf("C%02d", i)), 201)
	}
	s.givePassword("H1", "centre_head", testPassword)
	s.awaitApplied()
	for _, lang := range []string{"ko", "en"} {
		h := s.newBrowser("centre head H1 ("+lang+")", lang)
		h.signIn("H1", testPassword, "")
		h.open("/duplicates")
		if n := eval[int](h, `document.querySelectorAll("#dup-list tr[data-pair]").length`); n != 200 || !h.has("#dup-next") || h.has("#dup-first") {
			t.Fatalf("%s: the first page lists %d pairs, next %v, first %v; want 200, a next link and no first", lang, n, h.has("#dup-next"), h.has("#dup-first"))
		}
		if got := h.text("#dup-list-h"); !strings.Contains(got, "200+") {
			t.Errorf("%s: the list's heading says %q, want the count 200+", lang, got)
		}
		h.screen("duplicates-pages")
		h.tabTo("#dup-next", 40) // not behind the 600 links of the page's rows
		h.press("\r")
		h.waitPath("/duplicates")
		h.do(chromedp.WaitVisible("#dup-first"))
		if n := eval[int](h, `document.querySelectorAll("#dup-list tr[data-pair]").length`); n != 10 || h.has("#dup-next") || !h.has("#dup-form") {
			t.Fatalf("%s: the second page lists %d pairs, next %v, form %v; want the last 10, no next, a pair open", lang, n, h.has("#dup-next"), h.has("#dup-form"))
		}
		h.screen("duplicates-pages-2")
		h.click("#dup-first")
		h.do(chromedp.WaitVisible("#dup-next"))
	}
}

// TestBrowserMergedChain: C2 merged into C1, then C1 into C3. A rep asking
// for C2 sees C3's page, saying whom it came from and listing both merged
// ids; the contact form the rep had open on C2 is refused naming C3, the
// chain's end, appends nothing, keeps the input and posts to C3 when sent
// again (in Korean and English: customer-merged-chain,
// customer-merged-chain-form).
func TestBrowserMergedChain(t *testing.T) {
	requireBrowser(t)
	for _, tc := range []struct{ lang, want, from string }{
		{"ko", "C2 고객이 C3 고객으로 병합", "C2"},
		{"en", "customer C2 was merged into customer C3", "C2"},
	} {
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
		s.must("H1", "POST", "/v1/customers/C3/merges", map[string]any{"mergedId": "C1", "reason": "same customer, confirmed"}, 201, "If-Match", `"0"`)
		s.awaitApplied()
		lens := map[string]int{}
		for _, id := range []string{"C1", "C2", "C3"} {
			lens[id] = len(s.customerLog(id))
		}

		b.do(chromedp.SetValue(chromedp.CSS("#contact-purpose"), "service", chromedp.NodeVisible))
		b.fill("#contact-summary", "카드 재발급 안내")
		b.click(`#form-contact button[type="submit"]`)
		b.waitText("#form-contact", tc.want)
		for id, n := range lens {
			if got := len(s.customerLog(id)); got != n {
				t.Fatalf("%s: the refused form appended %d events to %s", tc.lang, got-n, id)
			}
		}
		if v := eval[string](b, `document.getElementById("contact-summary").value`); v != "카드 재발급 안내" {
			t.Fatalf("%s: the input was not kept: %q", tc.lang, v)
		}
		b.screen("customer-merged-chain-form")
		b.click(`#form-contact button[type="submit"]`)
		b.waitPath("/customers/C3")
		if got := s.customerLog("C3"); len(got) != lens["C3"]+1 || got[len(got)-1].Type != "ContactLogged" {
			t.Fatalf("%s: sent again, C3's stream got %d events, want the contact", tc.lang, len(got)-lens["C3"])
		}

		b.open("/customers/C2")
		b.waitPath("/customers/C3")
		if got := b.text("#cust-merged-from"); !strings.Contains(got, "C2") || !strings.Contains(got, "C3") {
			t.Errorf("%s: C3's page, followed from C2, says %q", tc.lang, got)
		}
		for _, id := range []string{"C1", "C2"} {
			if !b.has(`#cust-merged a[href="/customers/` + id + `/timeline"]`) {
				t.Errorf("%s: C3's page does not link the history of %s, merged into it:\n%s", tc.lang, id, b.text("#cust-merged"))
			}
		}
		b.screen("customer-merged-chain")
	}
}
