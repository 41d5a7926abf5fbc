package projections_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// vipFold folds events into a Customers read model, each recorded at
// vipNow.
type vipFold struct {
	cs *projections.Customers
	v  map[string]uint64
}

var vipNow = time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)

func newVIPFold() *vipFold { return &vipFold{cs: projections.NewCustomers(), v: map[string]uint64{}} }

func (f *vipFold) apply(id string, ds ...events.Data) {
	for _, d := range ds {
		f.v[id]++
		env := &events.Envelope{ID: events.NewID(), Stream: events.CustomerStream(id), Version: f.v[id], RecordedAt: vipNow,
			Actor: events.Actor{ID: "X1", Role: "admin"}}
		f.cs.Apply(projections.Event{Envelope: env, Data: d})
	}
}

// vip registers a VIP in private banker PB1's book.
func (f *vipFold) vip(id string) {
	f.apply(id, &events.CustomerRegistered{CustomerID: id, Name: "x", BranchID: "B1"},
		&events.AdvisorAssigned{AdvisorID: "PB1", Kind: "private_banker"}, tierAssigned("vip", 1))
}

func balance(asOf string, deposit int64) *events.FinancialsReported {
	return &events.FinancialsReported{AsOf: asOf, DepositBalance: i64(deposit), ProfitContribution: i64(1), Currency: "KRW"}
}

// riskOf returns customer id's vip_at_risk detail on PB1's worklist ("" if
// not at risk), from cs.
func riskOf(t *testing.T, cs *projections.Customers, id string, percent int) string {
	t.Helper()
	for _, it := range cs.Worklist("PB1", vipNow, projections.WorklistOptions{VIPRiskPercent: percent}) {
		if it.CustomerID != id {
			continue
		}
		i := slices.Index(it.Reasons, projections.ReasonVIPAtRisk)
		if i < 0 {
			return ""
		}
		for _, d := range it.Details {
			if strings.HasPrefix(d, "balance ") {
				return d
			}
		}
		t.Fatalf("%s is at risk without a detail: %+v", id, it)
	}
	return ""
}

// TestVIPAtRisk: a VIP whose private banker the worklist is of is at risk
// when the latest balance (by asOf) is below (100 − X)% of the latest
// report at least three calendar months older — month ends compare with
// month ends, a fall of exactly X% is not more than X% — with the fall
// rounded down and the older report's day in the detail.
func TestVIPAtRisk(t *testing.T) {
	monthEnds := []string{"2026-08-31", "2026-09-30", "2026-10-31", "2026-11-30"}
	series := func(last int64) []events.Data {
		return []events.Data{balance(monthEnds[0], 100_000_000), balance(monthEnds[1], 95_000_000),
			balance(monthEnds[2], 90_000_000), balance(monthEnds[3], last)}
	}
	for _, tc := range []struct {
		name    string
		reports []events.Data
		percent int
		want    string
	}{
		{"a fall of 25%", series(74_999_999), 0, "balance -25% since 2026-08-31"},
		{"a fall of exactly 20%", series(80_000_000), 0, ""},
		{"a fall of just over 20%", series(79_999_999), 0, "balance -20% since 2026-08-31"},
		{"a fall of 25% at X = 30", series(74_999_999), 30, ""},
		{"a fall of 25% at X = 24", series(74_999_999), 24, "balance -25% since 2026-08-31"},
		{"a fall of 25% at X = 100", series(0), 100, ""},
		{"a fall to nothing", series(0), 0, "balance -100% since 2026-08-31"},
		{"a rise", series(150_000_000), 0, ""},
		{"nothing three months back", []events.Data{balance("2026-09-30", 100_000_000), balance("2026-11-30", 1)}, 0, ""},
		{"mid-month: the month end before is too recent", []events.Data{balance("2026-07-31", 100_000_000), balance("2026-08-31", 200_000_000),
			balance("2026-11-15", 70_000_000)}, 0, "balance -30% since 2026-07-31"},
		{"mid-month: the same day three months before", []events.Data{balance("2026-07-31", 100_000_000), balance("2026-08-15", 200_000_000),
			balance("2026-11-15", 70_000_000)}, 0, "balance -65% since 2026-08-15"},
		{"a shorter month", []events.Data{balance("2026-02-28", 100_000_000), balance("2026-05-30", 50_000_000)}, 0, "balance -50% since 2026-02-28"},
		{"one day short of three months", []events.Data{balance("2026-03-01", 100_000_000), balance("2026-05-31", 50_000_000)}, 0, ""},
		{"a backfilled old report is not the latest", append(series(74_999_999), balance("2026-07-31", 10)), 0, "balance -25% since 2026-08-31"},
		{"a correction of the latest", append(series(74_999_999), balance("2026-11-30", 90_000_000)), 0, ""},
		{"a late newer report is the latest", append(series(74_999_999), balance("2026-12-31", 100_000_000)), 0, ""},
		{"reports out of order", []events.Data{balance("2026-11-30", 60_000_000), balance("2026-08-31", 100_000_000)}, 0,
			"balance -40% since 2026-08-31"},
		{"balances near the maximum", []events.Data{balance("2026-08-31", 1_000_000_000_000_000), balance("2026-11-30", 790_000_000_000_000)}, 0,
			"balance -21% since 2026-08-31"},
		{"weekly reports", weekly(14, 1_000_000, -40_000), 0, "balance -52% since 2026-08-31"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newVIPFold()
			f.vip("V1")
			f.apply("V1", tc.reports...)
			if got := riskOf(t, f.cs, "V1", tc.percent); got != tc.want {
				t.Fatalf("detail %q, want %q", got, tc.want)
			}
			if tc.want == "" {
				return
			}
			// The record's JSON and the brief keep what the reason is decided by.
			r, _ := f.cs.Record("V1")
			var whole, brief projections.CustomerRecord
			if err := json.Unmarshal(mustJSON(t, r), &whole); err != nil {
				t.Fatal(err)
			}
			if err := brief.UnmarshalBrief(r.MarshalBrief()); err != nil {
				t.Fatal(err)
			}
			for what, rec := range map[string]projections.CustomerRecord{"whole record": whole, "brief": brief} {
				if got := riskOf(t, projections.RestoreCustomers([]projections.CustomerRecord{rec}), "V1", tc.percent); got != tc.want {
					t.Errorf("restored from its %s: detail %q, want %q", what, got, tc.want)
				}
			}
		})
	}
}

