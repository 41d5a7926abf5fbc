package projections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// TestBriefAnswersAsTheRecord: on a generated bank, read models restored
// from the customers' briefs (MarshalBrief, UnmarshalBrief) and from their
// whole records (through their JSON) give the same worklists, lists and
// summaries, at several clocks and worklist options; and every reason to
// call occurs, so the comparison is not of empty worklists.
func TestBriefAnswersAsTheRecord(t *testing.T) {
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	// The bank is registered four months before end, so that only the
	// customers verified since are not stale at end.
	clock := end.AddDate(0, -4, 0)
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	projectionstest.Generate(t, s, 400, end)
	clock = end
	addReasons(t, s, end)
	m := projectionstest.Fold(t, s)

	all, _ := m.Customers.List(projections.CustomerFilter{Limit: 1 << 20}, end)
	var ids []string
	advisors := []string{"nobody"}
	var whole, briefs []projections.CustomerRecord
	var wholeBytes, briefBytes int
	roundTrip := func(r projections.CustomerRecord) (projections.CustomerRecord, int) {
		t.Helper()
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back projections.CustomerRecord
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		return back, len(b)
	}
	for _, c := range all {
		ids = append(ids, c.ID)
		if c.AdvisorID != "" && !slices.Contains(advisors, c.AdvisorID) {
			advisors = append(advisors, c.AdvisorID)
		}
		r, ok := m.Customers.Record(c.ID)
		if !ok {
			t.Fatalf("no record of %s", c.ID)
		}
		w, n := roundTrip(r)
		whole, wholeBytes = append(whole, w), wholeBytes+n
		brief := r.MarshalBrief()
		var b projections.CustomerRecord
		if err := b.UnmarshalBrief(brief); err != nil {
			t.Fatalf("brief of %s: %v", c.ID, err)
		}
		briefs, briefBytes = append(briefs, b), briefBytes+len(brief)
		if again := b.MarshalBrief(); !bytes.Equal(again, brief) {
			t.Fatalf("the brief of %s's brief differs: %x, want %x", c.ID, again, brief)
		}
		if js, _ := json.Marshal(b); bytes.Contains(js, []byte(`"timeline"`)) || bytes.Contains(js, []byte(`"holdings"`)) {
			t.Fatalf("the brief of %s holds more than the lists read: %s", c.ID, js)
		}
	}
	if len(advisors) < 5 {
		t.Fatalf("the bank has books of only %v", advisors)
	}
	t.Logf("%d customers, %d advisors: whole records %d bytes, briefs %d bytes", len(ids), len(advisors)-1, wholeBytes, briefBytes)
	fromWhole, fromBriefs := projections.RestoreCustomers(whole), projections.RestoreCustomers(briefs)

	answer := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	reasons := map[string]int{}
	stale := []bool{true, false}
	for _, now := range []time.Time{end, end.AddDate(0, -3, 0), end.Add(-45 * 24 * time.Hour).Add(time.Nanosecond), end.AddDate(0, 0, 40), end.AddDate(0, 3, 0)} {
		for _, opt := range []projections.WorklistOptions{{}, {LifeEventWithinDays: 120, NoContactDays: 20, VIPRiskPercent: 5}, {LifeEventWithinDays: 1, NoContactDays: 400, VIPRiskPercent: 60}} {
			for _, a := range advisors {
				want := fromWhole.Worklist(a, now, opt)
				for _, it := range want {
					for _, r := range it.Reasons {
						reasons[r]++
					}
				}
				if got := fromBriefs.Worklist(a, now, opt); answer(got) != answer(want) {
					t.Errorf("Worklist(%s, %s, %+v) from briefs:\n%s\nfrom whole records:\n%s", a, now, opt, answer(got), answer(want))
				}
			}
		}
		filters := []projections.CustomerFilter{{}, {Limit: 7, After: ids[len(ids)/3]}, {Tier: "vip"}, {Limit: 1000}}
		for _, a := range advisors {
			filters = append(filters, projections.CustomerFilter{Advisor: a, Limit: 1000}, projections.CustomerFilter{Advisor: a, Stale: &stale[0]})
		}
		for i := range stale {
			filters = append(filters, projections.CustomerFilter{Stale: &stale[i], Limit: 1000})
		}
		for _, f := range filters {
			wantPage, wantNext := fromWhole.List(f, now)
			gotPage, gotNext := fromBriefs.List(f, now)
			if answer(gotPage) != answer(wantPage) || gotNext != wantNext {
				t.Errorf("List(%+v) at %s from briefs differs: %s %q, want %s %q", f, now, answer(gotPage), gotNext, answer(wantPage), wantNext)
			}
		}
		if got, want := answer(fromBriefs.Summaries(ids, now)), answer(fromWhole.Summaries(ids, now)); got != want {
			t.Errorf("Summaries at %s from briefs differ:\n%s\nwant\n%s", now, got, want)
		}
	}
	for _, r := range []string{projections.ReasonStale, projections.ReasonLifeEvent, projections.ReasonPitchFollowUp, projections.ReasonNoContact, projections.ReasonVIPAtRisk} {
		if reasons[r] == 0 {
			t.Errorf("no worklist item has reason %s: the bank does not exercise it (%v)", r, reasons)
		}
	}
	if briefBytes*4 > wholeBytes {
		t.Errorf("briefs take %d bytes, whole records %d: a brief should be a fraction", briefBytes, wholeBytes)
	}
}

