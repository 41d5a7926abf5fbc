package api_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// The outcome screens in the browser: a rep's worklist with the campaign's
// targets, the pitch form refusing a marketing pitch over a channel the
// customer did not consent to (nothing appended) and saving the campaign's
// pitch; a private banker's VIP at risk; the marketer's outcome page (the
// funnel and the lift, the tables, their CSV, printed) and the tier
// migration matrix with its month picker by keyboard; the centre head sees
// both, a rep neither.

// outcomeBook is what the outcome screens show, written over three KST
// months on a manual clock that ends at eventstest.Epoch (2026-11-25):
// R1's customers in branch B001 with marketing consent by phone, three in
// the target group of campaign WED1 and two held out (a 50% hold-out,
// chosen by events.InHoldOut), tiered and re-tiered month by month; a VIP
// of P1's whose balance fell 30% in three months; WED1 launched at Epoch
// by M1, T1 pitched and opened, T2 considering, H1 opened without a call.
type outcomeBook struct {
	s                  *stack
	clock              *eventstest.ManualClock
	targets, holdOuts  []string // in id order
	t1, t2, t3, h1, h2 string
}

// coreEvent appends d to customer's stream as the core banking system.
func (s *stack) coreEvent(customer string, d events.Data) {
	s.t.Helper()
	ev, err := events.NewEvent(d, events.Meta{Actor: events.System("core"), CorrelationID: events.NewID().String()})
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.store.Append(s.t.Context(), events.CustomerStream(customer), events.StreamExists, ev); err != nil {
		s.t.Fatalf("%s of %s: %v", d.EventType(), customer, err)
	}
}

// tier appends the segmentation job's tier of customer, with profit.
func (s *stack) tier(customer, tier string, profit int64) {
	s.t.Helper()
	deposit := profit * 100
	s.coreEvent(customer, &events.TierAssigned{Tier: tier, Basis: events.TierBasis{DepositBalance: &deposit, ProfitContribution: &profit, Rule: "test"}})
}

func newOutcomeBook(t *testing.T) *outcomeBook {
	t.Helper()
	clock := eventstest.NewManualClock(time.Date(2026, 9, 15, 1, 0, 0, 0, time.UTC))
	s := newStack(t, stackOptions{now: clock.Now, noReactors: true})
	o := &outcomeBook{s: s, clock: clock}
	for i := 1; len(o.targets) < 3 || len(o.holdOuts) < 2; i++ {
		id := fmt.Sprintf("W%02d", i)
		if events.InHoldOut("WED1", id, 50) {
			if len(o.holdOuts) < 2 {
				o.holdOuts = append(o.holdOuts, id)
			}
		} else if len(o.targets) < 3 {
			o.targets = append(o.targets, id)
		}
	}
	o.t1, o.t2, o.t3, o.h1, o.h2 = o.targets[0], o.targets[1], o.targets[2], o.holdOuts[0], o.holdOuts[1]
	names := map[string]string{o.t1: "김하늘", o.t2: "이바다", o.t3: "박구름", o.h1: "최들녘", o.h2: "정시내"}
	book := append(slices.Clone(o.targets), o.holdOuts...)
	slices.Sort(book)

	// September: everyone general; V1 registered for P1 with financials.
	for _, id := range book {
		s.must("R1", "POST", "/v1/customers", withField(newCustomer(id), "name", names[id]), 201)
		s.must("S1", "POST", "/v1/customers/"+id+"/assignment", map[string]any{"advisorId": "R1", "kind": "call_centre_rep"}, 201)
		s.grant("R1", id, "phone", true)
		s.tier(id, "general", 100)
	}
	s.must("P1", "POST", "/v1/customers", withField(newCustomer("V1"), "name", "한가람"), 201)
	s.must("S1", "POST", "/v1/customers/V1/assignment", map[string]any{"advisorId": "P1", "kind": "private_banker"}, 201)
	deposit, profit := int64(100_000_000), int64(2_000)
	s.coreEvent("V1", &events.FinancialsReported{AsOf: "2026-08-18", DepositBalance: &deposit, ProfitContribution: &profit, Currency: "KRW"})

	// October: T1 and H1 up to potential VIP, V1 tiered VIP for the first time.
	clock.Set(time.Date(2026, 10, 15, 1, 0, 0, 0, time.UTC))
	s.tier(o.t1, "potential_vip", 400)
	s.tier(o.h1, "potential_vip", 300)
	s.tier("V1", "vip", 2_000)

	// November: T1 up to VIP, T2 up to potential VIP, H1 back to general;
	// V1's balance 30% lower.
	clock.Set(time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC))
	s.tier(o.t1, "vip", 900)
	s.tier(o.t2, "potential_vip", 300)
	s.tier(o.h1, "general", 100)
	deposit = 70_000_000
	s.coreEvent("V1", &events.FinancialsReported{AsOf: "2026-11-19", DepositBalance: &deposit, ProfitContribution: &profit, Currency: "KRW"})

	// The campaign, launched at Epoch; an hour later T1's accepted pitch
	// and the opening of the product, T2 considering, H1's own opening.
	clock.Set(eventstest.Epoch)
	s.must("M1", "POST", "/v1/campaigns", withField(withField(launch("WED1"), "holdOutPercent", 50), "name", "결혼 시즌 대출"), 201)
	clock.Set(eventstest.Epoch.Add(time.Hour))
	s.must("R1", "POST", "/v1/customers/"+o.t1+"/pitches", pitch("LOAN-WED", "phone_outbound", "campaignId", "WED1", "outcome", "accepted"), 201)
	s.coreEvent(o.t1, &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "ACC-1", Change: "opened"})
	s.must("R1", "POST", "/v1/customers/"+o.t2+"/pitches", pitch("LOAN-WED", "phone_outbound", "campaignId", "WED1", "outcome", "considering"), 201)
	s.coreEvent(o.h1, &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "ACC-2", Change: "opened"})
	for _, m := range []struct{ id, role string }{{"R1", "rep"}, {"P1", "private_banker"}, {"M1", "marketer"}, {"H1", "centre_head"}} {
		s.givePassword(m.id, m.role, testPassword)
	}
	s.awaitApplied()
	return o
}

