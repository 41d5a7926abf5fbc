package projectionstest

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The subtests of target marketing: a campaign's list at launch and as
// customers come to match, withdraw consent, are erased or are amended
// out; the hold-out group; statuses by the query's now; the worklist's
// campaign reason; the builder's preview; the outcome report. What the
// rules fix (groups, reasons, counts) is stated by hand; the exact shapes
// (matched criteria, instants) are compared with a reference fold of the
// same log (Fold), so every read store answers as Memory does.

// kst is Korea Standard Time, the zone of a campaign's days.
var kst = time.FixedZone("KST", 9*60*60)

// campaignWorld is the log the campaign subtests share: customers K1..K9
// and KH of advisors R01 and PB01, and campaigns C (tiers vip and
// potential_vip by phone, half held out, amended to vip only), C2 (every
// customer who may be contacted, by branch, closed) and C3 (a child's
// wedding within 30 days, by phone).
type campaignWorld struct {
	f         *fixture
	c, c2, c3 string
}

// campaignIDFor returns the first id "CMPn" whose 50% hold-out holds out
// exactly the customers in held among all: InHoldOut is a hash, so the
// suite picks the campaign id that splits its customers as it needs.
func campaignIDFor(all, held []string) string {
	for n := 1; ; n++ {
		id := "CMP" + strconv.Itoa(n)
		if !slices.ContainsFunc(all, func(c string) bool { return events.InHoldOut(id, c, 50) != slices.Contains(held, c) }) {
			return id
		}
	}
}

// register adds customer id of branch with tier (none if ""), advisor and
// the marketing consents granted on channels (a channel prefixed with "-"
// withdrawn).
func (w *campaignWorld) register(id, tier, advisor string, consents ...string) string {
	f := w.f
	s := events.CustomerStream(id)
	f.add(s, &events.CustomerRegistered{CustomerID: id, Name: "Customer " + id, BranchID: "B01", Source: events.Source{System: "core"}})
	if tier != "" {
		w.tier(id, tier)
	}
	kind := "call_centre_rep"
	if advisor == "PB01" {
		kind = "private_banker"
	}
	f.add(s, &events.AdvisorAssigned{AdvisorID: advisor, Kind: kind})
	for _, ch := range consents {
		w.consent(id, ch)
	}
	return s
}

func (w *campaignWorld) tier(id, tier string) {
	w.f.add(events.CustomerStream(id), &events.TierAssigned{Tier: tier,
		Basis: events.TierBasis{DepositBalance: ptr(int64(1000)), ProfitContribution: ptr(int64(10)), Rule: "test"}})
}

// consent grants marketing on channel ch, or withdraws it for "-ch".
func (w *campaignWorld) consent(id, ch string) {
	granted := ch[0] != '-'
	if !granted {
		ch = ch[1:]
	}
	w.f.add(events.CustomerStream(id), &events.ConsentChanged{Channel: ch, Purpose: "marketing", Granted: ptr(granted)})
}

// launch launches campaign id (of product LOAN-WED, from 2030-03-05) as
// marketer M1.
func (w *campaignWorld) launch(id, name string, cr events.CampaignCriteria, channel, endsOn string, holdOut int) {
	w.f.as("M1", "marketer").add(events.CampaignStream(id), &events.CampaignLaunched{CampaignID: id, Name: name,
		Product: "LOAN-WED", Criteria: &cr, Channel: channel, StartsOn: "2030-03-05", EndsOn: endsOn, HoldOutPercent: holdOut})
	w.f.as("A01", "admin")
}