// addReasons puts the generated bank's customers into four books (a sixth
// of them, VIPs, with B4 as private banker) and gives them life events,
// pitches and balances dated around end, so that every reason to call, and
// its absence, occurs at the clocks the test asks at.
func addReasons(t *testing.T, s events.Store, end time.Time) {
	t.Helper()
	ctx := context.Background()
	all, err := s.ReadAll(ctx, events.Start, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, e := range all {
		if cat, id := events.StreamID(e.Stream); cat == events.CategoryCustomer && e.Version == 1 {
			ids = append(ids, id)
		}
	}
	on := func(days int) string { return end.AddDate(0, 0, days).Format(time.DateOnly) }
	for i, id := range ids {
		ds := []events.Data{&events.AdvisorAssigned{AdvisorID: fmt.Sprintf("B%d", i%4), Kind: "call_centre_rep"}}
		if i%6 == 5 {
			ds = vipBalances(i, end)
		}
		if i%3 == 0 {
			ds = append(ds, &events.LifeEventRecorded{Kind: events.LifeEventKinds[i%len(events.LifeEventKinds)], ExpectedOn: on(i%150 - 30), Note: "note"},
				&events.LifeEventRecorded{Kind: "other"})
		}
		if i%4 == 1 {
			ds = append(ds, &events.ProductPitched{Product: fmt.Sprintf("p%d", i%5), Channel: "branch",
				Outcome: events.PitchOutcomes[i%len(events.PitchOutcomes)], FollowUpOn: on(i%90 - 45), Reason: "reason"})
		}
		if i%7 == 3 {
			ds = append(ds, &events.ProfileVerified{Channel: "branch", OccurredAt: end.AddDate(0, 0, -i%80)})
		}
		if i%5 == 2 {
			ds = append(ds, &events.ConsentChanged{Channel: "sms", Purpose: "marketing", Granted: &[]bool{i%2 == 0}[0]})
		}
		evs := make([]events.Event, len(ds))
		for j, d := range ds {
			if evs[j], err = events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "X2", Role: "admin"}}); err != nil {
				t.Fatalf("%T: %v", d, err)
			}
		}
		if _, err := s.Append(ctx, events.CustomerStream(id), events.Any, evs...); err != nil {
			t.Fatal(err)
		}
	}
}

