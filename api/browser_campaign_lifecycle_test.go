package api_test

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// The whole campaign lifecycle of issue 13 in headless Chromium, on the
// stack's manual clock: each step is checked in what the browsers show and
// in what the log appended (docs/console.md, "Campaigns" and "Campaign
// outcomes").

// clSince returns the customer and campaign events appended after
// position from, read from the store (sign-ins and the access record are
// other tests' business).
func (s *stack) clSince(from events.Position) []lcEvent {
	s.t.Helper()
	s.awaitApplied()
	evs, err := s.store.ReadAll(s.t.Context(), from, 1<<20) // a few hundred in this test
	if err != nil {
		s.t.Fatal(err)
	}
	var out []lcEvent
	for i := range evs {
		e := &evs[i]
		if cat, _ := events.StreamID(e.Stream); cat == events.CategoryCustomer || cat == events.CategoryCampaign {
			out = append(out, lcEvent{typ: e.Type, stream: e.Stream, actor: e.Actor.ID, data: s.openedData(e)})
		}
	}
	return out
}

// consentChangedVersion is the stream version of customer's latest
// ConsentChanged of marketing on channel.
func (s *stack) consentChangedVersion(customer, channel string) uint64 {
	s.t.Helper()
	var v uint64
	for _, e := range s.customerLog(customer) {
		if e.Type != "ConsentChanged" {
			continue
		}
		if d := s.openedData(&e); d["channel"] == channel && d["purpose"] == "marketing" {
			v = e.Version
		}
	}
	return v
}

// consentByForm changes customer id's marketing consent on channel through
// the customer page's consent form, by keyboard: 6 opens it on its
// channel, the selects are chosen with the arrows, Enter on its button
// saves.
func (b *browser) consentByForm(id, channel string, granted bool) {
	b.t.Helper()
	b.open("/customers/" + id)
	b.shortcut("6")
	if !b.matchesFocus("#consent-channel") {
		b.t.Fatalf("%s: 6 did not open the consent form on its channel (the focus is on %s)", b.name, b.focused())
	}
	b.chooseByKeys(channel)
	b.tabTo("#consent-purpose", 5)
	b.chooseByKeys("marketing")
	b.tabTo("#consent-granted", 5)
	b.chooseByKeys(strconv.FormatBool(granted))
	b.tabTo(`#form-consent button[type="submit"]`, 5)
	b.navigate(chromedp.KeyEvent(kb.Enter))
	b.waitPath("/customers/" + id)
}

// campaignRows are the customer ids of the worklist's rows with a tag of
// campaign name.
func (b *browser) campaignRows(name string) []string {
	b.t.Helper()
	return eval[[]string](b, fmt.Sprintf(`Array.from(document.querySelectorAll("#wl-rows tr[data-customer]"))
		.filter(r => Array.from(r.querySelectorAll('[data-reason="campaign"]')).some(t => t.innerText.includes(%q)))
		.map(r => r.dataset.customer)`, name))
}

// clBook is the lifecycle's customers, all R1's in branch B001 with
// marketing consent by phone, tiered in October: the potential VIPs (of
// which the campaign holds out some: events.InHoldOut at 20 %), G1 general
// and G2 VIP (the criteria are potential VIPs), and N1, registered during
// the campaign.
type clBook struct {
	targets, held []string // potential VIPs of the target and the hold-out group, in id order
	t1, t2, t3    string   // pitched and opened in the window; consent withdrawn; opened after the window
	late          string   // registered during the campaign
}

// clCampaign is the lifecycle's campaign: its id, name and product.
const clCampaign, clName, clProduct = "LC-WED", "결혼 시즌 대출", "LOAN-WED"

// newCLBook picks the book's ids by the hold-out hash: at least four
// targets and one held out, and a late joiner in the target group.
func newCLBook() clBook {
	var c clBook
	for i := 1; len(c.targets) < 4 || len(c.held) < 1; i++ {
		id := fmt.Sprintf("L%02d", i)
		if events.InHoldOut(clCampaign, id, 20) {
			c.held = append(c.held, id)
		} else {
			c.targets = append(c.targets, id)
		}
	}
	c.t1, c.t2, c.t3 = c.targets[0], c.targets[1], c.targets[2]
	for i := 1; c.late == ""; i++ {
		if id := fmt.Sprintf("N%02d", i); !events.InHoldOut(clCampaign, id, 20) {
			c.late = id
		}
	}
	return c
}

