package api_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// sourceReport appends what a source system's record says of customer's
// profile, sealed as the importer seals it.
func (s *stack) sourceReport(customer, system string, observed time.Time, verified bool, fields map[string]string) {
	s.t.Helper()
	d := &events.ProfileReported{Source: events.RecordSource{System: system, Ref: system + "-" + customer, Version: "1",
		ObservedAt: observed, Verified: verified}, Fields: fields}
	ev, err := events.NewEvent(d, events.Meta{Actor: events.System("import:" + system), Seal: s.sealer.SealFor(s.t.Context(), customer)})
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.store.Append(s.t.Context(), events.CustomerStream(customer), events.StreamExists, ev); err != nil {
		s.t.Fatalf("ProfileReported of %s: %v", customer, err)
	}
}

// TestBrowserProvenance: the customer page's provenance panel shows, per
// field, the value that stands first and every system's claim: the card
// application's phone against core's marked as a conflict of the two,
// internet banking's verified e-mail standing over core's; the rep's
// worklist says "phone differs: card, core" and never the numbers. In
// English and Korean, both passing the page checks (browser.screen).
func TestBrowserProvenance(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)
	s.coreEvent("C1", &events.AdvisorAssigned{AdvisorID: "R1", Kind: "call_centre_rep"})
	s.sourceReport("C1", "card", eventstest.Epoch.Add(-48*time.Hour), false, map[string]string{"phone": "010-3333-4444", "name": "김민준 C1"})
	// Internet banking verified a new e-mail after the registration (at Epoch).
	s.sourceReport("C1", "internet", eventstest.Epoch.Add(time.Minute), true, map[string]string{"email": "minjun.kim@example.kr"})
	s.awaitApplied()

	b := custBrowser(s, "R1")
	b.open("/customers/C1")
	b.waitText("#h-prov", "Where the data comes from")
	b.screen("customer-provenance")
	b.do(chromedp.ScrollIntoView("#cust-prov"))
	b.screenshot("customer-provenance-panel-en") // the panel is below the call's facts
	rows := func(field string) []string {
		return eval[[]string](b, `Array.from(document.querySelectorAll('#cust-prov tbody[data-field="`+field+`"] tr:not(:first-child)')).map(r =>
			r.className.trim() + "|" + r.cells[0].innerText.replace(/\s+/g, " ").trim() + "|" + r.cells[1].innerText.trim())`)
	}
	want := map[string][]string{
		"phone": {"survivor disagrees|Shown: ▸ core|010-1234-5678", "disagrees|card|010-3333-4444"},
		"email": {"survivor|Shown: ▸ internet verified|minjun.kim@example.kr", "|core|minjun@example.com"},
		"name":  {"survivor|Shown: ▸ core|김민준 C1", "|card|김민준 C1"},
	}
	for field, w := range want {
		if got := rows(field); !slices.Equal(got, w) {
			t.Errorf("%s's claims %q, want %q", field, got, w)
		}
	}
	if got := b.text(`#cust-prov tbody[data-field="phone"] th`); got != "Phone Conflict card, core" {
		t.Errorf("the phone's heading %q, want it marked as a conflict of card and core", got)
	}
	if b.has(`#cust-prov tbody[data-field="email"].conflict`) || b.has(`#cust-prov tbody[data-field="name"].conflict`) {
		t.Error("the e-mail (verified since) or the name (the same) is marked as a conflict")
	}
	if got := b.text("#cust-head h1"); got != "김민준 C1 C1" {
		t.Errorf("the head %q", got)
	}

	b.open("/")
	b.waitText(`#wl-body [data-reason="data_conflict"]`, "Phone differs: card, core")
	b.screen("worklist-conflict")
	if got := b.text("#wl-body"); strings.Contains(got, "3333") || strings.Contains(got, "1234") {
		t.Errorf("the worklist shows a phone number: %q", got)
	}

	b.open("/customers/C1")
	b.click(`nav.langs a[hreflang="ko"]`)
	b.waitText("#h-prov", "정보 출처")
	if got := b.text(`#cust-prov tbody[data-field="phone"] th`); got != "전화번호 불일치 card, core" {
		t.Errorf("the phone's heading in Korean %q", got)
	}
	b.screen("customer-provenance")
	b.do(chromedp.ScrollIntoView("#cust-prov"))
	b.screenshot("customer-provenance-panel-ko")
}