// vipBalances makes customer i a VIP of private banker B4 with month-end
// balances up to the month before end that fall by i%60 percent over
// three months (some by 2 or 3 percent, many by more than 20).
func vipBalances(i int, end time.Time) []events.Data {
	ds := []events.Data{&events.AdvisorAssigned{AdvisorID: "B4", Kind: "private_banker"},
		&events.TierAssigned{Tier: "vip", Basis: events.TierBasis{DepositBalance: i64(1), ProfitContribution: i64(1), Rule: "test"}}}
	start := int64(200_000_000 + i)
	for m := range 5 {
		asOf := time.Date(end.Year(), end.Month()-time.Month(4-m), 0, 0, 0, 0, 0, time.UTC).Format(time.DateOnly)
		bal := start
		if m >= 3 {
			bal = start - start*int64(i%60)/100*int64(m-2)/2
		}
		ds = append(ds, &events.FinancialsReported{AsOf: asOf, DepositBalance: i64(bal), ProfitContribution: i64(1), Currency: "KRW"})
	}
	return ds
}

// TestUnmarshalBriefRefusesBadInput: a brief cut short at any byte, with a
// byte left over, of another version, or with a list longer than its
// bytes is an error, and leaves the record as it was.
func TestUnmarshalBriefRefusesBadInput(t *testing.T) {
	var r projections.CustomerRecord
	whole := []byte(`{"id":"C1","branchId":"B01","name":"Kim","tier":"vip","advisorId":"R1","consent":5,"registeredAt":100,
		"life":[{"kind":"birth","expectedOn":"2030-01-01","note":"n","recordedAt":"2029-01-01T00:00:00Z"}],
		"pitches":[{"product":"loan","channel":"branch","outcome":"considering","at":"2029-01-01T00:00:00Z","followUpOn":"2030-02-01"}],"version":3}`)
	if err := json.Unmarshal(whole, &r); err != nil {
		t.Fatal(err)
	}
	good := r.MarshalBrief()
	bad := map[string][]byte{
		"empty":                        {},
		"another version":              append([]byte{3}, good[1:]...),
		"version 0":                    append([]byte{0}, good[1:]...),
		"a byte left over":             append(bytes.Clone(good), 0),
		"a list longer than its bytes": append(bytes.Clone(good[:len(good)-2-1-len("2030-02-01")-1-len("considering")-1-len("loan")-1]), 0xff, 0xff, 0x03),
		"more balances than bytes":     append(bytes.Clone(good[:len(good)-1]), 0xff, 0x01, 0x02, 0x02),
		"a balance's day out of range": append(bytes.Clone(good[:len(good)-1]), 0x01, 0x80, 0x80, 0x80, 0x80, 0x20, 0x02),
	}
	for i := 1; i < len(good); i++ {
		bad[fmt.Sprintf("cut to %d bytes", i)] = good[:i]
	}
	for what, b := range bad {
		got := r
		if err := got.UnmarshalBrief(b); err == nil {
			t.Errorf("%s: no error", what)
		}
		if js, _ := json.Marshal(got); !bytes.Equal(js, mustJSON(t, r)) {
			t.Errorf("%s: the record changed to %s", what, js)
		}
	}
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzUnmarshalBrief: no input makes UnmarshalBrief panic, and what it
// accepts encodes to a brief that decodes to the same record.
func FuzzUnmarshalBrief(f *testing.F) {
	var r projections.CustomerRecord
	if err := json.Unmarshal([]byte(`{"id":"C1","name":"Kim","life":[{"kind":"birth"}],"pitches":[{"product":"p","outcome":"declined"}],"registeredAt":-5}`), &r); err != nil {
		f.Fatal(err)
	}
	f.Add(r.MarshalBrief())
	if err := json.Unmarshal([]byte(`{"id":"V1","tier":"vip","advisorKind":"private_banker","balances":[{"asOf":"2026-08-31","depositBalance":9},{"asOf":"2026-11-30","depositBalance":1}]}`), &r); err != nil {
		f.Fatal(err)
	}
	f.Add(r.MarshalBrief())
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var got projections.CustomerRecord
		if err := got.UnmarshalBrief(b); err != nil {
			return
		}
		var again projections.CustomerRecord
		if err := again.UnmarshalBrief(got.MarshalBrief()); err != nil {
			t.Fatalf("%x decodes to a brief whose encoding does not decode: %v", b, err)
		}
		if want, js := mustJSON(t, got), mustJSON(t, again); !bytes.Equal(js, want) {
			t.Fatalf("%x decodes to %s, its encoding to %s", b, want, js)
		}
	})
}
