package projectionstest

import (
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// provenanceOfC1 is the provenance testCustomerView expects of C1: core's
// registration, and the CRM's claim of every field from the verification at
// hours(2). The changed phone and the cleared e-mail keep claims, so the
// verification's is its event (stream version 2); the other fields keep
// none, and show the confirmation by its time only.
func provenanceOfC1() []projections.FieldProvenance {
	field := func(name, now, registered string, version uint64, event string) projections.FieldProvenance {
		return projections.FieldProvenance{Field: name, Value: now, System: projections.CRMSystem, Claims: []projections.Claim{
			{System: projections.CRMSystem, Value: now, ObservedAt: hours(2), Verified: true, Event: event, Version: version},
			{System: "core", Value: registered, ObservedAt: T0, Event: "CustomerRegistered"}}}
	}
	return []projections.FieldProvenance{field("name", "Kim Minjun", "Kim Minjun", 0, ""), field("birthDate", "1980-05-17", "1980-05-17", 0, ""),
		field("phone", "010-9999-0000", "010-1234-5678", 2, "ProfileVerified"), field("email", "", "minjun@example.com", 2, "ProfileVerified"),
		field("address", "1 Sejong-daero, Seoul", "1 Sejong-daero, Seoul", 0, "")}
}

// testProvenance: two systems report a customer's profile. The card
// application's phone differs from core's and loses to it (neither is
// verified; core ranks first): a conflict in the view and a data_conflict
// on the worklist, naming the field and systems only. Internet banking's
// verified address stands. The customer's confirmation of the phone
// settles the conflict. A customer only registered has no provenance.
func testProvenance(t *testing.T, f *fixture) {
	p1, p2 := events.CustomerStream("P1"), events.CustomerStream("P2")
	f.at(T0).add(p1, &events.CustomerRegistered{CustomerID: "P1", Name: "Lee Sora", Phone: "010-1111-2222", Address: "Seoul",
		BranchID: "B03", Source: events.Source{System: "core", Ref: "CIF-1"}})
	f.add(p1, &events.AdvisorAssigned{AdvisorID: "R01", Kind: "call_centre_rep"})
	f.add(p2, &events.CustomerRegistered{CustomerID: "P2", Name: "Han Jiho", BranchID: "B03", Source: events.Source{System: "core"}})
	f.sync()
	report := func(system string, at time.Time, verified bool, fields map[string]string) events.AppendResult {
		return f.at(at.Add(time.Hour)).add(p1, &events.ProfileReported{Source: events.RecordSource{System: system, Ref: system + "-P1",
			Version: "7", ObservedAt: at, Verified: verified}, Fields: fields})
	}
	card := report("card", hours(1), false, map[string]string{"phone": "010-3333-4444", "name": "LEE  Sora"})
	internet := report("internet", hours(2), true, map[string]string{"address": "Busan"})
	rs := f.sync()

	now := T0.AddDate(0, 0, 1)
	v, err := rs.Customer(t.Context(), "P1", now)
	ok(t, "Customer P1", err)
	core := func(value string) projections.Claim {
		return projections.Claim{System: "core", Value: value, ObservedAt: T0, Event: "CustomerRegistered"}
	}
	claim := func(system, value string, at time.Time, verified bool, res events.AppendResult) projections.Claim {
		return projections.Claim{System: system, Value: value, ObservedAt: at, Verified: verified, Ref: system + "-P1",
			Event: "ProfileReported", Version: res.Version}
	}
	want := []projections.FieldProvenance{
		{Field: "name", Value: "Lee Sora", System: "core", Claims: []projections.Claim{core("Lee Sora"),
			claim("card", "LEE  Sora", hours(1), false, card)}}, // the same name, written otherwise
		{Field: "phone", Value: "010-1111-2222", System: "core", Claims: []projections.Claim{core("010-1111-2222"),
			claim("card", "010-3333-4444", hours(1), false, card)}, Conflict: []string{"card", "core"}},
		{Field: "address", Value: "Busan", System: "internet", Claims: []projections.Claim{
			claim("internet", "Busan", hours(2), true, internet), core("Seoul")}},
	}
	same(t, "Customer P1's provenance", v.Provenance, want)
	same(t, "Customer P1's profile", []string{v.Name, v.Phone, v.Address}, []string{"Lee Sora", "010-1111-2222", "Busan"})
	item := projections.WorkItem{CustomerID: "P1", Name: "Lee Sora", BranchID: "B03", DoNotContact: true,
		Reasons: []string{projections.ReasonNoContact, projections.ReasonDataConflict}, Details: []string{"phone: card, core"}}
	work, err := rs.Worklist(t.Context(), "R01", now, projections.WorklistOptions{})
	ok(t, "Worklist R01", err)
	same(t, "Worklist R01 with a conflict", work, []projections.WorkItem{item})
	v2, err := rs.Customer(t.Context(), "P2", now)
	ok(t, "Customer P2", err)
	same(t, "Customer P2's provenance", v2.Provenance, []projections.FieldProvenance(nil))

	f.at(hours(3)).add(p1, &events.ProfileVerified{Channel: "phone_outbound", Fields: []string{"phone"}})
	rs = f.sync()
	v, err = rs.Customer(t.Context(), "P1", now)
	ok(t, "Customer P1", err)
	if phone := v.Provenance[1]; phone.Field != "phone" || phone.System != projections.CRMSystem || phone.Conflict != nil {
		t.Errorf("after the customer confirmed the phone: %+v; want the CRM's claim, no conflict", phone)
	}
	work, err = rs.Worklist(t.Context(), "R01", now, projections.WorklistOptions{})
	ok(t, "Worklist R01", err)
	item.Reasons, item.Details = []string{projections.ReasonNoContact}, nil
	same(t, "Worklist R01 once the phone is confirmed", work, []projections.WorkItem{item})
}

// generateProvenance adds to a generated bank what source systems report
// of a few customers: a card application's phone (a conflict where it
// differs), internet banking's verified e-mail, a loan system's address
// for a customer erased already, and a confirmation after one report.
func generateProvenance(add func(string, ...events.Data), end time.Time) {
	report := func(system string, days int, verified bool, fields map[string]string) *events.ProfileReported {
		return &events.ProfileReported{Source: events.RecordSource{System: system, Ref: system + "-REF", Version: "1",
			ObservedAt: end.AddDate(0, 0, -days), Verified: verified}, Fields: fields}
	}
	add(events.CustomerStream("C0000004"), report("card", 40, false, map[string]string{"phone": "010-4444-0004"}))
	add(events.CustomerStream("C0000005"), report("card", 30, false, map[string]string{"phone": "010-5555-0005", "name": "Card Name"}),
		report("internet", 20, true, map[string]string{"email": "c5@example.com"}))
	add(events.CustomerStream("C0000001"), report("loan", 10, true, map[string]string{"address": "Daegu"}))
	add(events.CustomerStream("C0000006"), report("card", 50, false, map[string]string{"phone": "010-6666-0006"}),
		&events.ProfileVerified{Channel: "branch", Fields: []string{"phone"}})
}
