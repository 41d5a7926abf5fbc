package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dangol/dangol/events/eventstest"
)

// waitLive waits until the page's live feed is connected (#live says so).
func (b *browser) waitLive() {
	b.t.Helper()
	b.poll("the live feed to connect", func() (bool, string) {
		st := eval[string](b, `(document.getElementById("live") || {dataset: {}}).dataset.state || "(no #live)"`)
		return st == "live", "#live is " + st
	})
}

// worklistRows returns the customer ids of the worklist's rows, in order.
func (b *browser) worklistRows() []string {
	b.t.Helper()
	return eval[[]string](b, `Array.from(document.querySelectorAll("#wl-rows tr[data-customer]")).map(r => r.dataset.customer)`)
}

// rowText is the text of customer id's worklist row ("" if not shown).
func (b *browser) rowText(id string) string {
	b.t.Helper()
	return eval[string](b, fmt.Sprintf(`(document.querySelector('#wl-rows tr[data-customer="%s"]') || {}).innerText || ""`, id))
}

// checkAligned fails unless each column header of table sel is aligned
// as the values under it (a right-aligned time under a left-aligned
// header reads as belonging to the next column).
func (b *browser) checkAligned(sel string) {
	b.t.Helper()
	off := eval[[]string](b, fmt.Sprintf(`(() => { const t = document.querySelector(%q); if (!t) return ["no table"];
		const row = t.querySelector("tbody tr"); if (!row) return ["no row"];
		const out = [];
		Array.from(t.querySelectorAll("thead th")).forEach((th, i) => {
			const td = row.cells[i], a = getComputedStyle(th).textAlign, v = td && getComputedStyle(td).textAlign;
			if (a !== v) out.push((th.innerText || "").trim() + ": header " + a + ", values " + v);
		});
		return out; })()`, sel))
	if len(off) > 0 {
		b.t.Errorf("%s at %s: the columns of %s are not aligned as their headers: %s", b.name, b.location(), sel, strings.Join(off, "; "))
	}
}

