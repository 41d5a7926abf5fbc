package projectionstest

import (
	"reflect"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// testReports builds a small bank whose every report can be worked out by
// hand, and expects each of them.
func testReports(t *testing.T, f *fixture) {
	days := func(n int) *fixture { return f.at(T0.AddDate(0, 0, n)) }
	customer := func(id, tier, advisor string, profits ...int64) string {
		s := events.CustomerStream(id)
		f.add(s, &events.CustomerRegistered{CustomerID: id, Name: "Customer " + id, BranchID: "B01", Source: events.Source{System: "core"}})
		for _, p := range profits {
			f.add(s, &events.FinancialsReported{AsOf: "2030-02-28", DepositBalance: ptr(int64(1000)), ProfitContribution: ptr(p), Currency: "KRW"})
		}
		if tier != "" {
			f.add(s, &events.TierAssigned{Tier: tier, Basis: events.TierBasis{DepositBalance: ptr(int64(1000)), ProfitContribution: ptr(int64(1)), Rule: "test"}})
		}
		if advisor != "" {
			f.add(s, &events.AdvisorAssigned{AdvisorID: advisor, Kind: "call_centre_rep"})
		}
		return s
	}
	pitch := func(s, product, channel, outcome, campaign string) {
		f.add(s, &events.ProductPitched{Product: product, Channel: channel, Outcome: outcome, CampaignID: campaign})
	}
	request := func(s, category string) {
		f.add(s, &events.CustomerRequestNoted{Text: "a request", Category: category})
	}
	reviewed := func(call, rep, reviewer string, score int, points ...events.CoachingPointRaised) {
		recordCall(f, call, "T1", rep, T0.Add(-time.Hour), 60)
		f.add(events.CallStream(call), review(reviewer, score, points...))
	}
	check := func(point, call, checker, outcome string, next int) {
		d := &events.CoachingFollowedUp{PointID: point, CheckerID: checker, Outcome: outcome}
		if next > 0 {
			d.NextFollowUpDue = T0.AddDate(0, 0, next)
		}
		f.add(events.CallStream(call), d)
	}

	// Week 10 of 2030 (T0 is its Monday).
	days(0)
	t1 := customer("T1", "vip", "R01", 100, 900) // the latest financials count
	t2 := customer("T2", "vip", "R01", 500)
	f.as("R01", "rep")
	pitch(t1, "fund-k", "branch", "accepted", "CP1")
	pitch(t1, "card-x", "phone_outbound", "declined", "")
	pitch(t2, "fund-k", "phone_outbound", "considering", "CP1")
	request(t1, "fees")
	request(t2, "fees")
	request(t2, "")
	f.as("S01", "supervisor")
	reviewed("QA1", "R01", "S01", 4,
		events.CoachingPointRaised{PointID: "QP1", Criterion: "accuracy", Note: "n", FollowUpDue: events.AddOneMonth(T0)},
		events.CoachingPointRaised{PointID: "QP2", Criterion: "empathy", Note: "n", FollowUpDue: T0.AddDate(0, 0, 10)})
	days(1)
	reviewed("QA2", "R01", "S01", 3)
	days(2)
	reviewed("QA4", "R02", "S01", 2, events.CoachingPointRaised{PointID: "QP3", Criterion: "compliance", Note: "n", FollowUpDue: T0.AddDate(0, 0, 5)})
	days(3)
	reviewed("QA5", "R01", "S01", 4)
	f.sync()
	f.as("H01", "centre_head")
	days(6)
	check("QP3", "QA4", "H01", "not_improved", 36)
	f.as("R01", "rep").at(T0.AddDate(0, 0, 6).Add(5 * time.Hour)) // Sunday 23:00 KST (14:00 UTC), still week 10
	request(t1, "fees")
	f.at(T0.AddDate(0, 0, 6).Add(14 * time.Hour)) // Monday 08:00 KST, Sunday 23:00 UTC: week 11
	request(t2, "atm-hours")
	// Week 11.
	days(7)
	request(t1, "atm-hours")
	request(t2, "fees")
	f.as("H01", "centre_head")
	days(11)
	check("QP2", "QA1", "H01", "improved", 0)
	f.as("R01", "rep").at(mondayKST) // Monday 1 April 05:00 KST, Sunday in UTC: week 14, not 13
	request(t2, "fees")
	f.as("S01", "supervisor")
	days(28) // 2030-04-01
	reviewed("QA3", "R01", "S01", 5)
	f.as("H02", "centre_head")
	days(37)
	check("QP3", "QA4", "H02", "improved", 0)
	days(40)
	customer("T3", "potential_vip", "R01", 300)
	t4 := customer("T4", "general", "PB01", 200)
	t5 := customer("T5", "general", "R02", 100)
	f.add(t5, &events.AdvisorAssigned{AdvisorID: "PB01", Kind: "private_banker"}) // R02's book is left empty
	customer("T6", "", "")
	customer("T7", "general", "", -100)
	f.as("PB01", "private_banker")
	pitch(t4, "fund-k", "branch", "accepted", "")
	pitch(t4, "loan-a", "branch", "unreachable", "CP2")
	rs := f.sync()

	conv := func(dim, value string, n, acc, dec, cons, unr int, rate float64) projections.Conversion {
		return projections.Conversion{Dimension: dim, Value: value, Pitches: n, Accepted: acc, Declined: dec, Considering: cons, Unreachable: unr, Rate: rate}
	}
	// T1 and T2 were registered at T0: stale two months on; the others
	// were registered 40 days later.
	now := T0.AddDate(0, 2, 1)
	for name, want := range map[string]any{
		"tiers": projections.TierReport{Customers: 7, ByTier: map[string]int{"vip": 2, "potential_vip": 1, "general": 3, "unassigned": 1},
			WithFinancial: 6, TotalProfit: 1900, // 900 500 300 200 100 -100
			Concentration: []projections.ShareOfTop{{Percent: 1, Share: 0.4737}, {Percent: 7, Share: 0.4737}, {Percent: 20, Share: 0.7368}, {Percent: 50, Share: 0.8947}}},
		"pitches": map[string][]projections.Conversion{
			"product":  {conv("product", "fund-k", 3, 2, 0, 1, 0, 0.6667), conv("product", "card-x", 1, 0, 1, 0, 0, 0), conv("product", "loan-a", 1, 0, 0, 0, 1, 0)},
			"channel":  {conv("channel", "branch", 3, 2, 0, 0, 1, 0.6667), conv("channel", "phone_outbound", 2, 0, 1, 1, 0, 0)},
			"advisor":  {conv("advisor", "R01", 3, 1, 1, 1, 0, 0.3333), conv("advisor", "PB01", 2, 1, 0, 0, 1, 0.5)},
			"campaign": {conv("campaign", "(none)", 2, 1, 1, 0, 0, 0.5), conv("campaign", "CP1", 2, 1, 0, 1, 0, 0.5), conv("campaign", "CP2", 1, 0, 0, 0, 1, 0)},
		},
		"qa": []projections.QAScore{{RepID: "R01", Month: "2030-03", Reviews: 3, Average: 73.3, Min: 60, Max: 80},
			{RepID: "R01", Month: "2030-04", Reviews: 1, Average: 100, Min: 100, Max: 100},
			{RepID: "R02", Month: "2030-03", Reviews: 1, Average: 40, Min: 40, Max: 40}},
		"coaching": projections.CoachingReport{Points: 3, ByStatus: map[string]int{"open": 1, "improved": 2}, Checks: 3, Improved: 2,
			NotImproved: 1, Rate: 0.6667, Overdue: 1, // QP1, open, was due a month after T0
			ByRep: []projections.RepCoaching{{RepID: "R01", Checks: 1, Improved: 1, Rate: 1}, {RepID: "R02", Checks: 2, Improved: 1, Rate: 0.5}}},
		"freshness": []projections.Freshness{{AdvisorID: "R02", Customers: 0, Stale: 0, FreshRate: 0},
			{AdvisorID: "R01", Customers: 3, Stale: 2, FreshRate: 0.3333}, {AdvisorID: "PB01", Customers: 2, Stale: 0, FreshRate: 1}},
		"requests": []projections.RequestWeek{{Week: "2030-W14", Category: "fees", Count: 1},
			{Week: "2030-W11", Category: "atm-hours", Count: 2}, {Week: "2030-W11", Category: "fees", Count: 1},
			{Week: "2030-W10", Category: "fees", Count: 3}, {Week: "2030-W10", Category: "uncategorised", Count: 1}},
	} {
		got, err := rs.Report(t.Context(), name, now)
		ok(t, "Report("+name+")", err)
		if reflect.TypeOf(got) != reflect.TypeOf(want) {
			t.Errorf("Report(%s) is a %T, want a %T", name, got, want)
		}
		same(t, "Report("+name+")", got, want)
	}
	if len(projections.ReportNames) != 8 { // calibration is testCalibration's, tier-migration the campaign cases'
		t.Errorf("ReportNames = %v; this test expects eight reports", projections.ReportNames)
	}
}
