package projections_test

import (
	"bytes"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// TestReviewConflictPhoneForms: a phone written in another Korean form
// (the country code with the trunk 0 in brackets, 0082, 82 without a
// plus) is the same number, as the likely duplicates (NormalizePhone)
// read it, and no data conflict.
func TestReviewConflictPhoneForms(t *testing.T) {
	for _, phone := range []string{"+82 (0)10-1111-2222", "0082 10 1111 2222", "82-10-1111-2222", "+82 10 1111 2222"} {
		cs := provBank(t, nil, reported("card", day(3, 1), false, map[string]string{"phone": phone}))
		if c := field(provView(t, cs), "phone").Conflict; c != nil {
			t.Errorf("core's 010-1111-2222 and card's %s: conflict %v, want none", phone, c)
		}
		if projections.NormalizePhone(phone) != "01011112222" {
			t.Errorf("NormalizePhone(%s) = %s", phone, projections.NormalizePhone(phone))
		}
	}
}

// TestReviewLatestVerifiedWins: under the default rule "the latest
// verified value wins" (docs/provenance.md): core's value verified with
// the customer after the CRM's own verified entry stands, though the CRM
// ranks first in the priority.
func TestReviewLatestVerifiedWins(t *testing.T) {
	cs := provBank(t, nil,
		logged{&events.ProfileChanged{Changes: map[string]string{"phone": "010-5555-6666"}, Source: "branch", OccurredAt: day(2, 1)}, day(2, 1)},
		reported("core", day(6, 1), true, map[string]string{"phone": "010-7777-8888"}))
	if v := provView(t, cs); v.Phone != "010-7777-8888" || field(v, "phone").System != "core" {
		t.Errorf("phone %q from %q; want core's, verified later than the CRM's", v.Phone, field(v, "phone").System)
	}
}

// TestReviewSnapshotDuplicates: a customer registered after a snapshot
// pairs with a likely duplicate registered before it, restored: the
// duplicates index keeps one key for the two across the restore.
func TestReviewSnapshotDuplicates(t *testing.T) {
	reg := func(id string, v uint64) projections.Event {
		d := &events.CustomerRegistered{CustomerID: id, Name: "김민지 " + id, Phone: "010-1111-2222", BirthDate: "1980-01-02", BranchID: "B1",
			Source: events.Source{System: "core"}}
		ev, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "R1", Role: "rep"}})
		if err != nil {
			t.Fatal(err)
		}
		env := &events.Envelope{ID: ev.ID, Stream: events.CustomerStream(id), Position: events.At(v), Type: ev.Type, Schema: ev.Schema,
			RecordedAt: day(1, int(v)), Actor: ev.Actor, Data: ev.Data}
		return projections.Event{Envelope: env, Data: d}
	}
	before := projections.NewMemory()
	first := reg("C1", 1)
	for _, p := range before.Projections() {
		p.Apply(first)
	}
	var buf bytes.Buffer
	if err := projections.WriteSnapshot(&buf, projections.InfoAt(first.Envelope, events.Position{}), before.Projections()); err != nil {
		t.Fatal(err)
	}
	after := projections.NewMemory()
	if _, err := projections.ReadSnapshot(bytes.NewReader(buf.Bytes()), after.Projections()); err != nil {
		t.Fatal(err)
	}
	second := reg("C2", 2)
	for _, p := range after.Projections() {
		p.Apply(second)
	}
	if pairs, _ := after.Duplicates(t.Context()); len(pairs) != 1 {
		t.Errorf("pairs after the restore and C2's registration: %v, want C1 and C2", pairs)
	}
}