// TestBrowserCampaignOutcome: the rep works the campaign from the
// worklist and the pitch form (refused over SMS without consent, saved for
// the campaign by phone); the private banker sees the VIP at risk; the
// marketer reads the outcome (funnel, lift, tables, CSV, print) and the
// tier migration month by month by keyboard; the centre head reads both,
// the auditor the outcome; a rep may read neither.
func TestBrowserCampaignOutcome(t *testing.T) {
	requireBrowser(t)
	o := newOutcomeBook(t)
	s := o.s

	// ── the rep: the worklist and the pitch form ──
	rep := s.newBrowser("rep R1 (ko)", "ko")
	rep.signIn("R1", testPassword, "")
	rep.waitPath("/")
	for _, id := range []string{o.t2, o.t3} {
		sel := fmt.Sprintf(`#wl-rows tr[data-customer="%s"] [data-reason="campaign"]`, id)
		if !rep.has(sel) || !strings.Contains(rep.text(sel), "캠페인: 결혼 시즌 대출") {
			t.Errorf("target %s has no campaign tag: %q", id, rep.rowText(id))
		}
	}
	for _, id := range []string{o.t1, o.h1, o.h2} { // accepted; held out
		if rep.has(fmt.Sprintf(`#wl-rows tr[data-customer="%s"] [data-reason="campaign"]`, id)) {
			t.Errorf("%s has a campaign tag: %q", id, rep.rowText(id))
		}
	}
	rep.screen("campaign-outcome-worklist")

	rep.click(fmt.Sprintf(`#wl-rows tr[data-customer="%s"] a.cid`, o.t3))
	rep.waitPath("/customers/" + o.t3)
	if got := eval[[]string](rep, `Array.from(document.querySelectorAll("#pitch-campaign option")).map(o => o.value)`); !slices.Equal(got, []string{"", "WED1"}) {
		t.Errorf("the pitch form's campaigns: %v, want WED1 only", got)
	}
	// By keyboard: 2 opens the pitch form on its product; a marketing
	// pitch by SMS, which T3 did not consent to.
	rep.shortcut("2")
	if !rep.matchesFocus("#pitch-product") {
		t.Fatalf("2 did not open the pitch form on its product (the focus is on %s)", rep.focused())
	}
	rep.press("LOAN-WED")
	rep.tabTo("#pitch-outcome", 5)
	rep.chooseByKeys("accepted")
	rep.tabTo("#pitch-channel", 5)
	rep.chooseByKeys("sms")
	rep.tabTo("#pitch-purpose", 20)
	rep.chooseByKeys("marketing")
	rep.tabTo("#pitch-reason", 5)
	rep.press("딸 결혼 자금 문의")
	head := s.head()
	rep.navigate(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	// Refused next to the channel, SMS (문자) named as the page names it.
	rep.waitText("#pitch-channel-msg", "문자 마케팅 수신 동의")
	rep.takeProblems() // the refusal's own 400
	if h := s.head(); h != head {
		t.Errorf("the refused pitch appended: head %v → %v", head, h)
	}
	if v := eval[string](rep, `document.getElementById("pitch-purpose").value`); v != "marketing" {
		t.Errorf("the refused form lost its purpose: %q", v)
	}
	rep.screen("campaign-outcome-pitch-refused")

	// The campaign's pitch by phone: saved, with the consent it relied on.
	rep.tabTo("#pitch-channel", 20)
	for range 10 { // the outbound call is above SMS
		if eval[string](rep, "document.activeElement.value") == "phone_outbound" {
			break
		}
		rep.press(kb.ArrowUp)
	}
	rep.tabTo("#pitch-campaign", 20)
	rep.chooseByKeys("WED1")
	rep.tabTo("#pitch-reason", 5)
	rep.navigate(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	rep.waitPath("/customers/" + o.t3)
	rep.waitText("#h-pitches + table", "LOAN-WED")
	log := s.customerLog(o.t3)
	if last := log[len(log)-1]; last.Type != "ProductPitched" {
		t.Fatalf("the pitch form appended %s", last.Type)
	} else if d := s.openedData(&last); d["campaignId"] != "WED1" || d["purpose"] != "marketing" || d["consentChannel"] != "phone" || d["consentVersion"] == nil {
		t.Errorf("the campaign's pitch recorded %v", d)
	}
	s.awaitApplied()

	// ── the private banker: the VIP at risk ──
	pb := s.newBrowser("private banker P1 (ko)", "ko")
	pb.signIn("P1", testPassword, "")
	pb.waitPath("/")
	risk := `#wl-rows tr[data-customer="V1"] [data-reason="vip_at_risk"]`
	if !pb.has(risk) || !strings.Contains(pb.text(risk), "-30%") || !strings.Contains(pb.text(risk), "2026-08-18") {
		t.Errorf("V1's VIP-at-risk tag: %q", pb.rowText("V1"))
	}
	pb.screen("campaign-outcome-vip")

	// ── the marketer: the outcome and the tier migration ──
	for _, lang := range []string{"ko", "en"} {
		m := s.newBrowser("marketer M1 ("+lang+")", lang)
		m.signIn("M1", testPassword, "")
		m.waitPath("/campaigns")
		m.click(`a[href="/campaigns/WED1"]`)
		m.waitPath("/campaigns/WED1")
		m.tabTo("#cmp-outcome", 40) // the campaign's page links its outcome
		m.navigate(chromedp.KeyEvent(kb.Enter))
		m.waitPath("/campaigns/WED1/outcome")
		facts := eval[[]string](m, `Array.from(document.querySelectorAll("#rp-facts dd")).map(d => d.textContent)`)
		// Targets, contacted, pitched, accepted, opened; the lifts: accept
		// 2 of 3 against 0 of 2, open 1 of 3 against 1 of 2.
		want := []string{"3", "3", "3", "2", "1", "+66.7 pp", "-16.7 pp"}
		if lang == "ko" {
			want[5], want[6] = "+66.7%p", "-16.7%p"
		}
		if !slices.Equal(facts, want) {
			t.Errorf("%s: the outcome's figures %v, want %v", lang, facts, want)
		}
		if n := eval[int](m, `document.querySelectorAll("#rp-charts svg.chart[role=img][aria-label]").length`); n != 3 {
			t.Errorf("%s: %d charts, want the funnel, the pitches' outcomes and the lift", lang, n)
		}
		for _, id := range []string{"funnel", "lift", "advisors", "branches", "channels"} {
			if !m.has("#t-" + id + " table") {
				t.Errorf("%s: no %s table", lang, id)
			}
		}
		if got := m.text(`#t-advisors tbody tr:first-child`); !strings.Contains(got, "Rep One (R1)") {
			t.Errorf("%s: the advisors' table: %q", lang, got)
		}
		csv := run(m, chromedp.Evaluate[string](`fetch(document.querySelector("#t-lift a.rp-csv").href).then(r => r.text())`, chromedp.EvalAwaitPromise))
		if !strings.Contains(csv, "66.7,0.0,66.7\r\n") || !strings.Contains(csv, "33.3,50.0,-16.7\r\n") {
			t.Errorf("%s: the lift's CSV: %q", lang, csv)
		}
		bom := run(m, chromedp.Evaluate[string](`fetch(document.getElementById("rp-csv").href).then(r => r.arrayBuffer()).then(b => Array.from(new Uint8Array(b, 0, 3)).join(","))`, chromedp.EvalAwaitPromise))
		if bom != "239,187,191" { // UTF-8's byte order mark: Excel reads the file as UTF-8
			t.Errorf("%s: the funnel's CSV starts with %s", lang, bom)
		}
		m.screen("campaign-outcome")
		if lang == "ko" {
			m.printView("campaign-outcome", func() {
				if m.shown("header.bar") || m.shown("#rp-csv") || !m.shown("#rp-charts svg.chart") || !m.shown("#t-funnel table") {
					t.Errorf("the outcome does not print its charts and tables alone")
				}
			})
		}

		// [ goes back to the campaign.
		m.do(chromedp.Evaluate[chromedp.Void](`document.activeElement.blur()`))
		m.navigate(chromedp.KeyEvent("["))
		if p := m.path(); p != "/campaigns/WED1" {
			t.Errorf("%s: [ on the outcome went to %s, want the campaign", lang, p)
		}

		m.click(`nav a[href="/reports"]`)
		m.waitPath("/reports")
		if got := eval[[]string](m, `Array.from(document.querySelectorAll("#rp-list h2 a")).map(a => a.getAttribute("href"))`); !slices.Equal(got, []string{"/reports/tier-migration"}) {
			t.Errorf("%s: the marketer's reports: %v", lang, got)
		}
		m.click(`#rp-list a[href="/reports/tier-migration"]`)
		m.waitPath("/reports/tier-migration")
		o.checkMatrix(m, "2026-11", map[string]string{"potential_vip>vip": "1 up", "general>potential_vip": "1 up",
			"potential_vip>general": "1 down", "general>general": "2 stay", "vip>vip": "1 stay"})
		m.screen("tier-migration")

		// The month picker by keyboard: October.
		m.tabTo("#tm-month", 60)
		m.chooseByKeys("2026-10")
		m.tabTo("#tm-show", 5)
		m.navigate(chromedp.KeyEvent(kb.Enter))
		m.waitPath("/reports/tier-migration?month=2026-10")
		o.checkMatrix(m, "2026-10", map[string]string{">vip": "1 new", "general>potential_vip": "2 up", "general>general": "3 stay"})
		if href := eval[string](m, `document.getElementById("rp-csv").getAttribute("href")`); href != "/reports/tier-migration.csv?month=2026-10" {
			t.Errorf("%s: the CSV of October is %q", lang, href)
		}
		if lang == "ko" {
			m.screen("tier-migration-month")
		}
	}

	// ── the centre head reads both, the auditor the outcome; a rep neither ──
	s.givePassword("U1", "auditor", testPassword)
	for _, id := range []string{"H1", "U1"} {
		if got := s.webGet(id, "/campaigns/WED1/outcome"); got != 200 {
			t.Errorf("%s's outcome page: %d", id, got)
		}
	}
	h := s.newBrowser("centre head H1 (en)", "en")
	h.signIn("H1", testPassword, "")
	h.open("/reports")
	if !h.has(`#rp-list a[href="/reports/tier-migration"]`) || eval[int](h, `document.querySelectorAll("#rp-list > li").length`) != 9 { // with the likely duplicates
		t.Errorf("the centre head's reports lack the tier migration")
	}
	for _, path := range []string{"/campaigns/WED1/outcome", "/campaigns/WED1/outcome.csv", "/reports/tier-migration"} {
		if got := s.webGet("R1", path); got != 403 {
			t.Errorf("a rep's %s: %d, want 403", path, got)
		}
	}
	if got := s.webGet("M1", "/reports/tiers"); got != 403 {
		t.Errorf("a marketer's tiers report: %d, want 403", got)
	}
}

// checkMatrix checks the matrix of month: the cells of want ("from>to" →
// "customers kind") as given, every other cell empty.
func (o *outcomeBook) checkMatrix(b *browser, month string, want map[string]string) {
	b.t.Helper()
	if got := eval[string](b, `document.getElementById("tm-month").value`); got != month {
		b.t.Errorf("the matrix shows %s, want %s", got, month)
	}
	cells := eval[map[string]string](b, `(() => {
		const froms = ["", "general", "potential_vip", "vip"], tos = ["general", "potential_vip", "vip"], out = {};
		document.querySelectorAll("#tm-matrix tbody tr").forEach((tr, i) => tr.querySelectorAll("td").forEach((td, j) => {
			if (!td.classList.contains("tm-zero")) out[froms[i] + ">" + tos[j]] = td.querySelector(".tm-n").textContent + " " + td.dataset.move;
		}));
		return out; })()`)
	for k, v := range want {
		if cells[k] != v {
			b.t.Errorf("%s: cell %s is %q, want %q (all: %v)", month, k, cells[k], v, cells)
		}
	}
	for k := range cells {
		if _, ok := want[k]; !ok {
			b.t.Errorf("%s: cell %s is %q, want empty", month, k, cells[k])
		}
	}
}
