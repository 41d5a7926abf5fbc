package importer

import (
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// TestEventIDFromTheRecord: the same record gives the same id on every
// call; a change of system, kind, reference, version or event type gives
// another; observedAt does not enter it (a record re-sent at its version
// observed at another time is the same record, changed).
func TestEventIDFromTheRecord(t *testing.T) {
	at := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	src := events.RecordSource{System: "core", Ref: "CIF1", Version: "3", ObservedAt: at}
	base := eventID("core", Customers, src, "ProfileReported")
	if again := eventID("core", Customers, src, "ProfileReported"); again != base {
		t.Fatalf("two ids for one record: %s, %s", base, again)
	}
	other := func(f func(*events.RecordSource)) events.RecordSource { s := src; f(&s); return s }
	for name, id := range map[string][16]byte{
		"system":  eventID("card", Customers, src, "ProfileReported"),
		"kind":    eventID("core", Profiles, src, "ProfileReported"),
		"ref":     eventID("core", Customers, other(func(s *events.RecordSource) { s.Ref = "CIF13" }), "ProfileReported"),
		"version": eventID("core", Customers, other(func(s *events.RecordSource) { s.Version = "4" }), "ProfileReported"),
		"type":    eventID("core", Customers, src, "CustomerRegistered"),
		// "CIF1"+"3" and "CIF13"+"" must not run together alike.
		"parts": eventID("core", Customers, other(func(s *events.RecordSource) { s.Ref, s.Version = "CIF13", "" }), "ProfileReported"),
	} {
		if id == base {
			t.Errorf("another %s gives the same id", name)
		}
	}
	if later := eventID("core", Customers, other(func(s *events.RecordSource) { s.ObservedAt = at.AddDate(0, 0, 1) }), "ProfileReported"); later != base {
		t.Errorf("the record observed a day later has another id: %s, %s", later, base)
	}
}