// build appends the whole log, syncing the read store on the way (so it
// catches up on part of it and follows the rest live).
func (w *campaignWorld) build() {
	f := w.f
	w.c = campaignIDFor([]string{"K1", "K3", "K4", "K5", "K6", "K8", "KH"}, []string{"KH"})
	w.c2, w.c3 = "CMPB", "CMPW"
	f.at(T0.AddDate(0, 0, -1))
	w.register("K1", "vip", "R01", "phone")
	w.register("K2", "vip", "R01", "sms")                               // no consent for phone
	w.register("K3", "vip", "R01", "phone", "sms")                      // withdraws phone, grants it again
	w.register("K4", "general", "R01", "phone")                         // becomes potential_vip
	w.register("K5", "vip", "R01", "phone")                             // erased
	w.register("K6", "vip", "PB01", "phone")                            // another advisor's
	w.register("KH", "vip", "R01", "phone")                             // held out of C
	w.register("K7", "vip", "R01", "-phone", "-sms", "-email", "-post") // do-not-contact
	w.register("K9", "", "R01", "phone")
	f.add(events.CustomerStream("K9"), &events.LifeEventRecorded{Kind: "child_wedding", ExpectedOn: "2030-04-20"})

	f.at(T0)
	w.launch(w.c, "Spring loans", events.CampaignCriteria{Tiers: []string{"vip", "potential_vip"}}, "phone_outbound", "2030-03-31", 50)
	f.sync()
	f.at(T0.Add(time.Minute))
	w.launch(w.c3, "Wedding season", events.CampaignCriteria{LifeEvents: []string{"child_wedding"}, LifeEventWithinDays: 30}, "phone_outbound", "", 0)

	day1 := T0.AddDate(0, 0, 1) // running
	f.at(day1)
	w.tier("K4", "potential_vip")
	w.consent("K3", "-phone")
	f.add(events.CustomerStream("K5"), &events.PersonalDataErased{Reason: "request", RequestedBy: "customer"})
	k1 := events.CustomerStream("K1")
	f.as("R01", "rep")
	f.add(k1, &events.ContactLogged{Channel: "phone_outbound", Purpose: "sale", OccurredAt: day1.Add(-time.Hour), StaffID: "R01"})
	f.add(k1, &events.ProductPitched{Product: "LOAN-WED", Channel: "phone_outbound", Outcome: "accepted", CampaignID: w.c, Purpose: "marketing"})
	f.add(k1, &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "L-1", Change: "opened"})
	f.add(events.CustomerStream("KH"), &events.ProductHoldingChanged{Product: "LOAN-WED", AccountRef: "L-2", Change: "opened"})
	f.as("A01", "admin")
	f.at(day1.Add(time.Hour))
	w.launch(w.c2, "Branch week", events.CampaignCriteria{}, "branch", "", 0)
	f.sync()

	day2 := T0.AddDate(0, 0, 2)
	f.at(day2)
	w.consent("K3", "phone") // rejoins C
	f.as("M1", "marketer")
	f.add(events.CampaignStream(w.c), &events.CampaignAmended{Name: "Spring loans (VIP)",
		Criteria: &events.CampaignCriteria{Tiers: []string{"vip"}}, EndsOn: "2030-03-31", Reason: "VIPs only"})
	f.add(events.CampaignStream(w.c2), &events.CampaignClosed{Reason: "done"})
	f.as("A01", "admin")
	w.register("K8", "vip", "R01", "phone") // after C2 closed: joins C only, when consent is granted
	f.sync()
}

// buildCampaigns builds the campaign world's log in f and returns it with
// the read store, synced.
func buildCampaigns(f *fixture) (*campaignWorld, ReadStore) {
	w := &campaignWorld{f: f}
	w.build()
	return w, f.sync()
}

// day3 is the query's now of the running campaigns: 2030-03-06 10:00 UTC.
var day3 = T0.AddDate(0, 0, 2).Add(time.Hour)