// TestBrowserRepDay: a rep signs in to their worklist, whose rows say why
// to call each customer; works it by keyboard alone ("/" to search, j/k to
// choose, Enter to open); on the customer page opens the contact form
// with its key, picks options with the arrow keys, types a summary and
// submits with Ctrl+Enter, then opens the pitch form with its key and
// submits it with Enter, and sees both on the timeline. A second browser of the
// same book sees them arrive without a reload: the contact on its
// worklist, the pitch on the customer's page it then opens.
func TestBrowserRepDay(t *testing.T) {
	requireBrowser(t)
	// The book was written two hours before the rep's day starts, so that
	// the timeline tells the two apart.
	clock := eventstest.NewManualClock(eventstest.Epoch.Add(-2 * time.Hour))
	s := newStack(t, stackOptions{now: clock.Now})
	book := s.seedBook()
	s.givePassword("R1", "rep", testPassword)
	clock.Set(eventstest.Epoch)

	rep := s.newBrowser("rep R1", "ko")
	rep.signIn("R1", testPassword, "")
	rep.waitPath("/")
	var ids []string
	for _, c := range book {
		ids = append(ids, c.id)
	}
	if got := rep.worklistRows(); !slices.Equal(got, ids) {
		t.Fatalf("worklist rows %v, want %v (most reasons first)", got, ids)
	}
	for _, c := range book {
		sel := fmt.Sprintf(`#wl-rows tr[data-customer="%s"]`, c.id)
		if !rep.has(sel + ` [data-reason="no_recent_contact"]`) {
			t.Errorf("%s: no no_recent_contact reason on its row: %q", c.id, rep.rowText(c.id))
		}
		if c.reason != "" && !rep.has(sel+fmt.Sprintf(` [data-reason=%q]`, c.reason)) {
			t.Errorf("%s: no %s reason on its row: %q", c.id, c.reason, rep.rowText(c.id))
		}
		if dnc := rep.has(sel + `[data-dnc="true"]`); dnc != c.dnc {
			t.Errorf("%s: row marked do-not-contact %v, want %v", c.id, dnc, c.dnc)
		}
	}
	rep.waitLive()
	rep.checkAligned("#wl-table")
	rep.screen("worklist")
	rep.tabletShot("worklist")

	other := s.newBrowser("rep R1, second browser", "en")
	other.signIn("R1", testPassword, "")
	other.waitPath("/")
	other.waitLive()
	never := other.rowText("C102")

	// The keyboard: "/" jumps to search, Tab leaves it, j j k j chooses
	// the second row, Enter opens it.
	rep.shortcut("/")
	if !rep.matchesFocus("#q") {
		t.Fatalf(`"/" did not focus the search field (the focus is on %s)`, rep.focused())
	}
	rep.press(kb.Tab)
	for _, k := range []string{"j", "j", "k", "j"} {
		rep.press(k)
	}
	if sel := eval[string](rep, `(document.querySelector("#wl-rows tr.selected") || {dataset: {}}).dataset.customer || ""`); sel != "C102" {
		t.Fatalf("after j j k j the selected row is %q, want C102 (the focus is on %s)", sel, rep.focused())
	}
	rep.navigate(chromedp.KeyEvent(kb.Enter))
	rep.waitPath("/customers/C102")
	rep.waitLive()
	rep.screen("customer")
	rep.tabletShot("customer")

	// The contact, by keyboard: 1 opens its form on the purpose (the
	// channel is the outbound call already), an arrow to choose, Tab to
	// the summary, type, Ctrl+Enter.
	const summary = "예금 만기 안내, 재예치 의향 있음"
	rep.shortcut("1")
	if !rep.matchesFocus("#contact-purpose") {
		t.Fatalf("1 did not open the contact form on its purpose (the focus is on %s)", rep.focused())
	}
	rep.chooseByKeys("advice")
	rep.tabTo("#contact-summary", 20)
	rep.press(summary)
	rep.screen("customer-contact")
	before := len(s.customerLog("C102"))
	rep.navigate(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	rep.waitPath("/customers/C102")
	rep.waitText("#timeline-list", summary)
	log := s.customerLog("C102")
	if len(log) != before+1 || log[len(log)-1].Type != "ContactLogged" {
		t.Fatalf("the contact form appended %d events, the last %s", len(log)-before, log[len(log)-1].Type)
	}
	if d := s.openedData(&log[len(log)-1]); d["purpose"] != "advice" || d["summary"] != summary || d["channel"] != "phone_outbound" {
		t.Errorf("ContactLogged %v", d)
	}

	// The other browser's worklist shows the contact without a reload.
	other.poll("the contact to reach the other browser's worklist", func() (bool, string) {
		got := other.rowText("C102")
		return got != never && !other.has(`#wl-rows tr[data-customer="C102"] [data-reason="no_recent_contact"]`), got
	})
	other.click(`#wl-rows tr[data-customer="C102"] a.cid`)
	other.waitPath("/customers/C102")
	other.waitLive()

	// The pitch, by keyboard: 2 opens its form on the product, type it,
	// arrows for the outcome, Enter in a one-line field.
	rep.shortcut("2")
	if !rep.matchesFocus("#pitch-product") {
		t.Fatalf("2 did not open the pitch form on its product (the focus is on %s)", rep.focused())
	}
	rep.press("FUND01")
	rep.tabTo("#pitch-outcome", 5)
	rep.chooseByKeys("accepted")
	if v := eval[string](rep, `document.getElementById("pitch-channel").value`); v == "" {
		rep.tabTo("#pitch-channel", 5)
		rep.chooseByKeys("phone_outbound")
	}
	rep.tabTo("#pitch-followUpOn", 20) // a one-line field (the campaign is a select)
	before = len(s.customerLog("C102"))
	rep.navigate(chromedp.KeyEvent(kb.Enter))
	rep.waitPath("/customers/C102")
	rep.waitText("#h-pitches + table", "FUND01")
	log = s.customerLog("C102")
	if len(log) != before+1 || log[len(log)-1].Type != "ProductPitched" {
		t.Fatalf("the pitch form appended %d events, the last %s", len(log)-before, log[len(log)-1].Type)
	}
	if d := s.openedData(&log[len(log)-1]); d["product"] != "FUND01" || d["outcome"] != "accepted" {
		t.Errorf("ProductPitched %v", d)
	}
	items := eval[string](rep, `document.getElementById("timeline-list").innerText`)
	if !strings.Contains(items, summary) || !strings.Contains(items, "FUND01") {
		t.Errorf("the timeline lacks the contact or the pitch:\n%s", items)
	}

	// The other browser's open customer page shows the pitch arriving.
	other.poll("the pitch to arrive on the other browser's customer page", func() (bool, string) {
		got := eval[string](other, `Array.from(document.querySelectorAll("#timeline-list li.new")).map(li => li.innerText).join(" | ")`)
		return strings.Contains(got, "FUND01"), got
	})
	// The rep's worklist: the accepted pitch settled the follow-up, the
	// contact the no-contact reason.
	rep.open("/")
	if rep.has(`#wl-rows tr[data-customer="C102"] [data-reason]`) {
		t.Errorf("C102 still has reasons to call after the contact and the accepted pitch: %q", rep.rowText("C102"))
	}
	other.do(chromedp.Evaluate[chromedp.Void](`document.getElementById("timeline").scrollIntoView()`))
	other.screen("customer-live")
}
