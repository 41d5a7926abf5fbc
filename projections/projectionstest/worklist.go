package projectionstest

import (
	"fmt"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// testWorklist gives an advisor's book every reason to call, and none,
// and expects the order (most reasons first, then by id) with the default
// options and with others.
func testWorklist(t *testing.T, f *fixture) {
	now := T0.AddDate(0, 0, 10) // 2030-03-14
	reg := func(id, tier string) string {
		s := events.CustomerStream(id)
		f.add(s, &events.CustomerRegistered{CustomerID: id, Name: "Customer " + id, BranchID: "B07", Source: events.Source{System: "core"}})
		if tier != "" {
			f.add(s, &events.TierAssigned{Tier: tier, Basis: events.TierBasis{DepositBalance: ptr(int64(1)), ProfitContribution: ptr(int64(1)), Rule: "test"}})
		}
		f.add(s, &events.AdvisorAssigned{AdvisorID: "R01", Kind: "call_centre_rep"})
		return s
	}
	contact := func(s string, at time.Time) {
		f.add(s, &events.ContactLogged{Channel: "phone_outbound", Purpose: "service", OccurredAt: at, StaffID: "R01"})
	}
	// W1 was registered three months ago and never verified nor contacted.
	f.at(T0.AddDate(0, 0, -90))
	w1 := reg("W1", "vip")
	f.at(T0)
	f.add(w1, &events.LifeEventRecorded{Kind: "child_wedding", ExpectedOn: "2030-04-01"})
	w2 := reg("W2", "")
	contact(w2, now.AddDate(0, 0, -5))
	f.add(w2, &events.ConsentChanged{Channel: "email", Purpose: "marketing", Granted: ptr(true)})
	f.add(w2, &events.ProductPitched{Product: "loan-a", Channel: "branch", Outcome: "considering", FollowUpOn: "2030-03-14"}) // due today
	f.add(w2, &events.ProductPitched{Product: "card-x", Channel: "branch", Outcome: "unreachable", FollowUpOn: "2030-03-20"}) // not yet
	f.add(w2, &events.ProductPitched{Product: "fund-k", Channel: "branch", Outcome: "declined", FollowUpOn: "2030-03-01"})    // declined: no follow-up
	w3 := reg("W3", "general")
	contact(w3, now.AddDate(0, 0, -91))
	f.add(w3, &events.LifeEventRecorded{Kind: "retirement", ExpectedOn: "2030-06-01"}) // beyond 60 days
	f.add(w3, &events.LifeEventRecorded{Kind: "relocation", ExpectedOn: "2030-03-10"}) // already past
	f.sync()
	w4 := reg("W4", "")
	contact(w4, now.AddDate(0, 0, -1))
	w5 := reg("W5", "")
	contact(w5, now.AddDate(0, 0, -30))
	w6 := reg("W6", "") // moved to another advisor
	f.add(w6, &events.AdvisorAssigned{AdvisorID: "PB02", Kind: "private_banker"})
	f.add(events.CustomerStream("W7"), &events.CustomerRegistered{CustomerID: "W7", Name: "Customer W7", BranchID: "B07", Source: events.Source{System: "core"}})
	rs := f.sync()

	item := func(id, tier string, last time.Time, dnc bool, reasons []string, details ...string) projections.WorkItem {
		return projections.WorkItem{CustomerID: id, Name: "Customer " + id, Tier: tier, BranchID: "B07", Reasons: reasons,
			LastContact: last, DoNotContact: dnc, Details: details}
	}
	const (
		stale    = projections.ReasonStale
		life     = projections.ReasonLifeEvent
		followUp = projections.ReasonPitchFollowUp
		silent   = projections.ReasonNoContact
	)
	for _, tc := range []struct {
		advisor string
		opt     projections.WorklistOptions
		want    []projections.WorkItem
	}{
		{"R01", projections.WorklistOptions{}, []projections.WorkItem{
			item("W1", "vip", time.Time{}, true, []string{stale, life, silent}, "child_wedding on 2030-04-01"),
			item("W2", "", now.AddDate(0, 0, -5), false, []string{followUp}, "loan-a follow-up on 2030-03-14"),
			item("W3", "general", now.AddDate(0, 0, -91), true, []string{silent}),
			item("W4", "", now.AddDate(0, 0, -1), true, []string{}),
			item("W5", "", now.AddDate(0, 0, -30), true, []string{}),
		}},
		{"R01", projections.WorklistOptions{LifeEventWithinDays: 90, NoContactDays: 20}, []projections.WorkItem{
			item("W1", "vip", time.Time{}, true, []string{stale, life, silent}, "child_wedding on 2030-04-01"),
			item("W3", "general", now.AddDate(0, 0, -91), true, []string{life, silent}, "retirement on 2030-06-01"),
			item("W2", "", now.AddDate(0, 0, -5), false, []string{followUp}, "loan-a follow-up on 2030-03-14"),
			item("W5", "", now.AddDate(0, 0, -30), true, []string{silent}),
			item("W4", "", now.AddDate(0, 0, -1), true, []string{}),
		}},
		{"PB02", projections.WorklistOptions{}, []projections.WorkItem{item("W6", "", time.Time{}, true, []string{silent})}},
		{"nobody", projections.WorklistOptions{}, []projections.WorkItem{}},
	} {
		got, err := rs.Worklist(t.Context(), tc.advisor, now, tc.opt)
		ok(t, "Worklist("+tc.advisor+")", err)
		same(t, "Worklist("+tc.advisor+") with "+describeOptions(tc.opt), got, tc.want)
	}
}

func describeOptions(o projections.WorklistOptions) string {
	if o == (projections.WorklistOptions{}) {
		return "the default options"
	}
	return fmt.Sprintf("lifeEventWithinDays=%d noContactDays=%d", o.LifeEventWithinDays, o.NoContactDays)
}