// testCampaigns expects each campaign's definition, counts and status at
// several nows, the list by status, and NotFound for an unknown campaign.
func testCampaigns(t *testing.T, f *fixture) {
	ctx := t.Context()
	w, rs := buildCampaigns(f)

	c, err := rs.Campaign(ctx, w.c, day3)
	ok(t, "Campaign", err)
	want := projections.Campaign{ID: w.c, Name: "Spring loans (VIP)", Product: "LOAN-WED", Channel: "phone_outbound",
		ConsentChannel: "phone", Criteria: events.CampaignCriteria{Tiers: []string{"vip"}}, StartsOn: "2030-03-05",
		EndsOn: "2030-03-31", HoldOutPercent: 50, AttributionDays: 30, Status: projections.CampaignRunning, Version: 1,
		LaunchedAt: T0, LaunchedBy: "M1", Amendments: 1, AmendedAt: T0.AddDate(0, 0, 2),
		Targets: 4, HoldOut: 1, Removed: 2} // K1 K3 K6 K8; KH; K4 (amended out), K5 (erased)
	same(t, "Campaign", c, want)

	startC := time.Date(2030, 3, 5, 0, 0, 0, 0, kst)
	endC := time.Date(2030, 4, 1, 0, 0, 0, 0, kst)
	for _, tc := range []struct {
		id   string
		now  time.Time
		want string
	}{
		{w.c, T0, projections.CampaignScheduled},
		{w.c, startC.Add(-time.Nanosecond), projections.CampaignScheduled},
		{w.c, startC, projections.CampaignRunning},
		{w.c, endC.Add(-time.Nanosecond), projections.CampaignRunning},
		{w.c, endC, projections.CampaignEnded},
		{w.c2, day3, projections.CampaignIsClosed},
		{w.c2, endC, projections.CampaignIsClosed},
		{w.c3, endC.AddDate(5, 0, 0), projections.CampaignRunning}, // open-ended
	} {
		c, err := rs.Campaign(ctx, tc.id, tc.now)
		ok(t, "Campaign", err)
		if c.Status != tc.want {
			t.Errorf("campaign %s at %s: status %q, want %q", tc.id, tc.now.Format(time.RFC3339Nano), c.Status, tc.want)
		}
	}
	c2, err := rs.Campaign(ctx, w.c2, day3)
	ok(t, "Campaign C2", err)
	if c2.ClosedAt != T0.AddDate(0, 0, 2) || c2.ClosedBy != "M1" || c2.CloseReason != "done" || c2.Version != 1 {
		t.Errorf("closed campaign: closedAt %s by %q for %q, version %d", c2.ClosedAt, c2.ClosedBy, c2.CloseReason, c2.Version)
	}
	// C2 targets who may be contacted on some channel: not K7 (do-not-contact),
	// not K5 (erased at day 1, before C2), not K8 (registered after the closing).
	if c2.Targets != 7 || c2.HoldOut != 0 || c2.Removed != 0 {
		t.Errorf("closed campaign: %d targets, %d held out, %d removed; want 7, 0, 0", c2.Targets, c2.HoldOut, c2.Removed)
	}

	for _, tc := range []struct {
		status string
		want   []string
	}{
		{"", []string{w.c2, w.c3, w.c}}, // newest launched first
		{projections.CampaignRunning, []string{w.c3, w.c}},
		{projections.CampaignIsClosed, []string{w.c2}},
		{projections.CampaignScheduled, []string{}},
	} {
		cs, err := rs.Campaigns(ctx, projections.CampaignFilter{Status: tc.status}, day3)
		ok(t, "Campaigns", err)
		ids := []string{}
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		same(t, "Campaigns with status "+strconv.Quote(tc.status), ids, tc.want)
	}
	_, err = rs.Campaign(ctx, "nope", day3)
	notFound(t, "Campaign(nope)", err)
	_, _, err = rs.CampaignTargets(ctx, "nope", projections.TargetFilter{})
	notFound(t, "CampaignTargets(nope)", err)
	_, err = rs.CampaignReport(ctx, "nope", day3)
	notFound(t, "CampaignReport(nope)", err)
	_, err = rs.CampaignTarget(ctx, "nope", "K1")
	notFound(t, "CampaignTarget(nope, K1)", err)
	_, err = rs.CampaignTarget(ctx, w.c, "K2")
	notFound(t, "CampaignTarget(C, K2)", err) // never joined
	sameCampaignAnswers(t, f, []string{w.c, w.c2, w.c3}, day3)
}

// answer renders one answer as Answers does: JSON, or the error's code
// and message.
func answer(tb testing.TB, what string, v any, err error) string {
	tb.Helper()
	if err != nil {
		return fmt.Sprintf("%s: error %s: %v", what, events.ErrorCode(err), err)
	}
	b, jerr := json.Marshal(v)
	if jerr != nil {
		tb.Fatal(jerr)
	}
	return what + ": " + string(b)
}

// notFound fails the test unless err is NotFound.
func notFound(t *testing.T, what string, err error) {
	t.Helper()
	if events.ErrorCode(err) != events.NotFound {
		t.Errorf("%s: %v, want NotFound", what, err)
	}
}

