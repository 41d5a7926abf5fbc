package projectionstest

import (
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/projections"
)

var searchIndex = sync.OnceValue(func() pii.BlindIndex {
	k, err := pii.NewMasterKey([]byte("projectionstest search index key")) // 32 bytes
	if err != nil {
		panic(err)
	}
	return pii.NewBlindIndex(k)
})

// SearchIndex is the search index every read store under the suite must be
// opened with (Memory: projections.WithSearchIndex; projections/postgres:
// Options.SearchIndex): the blind index under a fixed master key, the one
// dangol serve builds from its own.
func SearchIndex() projections.SearchIndex { return searchIndex().Terms }

// SearchQuery returns the terms to look up for what a person typed, with
// SearchIndex's key: what the API passes to FindCustomers.
func SearchQuery(q string) []string { return searchIndex().Query(q) }

// testSearch: customers are found by name, by parts of it, by phone and by
// its last four digits, best match first; a change of name or phone
// replaces the customer's terms; an erased customer is found by nothing.
func testSearch(t *testing.T, f *fixture) {
	reg := func(id, name, phone string) events.AppendResult {
		return f.add(events.CustomerStream(id), &events.CustomerRegistered{CustomerID: id, Name: name, Phone: phone,
			BranchID: "B01", Source: events.Source{System: "core"}})
	}
	c1 := reg("C1", "Kim Minjun", "010-5550-1234")
	c2 := reg("C2", "Kim Jiwoo", "+82 10-5550-9999")
	c3 := reg("C3", "Minjun Park", "010 7777 1234")
	reg("C4", "김민준", "010-1111-2222")
	reg("C5", "Lee Seoyeon", "010-3333-4444")
	f.add(events.CustomerStream("C2"), &events.TierAssigned{Tier: "vip", Basis: events.TierBasis{
		DepositBalance: ptr(int64(150_000_000)), ProfitContribution: ptr(int64(2_400_000)), Rule: "top 7% by profit"}})
	c2 = f.add(events.CustomerStream("C2"), &events.AdvisorAssigned{AdvisorID: "PB01", Kind: "private_banker", BranchID: "B01"})
	rs := f.sync() // catches up on these, follows the rest live
	now := hours(1)

	find := func(q string, limit int) []string {
		t.Helper()
		got, err := rs.FindCustomers(t.Context(), SearchQuery(q), limit, now)
		ok(t, "FindCustomers "+q, err)
		if got == nil {
			t.Errorf("FindCustomers(%q) = nil, want a slice (it encodes as [])", q)
		}
		ids := make([]string, len(got))
		for i, s := range got {
			ids[i] = s.ID
		}
		return ids
	}
	expect := func(q string, limit int, want ...string) {
		t.Helper()
		same(t, "FindCustomers "+q, find(q, limit), append([]string{}, want...))
	}

	// The whole name matches three terms (whole, both parts), a namesake
	// or a shared given name one.
	expect("Kim Minjun", 0, "C1", "C2", "C3")
	expect("kim minjun", 1, "C1")
	expect("  KIM   MINJUN ", 2, "C1", "C2")
	expect("minjun", 0, "C1", "C3")
	expect("Kim", 0, "C1", "C2")
	expect("김민준", 0, "C4")
	expect("Park Minjun", 0, "C3", "C1") // both parts, not the whole
	expect("+82 10-5550-1234", 0, "C1")
	expect("010 5550 9999", 0, "C2")
	expect("1234", 0, "C1", "C3") // the last four digits
	expect("5550", 0)             // last four only, not any four
	expect("Choi", 0)
	expect("12345", 0)

	got, err := rs.FindCustomers(t.Context(), SearchQuery("Kim Jiwoo"), 0, now)
	ok(t, "FindCustomers", err)
	same(t, "the summary of C2", got, []projections.CustomerSummary{
		{ID: "C2", Name: "Kim Jiwoo", BranchID: "B01", Tier: "vip", AdvisorID: "PB01", Version: c2.Version},
		{ID: "C1", Name: "Kim Minjun", BranchID: "B01", Version: c1.Version},
	})
	stale := T0.AddDate(0, 3, 0)
	got, err = rs.FindCustomers(t.Context(), SearchQuery("Minjun Park"), 0, stale)
	ok(t, "FindCustomers", err)
	same(t, "summaries three months later", got, []projections.CustomerSummary{
		{ID: "C3", Name: "Minjun Park", BranchID: "B01", Stale: true, Version: c3.Version},
		{ID: "C1", Name: "Kim Minjun", BranchID: "B01", Stale: true, Version: c1.Version},
	})
	// A term given twice counts once; unknown terms find no one.
	dup := append(SearchQuery("Kim"), SearchQuery("Kim")...)
	got, err = rs.FindCustomers(t.Context(), append(dup, "name:unknown", ""), 0, now)
	ok(t, "FindCustomers", err)
	if len(got) != 2 || got[0].ID != "C1" || got[1].ID != "C2" {
		t.Errorf("FindCustomers(kim twice) = %+v, want C1, C2", got)
	}
	got, err = rs.FindCustomers(t.Context(), nil, 0, now)
	ok(t, "FindCustomers", err)
	same(t, "FindCustomers without terms", got, []projections.CustomerSummary{})

	// A change of name replaces the name's terms and keeps the phone's; a
	// change of another field changes nothing.
	f.at(hours(2)).add(events.CustomerStream("C1"), &events.ProfileChanged{Changes: map[string]string{"name": "Choi Minjun"}, Source: "branch"})
	f.add(events.CustomerStream("C3"), &events.ProfileChanged{Changes: map[string]string{"email": "park@example.com"}, Source: "branch"})
	f.sync()
	expect("Kim", 0, "C2")
	expect("Kim Minjun", 0, "C1", "C2", "C3") // one term each now
	expect("Choi Minjun", 0, "C1", "C3")
	expect("choiminjun", 0, "C1")
	expect("1234", 0, "C1", "C3")
	expect("Minjun Park", 0, "C3", "C1")

	// A new phone number; a cleared one.
	f.add(events.CustomerStream("C1"), &events.ProfileChanged{Changes: map[string]string{"phone": "010-8888-0000"}, Source: "phone_inbound"})
	f.add(events.CustomerStream("C3"), &events.ProfileChanged{Changes: map[string]string{"phone": ""}, Source: "branch"})
	f.sync()
	expect("1234", 0)
	expect("010-5550-1234", 0)
	expect("01088880000", 0, "C1")
	expect("0000", 0, "C1")
	expect("Minjun Park", 0, "C3", "C1")

	// Erasure: found by name and phone before, by nothing after.
	expect("Lee Seoyeon", 0, "C5")
	f.at(hours(3)).add(events.CustomerStream("C5"), &events.PersonalDataErased{Reason: "customer request", RequestedBy: "customer"})
	f.sync()
	for _, q := range []string{"Lee Seoyeon", "lee", "seoyeon", "leeseoyeon", "010-3333-4444", "4444", "[erased]"} {
		expect(q, 0)
	}
	expect("Kim Jiwoo", 0, "C2") // the others are still found
}
