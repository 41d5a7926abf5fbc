package projectionstest

import (
	"fmt"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// regDup registers customer id with a phone and a birth date, in advisor
// R01's book.
func (f *fixture) regDup(id, phone, birth string) string {
	s := events.CustomerStream(id)
	f.add(s, &events.CustomerRegistered{CustomerID: id, Name: "Customer " + id, Phone: phone, BirthDate: birth,
		BranchID: "B01", Source: events.Source{System: "core"}})
	f.add(s, &events.AdvisorAssigned{AdvisorID: "R01", Kind: "call_centre_rep"})
	return s
}

// duplicateIDs returns the pairs Duplicates lists, as "a+b".
func duplicateIDs(t *testing.T, rs ReadStore) []string {
	t.Helper()
	pairs, err := rs.Duplicates(t.Context())
	ok(t, "Duplicates", err)
	if pairs == nil {
		t.Error("Duplicates = nil, want a slice (it encodes as [])")
	}
	out := []string{}
	for _, p := range pairs {
		same(t, "Duplicates matched", p.Matched, []string{"birthDate", "phone"})
		out = append(out, p.CustomerIDs[0]+"+"+p.CustomerIDs[1])
	}
	return out
}

// testDuplicates: two customers with the same birth date and the same
// phone in any Korean form are a pair (three such customers three pairs);
// another birth date, another phone, an erasure or a changed phone is
// none.
func testDuplicates(t *testing.T, f *fixture) {
	f.regDup("D1", "010-1234-5678", "1980-05-17")
	f.regDup("D2", "+82 10 1234 5678", "1980-05-17")
	f.regDup("D3", "010-1234-5678", "1981-05-17") // another birth date
	f.regDup("D4", "010-1234-5679", "1980-05-17") // another phone
	f.regDup("D5", "", "1980-05-17")              // no phone
	rs := f.sync()
	same(t, "Duplicates", duplicateIDs(t, rs), []string{"D1+D2"})

	f.regDup("D6", "+82 (0)10-1234-5678", "1980-05-17")
	f.add(events.CustomerStream("D4"), &events.ProfileChanged{Changes: map[string]string{"phone": "01012345678"}, Source: "branch"})
	rs = f.sync()
	same(t, "Duplicates with D4's new phone and D6", duplicateIDs(t, rs), []string{"D1+D2", "D1+D4", "D1+D6", "D2+D4", "D2+D6", "D4+D6"})

	f.add(events.CustomerStream("D1"), &events.PersonalDataErased{Reason: "erasure request", RequestedBy: "customer"})
	f.add(events.CustomerStream("D6"), &events.ProfileChanged{Changes: map[string]string{"phone": "010-0000-0000"}, Source: "branch"})
	rs = f.sync()
	same(t, "Duplicates after D1's erasure and D6's change", duplicateIDs(t, rs), []string{"D2+D4"})
}

// testDuplicatesWithheld: what the pairs leave out is listed apart, with
// counts and the first ids: the customers with a placeholder phone (not an
// erased one), and a phone and birth date held by more than
// MaxDuplicateGroup customers, which is listed as pairs again once it
// shrinks to the cap.
func testDuplicatesWithheld(t *testing.T, f *fixture) {
	withheld := func(rs ReadStore) projections.WithheldValues {
		t.Helper()
		w, err := rs.WithheldValues(t.Context())
		ok(t, "WithheldValues", err)
		return w
	}
	ids := func(prefix string, from, to int) []string {
		var out []string
		for i := from; i <= to; i++ {
			out = append(out, fmt.Sprintf("%s%02d", prefix, i))
		}
		return out
	}
	none := projections.WithheldValues{Placeholder: projections.WithheldGroup{Sample: []string{}}, Crowded: []projections.WithheldGroup{}}
	f.regDup("W1", "010-5555-6666", "1970-03-04")
	same(t, "WithheldValues with nothing withheld", withheld(f.sync()), none)

	f.regDup("P1", "010-0000-0000", "1980-01-01")
	f.regDup("P2", "010-0000-0000", "1980-01-01")
	f.regDup("P3", "12345", "1981-02-03") // no subscriber number
	f.regDup("P4", "000-0000-0000", "")
	crowd := ids("C", 1, projections.MaxDuplicateGroup+1)
	for _, id := range crowd {
		f.regDup(id, "02-3456-7890", "1990-01-01") // a shared line
	}
	rs := f.sync()
	same(t, "WithheldValues", withheld(rs), projections.WithheldValues{
		Placeholder: projections.WithheldGroup{Customers: 4, Sample: []string{"P1", "P2", "P3", "P4"}},
		Crowded:     []projections.WithheldGroup{{Customers: len(crowd), Sample: crowd[:projections.WithheldSample]}}})
	same(t, "Duplicates beside a crowded group", duplicateIDs(t, rs), []string{})

	f.add(events.CustomerStream("P2"), &events.PersonalDataErased{Reason: "erasure request", RequestedBy: "customer"})
	f.add(events.CustomerStream("P3"), &events.ProfileChanged{Changes: map[string]string{"phone": "010-7777-8888"}, Source: "branch"})
	f.add(events.CustomerStream("C01"), &events.ProfileChanged{Changes: map[string]string{"phone": "010-7777-9999"}, Source: "branch"})
	rs = f.sync()
	w := withheld(rs)
	same(t, "WithheldValues after an erasure, a real phone and the group at the cap", w, projections.WithheldValues{
		Placeholder: projections.WithheldGroup{Customers: 2, Sample: []string{"P1", "P4"}}, Crowded: []projections.WithheldGroup{}})
	if got, want := len(duplicateIDs(t, rs)), projections.MaxDuplicateGroup*(projections.MaxDuplicateGroup-1)/2; got != want {
		t.Errorf("Duplicates once the group is at the cap: %d pairs, want %d", got, want)
	}
}

// testMerge: after M2 is merged into M1, the view of M2 is M1's (which
// lists M2), and M2 is counted nowhere on its own: not on the worklist,
// the customer list, the search, the duplicates, a campaign's list or the
// tier report. A CustomerMerged whose partner never came changes no view.
func testMerge(t *testing.T, f *fixture) {
	ctx := t.Context()
	now := hours(2)
	m1 := f.regDup("M1", "010-2222-3333", "1975-01-02")
	m2 := f.regDup("M2", "010 2222 3333", "1975-01-02")
	m3 := f.regDup("M3", "010-4444-5555", "1990-09-09")
	for _, s := range []string{m1, m2, m3} {
		f.add(s, &events.TierAssigned{Tier: "vip", Basis: events.TierBasis{DepositBalance: ptr(int64(1)), ProfitContribution: ptr(int64(1)), Rule: "test"}})
		f.add(s, &events.ConsentChanged{Channel: "phone", Purpose: "marketing", Granted: ptr(true)})
	}
	f.as("M9", "marketer").add(events.CampaignStream("CM1"), &events.CampaignLaunched{CampaignID: "CM1", Name: "VIP call",
		Product: "fund-k", Criteria: &events.CampaignCriteria{Tiers: []string{"vip"}}, Channel: "phone_outbound",
		StartsOn: "2030-03-04", EndsOn: "2030-04-30"})
	f.as("A01", "admin")
	rs := f.sync()
	same(t, "Duplicates before the merge", duplicateIDs(t, rs), []string{"M1+M2"})

	f.at(hours(1))
	f.add(m3, &events.CustomerMerged{MergedID: "M1", Reason: "an attempt whose second append failed"})
	f.add(m1, &events.CustomerMerged{MergedID: "M2", Reason: "same person"})
	f.add(m2, &events.CustomerMergedInto{SurvivorID: "M1", Reason: "same person"})
	f.add(m2, &events.AdvisorAssigned{AdvisorID: "R02", Kind: "call_centre_rep"}) // the survivor's advisor serves them
	rs = f.sync()

	v, err := rs.Customer(ctx, "M2", now)
	ok(t, "Customer M2", err)
	if v.ID != "M1" {
		t.Errorf("Customer(M2).ID = %q, want the survivor M1", v.ID)
	}
	same(t, "Customer(M2).MergedIDs", v.MergedIDs, []string{"M2"})
	v1, err := rs.Customer(ctx, "M1", now)
	ok(t, "Customer M1", err)
	same(t, "Customer(M2) and Customer(M1)", v, v1)
	v3, err := rs.Customer(ctx, "M3", now)
	ok(t, "Customer M3", err)
	if v3.ID != "M3" || len(v3.MergedIDs) != 0 {
		t.Errorf("Customer(M3) = %s with merged %v: a CustomerMerged without its partner changed the view", v3.ID, v3.MergedIDs)
	}
	exists, err := rs.CustomerExists(ctx, "M2")
	ok(t, "CustomerExists M2", err)
	if !exists {
		t.Error("CustomerExists(M2) = false, want true: a merged customer was registered")
	}

	items, err := rs.Worklist(ctx, "R01", now, projections.WorklistOptions{})
	ok(t, "Worklist R01", err)
	same(t, "Worklist R01", workIDs(items), []string{"M1", "M3"})
	items, err = rs.Worklist(ctx, "R02", now, projections.WorklistOptions{})
	ok(t, "Worklist R02", err)
	same(t, "Worklist R02", workIDs(items), []string{})

	list, _, err := rs.CustomerList(ctx, projections.CustomerFilter{}, now)
	ok(t, "CustomerList", err)
	same(t, "CustomerList", summaryIDs(list), []string{"M1", "M3"})
	list, _, err = rs.CustomerList(ctx, projections.CustomerFilter{Tier: "vip"}, now)
	ok(t, "CustomerList vip", err)
	same(t, "CustomerList vip", summaryIDs(list), []string{"M1", "M3"})

	found, err := rs.FindCustomers(ctx, SearchQuery("010-2222-3333"), 0, now)
	ok(t, "FindCustomers", err)
	same(t, "FindCustomers by the shared phone", summaryIDs(found), []string{"M1"})

	same(t, "Duplicates after the merge", duplicateIDs(t, rs), []string{})

	ts, _, err := rs.CampaignTargets(ctx, "CM1", projections.TargetFilter{Limit: 100})
	ok(t, "CampaignTargets", err)
	removed := map[string]string{}
	for _, tg := range ts {
		removed[tg.CustomerID] = tg.RemovedReason
	}
	same(t, "CM1's targets and removals", removed, map[string]string{"M1": "", "M2": projections.RemovedMerged, "M3": ""})

	r, err := rs.Report(ctx, "tiers", now)
	ok(t, "Report tiers", err)
	if tr := r.(projections.TierReport); tr.Customers != 2 || tr.ByTier["vip"] != 2 {
		t.Errorf("tier report counts %d customers, %d vip; want 2 and 2 (M2 as M1)", tr.Customers, tr.ByTier["vip"])
	}
	r, err = rs.Report(ctx, "tier-migration", now)
	ok(t, "Report tier-migration", err)
	if ms := r.([]projections.TierMonth); len(ms) != 1 || ms[0].Customers != 2 {
		t.Errorf("tier migration %+v, want one month counting 2 customers (M2 as M1)", ms)
	}

	// A chain: M4 is merged into M3, then M3 into M1; M4's view follows
	// both links, and M1's page lists M4 as well as M3 (docs/merge.md: an
	// erasure of the person erases every id the page lists).
	m4 := f.regDup("M4", "010-7777-8888", "1960-06-06")
	f.add(m4, &events.CustomerMergedInto{SurvivorID: "M3", Reason: "same person"})
	f.add(m3, &events.CustomerMergedInto{SurvivorID: "M1", Reason: "same person"})
	rs = f.sync()
	v4, err := rs.Customer(ctx, "M4", now)
	ok(t, "Customer M4", err)
	if v4.ID != "M1" {
		t.Errorf("Customer(M4).ID = %q, want M1 at the chain's end", v4.ID)
	}
	same(t, "Customer(M1).MergedIDs after the chain", v4.MergedIDs, []string{"M2", "M3", "M4"})
	v3, err = rs.Customer(ctx, "M3", now)
	ok(t, "Customer M3", err)
	same(t, "Customer(M3) after its merge", v3.ID, "M1")

	// A link into a customer already merged (two merges that crossed):
	// M5 joins M3 after M3 joined M1, and M1's page lists M5 too.
	m5 := f.regDup("M5", "010-6666-9999", "1961-07-07")
	f.add(m5, &events.CustomerMergedInto{SurvivorID: "M3", Reason: "same person"})
	rs = f.sync()
	v1, err = rs.Customer(ctx, "M1", now)
	ok(t, "Customer M1", err)
	same(t, "Customer(M1).MergedIDs after M5 joined M3", v1.MergedIDs, []string{"M2", "M3", "M4", "M5"})
	v5, err := rs.Customer(ctx, "M5", now)
	ok(t, "Customer M5", err)
	same(t, "Customer(M5) and Customer(M1)", v5, v1)
}

func workIDs(items []projections.WorkItem) []string {
	out := []string{}
	for _, it := range items {
		out = append(out, it.CustomerID)
	}
	return out
}

func summaryIDs(s []projections.CustomerSummary) []string {
	out := []string{}
	for _, c := range s {
		out = append(out, c.ID)
	}
	return out
}