// testCampaignTargets expects who joined each campaign, how and in which
// group, who left and why, each filter and page of the list, and progress.
func testCampaignTargets(t *testing.T, f *fixture) {
	ctx := t.Context()
	w, rs := buildCampaigns(f)

	type entry struct{ group, reason, removed string }
	for _, tc := range []struct {
		campaign string
		want     map[string]entry
	}{
		{w.c, map[string]entry{
			"K1": {projections.GroupTarget, projections.JoinedAtLaunch, ""},
			"K3": {projections.GroupTarget, projections.JoinedConsent, ""}, // withdrew phone, granted it again
			"K4": {projections.GroupTarget, projections.JoinedTier, projections.RemovedAmended},
			"K5": {projections.GroupTarget, projections.JoinedAtLaunch, projections.RemovedErased},
			"K6": {projections.GroupTarget, projections.JoinedAtLaunch, ""},
			"K8": {projections.GroupTarget, projections.JoinedConsent, ""}, // tiered before consenting
			"KH": {projections.GroupHoldOut, projections.JoinedAtLaunch, ""},
		}},
		{w.c2, map[string]entry{
			"K1": {projections.GroupTarget, projections.JoinedAtLaunch, ""},
			"K2": {projections.GroupTarget, projections.JoinedAtLaunch, ""},
			"K3": {projections.GroupTarget, projections.JoinedAtLaunch, ""}, // sms still granted
			"K4": {projections.GroupTarget, projections.JoinedAtLaunch, ""},
			"K6": {projections.GroupTarget, projections.JoinedAtLaunch, ""},
			"K9": {projections.GroupTarget, projections.JoinedAtLaunch, ""},
			"KH": {projections.GroupTarget, projections.JoinedAtLaunch, ""},
		}},
		{w.c3, map[string]entry{}}, // the wedding is 47 days away: not yet
	} {
		ts, next, err := rs.CampaignTargets(ctx, tc.campaign, projections.TargetFilter{Limit: 1000})
		ok(t, "CampaignTargets", err)
		got := map[string]entry{}
		for _, x := range ts {
			got[x.CustomerID] = entry{x.Group, x.Reason, x.RemovedReason}
			if x.CampaignID != tc.campaign || x.JoinedAt.IsZero() || (x.RemovedReason == "") != x.RemovedAt.IsZero() {
				t.Errorf("campaign %s: target %+v", tc.campaign, x)
			}
		}
		same(t, "targets of "+tc.campaign, got, tc.want)
		if next != "" {
			t.Errorf("campaign %s: one page of every target has cursor %q", tc.campaign, next)
		}
	}
	k1, err := rs.CampaignTarget(ctx, w.c, "K1")
	ok(t, "CampaignTarget(C, K1)", err)
	day1 := T0.AddDate(0, 0, 1)
	if k1.ContactedAt != day1.Add(-time.Hour) || k1.PitchedAt != day1 || k1.Outcome != "accepted" ||
		k1.PitchChannel != "phone_outbound" || k1.AcceptedAt != day1 || k1.OpenedAt != day1 || k1.AdvisorID != "R01" || k1.BranchID != "B01" {
		t.Errorf("K1's progress in C: %+v", k1)
	}
	k4, err := rs.CampaignTarget(ctx, w.c, "K4")
	ok(t, "CampaignTarget(C, K4)", err)
	if k4.JoinedAt != day1 || k4.RemovedAt != T0.AddDate(0, 0, 2) || !slices.Contains(k4.Matched, "tier:potential_vip") {
		t.Errorf("K4 in C: joined %s, removed %s, matched %q", k4.JoinedAt, k4.RemovedAt, k4.Matched)
	}

	ids := func(ts []projections.CampaignTarget) []string {
		out := []string{}
		for _, x := range ts {
			out = append(out, x.CustomerID)
		}
		return out
	}
	for _, tc := range []struct {
		f    projections.TargetFilter
		want []string
	}{
		{projections.TargetFilter{Group: projections.GroupHoldOut}, []string{"KH"}},
		{projections.TargetFilter{Group: projections.GroupTarget, Status: "active"}, []string{"K1", "K3", "K6", "K8"}},
		{projections.TargetFilter{Status: "removed"}, []string{"K4", "K5"}},
		{projections.TargetFilter{Advisor: "PB01"}, []string{"K6"}},
		{projections.TargetFilter{Advisor: "R01", Status: "active"}, []string{"K1", "K3", "K8", "KH"}},
		{projections.TargetFilter{After: "K5"}, []string{"K6", "K8", "KH"}},
	} {
		ts, _, err := rs.CampaignTargets(ctx, w.c, tc.f)
		ok(t, "CampaignTargets", err)
		same(t, fmt.Sprintf("targets of C with %+v", tc.f), ids(ts), tc.want)
	}
	// Pages of two follow the cursor to the end.
	var paged []string
	f2 := projections.TargetFilter{Limit: 2}
	for range 10 {
		ts, next, err := rs.CampaignTargets(ctx, w.c, f2)
		ok(t, "CampaignTargets page", err)
		paged = append(paged, ids(ts)...)
		if next == "" {
			break
		}
		if len(ts) != 2 || next != ts[1].CustomerID {
			t.Fatalf("page after %q: %q then cursor %q", f2.After, ids(ts), next)
		}
		f2.After = next
	}
	same(t, "C's targets in pages of 2", paged, []string{"K1", "K3", "K4", "K5", "K6", "K8", "KH"})

	// A target's advisor is the customer's current one: K8 moves to PB01.
	f.at(day3).add(events.CustomerStream("K8"), &events.AdvisorAssigned{AdvisorID: "PB01", Kind: "private_banker"})
	rs = f.sync()
	for advisor, want := range map[string][]string{"PB01": {"K6", "K8"}, "R01": {"K1", "K3", "K4", "K5", "KH"}} {
		ts, _, err := rs.CampaignTargets(ctx, w.c, projections.TargetFilter{Advisor: advisor})
		ok(t, "CampaignTargets", err)
		same(t, "C's targets of "+advisor+" after K8 moved", ids(ts), want)
	}
	k8, err := rs.CampaignTarget(ctx, w.c, "K8")
	ok(t, "CampaignTarget(C, K8)", err)
	if k8.AdvisorID != "PB01" {
		t.Errorf("K8's advisor in C: %q, want PB01", k8.AdvisorID)
	}

	// A time criterion comes true as the log's time passes it: the wedding
	// of 2030-04-20 is not within 30 days on 2030-03-20 (KST) and is on
	// 2030-03-22, so any event from then on lets K9 join C3.
	f.at(time.Date(2030, 3, 21, 0, 0, 0, 0, kst).Add(-time.Second))
	f.add(events.CustomerStream("K2"), &events.ProfileVerified{Channel: "branch"})
	ts, _, err := f.sync().CampaignTargets(ctx, w.c3, projections.TargetFilter{})
	ok(t, "CampaignTargets(C3)", err)
	same(t, "C3's targets a second before the window", ids(ts), []string{})
	f.at(time.Date(2030, 3, 22, 0, 0, 0, 0, kst))
	f.add(events.CustomerStream("K2"), &events.ProfileVerified{Channel: "branch"})
	k9, err := f.sync().CampaignTarget(ctx, w.c3, "K9")
	ok(t, "CampaignTarget(C3, K9)", err)
	if k9.Reason != projections.JoinedTime || k9.Group != projections.GroupTarget {
		t.Errorf("K9 in C3: %+v, want joined by time", k9)
	}
	sameCampaignAnswers(t, f, []string{w.c, w.c2, w.c3}, day3)
}

