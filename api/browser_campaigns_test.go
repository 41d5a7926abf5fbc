package api_test

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/dangol/dangol/events"
)

// campaignEvents returns campaign id's events as "Type by actor" and
// their data, read as the auditor.
func (s *stack) campaignEvents(id string) (what []string, data []map[string]any) {
	s.t.Helper()
	a := s.req("U1", "GET", "/v1/audit/streams/"+events.CampaignStream(id)+"?limit=100", nil)
	if a.status == 404 {
		return nil, nil
	}
	for _, e := range a.body["events"].([]any) {
		m := e.(map[string]any)
		what = append(what, fmt.Sprintf("%s by %s", m["type"], m["actor"].(map[string]any)["id"]))
		data = append(data, m["data"].(map[string]any))
	}
	return what, data
}

// assignTier appends the segmentation job's TierAssigned of customer id.
func (s *stack) assignTier(id, tier string) {
	s.t.Helper()
	deposit, profit := int64(10_000_000), int64(100_000)
	basis := events.TierBasis{DepositBalance: &deposit, ProfitContribution: &profit, Rule: "test"}
	ev, err := events.NewEvent(&events.TierAssigned{Tier: tier, Basis: basis},
		events.Meta{Actor: events.System("segmentation"), CorrelationID: events.NewID().String()})
	if err != nil {
		s.t.Fatal(err)
	}
	if _, err := s.store.Append(s.t.Context(), events.CustomerStream(id), events.StreamExists, ev); err != nil {
		s.t.Fatalf("tier of %s: %v", id, err)
	}
}

// marketingBook is the browser test's customers, all of branch B001: by
// tier, with marketing consent by phone except C311 (SMS only: no consent
// for a phone campaign) and C312 (none: do-not-contact).
var marketingBook = []struct{ id, advisor, tier string }{
	{"C301", "R1", "vip"}, {"C302", "R1", "potential_vip"}, {"C303", "R2", "potential_vip"}, {"C304", "R1", "potential_vip"},
	{"C305", "R2", "general"}, {"C306", "R1", "general"}, {"C307", "R1", "general"}, {"C308", "R2", ""},
	{"C309", "R1", "potential_vip"}, {"C310", "R2", "vip"}, {"C311", "R1", "potential_vip"}, {"C312", "R1", "potential_vip"},
}

// seedMarketing registers marketingBook.
func (s *stack) seedMarketing() {
	s.t.Helper()
	for _, c := range marketingBook {
		s.campaignBook(bookEntry{id: c.id, advisor: c.advisor, phone: c.id != "C311" && c.id != "C312"})
		if c.id == "C311" {
			s.grant(c.advisor, c.id, "sms", true)
		}
		if c.tier != "" {
			s.assignTier(c.id, c.tier)
		}
	}
	s.awaitApplied()
}

// expectedCount is what a phone campaign id over tiers selects of
// marketingBook: targets and held out (holdOut percent).
func expectedCount(id string, holdOut int, tiers ...string) (targets, held int) {
	for _, c := range marketingBook {
		if c.id == "C311" || c.id == "C312" || len(tiers) > 0 && !slices.Contains(tiers, c.tier) {
			continue
		}
		if events.InHoldOut(id, c.id, holdOut) {
			held++
		} else {
			targets++
		}
	}
	return targets, held
}

// countShown is the builder's count as the page shows it: "targets/held
// out/matching/do-not-contact/no consent".
func (b *browser) countShown() string {
	b.t.Helper()
	return eval[string](b, `["targets","holdOut","matching","doNotContact","noConsent"].map(k =>
		document.querySelector("#cmp-count-box [data-n=" + k + "]").textContent.replace(/,/g, "")).join("/")`)
}

// waitCount waits until the builder's count reads want and is not being
// made.
func (b *browser) waitCount(want string) {
	b.t.Helper()
	b.poll("the count "+want, func() (bool, string) {
		got, err := tryEval[string](b, `(() => { const box = document.getElementById("cmp-count-box");
			if (!box) return location.pathname + ": " + document.body.innerText.slice(0, 200);
			if (box.getAttribute("aria-busy") || box.dataset.state !== "fresh") return box.dataset.state + ": " + document.getElementById("cmp-count").textContent;
			return ["targets","holdOut","matching","doNotContact","noConsent"].map(k =>
				box.querySelector("[data-n=" + k + "]").textContent.replace(/,/g, "")).join("/"); })()`)
		return err == nil && got == want, got
	})
}

