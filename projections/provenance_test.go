package projections_test

import (
	"bytes"
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// provBank folds customer C1's stream (registered from core on 2026-01-05
// with phone 010-1111-2222 and e-mail kim@example.com, advisor R1) and then
// evs, into customers ruled by rule (nil: the default).
func provBank(t *testing.T, rule *projections.Survivorship, evs ...logged) *projections.Customers {
	t.Helper()
	cs := projections.NewCustomers()
	cs.SetSurvivorship(rule)
	all := append([]logged{
		{&events.CustomerRegistered{CustomerID: "C1", Name: "김민지", Phone: "010-1111-2222", Email: "kim@example.com", BranchID: "B1",
			Source: events.Source{System: "core"}}, day(1, 5)},
		{&events.AdvisorAssigned{AdvisorID: "R1", Kind: "call_centre_rep"}, day(1, 5)}}, evs...)
	foldC1(t, cs, all)
	return cs
}

// foldC1 folds evs as customer C1's stream, from version 0 at position 1.
func foldC1(t *testing.T, cs *projections.Customers, evs []logged) {
	t.Helper()
	for i, l := range evs {
		ev, err := events.NewEvent(l.d, events.Meta{Actor: events.Actor{ID: "system:import:test"}})
		if err != nil {
			t.Fatalf("%T: %v", l.d, err)
		}
		env := &events.Envelope{ID: ev.ID, Stream: "customer-C1", Version: uint64(i), Position: events.At(uint64(i + 1)), Type: ev.Type,
			Schema: ev.Schema, RecordedAt: l.recorded, OccurredAt: ev.OccurredAt, Actor: ev.Actor, Data: ev.Data}
		cs.Apply(projections.Event{Envelope: env, Data: l.d})
	}
}

// reported is a ProfileReported of system observed at `at`.
func reported(system string, at time.Time, verified bool, fields map[string]string) logged {
	return logged{&events.ProfileReported{Source: events.RecordSource{System: system, Ref: system + "-1", Version: "1",
		ObservedAt: at, Verified: verified}, Fields: fields}, at.Add(time.Hour)}
}

func provView(t *testing.T, cs *projections.Customers) projections.CustomerView {
	t.Helper()
	v, ok := cs.Customer("C1", day(12, 1))
	if !ok {
		t.Fatal("no customer C1")
	}
	return v
}

// field returns the provenance of one field of v (zero if it has none).
func field(v projections.CustomerView, name string) projections.FieldProvenance {
	for _, f := range v.Provenance {
		if f.Field == name {
			return f
		}
	}
	return projections.FieldProvenance{}
}

// systems returns the systems of the claims, in the view's order.
func systems(f projections.FieldProvenance) []string {
	var out []string
	for _, c := range f.Claims {
		out = append(out, c.System)
	}
	return out
}

// TestProvenanceRegistrationOnly: a customer only registered keeps no
// claims: the view has no provenance and the worklist no conflict.
func TestProvenanceRegistrationOnly(t *testing.T) {
	cs := provBank(t, nil)
	if v := provView(t, cs); v.Provenance != nil {
		t.Errorf("provenance of a customer only registered: %+v", v.Provenance)
	}
	if w := cs.Worklist("R1", day(12, 1), projections.WorklistOptions{}); slices.Contains(w[0].Reasons, projections.ReasonDataConflict) {
		t.Errorf("worklist %+v", w)
	}
}

// TestProvenanceConflict: the card application's phone differs from core's;
// neither verified, core ranks above card: core's phone stands, the
// conflict is listed in the view and on the worklist, which names the field
// and the systems but no value. The e-mail the card system reports written
// otherwise (upper case) is no conflict.
func TestProvenanceConflict(t *testing.T) {
	cs := provBank(t, nil, reported("card", day(3, 1), false, map[string]string{"phone": "010-3333-4444", "email": "KIM@example.com"}))
	v := provView(t, cs)
	phone := field(v, "phone")
	if v.Phone != "010-1111-2222" || phone.System != "core" || phone.Value != v.Phone {
		t.Fatalf("phone %q from %q (%+v), want core's", v.Phone, phone.System, phone)
	}
	if !slices.Equal(phone.Conflict, []string{"card", "core"}) || !slices.Equal(systems(phone), []string{"core", "card"}) {
		t.Errorf("phone conflict %q, claims of %q; want card and core, core's first", phone.Conflict, systems(phone))
	}
	card := phone.Claims[1]
	want := projections.Claim{System: "card", Value: "010-3333-4444", ObservedAt: day(3, 1), Ref: "card-1", Event: "ProfileReported", Version: 2}
	if card != want {
		t.Errorf("card's claim %+v, want %+v", card, want)
	}
	if email := field(v, "email"); email.Conflict != nil || v.Email != "kim@example.com" {
		t.Errorf("e-mail %q, conflict %q: a value in other case is the same", v.Email, email.Conflict)
	}
	if name := field(v, "name"); name.System != "core" || len(name.Claims) != 1 || name.Claims[0].Event != "CustomerRegistered" {
		t.Errorf("name's provenance %+v: the registration's claim", name)
	}
	w := cs.Worklist("R1", day(12, 1), projections.WorklistOptions{})
	if !slices.Contains(w[0].Reasons, projections.ReasonDataConflict) || !slices.Contains(w[0].Details, "phone: card, core") {
		t.Fatalf("worklist %+v: want data_conflict with detail \"phone: card, core\"", w)
	}
	for _, d := range w[0].Details {
		if strings.Contains(d, "3333") || strings.Contains(d, "1111") {
			t.Errorf("a worklist detail holds a value: %q", d)
		}
	}
}

// TestProvenanceVerifiedWins: internet banking verified the new phone with
// the customer; under the default rule the latest verified claim wins over
// core's unverified one, and core's older claim is superseded: no conflict.
// A newer unverified claim that differs is a conflict again, and does not
// win.
func TestProvenanceVerifiedWins(t *testing.T) {
	cs := provBank(t, nil, reported("internet", day(3, 1), true, map[string]string{"phone": "+82 10-5555-6666"}))
	v := provView(t, cs)
	if p := field(v, "phone"); v.Phone != "+82 10-5555-6666" || p.System != "internet" || p.Conflict != nil {
		t.Fatalf("phone %q from %q, conflict %q; want internet's, none", v.Phone, p.System, p.Conflict)
	}
	cs = provBank(t, nil, reported("internet", day(3, 1), true, map[string]string{"phone": "+82 10-5555-6666"}),
		reported("card", day(4, 1), false, map[string]string{"phone": "010-7777-8888"}),
		reported("loan", day(4, 2), false, map[string]string{"phone": "010-5555-6666"})) // internet's, written the Korean way
	v = provView(t, cs)
	if p := field(v, "phone"); v.Phone != "+82 10-5555-6666" || !slices.Equal(p.Conflict, []string{"card", "internet"}) {
		t.Fatalf("phone %q, conflict %q; want internet's, card against it", v.Phone, p.Conflict)
	}
}

// TestProvenanceCRM: what staff entered from the customer (ProfileChanged)
// is the CRM's verified claim; the customer's confirmation (ProfileVerified
// of the phone) claims the surviving phone anew and settles the conflict
// with a system that reported before it.
func TestProvenanceCRM(t *testing.T) {
	cs := provBank(t, nil, reported("card", day(3, 1), false, map[string]string{"phone": "010-3333-4444"}),
		logged{&events.ProfileVerified{Channel: "phone_outbound", Fields: []string{"phone"}, OccurredAt: day(3, 10)}, day(3, 10)})
	v := provView(t, cs)
	p := field(v, "phone")
	if v.Phone != "010-1111-2222" || p.System != projections.CRMSystem || p.Conflict != nil {
		t.Fatalf("after the confirmation: phone %q from %q, conflict %q; want the CRM's, none", v.Phone, p.System, p.Conflict)
	}
	if c := p.Claims[0]; !c.Verified || !c.ObservedAt.Equal(day(3, 10)) || c.Event != "ProfileVerified" || c.Version != 3 {
		t.Errorf("the confirmation's claim %+v", c)
	}
	w := cs.Worklist("R1", day(12, 1), projections.WorklistOptions{})
	if slices.Contains(w[0].Reasons, projections.ReasonDataConflict) {
		t.Errorf("worklist after the confirmation %+v", w)
	}

	cs = provBank(t, nil, logged{&events.ProfileChanged{Changes: map[string]string{"email": "minji@example.org"}, Source: "branch",
		OccurredAt: day(2, 1)}, day(2, 1)}, reported("card", day(3, 1), false, map[string]string{"email": "old@example.com"}))
	v = provView(t, cs)
	if e := field(v, "email"); v.Email != "minji@example.org" || e.System != projections.CRMSystem ||
		!slices.Equal(e.Conflict, []string{"card", projections.CRMSystem}) {
		t.Fatalf("e-mail %q from %q, conflict %q; want the CRM's against card's newer claim", v.Email, e.System, e.Conflict)
	}
}

// TestProvenanceRule: a configured rule decides: latest first for the phone
// makes the card application's newer phone stand; a priority list that
// puts card first does the same for every field.
func TestProvenanceRule(t *testing.T) {
	card := reported("card", day(3, 1), false, map[string]string{"phone": "010-3333-4444", "email": "card@example.com"})
	rule, err := projections.ParseSurvivorship([]byte(`{"fields":{"phone":{"order":["latest"]}}}`))
	if err != nil {
		t.Fatal(err)
	}
	v := provView(t, provBank(t, rule, card))
	if v.Phone != "010-3333-4444" || v.Email != "kim@example.com" {
		t.Errorf("latest first for the phone: phone %q, e-mail %q", v.Phone, v.Email)
	}
	rule, err = projections.ParseSurvivorship([]byte(`{"priority":["card","core"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if v := provView(t, provBank(t, rule, card)); v.Phone != "010-3333-4444" || v.Email != "card@example.com" {
		t.Errorf("card first: phone %q, e-mail %q", v.Phone, v.Email)
	}
}

// TestParseSurvivorshipInvalid: a malformed rule is refused naming the key.
func TestParseSurvivorshipInvalid(t *testing.T) {
	for raw, field := range map[string]string{
		`{"order":["newest"]}`:                    "order",
		`{"order":["latest","latest"]}`:           "order",
		`{"priority":["core","core"]}`:            "priority",
		`{"priority":[""]}`:                       "priority",
		`{"fields":{"nickname":{}}}`:              "fields",
		`{"fields":{"phone":{"order":["best"]}}}`: "fields.phone.order",
		`{"rules":[]}`:                            "",
		`{"order":[]} {}`:                         "",
		`[]`:                                      "",
	} {
		_, err := projections.ParseSurvivorship([]byte(raw))
		var e *events.Error
		if !errorAs(err, &e) || e.Code != events.Invalid || e.Field != field {
			t.Errorf("ParseSurvivorship(%s) = %v; want Invalid naming %q", raw, err, field)
		}
	}
}

func errorAs(err error, e **events.Error) bool {
	v, ok := err.(*events.Error)
	*e = v
	return ok
}

// TestProvenanceState: the claims survive the customer's JSON state and
// its brief, as a read store keeps them: the restored view and worklist are
// the fold's.
func TestProvenanceState(t *testing.T) {
	cs := provBank(t, nil, reported("card", day(3, 1), false, map[string]string{"phone": "010-3333-4444"}),
		reported("internet", day(3, 2), true, map[string]string{"address": "Busan"}))
	rec, _ := cs.Record("C1")
	js, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	var back projections.CustomerRecord
	if err := json.Unmarshal(js, &back); err != nil {
		t.Fatal(err)
	}
	if got, want := provView(t, projections.RestoreCustomers([]projections.CustomerRecord{back})), provView(t, cs); !reflect.DeepEqual(got, want) {
		t.Errorf("restored view\n got %+v\nwant %+v", got.Provenance, want.Provenance)
	}
	var brief projections.CustomerRecord
	if err := brief.UnmarshalBrief(rec.MarshalBrief()); err != nil {
		t.Fatal(err)
	}
	now := day(12, 1)
	got := projections.RestoreCustomers([]projections.CustomerRecord{brief}).Worklist("R1", now, projections.WorklistOptions{})
	if want := cs.Worklist("R1", now, projections.WorklistOptions{}); !reflect.DeepEqual(got, want) {
		t.Errorf("worklist from the brief\n got %+v\nwant %+v", got, want)
	}
	if !slices.Contains(got[0].Reasons, projections.ReasonDataConflict) {
		t.Errorf("the brief lost the conflict: %+v", got)
	}
}

// TestProvenanceErased: an erasure drops every claim; a report after it
// claims nothing.
func TestProvenanceErased(t *testing.T) {
	cs := provBank(t, nil, reported("card", day(3, 1), false, map[string]string{"phone": "010-3333-4444"}),
		logged{&events.PersonalDataErased{Reason: "customer request", RequestedBy: "customer"}, day(4, 1)},
		reported("loan", day(5, 1), true, map[string]string{"phone": "010-9999-9999"}))
	v := provView(t, cs)
	if v.Provenance != nil || v.Phone != "" {
		t.Errorf("erased customer: phone %q, provenance %+v", v.Phone, v.Provenance)
	}
	rec, _ := cs.Record("C1")
	if js, _ := json.Marshal(rec); strings.Contains(string(js), "3333") || strings.Contains(string(js), "9999") {
		t.Errorf("the erased customer's state holds a claimed value: %s", js)
	}
}

// TestProvenanceSearch: a reported phone that survives (verified) finds the
// customer, and the phone it replaced no longer does.
func TestProvenanceSearch(t *testing.T) {
	m := projections.NewMemory(projections.WithSearchIndex(projectionstest.SearchIndex()))
	applyData(t, m, "customer-C1", 0, &events.CustomerRegistered{CustomerID: "C1", Name: "Kim Minji", Phone: "010-1111-2222",
		BranchID: "B1", Source: events.Source{System: "core"}})
	applyData(t, m, "customer-C1", 1, &events.ProfileReported{Source: events.RecordSource{System: "internet", Ref: "IB-1",
		Version: "1", ObservedAt: day(3, 1), Verified: true}, Fields: map[string]string{"phone": "010-5555-6666"}})
	for q, want := range map[string]int{"010-5555-6666": 1, "010-1111-2222": 0} {
		got, err := m.FindCustomers(t.Context(), projectionstest.SearchQuery(q), 0, day(12, 1))
		if err != nil || len(got) != want {
			t.Errorf("FindCustomers(%s) = %+v, %v; want %d customers", q, got, err, want)
		}
	}
}

// TestProvenanceSnapshot: a snapshot carries the claims and survivors and
// the rule they were folded under: read models built with the same rule
// restore it and fold on by it; built with another, the snapshot is
// refused (the start replays the whole log under the new rule).
func TestProvenanceSnapshot(t *testing.T) {
	rule := func() *projections.Survivorship {
		r, err := projections.ParseSurvivorship([]byte(`{"order":["latest"]}`))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	m := projections.NewMemory(projections.WithSurvivorship(rule()))
	applyData(t, m, "customer-C1", 0, &events.CustomerRegistered{CustomerID: "C1", Name: "Kim Minji", Phone: "010-1111-2222",
		BranchID: "B1", Source: events.Source{System: "core"}})
	applyData(t, m, "customer-C1", 1, &events.ProfileReported{Source: events.RecordSource{System: "card", Ref: "A-1", Version: "1",
		ObservedAt: projectionstest.T0.Add(time.Hour)}, Fields: map[string]string{"phone": "010-3333-4444"}}) // after the registration (at T0)
	var buf bytes.Buffer
	if err := projections.WriteSnapshot(&buf, projections.SnapshotInfo{}, projections.SnapshotRoots(m.Projections(), nil)); err != nil {
		t.Fatal(err)
	}
	snap := buf.Bytes()
	other := projections.NewMemory() // the default rule
	if _, err := projections.ReadSnapshot(bytes.NewReader(snap), projections.SnapshotRoots(other.Projections(), nil)); err == nil {
		t.Fatal("a snapshot taken under latest-first restored into read models of the default rule")
	}
	same := projections.NewMemory(projections.WithSurvivorship(rule()))
	if _, err := projections.ReadSnapshot(bytes.NewReader(snap), projections.SnapshotRoots(same.Projections(), nil)); err != nil {
		t.Fatal(err)
	}
	if v, _ := same.Customers.Customer("C1", day(12, 1)); v.Phone != "010-3333-4444" || len(field(v, "phone").Claims) != 2 {
		t.Fatalf("restored: phone %q, claims %+v; want the card's and both claims", v.Phone, field(v, "phone").Claims)
	}
	applyData(t, same, "customer-C1", 2, &events.ProfileReported{Source: events.RecordSource{System: "loan", Ref: "L-1", Version: "1",
		ObservedAt: projectionstest.T0.Add(2 * time.Hour)}, Fields: map[string]string{"phone": "010-5555-6666"}})
	if v, _ := same.Customers.Customer("C1", day(12, 1)); v.Phone != "010-5555-6666" {
		t.Errorf("after a later report: phone %q, want the loan system's (latest first)", v.Phone)
	}
}

// TestProvenanceImportedRegistration: an import dates the registration
// when core recorded it (the envelope's occurredAt), and core's own report
// of the same record, verified, then replaces the registration's claim: it
// is core's latest, not an older one.
func TestProvenanceImportedRegistration(t *testing.T) {
	cs := projections.NewCustomers()
	observed := day(2, 1)
	apply := func(v uint64, d events.Data) {
		env := &events.Envelope{ID: events.NewID(), Stream: "customer-C1", Version: v, Position: events.At(v + 1), Type: d.EventType(),
			RecordedAt: day(11, 1), OccurredAt: observed} // imported in November, as the importer stamps it
		cs.Apply(projections.Event{Envelope: env, Data: d})
	}
	apply(0, &events.CustomerRegistered{CustomerID: "C1", Name: "Kim Minji", Phone: "010-1111-2222", BranchID: "B1",
		Source: events.Source{System: "core", Ref: "CIF-1"}})
	apply(1, &events.ProfileReported{Source: events.RecordSource{System: "core", Ref: "CIF-1", Version: "1", ObservedAt: observed,
		Verified: true}, Fields: map[string]string{"phone": "010-1111-2222"}})
	apply(2, &events.ProfileReported{Source: events.RecordSource{System: "card", Ref: "APP-1", Version: "1", ObservedAt: day(1, 10)},
		Fields: map[string]string{"phone": "010-3333-4444"}})
	v, _ := cs.Customer("C1", day(12, 1))
	phone := field(v, "phone")
	if c := phone.Claims[0]; c.System != "core" || !c.Verified || c.Event != "ProfileReported" || !c.ObservedAt.Equal(observed) {
		t.Errorf("core's claim %+v: want its verified report", c)
	}
	if phone.Conflict != nil {
		t.Errorf("conflict %q: the card's older claim is superseded by core's verified one", phone.Conflict)
	}
	if name := field(v, "name"); !name.Claims[0].ObservedAt.Equal(observed) {
		t.Errorf("the registration's claim is dated %s, want when core recorded it (%s)", name.Claims[0].ObservedAt, observed)
	}
}