// testCampaignWorklist expects the campaign reason on the worklist of the
// target group's active members of a running campaign who are not done
// with it, and nowhere else.
func testCampaignWorklist(t *testing.T, f *fixture) {
	ctx := t.Context()
	w, rs := buildCampaigns(f)
	detail := "campaign: Spring loans (VIP)"
	campaigned := func(advisor string, now time.Time) map[string][]string {
		items, err := rs.Worklist(ctx, advisor, now, projections.WorklistOptions{})
		ok(t, "Worklist("+advisor+")", err)
		out := map[string][]string{}
		for _, it := range items {
			if slices.Contains(it.Reasons, projections.ReasonCampaign) {
				for _, d := range it.Details {
					if len(d) > 10 && d[:10] == "campaign: " {
						out[it.CustomerID] = append(out[it.CustomerID], d)
					}
				}
			}
		}
		return out
	}
	// K1 accepted, K4 and K5 left, KH is held out, C2 is closed, C3 has no
	// target yet.
	same(t, "campaign reasons of R01", campaigned("R01", day3), map[string][]string{"K3": {detail}, "K8": {detail}})
	same(t, "campaign reasons of PB01", campaigned("PB01", day3), map[string][]string{"K6": {detail}})
	same(t, "campaign reasons of R01 before C starts", campaigned("R01", T0), map[string][]string{})
	same(t, "campaign reasons of R01 after C ends", campaigned("R01", time.Date(2030, 4, 1, 0, 0, 0, 0, kst)), map[string][]string{})
	items, err := rs.Worklist(ctx, "R01", day3, projections.WorklistOptions{})
	ok(t, "Worklist(R01)", err)
	if len(items) == 0 || items[0].CustomerID == "" {
		t.Fatalf("worklist of R01: %+v", items)
	}
	for i := 1; i < len(items); i++ {
		a, b := items[i-1], items[i]
		if len(a.Reasons) < len(b.Reasons) || (len(a.Reasons) == len(b.Reasons) && a.CustomerID > b.CustomerID) {
			t.Errorf("worklist of R01 out of order at %d: %s (%d reasons) before %s (%d)", i, a.CustomerID, len(a.Reasons), b.CustomerID, len(b.Reasons))
		}
	}
	// A pitch declined is done with too.
	f.at(day3).as("R01", "rep").add(events.CustomerStream("K8"), &events.ProductPitched{Product: "LOAN-WED",
		Channel: "phone_outbound", Outcome: "declined", CampaignID: w.c, Purpose: "marketing"})
	rs = f.sync()
	same(t, "campaign reasons of R01 after K8 declined", campaigned("R01", day3), map[string][]string{"K3": {detail}})
	sameCampaignAnswers(t, f, []string{w.c}, day3)
}

