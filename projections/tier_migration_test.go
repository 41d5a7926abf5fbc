package projections_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// kst is 00:00 KST on the day, in UTC (15:00 the day before).
func kst(y int, m time.Month, d int) time.Time {
	return time.Date(y, m, d, 0, 0, 0, 0, time.FixedZone("KST", 9*3600)).UTC()
}

func tierAssigned(tier string, profit int64) *events.TierAssigned {
	return &events.TierAssigned{Tier: tier, Basis: events.TierBasis{DepositBalance: i64(1), ProfitContribution: i64(profit), Rule: "test"}}
}

// TestTierMigrationReport folds a log with the bolt store's clock moved
// month by month and reads the report through Memory: the first month's
// customers come from no tier, moves are counted once per month from the
// tier at the end of the previous month to the one at the end of this, a
// change and its reversal within a month stay on the diagonal, a month
// without assignments repeats the tiers, KST decides the month at the
// 00:00 edge, and the profit is each customer's latest basis.
func TestTierMigrationReport(t *testing.T) {
	clock := eventstest.NewManualClock(kst(2027, 1, 10))
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	add := func(id string, ds ...events.Data) {
		t.Helper()
		exp := events.ExpectedVersion(events.Any)
		if _, ok := ds[0].(*events.CustomerRegistered); ok {
			exp = events.NoStream
		}
		leadAppend(t, s, events.CustomerStream(id), exp, ds...)
	}
	reg := func(id string) *events.CustomerRegistered {
		return &events.CustomerRegistered{CustomerID: id, Name: "x", BranchID: "B1", Source: events.Source{System: "core"}}
	}
	// January: A, B, C get tiers; D is registered without one.
	add("A", reg("A"), tierAssigned("general", 10))
	add("B", reg("B"), tierAssigned("potential_vip", 30))
	add("C", reg("C"), tierAssigned("vip", 60))
	add("D", reg("D"))
	// 1 ns before February in KST: still January.
	clock.Set(kst(2027, 2, 1).Add(-time.Nanosecond))
	add("A", tierAssigned("general", 20)) // profit changes, tier does not
	// February: A rises twice (general → vip), B falls and comes back,
	// D is tiered for the first time.
	clock.Set(kst(2027, 2, 1))
	add("A", tierAssigned("potential_vip", 40), tierAssigned("vip", 50))
	add("B", tierAssigned("general", 5), tierAssigned("potential_vip", 35))
	add("D", tierAssigned("general", -15))
	// March: nothing. April: C falls.
	clock.Set(kst(2027, 4, 30))
	add("C", tierAssigned("potential_vip", 45))

	m := projectionstest.Fold(t, s)
	r, err := m.Report(context.Background(), "tier-migration", kst(2027, 5, 1))
	if err != nil {
		t.Fatal(err)
	}
	want := `[{"month":"2027-01","customers":3,"profit":110,"moved":3,"movedProfit":110,"cells":[` +
		`{"from":"","to":"general","customers":1,"profit":20,"profitShare":0.1818},` +
		`{"from":"","to":"potential_vip","customers":1,"profit":30,"profitShare":0.2727},` +
		`{"from":"","to":"vip","customers":1,"profit":60,"profitShare":0.5455}]},` +
		`{"month":"2027-02","customers":4,"profit":130,"moved":2,"movedProfit":35,"cells":[` +
		`{"from":"","to":"general","customers":1,"profit":-15,"profitShare":-0.1154},` +
		`{"from":"general","to":"vip","customers":1,"profit":50,"profitShare":0.3846},` +
		`{"from":"potential_vip","to":"potential_vip","customers":1,"profit":35,"profitShare":0.2692},` +
		`{"from":"vip","to":"vip","customers":1,"profit":60,"profitShare":0.4615}]},` +
		`{"month":"2027-03","customers":4,"profit":130,"moved":0,"movedProfit":0,"cells":[` +
		`{"from":"general","to":"general","customers":1,"profit":-15,"profitShare":-0.1154},` +
		`{"from":"potential_vip","to":"potential_vip","customers":1,"profit":35,"profitShare":0.2692},` +
		`{"from":"vip","to":"vip","customers":2,"profit":110,"profitShare":0.8462}]},` +
		`{"month":"2027-04","customers":4,"profit":115,"moved":1,"movedProfit":45,"cells":[` +
		`{"from":"general","to":"general","customers":1,"profit":-15,"profitShare":-0.1304},` +
		`{"from":"potential_vip","to":"potential_vip","customers":1,"profit":35,"profitShare":0.3043},` +
		`{"from":"vip","to":"potential_vip","customers":1,"profit":45,"profitShare":0.3913},` +
		`{"from":"vip","to":"vip","customers":1,"profit":50,"profitShare":0.4348}]}]`
	if got := string(mustJSON(t, r)); got != want {
		t.Errorf("report:\n%s\nwant\n%s", got, want)
	}
	if got := mustJSON(t, m.Tiers.Report()); string(got) != want {
		t.Errorf("Tiers.Report differs from Memory.Report: %s", got)
	}
}

