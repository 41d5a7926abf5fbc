package seed_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// TestSeededSurvivorship checks that the seeded bank names its source
// system as the importer and the default survivorship rule do (core, not
// a name the priority list lacks): a seeded customer who never confirmed
// their data keeps core's phone against a card application's later,
// unverified one (priority: core before card), the two listed as a
// conflict; a verified card claim then wins (the latest verified value),
// as docs/provenance.md says.
func TestSeededSurvivorship(t *testing.T) {
	s, _ := generate(t, 1000, 1)
	ctx := context.Background()
	// A customer whose history has no confirmation of their data: a
	// confirmation would seed a verified crm claim, which beats both.
	var id, phone string
	regs := map[string]*events.CustomerRegistered{}
	confirmed := map[string]bool{}
	for _, e := range readAll(t, s) {
		d, err := events.Decode(&e)
		if err != nil {
			t.Fatal(err)
		}
		_, cid := events.StreamID(e.Stream)
		switch d := d.(type) {
		case *events.CustomerRegistered:
			regs[cid] = d
			if !slices.Contains(projections.DefaultPriority, d.Source.System) {
				t.Fatalf("%s is registered from %q, which the default survivorship priority %v does not list", cid, d.Source.System, projections.DefaultPriority)
			}
		case *events.ProfileVerified:
			confirmed[cid] = true
		case *events.ContactLogged:
			if d.Purpose == "data_refresh" {
				confirmed[cid] = true
			}
		}
	}
	for i := 1; i <= 1000 && id == ""; i++ {
		cid := fmt.Sprintf("C%07d", i)
		if r := regs[cid]; r != nil && !confirmed[cid] && r.Phone != "" {
			id, phone = cid, r.Phone
		}
	}
	if id == "" {
		t.Fatal("no seeded customer without a confirmation")
	}
	report := func(ref string, at time.Time, verified bool) {
		t.Helper()
		ev, err := events.NewEvent(&events.ProfileReported{
			Source: events.RecordSource{System: "card", Ref: ref, Version: "1", ObservedAt: at, Verified: verified},
			Fields: map[string]string{"phone": "010-5550-0001"}}, events.Meta{Actor: events.System("import:card")})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, events.CustomerStream(id), events.StreamExists, ev); err != nil {
			t.Fatal(err)
		}
	}
	report("CARD-1", end.Add(-time.Hour), false)
	v, err := fold(t, s).Customer(ctx, id, end)
	if err != nil {
		t.Fatal(err)
	}
	fp := fieldOf(v, "phone")
	if v.Phone != phone || fp.System != "core" || !slices.Equal(fp.Conflict, []string{"card", "core"}) {
		t.Fatalf("an unverified card phone against the seeded core one: phone %q (want the seeded %q), provenance %+v", v.Phone, phone, fp)
	}
	report("CARD-2", end.Add(-time.Minute), true)
	v, err = fold(t, s).Customer(ctx, id, end)
	if err != nil {
		t.Fatal(err)
	}
	if fp := fieldOf(v, "phone"); v.Phone != "010-5550-0001" || fp.System != "card" {
		t.Fatalf("a verified card phone: phone %q, provenance %+v; want card's", v.Phone, fp)
	}
}

func fieldOf(v projections.CustomerView, field string) projections.FieldProvenance {
	for _, fp := range v.Provenance {
		if fp.Field == field {
			return fp
		}
	}
	return projections.FieldProvenance{}
}
