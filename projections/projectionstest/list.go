package projectionstest

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// testCustomerList pages through twelve customers with every filter and
// their combinations, at the instant their data goes stale and just after.
func testCustomerList(t *testing.T, f *fixture) {
	tiers := map[string]string{"C01": "vip", "C02": "potential_vip", "C03": "general", "C04": "vip", "C06": "potential_vip",
		"C07": "vip", "C08": "general", "C10": "vip", "C11": "general", "C12": "potential_vip"}
	advisors := map[string]string{"C01": "R01", "C02": "R01", "C03": "R01", "C04": "R01", "C05": "PB01", "C06": "PB01",
		"C07": "PB01", "C08": "PB01", "C09": "R01", "C10": "PB01"}
	all := make(map[string]projections.CustomerSummary)
	later := T0.AddDate(0, 0, 30)
	for i := 1; i <= 12; i++ {
		id := fmt.Sprintf("C%02d", i)
		s := events.CustomerStream(id)
		if i == 7 {
			f.at(later) // C07..C12 are registered a month later: fresh for longer
		}
		branch := "B0" + fmt.Sprint(1+i%2)
		res := f.add(s, &events.CustomerRegistered{CustomerID: id, Name: "Customer " + id, BranchID: branch, Source: events.Source{System: "core"}})
		if tier := tiers[id]; tier != "" {
			res = f.add(s, &events.TierAssigned{Tier: tier, Basis: events.TierBasis{DepositBalance: ptr(int64(i)), ProfitContribution: ptr(int64(i)), Rule: "test"}})
		}
		switch id {
		case "C09": // moved from R02 to R01: R02's book is left empty
			f.add(s, &events.AdvisorAssigned{AdvisorID: "R02", Kind: "call_centre_rep"})
		case "C10": // likewise from NEW01 to PB01
			f.add(s, &events.AdvisorAssigned{AdvisorID: "NEW01", Kind: "call_centre_rep"})
		}
		if adv := advisors[id]; adv != "" {
			res = f.add(s, &events.AdvisorAssigned{AdvisorID: adv, Kind: "call_centre_rep"})
		}
		all[id] = projections.CustomerSummary{ID: id, Name: "Customer " + id, BranchID: branch, Tier: tiers[id], AdvisorID: advisors[id], Version: res.Version}
	}
	f.sync()
	verified := T0.AddDate(0, 0, 40)
	for _, id := range []string{"C02", "C05"} {
		res := f.at(verified).add(events.CustomerStream(id), &events.ProfileVerified{Channel: "phone_inbound"})
		s := all[id]
		s.Version = res.Version
		all[id] = s
	}
	rs := f.sync()

	// C01..C06 were registered at T0: stale once two months have passed,
	// except C02 and C05, verified since.
	staleAt := T0.AddDate(0, 2, 0)
	stale := []string{"C01", "C03", "C04", "C06"}
	rows := func(now time.Time, ids ...string) []projections.CustomerSummary {
		out := []projections.CustomerSummary{}
		for _, id := range ids {
			s := all[id]
			s.Stale = now.After(staleAt) && slices.Contains(stale, id)
			out = append(out, s)
		}
		return out
	}
	yes, no := ptr(true), ptr(false)
	now := staleAt.Add(24 * time.Hour)
	for _, tc := range []struct {
		f     projections.CustomerFilter
		pages [][]string // the ids of each page; every page but the last ends with a cursor
	}{
		{projections.CustomerFilter{}, [][]string{{"C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08", "C09", "C10", "C11", "C12"}}},
		{projections.CustomerFilter{Limit: -1}, [][]string{{"C01", "C02", "C03", "C04", "C05", "C06", "C07", "C08", "C09", "C10", "C11", "C12"}}},
		{projections.CustomerFilter{Limit: 5}, [][]string{{"C01", "C02", "C03", "C04", "C05"}, {"C06", "C07", "C08", "C09", "C10"}, {"C11", "C12"}}},
		{projections.CustomerFilter{Limit: 6}, [][]string{{"C01", "C02", "C03", "C04", "C05", "C06"}, {"C07", "C08", "C09", "C10", "C11", "C12"}}},
		{projections.CustomerFilter{Tier: "vip", Limit: 4}, [][]string{{"C01", "C04", "C07", "C10"}}}, // exactly a page: no cursor
		{projections.CustomerFilter{Tier: "vip", Limit: 3}, [][]string{{"C01", "C04", "C07"}, {"C10"}}},
		{projections.CustomerFilter{Tier: "potential_vip"}, [][]string{{"C02", "C06", "C12"}}},
		{projections.CustomerFilter{Tier: "gold"}, [][]string{{}}},
		{projections.CustomerFilter{Advisor: "R01"}, [][]string{{"C01", "C02", "C03", "C04", "C09"}}},
		{projections.CustomerFilter{Advisor: "R01", Limit: 2}, [][]string{{"C01", "C02"}, {"C03", "C04"}, {"C09"}}},
		{projections.CustomerFilter{Advisor: "PB01"}, [][]string{{"C05", "C06", "C07", "C08", "C10"}}},
		{projections.CustomerFilter{Advisor: "NEW01"}, [][]string{{}}},
		{projections.CustomerFilter{Advisor: "R02"}, [][]string{{}}},
		{projections.CustomerFilter{Advisor: "nobody"}, [][]string{{}}},
		{projections.CustomerFilter{Stale: yes}, [][]string{stale}},
		{projections.CustomerFilter{Stale: no, Limit: 4}, [][]string{{"C02", "C05", "C07", "C08"}, {"C09", "C10", "C11", "C12"}}},
		{projections.CustomerFilter{Stale: yes, Tier: "vip"}, [][]string{{"C01", "C04"}}},
		{projections.CustomerFilter{Stale: yes, Advisor: "PB01"}, [][]string{{"C06"}}},
		{projections.CustomerFilter{Stale: no, Advisor: "R01", Tier: "potential_vip"}, [][]string{{"C02"}}},
		{projections.CustomerFilter{After: "C07"}, [][]string{{"C08", "C09", "C10", "C11", "C12"}}},
		{projections.CustomerFilter{After: "C065"}, [][]string{{"C07", "C08", "C09", "C10", "C11", "C12"}}}, // names no customer
		{projections.CustomerFilter{After: "C12"}, [][]string{{}}},
		{projections.CustomerFilter{After: "C03", Advisor: "R01"}, [][]string{{"C04", "C09"}}},
		{projections.CustomerFilter{After: "C03", Advisor: "R01", Limit: 1}, [][]string{{"C04"}, {"C09"}}},
	} {
		checkPages(t, rs, tc.f, now, tc.pages, func(ids []string) []projections.CustomerSummary { return rows(now, ids...) })
	}
	// Stale is decided to the nanosecond: nobody at the instant, four just after.
	checkPages(t, rs, projections.CustomerFilter{Stale: yes}, staleAt, [][]string{{}}, func(ids []string) []projections.CustomerSummary { return rows(staleAt, ids...) })
	checkPages(t, rs, projections.CustomerFilter{Stale: no, Tier: "vip"}, staleAt, [][]string{{"C01", "C04", "C07", "C10"}},
		func(ids []string) []projections.CustomerSummary { return rows(staleAt, ids...) })
	justAfter := staleAt.Add(time.Nanosecond)
	checkPages(t, rs, projections.CustomerFilter{Stale: yes}, justAfter, [][]string{stale}, func(ids []string) []projections.CustomerSummary { return rows(justAfter, ids...) })
}