// TestBrowserCampaigns: a marketer builds a campaign by keyboard: the live
// count (posted to /campaigns/preview as the form changes, appending
// nothing) follows each tier ticked; Enter in a field counts without
// script's help; a hold-out over 50 % is refused next to its field with
// nothing appended; the launch appends exactly the CampaignLaunched typed.
// The campaign's page shows its definition and targets (customer ids as
// text: a marketer reads no customer); an amendment with its own live
// count appends CampaignAmended. A centre head (English) sees the targets
// linked to the customers, meets a stale amendment as a conflict that keeps
// the draft, and closes the campaign with a reason. A rep gets 403.
func TestBrowserCampaigns(t *testing.T) {
	requireBrowser(t)
	s := newStack(t, stackOptions{noReactors: true})
	for _, m := range [][2]string{{"M1", "marketer"}, {"H1", "centre_head"}, {"R1", "rep"}} {
		s.givePassword(m[0], m[1], testPassword)
	}
	s.seedMarketing()

	mk := s.newBrowser("marketer M1", "ko")
	mk.signIn("M1", testPassword, "")
	mk.waitPath("/campaigns")
	mk.waitText("#cmp-none", "캠페인")
	mk.tabTo("#cmp-new", 30)
	mk.navigate(chromedp.KeyEvent(kb.Enter))
	mk.waitPath("/campaigns/new")

	// As opened: everyone who may be contacted, counted by the script.
	all, _ := expectedCount("", 0)
	mk.waitCount(fmt.Sprintf("%d/0/12/1/1", all))
	head := s.head()
	mk.tabTo("#cmp-campaignId", 40)
	mk.press("WED-2027")
	mk.press(kb.Tab)
	mk.press("결혼 시즌 대출")
	mk.press(kb.Tab)
	mk.press("LOAN-WED")
	mk.do(chromedp.SetValue(chromedp.CSS("#cmp-endsOn"), "2026-12-31"))
	mk.tabTo("#cmp-holdOutPercent", 10)
	mk.clear("#cmp-holdOutPercent")
	mk.press("80") // over 50: refused at launch
	mk.tabTo("#cmp-criteria-tiers-potential_vip", 10)
	mk.press(" ")
	mk.poll("the live count refuses the hold-out", func() (bool, string) {
		st := eval[string](mk, `document.getElementById("cmp-count-box").dataset.state + ":" + document.getElementById("cmp-count").textContent`)
		return strings.HasPrefix(st, "invalid:비교군: ") && strings.Contains(st, "50"), st
	})
	mk.clear("#cmp-holdOutPercent")
	mk.do(chromedp.Focus(chromedp.CSS("#cmp-holdOutPercent")))
	mk.press("20")
	pv, pvHeld := expectedCount("WED-2027", 20, "potential_vip")
	mk.waitCount(fmt.Sprintf("%d/%d/6/1/1", pv, pvHeld)) // C302 C303 C304 C309 match and may be called; C311 has no phone consent, C312 is do-not-contact
	mk.tabTo("#cmp-criteria-tiers-vip", 10)
	mk.press(" ")
	vip, vipHeld := expectedCount("WED-2027", 20, "potential_vip", "vip")
	mk.waitCount(fmt.Sprintf("%d/%d/8/1/1", vip, vipHeld))
	if got := mk.text("#cmp-count"); !strings.Contains(got, fmt.Sprint(vip)) || !hangul.MatchString(got) {
		t.Errorf("the count's sentence %q", got)
	}
	if got := eval[string](mk, `document.getElementById("cmp-count").getAttribute("aria-live")`); got != "polite" {
		t.Errorf("the count's aria-live %q", got)
	}
	if got := s.head(); got != head {
		t.Fatalf("counting appended (head %v → %v)", head, got)
	}
	mk.screen("campaign-builder")

	// Enter in a field counts on the server (the form's first button) and
	// keeps the draft; a hold-out over 50 % is refused when launching.
	mk.do(chromedp.Focus(chromedp.CSS("#cmp-criteria-noContactDays")))
	mk.navigate(chromedp.KeyEvent(kb.Enter))
	mk.waitCount(fmt.Sprintf("%d/%d/8/1/1", vip, vipHeld))
	if v := eval[string](mk, `document.getElementById("cmp-name").value + "|" + document.getElementById("cmp-criteria-tiers-vip").checked`); v != "결혼 시즌 대출|true" {
		t.Errorf("the count lost the draft: %q", v)
	}
	mk.clear("#cmp-holdOutPercent")
	mk.do(chromedp.Focus(chromedp.CSS("#cmp-holdOutPercent")))
	mk.press("60")
	mk.click("#cmp-launch")
	msg := mk.text("#cmp-holdOutPercent-msg")
	if !hangul.MatchString(msg) || !strings.Contains(msg, "50") || !mk.matchesFocus("#cmp-holdOutPercent") {
		t.Errorf("a hold-out of 60 %%: message %q, focus on %s", msg, mk.focused())
	}
	if got := s.head(); got != head {
		t.Fatalf("the refused launch appended (head %v → %v)", head, got)
	}
	mk.screen("campaign-builder-refused")
	mk.clear("#cmp-holdOutPercent")
	mk.press("20")
	mk.tabTo("#cmp-launch", 40)
	mk.navigate(chromedp.KeyEvent(kb.Enter))
	mk.waitPath("/campaigns/WED-2027?done=launched")
	what, data := s.campaignEvents("WED-2027")
	if len(what) != 1 || what[0] != "CampaignLaunched by M1" {
		t.Fatalf("launched: %v", what)
	}
	d := data[0]
	if tiers := fmt.Sprint(d["criteria"].(map[string]any)["tiers"]); d["name"] != "결혼 시즌 대출" || d["product"] != "LOAN-WED" || d["channel"] != "phone_outbound" ||
		d["startsOn"] != "2026-11-25" || d["endsOn"] != "2026-12-31" || d["holdOutPercent"] != float64(20) || tiers != "[vip potential_vip]" {
		t.Errorf("CampaignLaunched %v", d)
	}

	// The campaign's page: definition, numbers, targets without links.
	mk.waitText("#cmp-done", "시작")
	if got := mk.text("#cmp-n-targets") + "/" + mk.text("#cmp-n-holdout"); got != fmt.Sprintf("%d/%d", vip, vipHeld) {
		t.Errorf("the numbers %s, want %d/%d", got, vip, vipHeld)
	}
	if got := mk.text("#cmp-criteria"); !strings.Contains(got, "VIP") {
		t.Errorf("the criteria in words %q", got)
	}
	rows := eval[int](mk, `document.querySelectorAll("#cmp-targets tbody tr").length`)
	links := eval[int](mk, `document.querySelectorAll("#cmp-targets a[href^='/customers/']").length`)
	if rows != vip+vipHeld || links != 0 {
		t.Errorf("the target list: %d rows, %d customer links (a marketer reads no customer)", rows, links)
	}
	mk.screen("campaign-page")

	// Amend: tick general too; the amendment's own live count follows.
	gen, genHeld := expectedCount("WED-2027", 20, "potential_vip", "vip", "general")
	mk.tabTo("#cmp-criteria-tiers-general", 80)
	mk.press(" ")
	mk.waitCount(fmt.Sprintf("%d/%d/11/1/1", gen, genHeld))
	mk.do(chromedp.Focus(chromedp.CSS("#cmp-reason")))
	mk.press("일반 등급 추가")
	head = s.head()
	mk.tabTo("#cmp-amend", 20)
	mk.navigate(chromedp.KeyEvent(kb.Enter))
	mk.waitPath("/campaigns/WED-2027?done=amended")
	if what, data = s.campaignEvents("WED-2027"); len(what) != 2 || what[1] != "CampaignAmended by M1" || data[1]["reason"] != "일반 등급 추가" ||
		fmt.Sprint(data[1]["criteria"].(map[string]any)["tiers"]) != "[vip potential_vip general]" {
		t.Fatalf("amended: %v %v", what, data)
	}
	if got := mk.text("#cmp-n-targets"); got != fmt.Sprint(gen) {
		t.Errorf("targets after the amendment %s, want %d", got, gen)
	}

	// Progress and removal: R1 pitches C302 for the campaign (accepted);
	// C304 withdraws marketing consent by phone, their only one, and leaves
	// the list as do-not-contact.
	s.must("R1", "POST", "/v1/customers/C302/pitches", map[string]any{"product": "LOAN-WED", "channel": "phone_outbound",
		"outcome": "accepted", "campaignId": "WED-2027"}, 201)
	s.grant("R1", "C304", "phone", false)
	s.awaitApplied()

	// The centre head, in English: customer links, a stale amendment, closure.
	hd := s.newBrowser("centre head H1", "en")
	hd.signIn("H1", testPassword, "")
	hd.open("/campaigns/WED-2027")
	hd.waitText("#cmp-def", "1 time")
	if links := eval[int](hd, `document.querySelectorAll("#cmp-targets a[href^='/customers/']").length`); links != gen+genHeld {
		t.Errorf("the centre head's target list links %d customers, want %d", links, gen+genHeld)
	}
	if got := hd.text("#cmp-targets tr[data-customer=C302] .cmp-progress"); !strings.Contains(got, "accepted 2026-11-25") {
		t.Errorf("C302's progress %q", got)
	}
	if got := hd.text("#cmp-targets tr[data-customer=C304]"); !strings.Contains(got, "do-not-contact") || hd.text("#cmp-n-removed") != "1" {
		t.Errorf("C304's row %q, removed %s", got, hd.text("#cmp-n-removed"))
	}
	mk.open("/campaigns/WED-2027")
	mk.clear("#cmp-name")
	mk.do(chromedp.Focus(chromedp.CSS("#cmp-name")))
	mk.press("결혼 시즌 대출 2차")
	mk.click("#cmp-amend")
	mk.waitPath("/campaigns/WED-2027?done=amended")
	head = s.head()
	hd.clear("#cmp-criteria-noContactDays")
	hd.fill("#cmp-criteria-noContactDays", "30")
	hd.click("#cmp-amend")
	hd.waitText("#cmp-conflict", "meanwhile")
	if got := s.head(); got != head {
		t.Fatalf("the stale amendment appended (head %v → %v)", head, got)
	}
	if v := eval[string](hd, `document.getElementById("cmp-criteria-noContactDays").value`); v != "30" {
		t.Errorf("the conflict lost the draft: %q", v)
	}
	hd.screen("campaign-conflict")
	hd.fill("#cmp-close-reason", "budget spent")
	hd.click("#cmp-close")
	hd.waitPath("/campaigns/WED-2027?done=closed")
	if what, data = s.campaignEvents("WED-2027"); len(what) != 4 || what[3] != "CampaignClosed by H1" || data[3]["reason"] != "budget spent" {
		t.Fatalf("closed: %v %v", what, data)
	}
	if hd.has("#cmp-amend") || hd.has("#cmp-close") {
		t.Errorf("a closed campaign offers amendment or closure")
	}
	hd.waitText(".cmp-head .tag", "Closed")
	hd.screen("campaign-closed")

	// The centre head builds one too; the list shows both.
	hd.open("/campaigns/new")
	hd.fill("#cmp-campaignId", "VIP-KEEP")
	hd.fill("#cmp-name", "VIP retention")
	hd.fill("#cmp-product", "DEPO-VIP")
	hd.tabTo("#cmp-criteria-tiers-vip", 40)
	hd.press(" ")
	v, vHeld := expectedCount("VIP-KEEP", 0, "vip")
	hd.waitCount(fmt.Sprintf("%d/%d/2/0/0", v, vHeld))
	hd.screen("campaign-builder")
	hd.click("#cmp-launch")
	hd.waitPath("/campaigns/VIP-KEEP?done=launched")
	hd.open("/campaigns")
	if got := eval[string](hd, `Array.from(document.querySelectorAll("#cmp-list tbody tr")).map(tr => tr.dataset.campaign).join(" ")`); got != "VIP-KEEP WED-2027" {
		t.Errorf("the list %q", got)
	}
	hd.screen("campaign-list")
	mk.open("/campaigns")
	mk.screen("campaign-list")

	// Reps have no campaign pages.
	for _, p := range []string{"/campaigns", "/campaigns/new", "/campaigns/WED-2027"} {
		if a := s.webGet("R1", p); a != 403 {
			t.Errorf("%s as R1: %d", p, a)
		}
	}
}

