package projections_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// walkFreshness is the freshness report as Customers.FreshnessReport
// computed it before the books' stale instants were kept as the customers
// change: every customer of every advisor's book looked up and its staleness
// at now computed. advisors are the advisors who ever had a book.
func walkFreshness(t *testing.T, cs *projections.Customers, ids, advisors []string, now time.Time) []projections.Freshness {
	t.Helper()
	rows := map[string]*projections.Freshness{}
	for _, a := range advisors {
		if cs.HasBook(a) {
			rows[a] = &projections.Freshness{AdvisorID: a}
		}
	}
	for _, id := range ids {
		r, ok := cs.Record(id)
		if !ok {
			t.Fatalf("customer %s registered but not in the read model", id)
		}
		f := rows[r.AdvisorID()]
		if r.AdvisorID() == "" || f == nil {
			continue
		}
		f.Customers++
		if r.StaleAt().Before(now) {
			f.Stale++
		}
	}
	out := make([]projections.Freshness, 0, len(rows))
	for _, f := range rows {
		out = append(out, *f)
	}
	return projections.FreshnessFrom(out)
}

// freshHandEvents are what the generated bank lacks for the freshness
// report: reassignments (to another advisor, to the same one, back), a
// verification entered late (older than one already folded), a data
// refresh contact, a merged customer verified and assigned, a book
// customer merged, an erased customer in a book, an advisor's book
// emptied, and a customer registered, assigned and verified by hand.
func freshHandEvents(end time.Time) []struct {
	id string
	d  events.Data
} {
	assign := func(a string) events.Data { return &events.AdvisorAssigned{AdvisorID: a, Kind: "call_centre_rep"} }
	verified := func(at time.Time) events.Data { return &events.ProfileVerified{Channel: "branch", OccurredAt: at} }
	refresh := func(at time.Time) events.Data {
		return &events.ContactLogged{Channel: "branch", Purpose: "data_refresh", Summary: "checked", StaffID: "R000", OccurredAt: at}
	}
	merge := func(into string) events.Data {
		return &events.CustomerMergedInto{SurvivorID: into, Reason: "same person"}
	}
	return []struct {
		id string
		d  events.Data
	}{
		{"C0000003", assign("HAND1")},
		{"C0000004", assign("HAND1")},
		{"C0000004", assign("HAND1")}, // the same advisor again
		{"C0000003", verified(end.AddDate(0, -1, 0))},
		{"C0000003", verified(end.AddDate(0, -5, 0))}, // late and older: changes nothing
		{"C0000004", refresh(end.AddDate(0, 0, -3))},
		{"C0000005", assign("HAND2")},
		{"C0000005", merge("C0000004")}, // leaves HAND2's book empty
		{"C0000005", verified(end)},     // merged: in no book
		{"C0000005", assign("HAND2")},   // merged: ignored
		{"C0000006", assign("HAND1")},
		{"C0000006", &events.PersonalDataErased{Reason: "request", RequestedBy: "customer"}},
		{"C0000006", refresh(end.AddDate(0, 0, -40))},
		{"C0000003", assign("HAND2")},
		{"C0000003", assign("HAND1")},
		{"C9100001", &events.CustomerRegistered{CustomerID: "C9100001", Name: "Hand Made", BranchID: "B001", Source: events.Source{System: "crm"}}},
		{"C9100001", assign("HAND1")},
		{"C9100001", verified(end.AddDate(0, -2, 0).Add(time.Second))},
	}
}

// freshNows are the clocks a freshness report is asked at after an event:
// the bank's end, around the instant the event's customer goes stale
// (exactly, a nanosecond and a second either side), and far off.
func freshNows(cs *projections.Customers, id string, end time.Time) []time.Time {
	nows := []time.Time{end, end.AddDate(0, 2, 0), end.AddDate(-1, 0, 0), {}}
	if r, ok := cs.Record(id); ok {
		s := r.StaleAt()
		nows = append(nows, s, s.Add(time.Nanosecond), s.Add(-time.Nanosecond), s.Add(time.Second), s.Add(-time.Second))
	}
	return nows
}

// movingLog returns a real store holding a generated bank of n customers
// whose clock moves on an hour at every append from three months before
// snapEnd, so that registrations (and with them stale instants) spread
// over months.
func movingLog(t *testing.T, n int) *bolt.Store {
	t.Helper()
	s := projectionstest.MovingLog(t, snapEnd.AddDate(0, -3, 0), time.Hour)
	projectionstest.Generate(t, s, n, snapEnd)
	return s
}