// weekly returns n weekly reports ending on 2026-11-30 (with n = 14 the
// first is on 2026-08-31, 13 weeks before), the balance starting at start
// and changing by step a week.
func weekly(n int, start, step int64) []events.Data {
	var ds []events.Data
	for i := range n {
		day := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC).AddDate(0, 0, -7*(n-1-i))
		ds = append(ds, balance(day.Format(time.DateOnly), start+step*int64(i)))
	}
	return ds
}

// TestVIPAtRiskOnlyForVIPsOfPrivateBankers: a potential VIP, a VIP whose
// advisor is a call-centre rep, and a VIP after a reassignment to one or a
// fall of tier are not at risk; the reason comes back with the tier and
// the private banker.
func TestVIPAtRiskOnlyForVIPsOfPrivateBankers(t *testing.T) {
	f := newVIPFold()
	falls := []events.Data{balance("2026-08-31", 100), balance("2026-11-30", 10)}
	f.vip("V1")
	f.apply("V1", falls...)
	f.apply("P1", &events.CustomerRegistered{CustomerID: "P1", Name: "x", BranchID: "B1"},
		&events.AdvisorAssigned{AdvisorID: "PB1", Kind: "private_banker"}, tierAssigned("potential_vip", 1))
	f.apply("P1", falls...)
	f.apply("R1", &events.CustomerRegistered{CustomerID: "R1", Name: "x", BranchID: "B1"},
		&events.AdvisorAssigned{AdvisorID: "PB1", Kind: "call_centre_rep"}, tierAssigned("vip", 1))
	f.apply("R1", falls...)
	want := "balance -90% since 2026-08-31"
	if got := [3]string{riskOf(t, f.cs, "V1", 0), riskOf(t, f.cs, "P1", 0), riskOf(t, f.cs, "R1", 0)}; got != [3]string{want, "", ""} {
		t.Fatalf("V1, P1, R1 at risk: %q", got)
	}
	f.apply("V1", tierAssigned("potential_vip", 1))
	if got := riskOf(t, f.cs, "V1", 0); got != "" {
		t.Fatalf("a potential VIP at risk: %q", got)
	}
	f.apply("V1", tierAssigned("vip", 1), &events.AdvisorAssigned{AdvisorID: "PB1", Kind: "call_centre_rep"})
	if got := riskOf(t, f.cs, "V1", 0); got != "" {
		t.Fatalf("a rep's VIP at risk: %q", got)
	}
	f.apply("V1", &events.AdvisorAssigned{AdvisorID: "PB1", Kind: "private_banker"})
	if got := riskOf(t, f.cs, "V1", 0); got != want {
		t.Fatalf("back with the private banker: %q, want %q", got, want)
	}
	for _, it := range f.cs.Worklist("PB2", vipNow, projections.WorklistOptions{}) {
		t.Fatalf("another private banker's worklist has %+v", it)
	}
}

