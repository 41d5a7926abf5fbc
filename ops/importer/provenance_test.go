package importer_test

import (
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/ops/importer"
	"github.com/dangol/dangol/projections"
)

// TestImportedPicture folds what the test files import into the read
// models, as a server would, and reads C0000001's view: core's phone is
// the master's, the card application's other phone is card's claim with
// its record's ref, and the two are a conflict.
func TestImportedPicture(t *testing.T) {
	l := embedded(t)
	importFile(t, l, "core", importer.Customers, "core_customers.csv")
	importFile(t, l, "card", importer.Profiles, "card_applications.jsonl")
	v := foldView(t, l, "C0000001")
	var phone *projections.FieldProvenance
	for i := range v.Provenance {
		if v.Provenance[i].Field == "phone" {
			phone = &v.Provenance[i]
		}
	}
	if phone == nil {
		t.Fatalf("C0000001's view has no phone provenance: %+v", v.Provenance)
	}
	bySystem := map[string]projections.Claim{}
	for _, c := range phone.Claims {
		bySystem[c.System] = c
	}
	core, card := bySystem["core"], bySystem["card"]
	if core.Value != "010-5550-0101" {
		t.Errorf("core's phone claim %+v, want the master's value", core)
	}
	if card.Value != "010-5550-9999" || card.Ref != "CARD-APP-7001" || card.Event != "ProfileReported" {
		t.Errorf("card's phone claim %+v", card)
	}
	if phone.Value != "010-5550-0101" || len(phone.Conflict) == 0 {
		t.Errorf("phone: %q survives, conflict %v; want core's verified value and a conflict with card", phone.Value, phone.Conflict)
	}
}

// foldView folds l's log into the read models, as a server would, and
// returns customer id's view.
func foldView(t *testing.T, l *ledger, id string) projections.CustomerView {
	t.Helper()
	m := projections.NewMemory()
	all, err := l.store.ReadAll(t.Context(), events.Start, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		d, err := l.sealer.OpenEnvelope(t.Context(), &all[i])
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Projections() {
			p.Apply(projections.Event{Envelope: &all[i], Data: d})
		}
	}
	v, err := m.Customer(t.Context(), id, eventstest.Epoch)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
