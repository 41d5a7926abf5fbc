package postgres_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections/postgres"
)

// TestTimelineInOrderOfOccurrence folds interactions entered late into the
// PostgreSQL read models: the customer's recent timeline, last pitch and
// freshness are the in-memory read model's, in the order things happened;
// and a row a previous release wrote in log order is shown in that order.
func TestTimelineInOrderOfOccurrence(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	day := func(m time.Month, d int) time.Time { return time.Date(2026, m, d, 3, 0, 0, 0, time.UTC) }
	appendData(t, s, events.CustomerStream("C1"),
		&events.CustomerRegistered{CustomerID: "C1", Name: "김민지", BranchID: "B1", Source: events.Source{System: "core"}},
		&events.ProductPitched{Product: "LOAN", Channel: "phone_outbound", Outcome: "considering", FollowUpOn: "2026-11-30", OccurredAt: day(11, 16)},
		&events.ContactLogged{Channel: "branch", Purpose: "advice", OccurredAt: day(8, 14)}, // typed up late
		&events.ProductPitched{Product: "LOAN", Channel: "branch", Outcome: "declined", OccurredAt: day(8, 14)},
		&events.ProfileVerified{Channel: "branch", OccurredAt: day(8, 14)},
		&events.ProfileChanged{Changes: map[string]string{"phone": "010-5550-0000"}, Source: "branch"})
	for i := range 7 { // fill the recent timeline past its depth with older contacts
		appendData(t, s, events.CustomerStream("C1"), &events.ContactLogged{Channel: "sms", Purpose: "service", OccurredAt: day(9, 1+i)})
	}
	appendData(t, s, events.CallStream("K1"), &events.CallRecorded{CallID: "K1", CustomerID: "C1", StaffID: "R1", Direction: "inbound",
		StartedAt: day(10, 5), DurationSec: 60, Recording: events.Recording{SHA256: fmt.Sprintf("%064x", 1), ContentType: "audio/wav", Bytes: 1}})

	url := pgtest.Database(t)
	st := openStore(t, url, postgres.Options{})
	run(t, st, s)
	waitHead(t, st, s)
	now := eventstest.Epoch.AddDate(0, 0, 1)
	got, err := st.Customer(context.Background(), "C1", now)
	if err != nil {
		t.Fatal(err)
	}
	want, err := memory(t, s).Customer(context.Background(), "C1", now)
	if err != nil {
		t.Fatal(err)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(want)
	if string(gj) != string(wj) {
		t.Errorf("PostgreSQL\n%s\nmemory\n%s", gj, wj)
	}
	var order []string
	for _, e := range got.Timeline {
		order = append(order, e.Kind+"@"+e.At.Format("01-02"))
	}
	// The profile change happened when it was recorded (Epoch); the August
	// contact and pitch are older than the eight latest.
	if fmt.Sprint(order) != "[profile@11-25 pitch@11-16 call@10-05 contact@09-07 contact@09-06 contact@09-05 contact@09-04 contact@09-03]" {
		t.Errorf("recent timeline %v", order)
	}
	if len(got.Pitches) != 1 || got.Pitches[0].Outcome != "considering" || !got.VerifiedAt.Equal(day(8, 14)) {
		t.Errorf("last pitch %+v, verified %v", got.Pitches, got.VerifiedAt)
	}

	// A row as a release before the timeline order wrote it: entries in
	// log order. Queries show it in order of occurrence.
	legacy := `{"id":"C1","branchId":"B1","name":"김민지","registeredAt":1764032400,"version":13,"timeline":[` +
		`{"kind":"pitch","at":"2026-11-16T03:00:00Z","position":2},{"kind":"contact","at":"2026-08-14T03:00:00Z","position":3},` +
		`{"kind":"profile","at":"2026-11-25T09:00:00Z","position":6}]}`
	if _, err := conn(t, url).Exec(context.Background(), "UPDATE dangol_rm.rm_customers SET state = $1 WHERE id = 'C1'", legacy); err != nil {
		t.Fatal(err)
	}
	old, err := st.Customer(context.Background(), "C1", now)
	if err != nil {
		t.Fatal(err)
	}
	order = order[:0]
	for _, e := range old.Timeline {
		order = append(order, e.Kind+"@"+e.At.Format("01-02"))
	}
	if fmt.Sprint(order) != "[profile@11-25 pitch@11-16 contact@08-14]" {
		t.Errorf("a row in log order shown as %v", order)
	}
}
