package api_test

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// campaignBook registers customers for the campaign tests: each assigned
// to its advisor and, where phone is set, with marketing consent by phone.
func (s *stack) campaignBook(book ...bookEntry) {
	s.t.Helper()
	for _, b := range book {
		s.must("R1", "POST", "/v1/customers", newCustomer(b.id), 201)
		s.must("S1", "POST", "/v1/customers/"+b.id+"/assignment", map[string]any{"advisorId": b.advisor, "kind": "call_centre_rep"}, 201)
		if b.phone {
			s.grant(b.advisor, b.id, "phone", true)
		}
	}
}

// bookEntry is one customer of campaignBook.
type bookEntry struct {
	id, advisor string
	phone       bool // marketing consent by phone granted
}

// grant appends the customer's marketing consent on channel as advisor.
func (s *stack) grant(advisor, customer, channel string, granted bool) {
	s.t.Helper()
	s.must(advisor, "POST", "/v1/customers/"+customer+"/consents", map[string]any{"channel": channel, "purpose": "marketing", "granted": granted}, 201)
}

// launch is the body of a campaign launch in the tests' time: running from
// eventstest.Epoch's day (2026-11-25, KST) to the end of the year, by
// phone, over branch B001 (every test customer).
func launch(id string) map[string]any {
	return map[string]any{"campaignId": id, "name": "결혼 시즌 대출 " + id, "product": "LOAN-WED",
		"criteria": map[string]any{"branchIds": []string{"B001"}}, "channel": "phone_outbound",
		"startsOn": "2026-11-25", "endsOn": "2026-12-31", "holdOutPercent": 0, "attributionDays": 30}
}

// targetIDs returns the customer ids of a target page.
func targetIDs(page map[string]any) []string {
	ids := []string{}
	for _, it := range page["items"].([]any) {
		ids = append(ids, it.(map[string]any)["customerId"].(string))
	}
	return ids
}

// campaignReasons returns customer's campaign details on advisor's worklist.
func (s *stack) campaignReasons(advisor, customer string) []string {
	s.t.Helper()
	var out []string
	for _, it := range s.must(advisor, "GET", "/v1/worklist", nil, 200)["items"].([]any) {
		m := it.(map[string]any)
		if m["customerId"] != customer {
			continue
		}
		for _, d := range asStrings(m["details"]) {
			if strings.HasPrefix(d, "campaign: ") {
				out = append(out, d)
			}
		}
		if slices.Contains(asStrings(m["reasons"]), "campaign") != (len(out) > 0) {
			s.t.Errorf("%s on %s's worklist: reasons %v, details %v", customer, advisor, m["reasons"], m["details"])
		}
	}
	return out
}