// tierEvent is a TierAssigned of customer id recorded at at.
func tierEvent(id string, at time.Time, tier string, profit int64) projections.Event {
	return projections.Event{Envelope: &events.Envelope{Stream: events.CustomerStream(id), RecordedAt: at}, Data: tierAssigned(tier, profit)}
}

// TestTierMigrationLogTimeNeverGoesBack: an assignment recorded before
// one already folded counts in the later one's month, not in a month
// already closed; and a month whose total profit is not positive has no
// shares.
func TestTierMigrationLogTimeNeverGoesBack(t *testing.T) {
	tm := projections.NewTierMigration()
	tm.Apply(tierEvent("A", kst(2027, 3, 5), "general", -10))
	tm.Apply(tierEvent("B", kst(2027, 2, 5), "vip", 5))
	tm.Apply(projections.Event{Envelope: &events.Envelope{Stream: "call-K1", RecordedAt: kst(2027, 9, 1)}, Data: tierAssigned("vip", 1)})
	got := string(mustJSON(t, tm.Report()))
	want := `[{"month":"2027-03","customers":2,"profit":-5,"moved":2,"movedProfit":-5,"cells":[` +
		`{"from":"","to":"general","customers":1,"profit":-10,"profitShare":0},` +
		`{"from":"","to":"vip","customers":1,"profit":5,"profitShare":0}]}]`
	if got != want {
		t.Errorf("report:\n%s\nwant\n%s", got, want)
	}
	if got := mustJSON(t, projections.NewTierMigration().Report()); string(got) != "[]" {
		t.Errorf("empty report %s", got)
	}
}

// TestTierMigrationRestore: after every event of a log spanning a year
// end, RestoreTierMigration of MarshalJSON answers Report as the fold
// does, encodes to the same bytes again, and folds nothing more.
func TestTierMigrationRestore(t *testing.T) {
	tm := projections.NewTierMigration()
	tiers := []string{"general", "potential_vip", "vip"}
	at := kst(2026, 11, 20)
	for i := range 40 {
		at = at.Add(time.Duration(i%7) * 61 * time.Hour)
		tm.Apply(tierEvent(string(rune('A'+i%9)), at, tiers[(i*i)%3], int64(i*3-20)))
		b, err := json.Marshal(tm)
		if err != nil {
			t.Fatal(err)
		}
		back, err := projections.RestoreTierMigration(b)
		if err != nil {
			t.Fatalf("after event %d: %v\n%s", i, err, b)
		}
		if got, want := mustJSON(t, back.Report()), mustJSON(t, tm.Report()); string(got) != string(want) {
			t.Fatalf("after event %d restored report %s, want %s", i, got, want)
		}
		if again := mustJSON(t, back); string(again) != string(b) {
			t.Fatalf("after event %d the restored model encodes to %s, want %s", i, again, b)
		}
		back.Apply(tierEvent("Z", at.AddDate(0, 2, 0), "vip", 1))
		if got := mustJSON(t, back); string(got) != string(b) {
			t.Fatalf("a restored model folded an event: %s", got)
		}
	}
	if n := len(tm.Report()); n < 3 || tm.Report()[1].Month != "2026-12" || tm.Report()[2].Month != "2027-01" {
		t.Fatalf("the log spans %d months: %+v", n, tm.Report())
	}
}

