package events_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/pii/boltkeys"
	"github.com/dangol/dangol/events/pii/piitest"
)

// TestProfileReportedSealed seals a report the way the API and the importer
// do (events.NewEvent with a pii sealer): no value is left in clear in the
// stored bytes, and opening gives back every value.
func TestProfileReportedSealed(t *testing.T) {
	ctx := context.Background()
	keys, err := boltkeys.Open(filepath.Join(t.TempDir(), "keys.db"), piitest.NewMaster(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { keys.Close() })
	s := pii.NewSealer(keys)
	d := mustParse(t, "ProfileReported", []byte(examples["ProfileReported"])).(*events.ProfileReported)
	want := map[string]string{"email": "minji@example.com", "phone": "+82 10-5550-9999"}
	ev, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "system:import:card"}, Seal: s.SealFor(ctx, "C1001")})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range want {
		if strings.Contains(string(ev.Data), v) {
			t.Fatalf("stored data holds %q in clear: %s", v, ev.Data)
		}
	}
	var stored events.ProfileReported
	if err := json.Unmarshal(ev.Data, &stored); err != nil {
		t.Fatal(err)
	}
	if stored.Source.System != "card" || !stored.Source.Verified {
		t.Errorf("source is not in clear: %+v", stored.Source)
	}
	if err := s.Open(ctx, "C1001", &stored); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(stored.Fields, want) {
		t.Errorf("opened %q, want %q", stored.Fields, want)
	}
	if err := s.Open(ctx, "C1002", &events.ProfileReported{Fields: d.Fields}); err == nil {
		t.Error("another customer's key opened the values")
	}
}