// TestBalancesKeptAreBounded: a customer's state keeps the reports the
// comparison can come to need — the latest at least three months back and
// those after it — not every report ever made.
func TestBalancesKeptAreBounded(t *testing.T) {
	f := newVIPFold()
	f.vip("V1")
	at := time.Date(2020, 1, 31, 0, 0, 0, 0, time.UTC)
	for i := range 60 { // five years of month ends
		f.apply("V1", balance(time.Date(at.Year(), at.Month()+time.Month(i)+1, 0, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), int64(1000-i)))
	}
	r, _ := f.cs.Record("V1")
	var s struct {
		Balances []struct{ AsOf string } `json:"balances"`
	}
	if err := json.Unmarshal(mustJSON(t, r), &s); err != nil {
		t.Fatal(err)
	}
	var days []string
	for _, b := range s.Balances {
		days = append(days, b.AsOf)
	}
	if want := []string{"2024-09-30", "2024-10-31", "2024-11-30", "2024-12-31"}; !slices.Equal(days, want) {
		t.Fatalf("balances kept %v, want %v", days, want)
	}
	// Daily reports: at most 16 kept, so no comparison.
	for i := range 120 {
		f.apply("V1", balance(time.Date(2025, 1, 1+i, 0, 0, 0, 0, time.UTC).Format(time.DateOnly), 1))
	}
	if err := json.Unmarshal(mustJSON(t, r), &s); err != nil || len(s.Balances) != 16 {
		t.Fatalf("%d balances kept of daily reports (%v)", len(s.Balances), err)
	}
}

// TestRecordOfAnEarlierReleaseKeepsItsFinancials: a customer's JSON
// without balances (written before they were kept) starts them from its
// latest financials, so the next report three months on compares with it.
func TestRecordOfAnEarlierReleaseKeepsItsFinancials(t *testing.T) {
	var r projections.CustomerRecord
	old := `{"id":"V1","branchId":"B1","tier":"vip","advisorId":"PB1","advisorKind":"private_banker","registeredAt":1,"version":4,
		"financials":{"asOf":"2026-08-31","depositBalance":100,"profitContribution":1,"currency":"KRW"}}`
	if err := json.Unmarshal([]byte(old), &r); err != nil {
		t.Fatal(err)
	}
	if js := string(mustJSON(t, r)); !strings.Contains(js, `"balances":[{"asOf":"2026-08-31","depositBalance":100}]`) {
		t.Fatalf("record of an earlier release encodes to %s", js)
	}
}

// TestBriefVersion1StillDecodes: a brief of version 1 (no advisor kind, no
// balances) decodes to the record it held, and is not current; version 2
// carries both.
func TestBriefVersion1StillDecodes(t *testing.T) {
	var r projections.CustomerRecord
	whole := `{"id":"V1","branchId":"B1","name":"Kim","tier":"vip","advisorId":"PB1","registeredAt":100,"version":3,
		"pitches":[{"product":"loan","outcome":"considering","followUpOn":"2030-02-01"}]}`
	if err := json.Unmarshal([]byte(whole), &r); err != nil {
		t.Fatal(err)
	}
	v2 := r.MarshalBrief()
	if v2[0] != 2 || !strings.HasSuffix(string(v2), "\x00\x00") {
		t.Fatalf("brief %x: not version 2 ending in an empty kind and no balances", v2)
	}
	v1 := append([]byte{1}, v2[1:len(v2)-2]...)
	if !projections.CurrentBrief(v2) || projections.CurrentBrief(v1) || projections.CurrentBrief(nil) {
		t.Fatalf("CurrentBrief: version 2 %v, version 1 %v, empty %v", projections.CurrentBrief(v2), projections.CurrentBrief(v1), projections.CurrentBrief(nil))
	}
	var got projections.CustomerRecord
	if err := got.UnmarshalBrief(v1); err != nil {
		t.Fatalf("version 1 brief %x: %v", v1, err)
	}
	if again := got.MarshalBrief(); string(again) != string(v2) {
		t.Fatalf("version 1 brief decodes to %x, want %x", again, v2)
	}
}