// checkPages follows f's cursor through the pages and expects each page's
// rows and the cursor: the last id of a page when another follows, "" on
// the last.
func checkPages(t *testing.T, rs ReadStore, f projections.CustomerFilter, now time.Time, pages [][]string, rows func([]string) []projections.CustomerSummary) {
	t.Helper()
	start := f
	for i, ids := range pages {
		page, next, err := rs.CustomerList(t.Context(), f, now)
		ok(t, fmt.Sprintf("CustomerList(%+v)", f), err)
		wantNext := ""
		if i < len(pages)-1 {
			wantNext = ids[len(ids)-1]
		}
		same(t, fmt.Sprintf("CustomerList(%s) at %s, page %d", describeFilter(start), now.Format(time.RFC3339Nano), i+1),
			[]any{page, next}, []any{rows(ids), wantNext})
		if next == "" {
			if i < len(pages)-1 {
				t.Errorf("CustomerList(%s): no cursor after page %d of %d", describeFilter(start), i+1, len(pages))
			}
			return
		}
		f.After = next
	}
}

func describeFilter(f projections.CustomerFilter) string {
	stale := "any"
	if f.Stale != nil {
		stale = fmt.Sprint(*f.Stale)
	}
	return fmt.Sprintf("advisor=%q tier=%q stale=%s after=%q limit=%d", f.Advisor, f.Tier, stale, f.After, f.Limit)
}