func asStrings(v any) []string {
	var out []string
	xs, _ := v.([]any)
	for _, x := range xs {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

// TestCampaignWrites: a marketer launches, amends and closes a campaign;
// the reads show it; an existing id is 409; retries with the same
// Idempotency-Key get the first answer; If-Match ahead of the read side or
// stale is 409; every bad input is 400 invalid and appends nothing.
func TestCampaignWrites(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	key := events.NewID().String()
	first := s.req("M1", "POST", "/v1/campaigns", launch("CMP1"), "Idempotency-Key", key)
	if first.status != 201 || first.body["campaignId"] != "CMP1" || first.body["stream"] != "campaign-CMP1" {
		t.Fatalf("launch: %d %s", first.status, first.raw)
	}
	head := s.head()
	if again := s.req("M1", "POST", "/v1/campaigns", launch("CMP1"), "Idempotency-Key", key); again.status != 201 || !bytes.Equal(again.raw, first.raw) {
		t.Errorf("the launch retried: %d %s, first %s", again.status, again.raw, first.raw)
	}
	if h := s.head(); h != head {
		t.Errorf("the retry appended %v", s.appendedSince(head))
	}
	s.refuse("H1", "POST", "/v1/campaigns", launch("CMP1"), 409, "conflict") // the id is taken

	c := s.req("R1", "GET", "/v1/campaigns/CMP1", nil)
	if c.status != 200 || c.body["status"] != "running" || c.body["launchedBy"] != "M1" || c.header.Get("ETag") != `"0"` ||
		c.body["attributionDays"] != float64(30) || c.body["consentChannel"] != "phone" {
		t.Fatalf("GET the campaign: %d %v %s", c.status, c.header.Get("ETag"), c.raw)
	}
	if items := s.must("S1", "GET", "/v1/campaigns?status=running", nil, 200)["items"].([]any); len(items) != 1 {
		t.Errorf("running campaigns: %v", items)
	}
	if items := s.must("S1", "GET", "/v1/campaigns?status=closed", nil, 200)["items"].([]any); len(items) != 0 {
		t.Errorf("closed campaigns: %v", items)
	}
	s.refuse("M1", "GET", "/v1/campaigns?status=paused", nil, 400, "invalid")
	s.refuse("M1", "GET", "/v1/campaigns/NOCAMPAIGN", nil, 404, "not_found")

	// Bad launches: 400, nothing appended.
	bad := map[string]map[string]any{
		"no criteria":          without(launch("CMP2"), "criteria"),
		"criteria not object":  withField(launch("CMP2"), "criteria", "vip"),
		"unknown tier":         withField(launch("CMP2"), "criteria", map[string]any{"tiers": []string{"gold"}}),
		"window without kinds": withField(launch("CMP2"), "criteria", map[string]any{"lifeEventWithinDays": 30}),
		"negative balance":     withField(launch("CMP2"), "criteria", map[string]any{"minBalance": -1}),
		"long no contact":      withField(launch("CMP2"), "criteria", map[string]any{"noContactDays": 367}),
		"unknown criterion":    withField(launch("CMP2"), "criteria", map[string]any{"age": 30}),
		"no name":              without(launch("CMP2"), "name"),
		"bad id":               withField(launch("CMP2"), "campaignId", "a b"),
		"no product":           without(launch("CMP2"), "product"),
		"bad channel":          withField(launch("CMP2"), "channel", "fax"),
		"starts yesterday":     withField(launch("CMP2"), "startsOn", "2026-11-24"),
		"no start":             without(launch("CMP2"), "startsOn"),
		"not a day":            withField(launch("CMP2"), "startsOn", "2026-11-31"),
		"ends before start":    withField(launch("CMP2"), "endsOn", "2026-11-26"),
		"hold-out above 50":    withField(launch("CMP2"), "holdOutPercent", 51),
		"attribution too long": withField(launch("CMP2"), "attributionDays", 366),
		"unknown field":        withField(launch("CMP2"), "budget", 100),
	}
	bad["ends before start"]["startsOn"] = "2026-11-27"
	for name, body := range bad {
		t.Run("launch "+name, func(t *testing.T) { s.refuse("M1", "POST", "/v1/campaigns", body, 400, "invalid") })
	}
	// With an Idempotency-Key (the console always sends one) a start in the
	// past is still the field's error, not the retry lookup's 404.
	t.Run("launch starts yesterday with a key", func(t *testing.T) {
		refusedOn(t, s.refuse("M1", "POST", "/v1/campaigns", withField(launch("CMP2"), "startsOn", "2026-11-24"), 400, "invalid",
			"Idempotency-Key", events.NewID().String()), "startsOn", "today")
	})
	if a := s.req("M1", "GET", "/v1/campaigns/CMP2", nil); a.status != 404 {
		t.Errorf("a refused launch left campaign CMP2: %d %s", a.status, a.raw)
	}

	// Amendments: If-Match of the current version, ahead, stale.
	amend := map[string]any{"name": "결혼 시즌 대출 (연장)", "criteria": map[string]any{"branchIds": []string{"B001", "B002"}},
		"endsOn": "2027-01-31", "reason": "연장"}
	akey := events.NewID().String()
	a := s.must("H1", "POST", "/v1/campaigns/CMP1/amendments", amend, 201, "If-Match", `"0"`, "Idempotency-Key", akey)
	if a["version"] != float64(1) {
		t.Errorf("amendment: %v", a)
	}
	head = s.head()
	if again := s.must("H1", "POST", "/v1/campaigns/CMP1/amendments", amend, 201, "If-Match", `"0"`, "Idempotency-Key", akey); again["version"] != a["version"] || again["position"] != a["position"] {
		t.Errorf("the amendment retried: %v, first %v", again, a)
	}
	if h := s.head(); h != head {
		t.Errorf("the amendment's retry appended %v", s.appendedSince(head))
	}
	if c := s.must("M1", "GET", "/v1/campaigns/CMP1", nil, 200); c["name"] != "결혼 시즌 대출 (연장)" || c["endsOn"] != "2027-01-31" || c["amendments"] != float64(1) {
		t.Errorf("amended campaign: %v", c)
	}
	s.refuse("M1", "POST", "/v1/campaigns/CMP1/amendments", amend, 409, "conflict", "If-Match", `"9"`) // ahead of the read side
	s.refuse("M1", "POST", "/v1/campaigns/CMP1/amendments", amend, 409, "conflict", "If-Match", `"0"`) // stale
	badAmend := map[string]map[string]any{
		"no name":           without(amend, "name"),
		"no criteria":       without(amend, "criteria"),
		"ends before start": withField(amend, "endsOn", "2026-11-24"),
		"not a day":         withField(amend, "endsOn", "2027-02-30"),
		"unknown field":     withField(amend, "product", "LOAN-X"),
		"bad tier":          withField(amend, "criteria", map[string]any{"tiers": []string{"vip", "vip"}}),
	}
	for name, body := range badAmend {
		t.Run("amend "+name, func(t *testing.T) { s.refuse("M1", "POST", "/v1/campaigns/CMP1/amendments", body, 400, "invalid") })
	}
	s.refuse("M1", "POST", "/v1/campaigns/NOCAMPAIGN/amendments", amend, 404, "not_found")
	s.refuse("M1", "POST", "/v1/campaigns/CMP1/closure", map[string]any{"reason": strings.Repeat("x", 2001)}, 400, "invalid")
	s.refuse("M1", "POST", "/v1/campaigns/CMP1/closure", map[string]any{"note": "x"}, 400, "invalid")

	// Closure: once; a retry with its key gets the first answer.
	ckey := events.NewID().String()
	closed := s.req("M1", "POST", "/v1/campaigns/CMP1/closure", map[string]any{"reason": "예산 소진"}, "Idempotency-Key", ckey)
	if closed.status != 201 {
		t.Fatalf("closure: %d %s", closed.status, closed.raw)
	}
	head = s.head()
	if again := s.req("M1", "POST", "/v1/campaigns/CMP1/closure", map[string]any{"reason": "예산 소진"}, "Idempotency-Key", ckey); again.status != 201 || !bytes.Equal(again.raw, closed.raw) {
		t.Errorf("the closure retried: %d %s, first %s", again.status, again.raw, closed.raw)
	}
	if h := s.head(); h != head {
		t.Errorf("the closure's retry appended %v", s.appendedSince(head))
	}
	s.refuse("M1", "POST", "/v1/campaigns/CMP1/closure", map[string]any{"reason": "다시"}, 400, "invalid")
	s.refuse("M1", "POST", "/v1/campaigns/CMP1/amendments", amend, 400, "invalid")
	if c := s.must("M1", "GET", "/v1/campaigns/CMP1", nil, 200); c["status"] != "closed" || c["closedBy"] != "M1" || c["closeReason"] != "예산 소진" {
		t.Errorf("closed campaign: %v", c)
	}
}

// TestCampaignRoles: campaigners write and preview; the reading roles
// read campaigns; target lists are the campaigners', the auditor's and,
// for their own book only, the advisors'; the outcome is the campaigners'
// and the auditor's; a marketer reads the tier migration but no other
// report.
func TestCampaignRoles(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.campaignBook(bookEntry{"C1", "R1", true}, bookEntry{"C2", "R2", true})
	s.must("M1", "POST", "/v1/campaigns", launch("CMP1"), 201)
	for _, who := range []string{"R1", "P1", "S1", "U1", "A001"} {
		s.refuse(who, "POST", "/v1/campaigns", launch("CMP9"), 403, "forbidden")
		s.refuse(who, "POST", "/v1/campaigns/CMP1/closure", map[string]any{}, 403, "forbidden")
		s.refuse(who, "POST", "/v1/campaigns/preview", map[string]any{"criteria": map[string]any{}, "channel": "sms"}, 403, "forbidden")
	}
	for _, who := range []string{"M1", "H1", "U1", "S1", "R1", "P1"} {
		s.must(who, "GET", "/v1/campaigns/CMP1", nil, 200)
	}
	s.refuse("A001", "GET", "/v1/campaigns", nil, 403, "forbidden")

	all := []string{"C1", "C2"}
	for _, who := range []string{"M1", "H1", "U1"} {
		if got := targetIDs(s.must(who, "GET", "/v1/campaigns/CMP1/targets", nil, 200)); !slices.Equal(got, all) {
			t.Errorf("targets as %s: %v, want %v", who, got, all)
		}
	}
	if got := targetIDs(s.must("R1", "GET", "/v1/campaigns/CMP1/targets", nil, 200)); !slices.Equal(got, []string{"C1"}) {
		t.Errorf("R1's targets: %v", got)
	}
	if got := targetIDs(s.must("P1", "GET", "/v1/campaigns/CMP1/targets", nil, 200)); len(got) != 0 {
		t.Errorf("P1's targets: %v", got)
	}
	s.refuse("R1", "GET", "/v1/campaigns/CMP1/targets?advisor=R2", nil, 403, "forbidden")
	s.refuse("S1", "GET", "/v1/campaigns/CMP1/targets", nil, 403, "forbidden")
	if got := targetIDs(s.must("M1", "GET", "/v1/campaigns/CMP1/targets?advisor=R2", nil, 200)); !slices.Equal(got, []string{"C2"}) {
		t.Errorf("R2's targets as M1: %v", got)
	}
	page := s.must("M1", "GET", "/v1/campaigns/CMP1/targets?limit=1", nil, 200)
	if got := targetIDs(page); !slices.Equal(got, []string{"C1"}) || page["next"] != "C1" {
		t.Errorf("the first page of one: %v next %v", got, page["next"])
	}
	if got := targetIDs(s.must("M1", "GET", "/v1/campaigns/CMP1/targets?limit=1&after=C1", nil, 200)); !slices.Equal(got, []string{"C2"}) {
		t.Errorf("the second page: %v", got)
	}
	for _, q := range []string{"group=control", "status=gone", "advisor=a%20b", "after=a%20b", "limit=0", "limit=1001"} {
		s.refuse("M1", "GET", "/v1/campaigns/CMP1/targets?"+q, nil, 400, "invalid")
	}
	s.refuse("M1", "GET", "/v1/campaigns/NOCAMPAIGN/targets", nil, 404, "not_found")

	for _, who := range []string{"M1", "H1", "U1"} {
		if r := s.must(who, "GET", "/v1/reports/campaigns/CMP1", nil, 200); r["funnel"].(map[string]any)["targets"] != float64(2) {
			t.Errorf("campaign report as %s: %v", who, r)
		}
	}
	for _, who := range []string{"R1", "P1", "S1", "A001"} {
		s.refuse(who, "GET", "/v1/reports/campaigns/CMP1", nil, 403, "forbidden")
	}
	s.refuse("M1", "GET", "/v1/reports/campaigns/NOCAMPAIGN", nil, 404, "not_found")
	for _, who := range []string{"M1", "H1", "U1", "S1"} {
		s.must(who, "GET", "/v1/reports/tier-migration", nil, 200)
	}
	s.refuse("R1", "GET", "/v1/reports/tier-migration", nil, 403, "forbidden")
	for _, name := range []string{"tiers", "pitches", "qa"} {
		s.refuse("M1", "GET", "/v1/reports/"+name, nil, 403, "forbidden")
	}
	// A marketer reads no customer's personal data.
	for _, path := range []string{"/v1/customers/C1", "/v1/customers", "/v1/customers/C1/timeline", "/v1/worklist", "/v1/search/customers?q=kim"} {
		s.refuse("M1", "GET", path, nil, 403, "forbidden")
	}
}

// TestCampaignTargetsWorklist: only customers with marketing consent for
// the campaign's channel are targets and reach their advisor's worklist
// with "campaign: <name>"; a withdrawal mid-campaign removes the target
// from the list and the worklist at once, and a later grant rejoins.
func TestCampaignTargetsWorklist(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.campaignBook(bookEntry{"C1", "R1", true}, bookEntry{"C2", "R1", false}, bookEntry{"C3", "R2", true})
	s.grant("R1", "C2", "email", true) // marketing consent, but not by phone
	s.grant("R1", "C1", "email", true) // so that withdrawing by phone leaves C1 contactable
	s.must("M1", "POST", "/v1/campaigns", launch("CMP1"), 201)
	name := "campaign: 결혼 시즌 대출 CMP1"

	if got := targetIDs(s.must("M1", "GET", "/v1/campaigns/CMP1/targets", nil, 200)); !slices.Equal(got, []string{"C1", "C3"}) {
		t.Fatalf("targets: %v, want C1 and C3 (C2 has no consent by phone)", got)
	}
	if got := s.campaignReasons("R1", "C1"); !slices.Equal(got, []string{name}) {
		t.Errorf("C1 on R1's worklist: %v", got)
	}
	if got := s.campaignReasons("R1", "C2"); len(got) != 0 {
		t.Errorf("C2 (no consent by phone) on R1's worklist with %v", got)
	}
	if got := s.campaignReasons("R2", "C3"); !slices.Equal(got, []string{name}) {
		t.Errorf("C3 on R2's worklist: %v", got)
	}

	// A late joiner: C2 grants consent by phone.
	s.grant("R1", "C2", "phone", true)
	if got := targetIDs(s.must("M1", "GET", "/v1/campaigns/CMP1/targets?status=active", nil, 200)); !slices.Equal(got, []string{"C1", "C2", "C3"}) {
		t.Errorf("targets after C2's grant: %v", got)
	}
	if got := s.campaignReasons("R1", "C2"); !slices.Equal(got, []string{name}) {
		t.Errorf("C2 on R1's worklist after the grant: %v", got)
	}

	// C1 withdraws: removed at once.
	s.grant("R1", "C1", "phone", false)
	if got := targetIDs(s.must("M1", "GET", "/v1/campaigns/CMP1/targets?status=active", nil, 200)); !slices.Equal(got, []string{"C2", "C3"}) {
		t.Errorf("active targets after C1's withdrawal: %v", got)
	}
	removed := s.must("M1", "GET", "/v1/campaigns/CMP1/targets?status=removed", nil, 200)["items"].([]any)
	if len(removed) != 1 || removed[0].(map[string]any)["customerId"] != "C1" || removed[0].(map[string]any)["removedReason"] != "consent_withdrawn" {
		t.Errorf("removed targets: %v", removed)
	}
	if got := s.campaignReasons("R1", "C1"); len(got) != 0 {
		t.Errorf("C1 on R1's worklist after withdrawing: %v", got)
	}
	if c := s.must("M1", "GET", "/v1/campaigns/CMP1", nil, 200); c["targets"] != float64(2) || c["removed"] != float64(1) {
		t.Errorf("counts after the withdrawal: %v", c)
	}

	// C1 grants again: rejoins.
	s.grant("R1", "C1", "phone", true)
	if got := targetIDs(s.must("R1", "GET", "/v1/campaigns/CMP1/targets?status=active", nil, 200)); !slices.Equal(got, []string{"C1", "C2"}) {
		t.Errorf("R1's active targets after C1's grant: %v", got)
	}
	if got := s.campaignReasons("R1", "C1"); !slices.Equal(got, []string{name}) {
		t.Errorf("C1 on R1's worklist after granting again: %v", got)
	}

	// Closed: no worklist shows it.
	s.must("M1", "POST", "/v1/campaigns/CMP1/closure", map[string]any{}, 201)
	if got := s.campaignReasons("R1", "C1"); len(got) != 0 {
		t.Errorf("C1 on R1's worklist after the closure: %v", got)
	}
}

// TestCampaignPreview: the builder's count, by the same criteria rules as
// a launch; it appends nothing.
func TestCampaignPreview(t *testing.T) {
	s := newStack(t, stackOptions{noReactors: true})
	s.campaignBook(bookEntry{"C1", "R1", true}, bookEntry{"C2", "R1", false}, bookEntry{"C3", "R2", true})
	s.grant("R1", "C2", "email", true)
	s.must("R1", "POST", "/v1/customers", newCustomer("C4"), 201) // no consent at all: do-not-contact
	head := s.head()
	p := s.must("M1", "POST", "/v1/campaigns/preview", map[string]any{"criteria": map[string]any{}, "channel": "phone_outbound"}, 200)
	want := map[string]float64{"matching": 4, "doNotContact": 1, "noConsent": 1, "targets": 2, "holdOut": 0}
	for k, v := range want {
		if p[k] != v {
			t.Errorf("preview %s: %v, want %v (%v)", k, p[k], v, p)
		}
	}
	p = s.must("H1", "POST", "/v1/campaigns/preview", map[string]any{"criteria": map[string]any{"branchIds": []string{"B002"}}, "channel": "email"}, 200)
	if p["matching"] != float64(0) {
		t.Errorf("preview of branch B002: %v", p)
	}
	if h := s.head(); h != head {
		t.Errorf("the preview appended %v", s.appendedSince(head))
	}
	bad := []map[string]any{
		{"channel": "sms"}, // no criteria
		{"criteria": map[string]any{"tiers": []string{"gold"}}, "channel": "sms"},
		{"criteria": map[string]any{}, "channel": "fax"},
		{"criteria": map[string]any{}, "channel": "sms", "holdOutPercent": 60},
		{"criteria": map[string]any{}, "channel": "sms", "campaignId": "a b"},
		{"criteria": map[string]any{}, "channel": "sms", "name": "x"},
	}
	for _, b := range bad {
		s.refuse("M1", "POST", "/v1/campaigns/preview", b, 400, "invalid")
	}
}

// TestCampaignSchedule: status follows the server's clock in KST days: a
// campaign starting tomorrow is scheduled (its pitches refused, on no
// worklist) until the start of its day, one ending today ends at its
// close and then takes no amendment; a launch may start today but not
// yesterday, by the KST day.
func TestCampaignSchedule(t *testing.T) {
	clock := eventstest.NewManualClock(time.Date(2026, 11, 25, 14, 0, 0, 0, time.UTC)) // 23:00 KST
	s := newStack(t, stackOptions{noReactors: true, now: clock.Now})
	s.campaignBook(bookEntry{"C1", "R1", true})
	s.must("M1", "POST", "/v1/campaigns", withField(launch("CMPS"), "startsOn", "2026-11-26"), 201)
	s.must("M1", "POST", "/v1/campaigns", withField(launch("CMPE"), "endsOn", "2026-11-25"), 201)
	if c := s.must("M1", "GET", "/v1/campaigns/CMPS", nil, 200); c["status"] != "scheduled" {
		t.Errorf("CMPS before its start: %v", c["status"])
	}
	if got := targetIDs(s.must("M1", "GET", "/v1/campaigns/CMPS/targets", nil, 200)); !slices.Equal(got, []string{"C1"}) {
		t.Errorf("CMPS's list before its start: %v", got)
	}
	if got := s.campaignReasons("R1", "C1"); !slices.Equal(got, []string{"campaign: 결혼 시즌 대출 CMPE"}) {
		t.Errorf("C1's campaigns on the worklist before CMPS starts: %v", got)
	}
	refusedOn(t, s.refuse("R1", "POST", "/v1/customers/C1/pitches", pitch("LOAN-WED", "phone_outbound", "campaignId", "CMPS"), 400, "invalid"),
		"campaignId", "campaign CMPS is scheduled, not running")

	clock.Set(time.Date(2026, 11, 25, 15, 0, 0, 0, time.UTC)) // 2026-11-26 00:00 KST
	if c := s.must("M1", "GET", "/v1/campaigns/CMPS", nil, 200); c["status"] != "running" {
		t.Errorf("CMPS at its start: %v", c["status"])
	}
	if c := s.must("M1", "GET", "/v1/campaigns/CMPE", nil, 200); c["status"] != "ended" {
		t.Errorf("CMPE after its end: %v", c["status"])
	}
	if got := s.campaignReasons("R1", "C1"); !slices.Equal(got, []string{"campaign: 결혼 시즌 대출 CMPS"}) {
		t.Errorf("C1's campaigns on the worklist once CMPS started and CMPE ended: %v", got)
	}
	amend := map[string]any{"name": "연장", "criteria": map[string]any{}, "endsOn": "2026-12-31"}
	refusedOn(t, s.refuse("M1", "POST", "/v1/campaigns/CMPE/amendments", amend, 400, "invalid"), "id", "ended on 2026-11-25")
	refusedOn(t, s.refuse("M1", "POST", "/v1/campaigns/CMPS/amendments", withField(amend, "endsOn", "2026-11-25"), 400, "invalid"),
		"endsOn", "must not be before the campaign's start (2026-11-26) nor today (2026-11-26, KST)")
	s.must("R1", "POST", "/v1/customers/C1/pitches", pitch("LOAN-WED", "phone_outbound", "campaignId", "CMPS"), 201)
	refusedOn(t, s.refuse("M1", "POST", "/v1/campaigns", launch("CMPX"), 400, "invalid"), "startsOn", "today (2026-11-26, KST)")
	s.must("M1", "POST", "/v1/campaigns", withField(launch("CMPX"), "startsOn", "2026-11-26"), 201)
	s.must("H1", "POST", "/v1/campaigns/CMPE/closure", map[string]any{"reason": "정리"}, 201) // an ended campaign may be closed
}