// builderForm is the builder's form for a phone campaign id over the
// potential VIPs, from today to the end of the year.
func builderForm(id, op string) url.Values {
	return url.Values{"op": {op}, "_key": {events.NewID().String()}, "campaignId": {id}, "name": {"캠페인 " + id}, "product": {"LOAN-WED"},
		"channel": {"phone_outbound"}, "startsOn": {"2026-11-25"}, "endsOn": {"2026-12-31"}, "holdOutPercent": {"0"},
		"criteria.tiers": {"potential_vip"}}
}

// TestConsoleCampaignWrites: the campaign pages' writes over real HTTP,
// without a browser (as without script). The count (a Count press, and
// /campaigns/preview's JSON) appends nothing; every bad launch, amendment
// and closure shows its message at its field and appends nothing; a launch
// retried with its key launches once; a stale amendment is a conflict; a
// closed campaign is neither closed again nor amended. Reps may do none of
// it, and nothing happens without the form token.
func TestConsoleCampaignWrites(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	for _, m := range [][2]string{{"M1", "marketer"}, {"R1", "rep"}} {
		s.givePassword(m[0], m[1], testPassword)
	}
	s.seedMarketing()
	m := newWebUser(s)
	m.mustRedirect(m.login("M1", testPassword, ""), "/campaigns", "sign-in") // a marketer lands on the campaigns
	m.mustStatus(m.get("/campaigns/new"), 200, "the builder")
	head := s.head()
	unchanged := func(what string) {
		t.Helper()
		if got := s.head(); got != head {
			t.Fatalf("%s appended %v", what, s.appendedSince(head))
		}
	}

	// The count: the Count button, and the script's JSON.
	pv, _ := expectedCount("CMPX", 0, "potential_vip")
	a := m.mustStatus(m.post("/campaigns", builderForm("CMPX", "count")), 200, "Count")
	if !strings.Contains(a.body, fmt.Sprintf("%d targets, 0 held out, of 6 matching", pv)) {
		t.Errorf("the count's sentence is not on the page:\n%.3000s", a.body)
	}
	j := m.mustStatus(m.do("POST", "/campaigns/preview", builderForm("CMPX", ""), "X-CSRF-Token", m.csrf), 200, "the live count")
	if !strings.Contains(j.body, fmt.Sprintf(`"targets":%d`, pv)) || !strings.Contains(j.header.Get("Content-Type"), "application/json") {
		t.Errorf("/campaigns/preview: %s %s", j.header.Get("Content-Type"), j.body)
	}
	j = m.mustStatus(m.do("POST", "/campaigns/preview", with(builderForm("CMPX", ""), "criteria.noContactDays", "400"), "X-CSRF-Token", m.csrf), 200, "a refused count")
	if !strings.Contains(j.body, `"field":"criteria.noContactDays"`) || !strings.Contains(j.body, "No contact for (days): ") {
		t.Errorf("/campaigns/preview of a bad criterion: %s", j.body)
	}
	m.mustStatus(m.do("POST", "/campaigns/preview", builderForm("CMPX", "")), 403, "the live count without the token")
	unchanged("counting")

	// Bad launches: the message at the field, nothing appended.
	for _, c := range []struct {
		form  url.Values
		field string
	}{
		{with(builderForm("bad id", "launch"), "campaignId", "bad id"), "campaignId"},
		{with(builderForm("CMPX", "launch"), "name", ""), "name"},
		{with(builderForm("CMPX", "launch"), "endsOn", "2026-11-01"), "endsOn"},
		{with(builderForm("CMPX", "launch"), "holdOutPercent", "51"), "holdOutPercent"},
		{with(builderForm("CMPX", "launch"), "attributionDays", "a month"), "attributionDays"},
		{with(builderForm("CMPX", "launch"), "criteria.tiers", "platinum"), "criteria-tiers"},
		{with(builderForm("CMPX", "launch"), "criteria.lifeEventWithinDays", "30"), "criteria-lifeEventWithinDays"},
		{with(builderForm("CMPX", "launch"), "criteria.minBalance", "lots"), "criteria-minBalance"},
	} {
		a := m.mustStatus(m.post("/campaigns", c.form), 400, "a bad launch ("+c.field+")")
		if !strings.Contains(a.body, `id="cmp-`+c.field+`-msg"`) {
			t.Errorf("a bad launch (%s): no message at its field:\n%.3000s", c.field, a.body)
		}
		unchanged("a bad launch (" + c.field + ")")
	}
	m.mustStatus(m.post("/campaigns", builderForm("CMPX", "publish")), 400, "an unknown action")
	unchanged("an unknown action")

	// The launch, retried with its key: one CampaignLaunched.
	f := builderForm("CMPX", "launch")
	m.mustRedirect(m.post("/campaigns", f), "/campaigns/CMPX?done=launched", "the launch")
	m.mustRedirect(m.post("/campaigns", f), "/campaigns/CMPX?done=launched", "the launch retried")
	if what, _ := s.campaignEvents("CMPX"); len(what) != 1 {
		t.Fatalf("launched: %v", what)
	}
	head = s.head()
	if a := m.mustStatus(m.post("/campaigns", builderForm("CMPX", "launch")), 409, "an id taken"); !strings.Contains(a.body, `id="cmp-error"`) {
		t.Errorf("an id taken: no message on the form:\n%.3000s", a.body)
	}
	unchanged("an id taken")

	// Amendments: a bad end, a stale base, then one that lands.
	amend := url.Values{"op": {"amend"}, "_key": {events.NewID().String()}, "amend": {"1"}, "base": {"0"}, "name": {"캠페인 CMPX"},
		"endsOn": {"2026-12-31"}, "criteria.tiers": {"potential_vip", "vip"}, "reason": {"VIP 추가"}}
	m.mustStatus(m.get("/campaigns/CMPX"), 200, "the campaign")
	if a := m.mustStatus(m.post("/campaigns/CMPX/amendments", with(amend, "endsOn", "2026-11-01")), 400, "a bad end"); !strings.Contains(a.body, `id="cmp-endsOn-msg"`) {
		t.Errorf("a bad end: no message at the field:\n%.3000s", a.body)
	}
	unchanged("a bad amendment")
	if a := m.mustStatus(m.post("/campaigns/CMPX/amendments", with(amend, "base", "7")), 409, "a stale amendment"); !strings.Contains(a.body, `id="cmp-conflict"`) {
		t.Errorf("a stale amendment: no conflict notice:\n%.3000s", a.body)
	}
	unchanged("a stale amendment")
	m.mustRedirect(m.post("/campaigns/CMPX/amendments", amend), "/campaigns/CMPX?done=amended", "the amendment")

	// Closure once; a closed campaign is not amended.
	m.mustRedirect(m.post("/campaigns/CMPX/closure", url.Values{"_key": {events.NewID().String()}, "reason": {"예산 소진"}}), "/campaigns/CMPX?done=closed", "the closure")
	head = s.head()
	if a := m.mustStatus(m.post("/campaigns/CMPX/closure", url.Values{"_key": {events.NewID().String()}}), 400, "closed again"); !strings.Contains(a.body, `id="cmp-close-msg"`) {
		t.Errorf("closed again: no message at the form:\n%.3000s", a.body)
	}
	if a := m.mustStatus(m.post("/campaigns/CMPX/amendments", with(amend, "_key", events.NewID().String())), 400, "amending a closed campaign"); !strings.Contains(a.body, `id="cmp-error"`) {
		t.Errorf("amending a closed campaign: no message:\n%.3000s", a.body)
	}
	unchanged("writes to a closed campaign")
	if what, _ := s.campaignEvents("CMPX"); strings.Join(what, ", ") != "CampaignLaunched by M1, CampaignAmended by M1, CampaignClosed by M1" {
		t.Errorf("the campaign's stream: %v", what)
	}

	// A rep may neither count nor launch.
	r := newWebUser(s)
	r.mustRedirect(r.login("R1", testPassword, ""), "/", "the rep's sign-in")
	r.mustStatus(r.get("/"), 200, "the rep's worklist")
	head = s.head() // after the rep's sign-in
	r.mustStatus(r.do("POST", "/campaigns/preview", builderForm("CMPY", ""), "X-CSRF-Token", r.csrf), 403, "the rep's count")
	r.mustStatus(r.post("/campaigns", builderForm("CMPY", "launch")), 403, "the rep's launch")
	r.mustStatus(r.post("/campaigns/CMPX/closure", url.Values{}), 403, "the rep's closure")
	unchanged("the rep's writes")
}