// testCampaignPreview expects the builder's counts for criteria as the
// customers stand, with and without a time criterion and a hold-out.
func testCampaignPreview(t *testing.T, f *fixture) {
	ctx := t.Context()
	w, rs := buildCampaigns(f)
	vip := events.CampaignCriteria{Tiers: []string{"vip"}}
	silent := events.CampaignCriteria{Tiers: []string{"vip"}, NoContactDays: 30}
	for _, tc := range []struct {
		what string
		d    events.CampaignLaunched
		want projections.CampaignPreview
	}{
		// vip: K1 K2 K3 K6 K7 K8 KH (K5 is erased); K7 is do-not-contact,
		// K2 has no phone consent.
		{"vip by phone", events.CampaignLaunched{Criteria: &vip, Channel: "phone_outbound"},
			projections.CampaignPreview{Matching: 7, DoNotContact: 1, NoConsent: 1, Targets: 5, ByTier: map[string]int{"vip": 5}}},
		{"vip by phone, half held out", events.CampaignLaunched{CampaignID: w.c, Criteria: &vip, Channel: "phone_outbound", HoldOutPercent: 50},
			projections.CampaignPreview{Matching: 7, DoNotContact: 1, NoConsent: 1, Targets: 4, HoldOut: 1, ByTier: map[string]int{"vip": 5}}},
		{"vip by sms", events.CampaignLaunched{Criteria: &vip, Channel: "sms"}, // K2 and K3
			projections.CampaignPreview{Matching: 7, DoNotContact: 1, NoConsent: 4, Targets: 2, ByTier: map[string]int{"vip": 2}}},
		{"vip not contacted for 30 days", events.CampaignLaunched{Criteria: &silent, Channel: "phone_outbound"}, // K1 was
			projections.CampaignPreview{Matching: 6, DoNotContact: 1, NoConsent: 1, Targets: 4, ByTier: map[string]int{"vip": 4}}},
		{"everyone at a branch", events.CampaignLaunched{Criteria: &events.CampaignCriteria{}, Channel: "branch"},
			projections.CampaignPreview{Matching: 9, DoNotContact: 1, Targets: 8,
				ByTier: map[string]int{"": 1, "potential_vip": 1, "vip": 6}}},
	} {
		p, err := rs.CampaignPreview(ctx, &tc.d, day3)
		ok(t, "CampaignPreview "+tc.what, err)
		same(t, "CampaignPreview "+tc.what, p, tc.want)
	}
}