// kstZone is Korea's time, in which the campaign's days and the report's
// months are counted.
var kstZone = time.FixedZone("KST", 9*3600)

// TestBrowserCampaignLifecycle is issue 13's lifecycle on the stack's
// manual clock. Marketer M1 builds campaign LC-WED in the builder by
// keyboard (potential VIPs by phone, 20 % held out, a 7-day attribution
// window): the live count shows the book's numbers, the launch appends the
// CampaignLaunched typed. Rep R1's worklist, filtered to campaigns, shows
// the targets tagged "캠페인: 결혼 시즌 대출" and no hold-out customer; R1
// opens T1 from it and pitches under the campaign from the pitch form
// (accepted): the ProductPitched records consent by phone at the version
// of T1's ConsentChanged. T2's marketing consent by phone is withdrawn
// through the consent form: T2 leaves the worklist and the target list
// shows them removed (consent withdrawn); a pitch for T2 under the campaign
// on a form opened before (a second browser) is refused at the channel naming the consent, nothing appended. N1,
// registered and given consent during the campaign, joins (reason consent)
// and is on the worklist. T1 opens the product inside the window, T3 after
// it (the clock moved 8 days): the outcome page's funnel is exactly GET
// /v1/reports/campaigns/LC-WED's and adds up. Two TierAssigned either side
// of the KST month edge (23:59:59 and 00:00 KST) show in November's and
// December's tier migration.
func TestBrowserCampaignLifecycle(t *testing.T) {
	requireBrowser(t)
	clock := eventstest.NewManualClock(time.Date(2026, 10, 20, 1, 0, 0, 0, time.UTC))
	s := newStack(t, stackOptions{now: clock.Now, noReactors: true})
	bk := newCLBook()
	pvs := append(slices.Clone(bk.targets), bk.held...)
	slices.Sort(pvs)

	// ── October: the book ──
	start := s.rhHead()
	others := map[string]string{"G1": "general", "G2": "vip"} // outside the criteria
	for _, id := range append(slices.Clone(pvs), "G1", "G2") {
		s.campaignBook(bookEntry{id: id, advisor: "R1", phone: true})
		s.tier(id, cmp.Or(others[id], "potential_vip"), 300)
	}
	s.grant("R1", bk.t2, "sms", true) // by phone withdrawn, T2 may still get texts: removed for the consent, not do-not-contact
	evs := s.clSince(start)
	if n := len(evs); n != 4*(len(pvs)+2)+1 {
		t.Fatalf("the book appended %d events", n)
	}
	for _, m := range [][2]string{{"M1", "marketer"}, {"R1", "rep"}} {
		s.givePassword(m[0], m[1], testPassword)
	}

	// ── M1 builds the campaign by keyboard ──
	clock.Set(eventstest.Epoch) // Wed 2026-11-25 18:00 KST
	mk := s.newBrowser("marketer M1 (ko)", "ko")
	mk.signIn("M1", testPassword, "")
	mk.waitPath("/campaigns")
	mk.tabTo("#cmp-new", 30)
	mk.navigate(chromedp.KeyEvent(kb.Enter))
	mk.waitPath("/campaigns/new")
	head := s.rhHead()
	mk.tabTo("#cmp-campaignId", 40)
	mk.press(clCampaign)
	mk.press(kb.Tab)
	mk.press(clName)
	mk.press(kb.Tab)
	mk.press(clProduct)
	mk.do(chromedp.SetValue(chromedp.CSS("#cmp-endsOn"), "2026-12-31")) // headless Chromium's date input takes no typed date reliably
	mk.tabTo("#cmp-holdOutPercent", 10)
	mk.clear("#cmp-holdOutPercent")
	mk.press("20")
	mk.tabTo("#cmp-attributionDays", 5)
	mk.press("7")
	mk.tabTo("#cmp-criteria-tiers-potential_vip", 10)
	mk.press(" ")
	// Every potential VIP matches and may be called by phone.
	mk.waitCount(fmt.Sprintf("%d/%d/%d/0/0", len(bk.targets), len(bk.held), len(pvs)))
	if got := s.rhHead(); got != head {
		t.Fatalf("counting appended (head %v → %v)", head, got)
	}
	mk.screen("campaign-lifecycle-builder")
	mk.tabTo("#cmp-launch", 40)
	mk.navigate(chromedp.KeyEvent(kb.Enter))
	mk.waitPath("/campaigns/" + clCampaign + "?done=launched")
	evs = lcExpect(t, "the launch", s.clSince(head), "CampaignLaunched")
	if d, e := evs[0].data, evs[0]; e.stream != events.CampaignStream(clCampaign) || e.actor != "M1" || d["name"] != clName || d["product"] != clProduct ||
		d["channel"] != "phone_outbound" || d["startsOn"] != "2026-11-25" || d["endsOn"] != "2026-12-31" || d["holdOutPercent"] != 20.0 ||
		d["attributionDays"] != 7.0 || fmt.Sprint(lcField(d, "criteria", "tiers")) != "[potential_vip]" {
		t.Errorf("the launch appended %s by %s: %v", e.stream, e.actor, d)
	}
	if got := mk.text("#cmp-n-targets") + "/" + mk.text("#cmp-n-holdout"); got != fmt.Sprintf("%d/%d", len(bk.targets), len(bk.held)) {
		t.Errorf("the campaign's numbers %s", got)
	}

	// ── R1's worklist: the targets, no hold-out ──
	clock.Set(eventstest.Epoch.Add(5 * time.Minute))
	rep := s.newBrowser("rep R1 (ko)", "ko")
	rep.signIn("R1", testPassword, "")
	rep.waitPath("/")
	for _, id := range bk.held {
		if rep.has(fmt.Sprintf(`#wl-rows tr[data-customer="%s"] [data-reason="campaign"]`, id)) {
			t.Errorf("held-out %s has a campaign tag: %q", id, rep.rowText(id))
		}
	}
	rep.tabTo(`a[href="/?reason=campaign"]`, 60) // the worklist's campaign filter
	rep.navigate(chromedp.KeyEvent(kb.Enter))
	rep.waitPath("/?reason=campaign")
	if rows, tagged := rep.worklistRows(), rep.campaignRows("캠페인: "+clName); !slices.Equal(rows, bk.targets) || !slices.Equal(tagged, bk.targets) {
		t.Errorf("the campaign's worklist: rows %v, tagged %v; want the targets %v (held out: %v)", rows, tagged, bk.targets, bk.held)
	}
	for _, id := range bk.targets {
		if got := s.campaignReasons("R1", id); !slices.Equal(got, []string{"campaign: " + clName}) {
			t.Errorf("GET /v1/worklist: %s's campaign details %v", id, got)
		}
	}
	for _, id := range bk.held {
		if got := s.campaignReasons("R1", id); len(got) != 0 {
			t.Errorf("GET /v1/worklist: held-out %s has %v", id, got)
		}
	}
	rep.screen("campaign-lifecycle-worklist")
	// The pitch form offers a held-out customer no campaign.
	rep.open("/customers/" + bk.held[0])
	if got := eval[[]string](rep, `Array.from(document.querySelectorAll("#pitch-campaign option")).map(o => o.value)`); !slices.Equal(got, []string{""}) {
		t.Errorf("the pitch form offers held-out %s the campaigns %v", bk.held[0], got)
	}
	head = s.rhHead()
	if a := s.req("R1", "POST", "/v1/customers/"+bk.held[0]+"/pitches", pitch(clProduct, "phone_outbound", "campaignId", clCampaign),
		"Idempotency-Key", events.NewID().String()); a.status != 400 || !strings.Contains(fmt.Sprint(a.body), "hold-out") {
		t.Errorf("a campaign pitch to held-out %s over the API: %d %v", bk.held[0], a.status, a.body)
	}
	if got := s.rhHead(); got != head {
		t.Errorf("the refused pitch to the hold-out appended %v", s.clSince(head))
	}
	rep.open("/?reason=campaign")

	// ── R1 pitches T1 under the campaign ──
	rep.tabTo(fmt.Sprintf(`#wl-rows tr[data-customer="%s"] a.cid`, bk.t1), 80)
	rep.navigate(chromedp.KeyEvent(kb.Enter))
	rep.waitPath("/customers/" + bk.t1)
	rep.shortcut("2")
	if !rep.matchesFocus("#pitch-product") {
		t.Fatalf("2 did not open the pitch form on its product (the focus is on %s)", rep.focused())
	}
	rep.press(clProduct)
	rep.tabTo("#pitch-outcome", 5)
	rep.chooseByKeys("accepted")
	rep.tabTo("#pitch-campaign", 20)
	rep.chooseByKeys(clCampaign)
	rep.tabTo("#pitch-reason", 5)
	rep.press("딸 결혼 자금 대출 안내")
	head = s.rhHead()
	rep.navigate(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	rep.waitPath("/customers/" + bk.t1)
	rep.waitText("#h-pitches + table", clProduct)
	evs = lcExpect(t, "T1's pitch", s.clSince(head), "ProductPitched")
	cv := s.consentChangedVersion(bk.t1, "phone")
	if d, e := evs[0].data, evs[0]; e.stream != events.CustomerStream(bk.t1) || e.actor != "R1" || d["campaignId"] != clCampaign || d["product"] != clProduct ||
		d["outcome"] != "accepted" || d["purpose"] != "marketing" || d["consentChannel"] != "phone" || cv == 0 || d["consentVersion"] != float64(cv) {
		t.Errorf("T1's pitch appended on %s by %s: %v; want consent phone at version %d (T1's ConsentChanged)", e.stream, e.actor, d, cv)
	}
	rep.screen("campaign-lifecycle-pitched")

	// ── T2's consent withdrawn; a pitch for T2 on a form opened before ──
	clock.Set(eventstest.Epoch.Add(10 * time.Minute))
	stale := s.newBrowser("rep R1, second browser (ko)", "ko")
	stale.signIn("R1", testPassword, "")
	stale.open("/customers/" + bk.t2)
	stale.shortcut("2")
	stale.press(clProduct)
	stale.tabTo("#pitch-outcome", 5)
	stale.chooseByKeys("considering")
	stale.tabTo("#pitch-campaign", 20)
	stale.chooseByKeys(clCampaign)
	head = s.rhHead()
	rep.consentByForm(bk.t2, "phone", false)
	evs = lcExpect(t, "T2's withdrawal", s.clSince(head), "ConsentChanged")
	if d, e := evs[0].data, evs[0]; e.stream != events.CustomerStream(bk.t2) || e.actor != "R1" || d["channel"] != "phone" || d["purpose"] != "marketing" || d["granted"] != false {
		t.Errorf("the withdrawal appended on %s by %s: %v", e.stream, e.actor, d)
	}
	// T1 accepted and T2 withdrew: neither is to be called for the campaign.
	uncalled := slices.DeleteFunc(slices.Clone(bk.targets), func(id string) bool { return id == bk.t1 || id == bk.t2 })
	rep.open("/?reason=campaign")
	if rows := rep.campaignRows("캠페인: " + clName); !slices.Equal(rows, uncalled) {
		t.Errorf("after T1's acceptance and T2's withdrawal the campaign's worklist is %v, want %v", rows, uncalled)
	}
	if got := s.campaignReasons("R1", bk.t2); len(got) != 0 {
		t.Errorf("GET /v1/worklist: T2 has %v after the withdrawal", got)
	}
	tg := s.must("M1", "GET", "/v1/campaigns/"+clCampaign+"/targets?status=removed", nil, 200)
	if got := targetIDs(tg); !slices.Equal(got, []string{bk.t2}) || lcField(tg, "items", 0, "removedReason") != "consent_withdrawn" {
		t.Errorf("the removed targets: %v", tg["items"])
	}
	mk.open("/campaigns/" + clCampaign)
	row := fmt.Sprintf(`#cmp-targets tr[data-customer="%s"]`, bk.t2)
	if !mk.has(row+".cmp-gone") || !strings.Contains(mk.text(row), "동의 철회") || mk.text("#cmp-n-removed") != "1" {
		t.Errorf("T2's row on the target list %q (removed: %s)", mk.text(row), mk.text("#cmp-n-removed"))
	}
	if got := mk.text(fmt.Sprintf(`#cmp-targets tr[data-customer="%s"] .cmp-progress`, bk.t1)); !strings.Contains(got, "2026-11-25") {
		t.Errorf("T1's progress %q", got)
	}
	mk.do(chromedp.ScrollIntoView(chromedp.CSS("#targets")))
	mk.screen("campaign-lifecycle-targets")

	// Sent now, the form's version is behind the withdrawal, but the
	// refusal is of the consent: the API judges the customer as they stand.
	head = s.rhHead()
	stale.tabTo("#pitch-reason", 10)
	stale.navigate(chromedp.KeyEvent(kb.Enter, chromedp.KeyModifiers(chromedp.ModifierCtrl)))
	stale.waitText("#pitch-channel-msg", "전화 마케팅 수신 동의")
	stale.takeProblems() // the refusal's own 400
	if v := eval[string](stale, `document.getElementById("pitch-campaign").value`); v != clCampaign {
		t.Errorf("the refused form lost the campaign chosen: %q", v)
	}
	if got := s.rhHead(); got != head {
		t.Errorf("the refused pitch appended %v", s.clSince(head))
	}
	stale.screen("campaign-lifecycle-refused")

	// ── a late joiner: N1 registered and given consent ──
	clock.Set(eventstest.Epoch.Add(15 * time.Minute))
	head = s.rhHead()
	s.campaignBook(bookEntry{id: bk.late, advisor: "R1"})
	s.tier(bk.late, "potential_vip", 300)
	s.awaitApplied()
	if a := s.req("M1", "GET", "/v1/campaigns/"+clCampaign+"/targets", nil); slices.Contains(targetIDs(a.body), bk.late) {
		t.Errorf("%s is a target before any consent", bk.late)
	}
	rep.consentByForm(bk.late, "phone", true)
	lcExpect(t, "the late joiner", s.clSince(head), "CustomerRegistered", "AdvisorAssigned", "TierAssigned", "ConsentChanged")
	tgt := s.must("M1", "GET", "/v1/campaigns/"+clCampaign+"/targets?group=target&status=active", nil, 200)
	want := append(slices.DeleteFunc(slices.Clone(bk.targets), func(id string) bool { return id == bk.t2 }), bk.late)
	slices.Sort(want)
	if got := targetIDs(tgt); !slices.Equal(got, want) {
		t.Errorf("the active targets %v, want %v", got, want)
	}
	for _, it := range tgt["items"].([]any) {
		if m := it.(map[string]any); m["customerId"] == bk.late && (m["reason"] != "consent" || fmt.Sprint(m["matched"]) != "[tier:potential_vip]" ||
			m["joinedAt"] != eventstest.Epoch.Add(15*time.Minute).Format(time.RFC3339)) {
			t.Errorf("the late joiner's entry %v", m)
		}
	}
	rep.open("/?reason=campaign")
	if rows := rep.campaignRows("캠페인: " + clName); !slices.Equal(rows, append(uncalled, bk.late)) {
		t.Errorf("with the late joiner the campaign's worklist is %v, want %v", rows, append(uncalled, bk.late))
	}
	if got := s.campaignReasons("R1", bk.late); !slices.Equal(got, []string{"campaign: " + clName}) {
		t.Errorf("GET /v1/worklist: the late joiner's campaign details %v", got)
	}

	// ── product openings inside and outside the window; tiers across the month ──
	head = s.rhHead()
	clock.Set(eventstest.Epoch.Add(2 * 24 * time.Hour))
	s.coreEvent(bk.t1, &events.ProductHoldingChanged{Product: clProduct, AccountRef: "ACC-1", Change: "opened"})
	clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, kstZone).Add(-time.Second)) // 23:59:59 KST, 30 November
	s.tier("G2", "general", 100)
	clock.Set(time.Date(2026, 12, 1, 0, 0, 0, 0, kstZone)) // 1 December
	s.tier("G1", "vip", 900)
	clock.Set(eventstest.Epoch.Add(8 * 24 * time.Hour)) // past T3's 7 days
	s.coreEvent(bk.t3, &events.ProductHoldingChanged{Product: clProduct, AccountRef: "ACC-3", Change: "opened"})
	evs = lcExpect(t, "the openings and the tiers", s.clSince(head), "ProductHoldingChanged", "TierAssigned", "TierAssigned", "ProductHoldingChanged")
	for i, w := range []struct{ stream, field, value string }{{bk.t1, "change", "opened"}, {"G2", "tier", "general"}, {"G1", "tier", "vip"}, {bk.t3, "change", "opened"}} {
		if e := evs[i]; e.stream != events.CustomerStream(w.stream) || e.data[w.field] != w.value {
			t.Errorf("event %d: %s on %s: %v", i, e.typ, e.stream, e.data)
		}
	}

	// T3 opened the product after the window: not the campaign's
	// conversion, but nobody calls them to sell what they hold.
	if got := s.campaignReasons("R1", bk.t3); len(got) != 0 {
		t.Errorf("GET /v1/worklist: T3 holds the product and is still tagged %v", got)
	}

	// ── the outcome: the page's funnel is the API's ──
	rp := s.must("M1", "GET", "/v1/reports/campaigns/"+clCampaign, nil, 200)
	f := func(group, k string) int { return int(lcField(rp, group, k).(float64)) }
	if f("funnel", "targets") != len(bk.targets)+1 || f("funnel", "removed") != 1 || f("funnel", "pitched") != 1 || f("funnel", "accepted") != 1 ||
		f("funnel", "opened") != 1 || f("holdOutFunnel", "targets") != len(bk.held) {
		t.Errorf("the report's funnels: %v / %v", rp["funnel"], rp["holdOutFunnel"])
	}
	for _, g := range []string{"funnel", "holdOutFunnel"} {
		if out := f(g, "accepted") + f(g, "declined") + f(g, "considering") + f(g, "unreachable"); out != f(g, "pitched") || f(g, "pitched") > f(g, "contacted") ||
			f(g, "contacted") > f(g, "targets") || f(g, "opened") > f(g, "targets") {
			t.Errorf("the %s does not add up: %v", g, rp[g])
		}
	}
	// Each breakdown (advisor, branch, pitch channel) shares the target
	// group out: its rows add up to the funnel.
	for _, by := range []string{"byAdvisor", "byBranch", "byChannel"} {
		sum := map[string]int{}
		for _, r := range rp[by].([]any) {
			for k, v := range r.(map[string]any) {
				if n, ok := v.(float64); ok {
					sum[k] += int(n)
				}
			}
		}
		for _, k := range []string{"targets", "removed", "contacted", "pitched", "accepted", "declined", "considering", "unreachable", "opened"} {
			if sum[k] != f("funnel", k) {
				t.Errorf("the report's %s adds up to %d %s, the funnel has %d: %v", by, sum[k], k, f("funnel", k), rp[by])
			}
		}
	}
	mk.signIn("M1", testPassword, "") // a week on, the console's session has ended
	mk.open("/campaigns/" + clCampaign)
	mk.tabTo("#cmp-outcome", 40)
	mk.navigate(chromedp.KeyEvent(kb.Enter))
	mk.waitPath("/campaigns/" + clCampaign + "/outcome")
	stages := []string{"targets", "contacted", "pitched", "accepted", "declined", "considering", "unreachable", "opened", "removed"}
	var wantRows, wantFacts []string
	for _, k := range stages {
		wantRows = append(wantRows, fmt.Sprintf("%d|%d", f("funnel", k), f("holdOutFunnel", k)))
	}
	for _, k := range []string{"targets", "contacted", "pitched", "accepted", "opened"} {
		wantFacts = append(wantFacts, strconv.Itoa(f("funnel", k)))
	}
	pp := func(k string) string { // percentage points, signed, as the page writes them in Korean
		v := lcField(rp, "lift", k).(float64) * 100
		switch txt := strconv.FormatFloat(v, 'f', 1, 64); {
		case v > 0 && txt != "0.0":
			return "+" + txt + "%p"
		case txt == "-0.0":
			return "0.0%p"
		default:
			return txt + "%p"
		}
	}
	wantFacts = append(wantFacts, pp("acceptLift"), pp("openLift"))
	rows := eval[[]string](mk, `Array.from(document.querySelectorAll("#t-funnel tbody tr")).map(tr => tr.querySelector("td:nth-of-type(1)").textContent + "|" + tr.querySelector("td:nth-of-type(3)").textContent)`)
	if !slices.Equal(rows, wantRows) {
		t.Errorf("the outcome's funnel table (target|hold-out per stage %v) is %v, the API's %v", stages, rows, wantRows)
	}
	if facts := eval[[]string](mk, `Array.from(document.querySelectorAll("#rp-facts dd")).map(d => d.textContent)`); !slices.Equal(facts, wantFacts) {
		t.Errorf("the outcome's figures %v, the API's %v", facts, wantFacts)
	}
	mk.screen("campaign-lifecycle-outcome")

	// ── the tier migration across the KST month edge ──
	mk.open("/reports/tier-migration")
	var o outcomeBook // checkMatrix reads only the page
	n := len(pvs)
	o.checkMatrix(mk, "2026-12", map[string]string{"potential_vip>potential_vip": fmt.Sprintf("%d stay", n+1), "general>general": "1 stay",
		"general>vip": "1 up"})
	mk.screen("campaign-lifecycle-tier-migration")
	mk.tabTo("#tm-month", 60)
	mk.chooseByKeys("2026-11")
	mk.tabTo("#tm-show", 5)
	mk.navigate(chromedp.KeyEvent(kb.Enter))
	mk.waitPath("/reports/tier-migration?month=2026-11")
	o.checkMatrix(mk, "2026-11", map[string]string{"potential_vip>potential_vip": fmt.Sprintf("%d stay", n), ">potential_vip": "1 new",
		"general>general": "1 stay", "vip>general": "1 down"})
}
