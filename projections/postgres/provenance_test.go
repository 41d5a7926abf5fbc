package postgres_test

import (
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
)

// TestSurvivorshipOption: the writer picks surviving claims by
// Options.Survivorship, and Rebuild by its own: the default keeps core's
// phone over the card application's, a rule of the latest claim first
// makes the card's stand in the rows, and a rebuild under the default puts
// core's back.
func TestSurvivorshipOption(t *testing.T) {
	s := logStore(t, 0)
	appendData(t, s, events.CustomerStream("S1"), &events.CustomerRegistered{CustomerID: "S1", Name: "Seo Yuna", Phone: "010-1111-2222",
		BranchID: "B01", Source: events.Source{System: "core"}},
		&events.ProfileReported{Source: events.RecordSource{System: "card", Ref: "APP-1", Version: "1", ObservedAt: seedEnd.Add(time.Minute)}, // after the registration, recorded at seedEnd
			Fields: map[string]string{"phone": "010-3333-4444"}})
	latest, err := projections.ParseSurvivorship([]byte(`{"order":["latest"]}`))
	if err != nil {
		t.Fatal(err)
	}
	phone := func(st *postgres.Store) string {
		t.Helper()
		v, err := st.Customer(t.Context(), "S1", seedEnd)
		if err != nil {
			t.Fatal(err)
		}
		return v.Phone
	}
	url := pgtest.Database(t)
	st := openStore(t, url, postgres.Options{Survivorship: latest})
	stop := run(t, st, s)
	waitHead(t, st, s)
	if got := phone(st); got != "010-3333-4444" {
		t.Errorf("latest first: phone %q, want the card's", got)
	}
	stop()
	if _, err := postgres.Rebuild(t.Context(), url, postgres.Log{Source: s, Decode: decode}, postgres.Options{}); err != nil {
		t.Fatal(err)
	}
	if got := phone(st); got != "010-1111-2222" {
		t.Errorf("rebuilt under the default rule: phone %q, want core's", got)
	}
}