// TestRestoreTierMigrationRefusesBadInput expects an error for what
// MarshalJSON never writes.
func TestRestoreTierMigrationRefusesBadInput(t *testing.T) {
	cell := func(from, to string, n int) string {
		return `{"from":"` + from + `","to":"` + to + `","customers":` + string(rune('0'+n)) + `,"profit":1}`
	}
	month := func(m string, cells ...string) string {
		return `{"month":"` + m + `","cells":[` + strings.Join(cells, ",") + `]}`
	}
	good := `{"months":[` + month("2027-12", cell("", "vip", 1)) + `,` + month("2028-01", cell("vip", "general", 1)) + `]}`
	if _, err := projections.RestoreTierMigration([]byte(good)); err != nil {
		t.Fatalf("good state refused: %v", err)
	}
	for what, in := range map[string]string{
		"not JSON":           `{"months":`,
		"not an object":      `[]`,
		"no months":          `{}`,
		"null months":        `{"months":null}`,
		"null cells":         `{"months":[{"month":"2027-01","cells":null}]}`,
		"no cells":           `{"months":[{"month":"2027-01"}]}`,
		"a bad month":        `{"months":[` + month("2027-13") + `]}`,
		"a month with a day": `{"months":[` + month("2027-01-01") + `]}`,
		"a month skipped":    `{"months":[` + month("2027-01") + `,` + month("2027-03") + `]}`,
		"a month twice":      `{"months":[` + month("2027-01") + `,` + month("2027-01") + `]}`,
		"months backwards":   `{"months":[` + month("2027-02") + `,` + month("2027-01") + `]}`,
		"an unknown tier":    `{"months":[` + month("2027-01", cell("gold", "vip", 1)) + `]}`,
		"to no tier":         `{"months":[` + month("2027-01", cell("vip", "", 1)) + `]}`,
		"a cell twice":       `{"months":[` + month("2027-01", cell("", "vip", 1), cell("", "vip", 1)) + `]}`,
		"cells out of order": `{"months":[` + month("2027-01", cell("vip", "vip", 1), cell("", "vip", 1)) + `]}`,
		"an empty cell":      `{"months":[` + month("2027-01", cell("", "vip", 0)) + `]}`,
	} {
		if tm, err := projections.RestoreTierMigration([]byte(in)); err == nil {
			t.Errorf("%s: RestoreTierMigration(%s) = %v, want an error", what, in, tm.Report())
		}
	}
}

// BenchmarkTierMigrationApply folds TierAssigned over 100,000 customers,
// a new month every 100,000 assignments: the cost of one assignment, the
// closing of months included.
func BenchmarkTierMigrationApply(b *testing.B) {
	const customers = 100_000
	ids := make([]string, customers)
	for i := range ids {
		ids[i] = events.CustomerStream(string(rune('A'+i%26)) + time.Duration(i).String())
	}
	tiers := []*events.TierAssigned{tierAssigned("general", 1), tierAssigned("potential_vip", 5), tierAssigned("vip", 20)}
	env := &events.Envelope{RecordedAt: kst(2027, 1, 1)}
	tm := projections.NewTierMigration()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		env.Stream = ids[i%customers]
		if i%customers == 0 {
			env.RecordedAt = env.RecordedAt.AddDate(0, 1, 0)
		}
		tm.Apply(projections.Event{Envelope: env, Data: tiers[(i*7+i/customers)%3]})
	}
	b.ReportMetric(float64(len(tm.Report())), "months")
}
