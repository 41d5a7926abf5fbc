package projections_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// walkTierReport is the tiers report as Customers.TierReport computed it
// before it was kept as the customers change: every customer's record
// walked (merged ones counted as their survivor), then the old
// computation (OldTierReportFrom, tier_report_bench_internal_test.go).
func walkTierReport(t *testing.T, cs *projections.Customers, ids []string, tops []float64) projections.TierReport {
	t.Helper()
	byTier := map[string]int{}
	var profits []int64
	for _, id := range ids {
		r, ok := cs.Record(id)
		if !ok {
			t.Fatalf("customer %s registered but not in the read model", id)
		}
		if r.Tier() == projections.MergedTier {
			continue
		}
		byTier[r.Tier()]++
		if p, ok := r.Profit(); ok {
			profits = append(profits, p)
		}
	}
	return projections.OldTierReportFrom(byTier, profits, tops)
}

var tierTops = []float64{1, 7, 20, 50}

// tierHandEvents are what the generated bank lacks: merges (a chain, and
// the four a fold ignores: a second link, a link to itself, to a customer
// never registered, a cycle), tier and financials changes of merged
// customers, an erased customer merged, a loss, a customer with
// financials and no tier.
func tierHandEvents() []struct {
	id string
	d  events.Data
} {
	p := func(n int64) *int64 { return &n }
	fin := func(profit int64) events.Data {
		return &events.FinancialsReported{AsOf: "2026-06-01", DepositBalance: p(1000), ProfitContribution: p(profit), Currency: "KRW"}
	}
	tier := func(t string) events.Data {
		return &events.TierAssigned{Tier: t, Basis: events.TierBasis{DepositBalance: p(1), ProfitContribution: p(1), Rule: "hand"}}
	}
	merge := func(into string) events.Data {
		return &events.CustomerMergedInto{SurvivorID: into, Reason: "same person"}
	}
	return []struct {
		id string
		d  events.Data
	}{
		{"C0000010", fin(5_000_000)},
		{"C0000010", merge("C0000011")},
		{"C0000010", tier("vip")},
		{"C0000010", fin(9_000_000)},
		{"C0000011", merge("C0000012")}, // a chain: C0000012 absorbs both
		{"C0000013", merge("C0000013")}, // itself: ignored
		{"C0000012", merge("C0000010")}, // a cycle: ignored
		{"C0000010", merge("C0000014")}, // a second link: ignored
		{"C0000015", merge("C9999999")}, // never registered: ignored
		{"C0000016", tier("vip")},
		{"C0000016", fin(-2_000_000)},
		{"C0000016", tier("general")},
		{"C0000016", fin(3_000_000)},
		{"C0000017", &events.PersonalDataErased{Reason: "request", RequestedBy: "customer"}},
		{"C0000017", merge("C0000018")},
		{"C0000018", fin(7_000_000)},
		{"C0000019", tier("potential_vip")},
		{"C0000019", merge("C0000020")},
		{"C0000020", tier("vip")},
		{"C9000001", &events.CustomerRegistered{CustomerID: "C9000001", Name: "Hand Made", BranchID: "B001",
			Source: events.Source{System: "crm"}}},
		{"C9000001", fin(1_000_000)},
		{"C9000001", fin(1_000_000)},
		{"C9000001", merge("C0000021")},
		{"C0000021", fin(0)},
	}
}

// TestTierReportIncremental: the tiers report kept as the customers change
// equals the full walk after every event of the generated bank and of the
// hand-made merges, erasures, tier and financials changes; so does
// Memory.Report, the report of a snapshot restored (and folded on), and
// that of the records restored as a read store does.
func TestTierReportIncremental(t *testing.T) {
	s := snapLog(t, 60)
	ctx := context.Background()
	for _, h := range tierHandEvents() {
		appendHand(t, s, h.id, h.d)
	}
	all := readLog(t, s)
	f := newFolds()
	var ids []string
	kinds := map[string]int{}
	for i := range all {
		f.apply(t, all[i:i+1])
		kinds[all[i].Type]++
		if all[i].Type == "CustomerRegistered" {
			_, id := events.StreamID(all[i].Stream)
			ids = append(ids, id)
		}
		got, want := f.mem.Customers.TierReport(tierTops), walkTierReport(t, f.mem.Customers, ids, tierTops)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("after event %d (%s on %s):\n got %+v\nwant %+v", i, all[i].Type, all[i].Stream, got, want)
		}
	}
	for _, k := range []string{"CustomerRegistered", "TierAssigned", "FinancialsReported", "CustomerMergedInto", "PersonalDataErased"} {
		if kinds[k] < 2 {
			t.Fatalf("the log has %d %s, want some", kinds[k], k)
		}
	}
	want := walkTierReport(t, f.mem.Customers, ids, nil)
	if want.Customers != len(ids)-5 || want.WithFinancial == 0 {
		t.Fatalf("the walk counts %d customers (%d registered, 5 merged), %d with financials", want.Customers, len(ids), want.WithFinancial)
	}
	wantDefault := walkTierReport(t, f.mem.Customers, ids, tierTops)
	got, err := f.mem.Report(ctx, "tiers", snapEnd)
	if err != nil || !reflect.DeepEqual(got, wantDefault) {
		t.Fatalf("Memory.Report: %+v, %v; want %+v", got, err, wantDefault)
	}

	// A snapshot restored gives the same report, and keeps it as it folds on.
	r := restoreFolds(t, f, all)
	if got, err := r.mem.Report(ctx, "tiers", snapEnd); err != nil || !reflect.DeepEqual(got, wantDefault) {
		t.Fatalf("restored: %+v, %v; want %+v", got, err, wantDefault)
	}
	p := func(n int64) *int64 { return &n }
	more := []struct {
		id string
		d  events.Data
	}{
		{"C0000030", &events.CustomerMergedInto{SurvivorID: "C0000031", Reason: "same person"}},
		{"C0000031", &events.TierAssigned{Tier: "vip", Basis: events.TierBasis{DepositBalance: p(1), ProfitContribution: p(1), Rule: "hand"}}},
		{"C0000032", &events.FinancialsReported{AsOf: "2026-07-01", DepositBalance: p(1), ProfitContribution: p(12_345_678), Currency: "KRW"}},
		{ids[len(ids)-1], &events.CustomerMergedInto{SurvivorID: "C0000033", Reason: "same person"}},
	}
	for i, m := range more {
		appendHand(t, s, m.id, m.d)
		tail := readLog(t, s)[len(all)+i:]
		f.apply(t, tail)
		r.apply(t, tail)
		want := walkTierReport(t, f.mem.Customers, ids, tierTops)
		for name, m := range map[string]*projections.Memory{"live": f.mem, "restored": r.mem} {
			if got := m.Customers.TierReport(tierTops); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s, after %T on %s:\n got %+v\nwant %+v", name, more[i].d, more[i].id, got, want)
			}
		}
	}

	// Records restored as a read store loads them give the same report.
	if got, want := restoreRecords(t, f.mem.Customers, ids).TierReport(tierTops), walkTierReport(t, f.mem.Customers, ids, tierTops); !reflect.DeepEqual(got, want) {
		t.Fatalf("RestoreCustomers:\n got %+v\nwant %+v", got, want)
	}
}