// testCampaignReport expects the funnels of C's two groups (removed
// targets counted), its rows per advisor, and the lift.
func testCampaignReport(t *testing.T, f *fixture) {
	ctx := t.Context()
	w, rs := buildCampaigns(f)
	r, err := rs.CampaignReport(ctx, w.c, day3)
	ok(t, "CampaignReport", err)
	same(t, "C's target funnel", r.Funnel, projections.CampaignFunnel{Targets: 6, Removed: 2, Contacted: 1, Pitched: 1, Accepted: 1, Opened: 1})
	same(t, "C's hold-out funnel", r.HoldOut, projections.CampaignFunnel{Targets: 1, Opened: 1})
	if r.Campaign.ID != w.c || r.Campaign.Status != projections.CampaignRunning {
		t.Errorf("report's campaign: %s %s", r.Campaign.ID, r.Campaign.Status)
	}
	advisors := map[string]int{}
	for _, row := range r.ByAdvisor {
		advisors[row.Key] = row.Targets
	}
	same(t, "C's target group by advisor", advisors, map[string]int{"R01": 5, "PB01": 1})
	if l := r.Lift; l == nil || l.TargetOpened != 1 || l.HoldOutOpened != 1 || l.TargetAccepted != 1 || l.HoldOutAccepted != 0 {
		t.Errorf("C's lift: %+v", r.Lift)
	}
	later, err := rs.CampaignReport(ctx, w.c, time.Date(2030, 4, 1, 0, 0, 0, 0, kst))
	ok(t, "CampaignReport after the end", err)
	if later.Campaign.Status != projections.CampaignEnded {
		t.Errorf("report after the end: status %s", later.Campaign.Status)
	}
	r2, err := rs.CampaignReport(ctx, w.c2, day3)
	ok(t, "CampaignReport C2", err)
	if r2.Lift != nil || r2.Funnel.Targets != 7 {
		t.Errorf("C2's report: %d targets, lift %+v; want 7 and none", r2.Funnel.Targets, r2.Lift)
	}
	sameCampaignAnswers(t, f, []string{w.c, w.c2, w.c3}, day3)
}

// sameCampaignAnswers compares the read store's answers to every campaign
// query on campaigns ids with a reference fold's, at now.
func sameCampaignAnswers(t *testing.T, f *fixture, ids []string, now time.Time) {
	t.Helper()
	rs := f.sync()
	ref := Fold(t, f.log)
	x := LogIDs(t, f.log)
	var want, got []string
	put := func(out *[]string) func(string, any, error) {
		return func(what string, v any, err error) { *out = append(*out, answer(t, what, v, err)) }
	}
	campaignAnswers(t.Context(), ref, ids, x.customers, x.advisors, now, put(&want))
	campaignAnswers(t.Context(), rs, ids, x.customers, x.advisors, now, put(&got))
	SameAnswers(t, want, got)
}

// campaignAnswers asks q every campaign query: each campaign at now, the
// lists, every target page by every filter, each customer's entry, the
// reports, the advisors' worklists and two previews.
func campaignAnswers(ctx context.Context, q projections.Queries, ids, customers, advisors []string, now time.Time, put func(string, any, error)) {
	for _, st := range []string{"", projections.CampaignScheduled, projections.CampaignRunning, projections.CampaignEnded, projections.CampaignIsClosed} {
		v, err := q.Campaigns(ctx, projections.CampaignFilter{Status: st}, now)
		put("campaigns "+st, v, err)
	}
	filters := []projections.TargetFilter{{}, {Limit: 3}, {Group: projections.GroupHoldOut}, {Group: projections.GroupTarget, Status: "active"},
		{Status: "removed"}, {Advisor: "R000"}, {Advisor: "R01", Limit: 2}, {Advisor: "PB01"}}
	for _, id := range append(slices.Clone(ids), "nope") {
		v, err := q.Campaign(ctx, id, now)
		put("campaign "+id, v, err)
		r, err := q.CampaignReport(ctx, id, now)
		put("campaign report "+id, r, err)
		for _, f := range filters {
			start := fmt.Sprintf("%+v", f)
			for page := 0; page < 1000; page++ {
				ts, next, err := q.CampaignTargets(ctx, id, f)
				put(fmt.Sprintf("campaign targets %s %s page %d", id, start, page), []any{ts, next}, err)
				if next == "" || err != nil {
					break
				}
				f.After = next
			}
		}
		for _, c := range customers {
			v, err := q.CampaignTarget(ctx, id, c)
			put("campaign target "+id+" "+c, v, err)
		}
	}
	for _, a := range advisors {
		v, err := q.Worklist(ctx, a, now, projections.WorklistOptions{})
		put("worklist "+a, v, err)
	}
	for _, d := range []*events.CampaignLaunched{
		{CampaignID: "P1", Criteria: &events.CampaignCriteria{}, Channel: "phone_outbound", HoldOutPercent: 10},
		{Criteria: &events.CampaignCriteria{Tiers: []string{"vip", "potential_vip"}, NoContactDays: 60}, Channel: "branch"},
	} {
		v, err := q.CampaignPreview(ctx, d, now)
		put("campaign preview", v, err)
	}
}