// TestFreshnessIncremental: the freshness report kept as the customers
// change equals the full walk after every event of the generated bank and
// of the hand-made reassignments, verifications, merges and erasures, at
// clocks around each event's customer's stale instant; so does
// Memory.Report, the report of a snapshot restored (and folded on), and
// that of the records restored as a read store loads them.
func TestFreshnessIncremental(t *testing.T) {
	s := movingLog(t, 500)
	ctx := context.Background()
	for _, h := range freshHandEvents(snapEnd) {
		appendHand(t, s, h.id, h.d)
	}
	all := readLog(t, s)
	f := newFolds()
	var ids, advisors []string
	kinds := map[string]int{}
	check := func(name string, cs *projections.Customers, id string) {
		t.Helper()
		for _, now := range freshNows(cs, id, snapEnd) {
			got, want := cs.FreshnessReport(now), walkFreshness(t, cs, ids, advisors, now)
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s at %v:\n got %+v\nwant %+v", name, now, got, want)
			}
		}
	}
	for i := range all {
		f.apply(t, all[i:i+1])
		kinds[all[i].Type]++
		_, id := events.StreamID(all[i].Stream)
		switch all[i].Type {
		case "CustomerRegistered":
			ids = append(ids, id)
		case "AdvisorAssigned":
			d, err := events.Decode(&all[i])
			if err != nil {
				t.Fatal(err)
			}
			if a := d.(*events.AdvisorAssigned).AdvisorID; !slices.Contains(advisors, a) {
				advisors = append(advisors, a)
			}
		}
		check(all[i].Type+" on "+all[i].Stream, f.mem.Customers, id)
	}
	for _, k := range []string{"CustomerRegistered", "AdvisorAssigned", "ProfileVerified", "ContactLogged", "CustomerMergedInto", "PersonalDataErased"} {
		if kinds[k] < 1 {
			t.Fatalf("the log has no %s", k)
		}
	}
	want := walkFreshness(t, f.mem.Customers, ids, advisors, snapEnd)
	stale, total := 0, 0
	for _, r := range want {
		stale, total = stale+r.Stale, total+r.Customers
	}
	t.Logf("at the bank's end %d of %d book customers stale in %d books", stale, total, len(want))
	if stale == 0 || stale == total || len(want) < 3 {
		t.Fatalf("the walk finds %d of %d book customers stale in %d books: want some of each", stale, total, len(want))
	}
	if got, err := f.mem.Report(ctx, "freshness", snapEnd); err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("Memory.Report: %+v, %v; want %+v", got, err, want)
	}

	// A snapshot restored gives the same report, and keeps it as it folds on.
	r := restoreFolds(t, f, all)
	check("restored", r.mem.Customers, "C0000003")
	more := []struct {
		id string
		d  events.Data
	}{
		{"C0000007", &events.AdvisorAssigned{AdvisorID: "HAND3", Kind: "private_banker"}},
		{"C0000007", &events.ProfileVerified{Channel: "branch", OccurredAt: snapEnd.AddDate(0, 0, -1)}},
		{"C0000003", &events.CustomerMergedInto{SurvivorID: "C0000007", Reason: "same person"}},
		{"C9100001", &events.ContactLogged{Channel: "phone_outbound", Purpose: "data_refresh", Summary: "ok", StaffID: "R000", OccurredAt: snapEnd}},
	}
	advisors = append(advisors, "HAND3")
	for i, m := range more {
		appendHand(t, s, m.id, m.d)
		tail := readLog(t, s)[len(all)+i:]
		f.apply(t, tail)
		r.apply(t, tail)
		check("live", f.mem.Customers, m.id)
		check("restored", r.mem.Customers, m.id)
	}

	// Records restored as a read store loads them give the same report.
	restored := restoreRecords(t, f.mem.Customers, ids)
	for _, now := range freshNows(f.mem.Customers, "C9100001", snapEnd) {
		// RestoreCustomers' books are those of the records: an advisor
		// whose book was emptied is not among them.
		want := slices.DeleteFunc(walkFreshness(t, f.mem.Customers, ids, advisors, now), func(r projections.Freshness) bool { return r.Customers == 0 })
		if got := restored.FreshnessReport(now); !reflect.DeepEqual(got, want) {
			t.Fatalf("RestoreCustomers at %v:\n got %+v\nwant %+v", now, got, want)
		}
	}
}
