package projections_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// segmentGated starts a runner whose reactors append through a gate that is
// shut, on a log of C1 (potential_vip financials) and C2 (vip financials),
// and waits until both customers' TierAssigned are handed out and held at
// the gate. The store's clock is pinned at leadNow.
func segmentGated(t *testing.T) (*gate, *projections.Runner) {
	t.Helper()
	s := leadStore(t)
	fin := func(dep int64) *events.FinancialsReported {
		return &events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(dep), ProfitContribution: i64(0), Currency: "KRW"}
	}
	leadAppend(t, s, events.CustomerStream("C1"), events.NoStream,
		&events.CustomerRegistered{CustomerID: "C1", Name: "x", BranchID: "B1", Source: events.Source{System: "core"}},
		fin(40_000_000))
	leadAppend(t, s, events.CustomerStream("C2"), events.NoStream,
		&events.CustomerRegistered{CustomerID: "C2", Name: "x", BranchID: "B1", Source: events.Source{System: "cards"}},
		fin(500_000_000))
	g := newGate(s, 0)
	r := projections.NewRunner(s, leadDecode, nil, reactorsFor(g), projections.RunnerOptions{Appender: g, AppendWorkers: 2})
	started(t, r)
	g.await(t, "both tier decisions held at the gate", func(g *gate) bool { return g.waiting == 2 })
	return g, r
}

// TestSegmenterDecidedThenMerged: C2's TierAssigned is handed out (held at
// the gate, as an append that is slow to land) when C2 is merged into C1.
// Once the gate opens, nothing lands on the merged C2's stream after the
// merge: the decision expected the stream version it was decided against,
// and the merge moved it on. The survivor C1, whose stream the merge's
// first step also moved on, is decided again and gets its tier once.
func TestSegmenterDecidedThenMerged(t *testing.T) {
	g, r := segmentGated(t)
	c1, c2 := events.CustomerStream("C1"), events.CustomerStream("C2")
	leadAppend(t, g.Store, c1, events.Exact(1), &events.CustomerMerged{MergedID: "C2", Reason: "same person"})
	leadAppend(t, g.Store, c2, events.Exact(1), &events.CustomerMergedInto{SurvivorID: "C1", Reason: "same person"})
	waitPos(t, r, head(t, g.Store))

	g.set(func(g *gate) { g.left = -1 })
	waitPos(t, r, head(t, g.Store))
	waitIdle(t, r)
	if tiers := tiersOf(t, g.Store, c2); len(tiers) != 0 {
		t.Errorf("the merged C2's stream got tiers %v: a decision handed out before the merge landed after it", tiers)
	}
	log, err := g.Store.ReadStream(t.Context(), c2, 0, events.Forward, 100)
	if err != nil {
		t.Fatal(err)
	}
	if last := log[len(log)-1].Type; last != "CustomerMergedInto" {
		t.Errorf("C2's stream ends with %s", last)
	}
	if tiers := tiersOf(t, g.Store, c1); fmt.Sprint(tiers) != "[potential_vip]" {
		t.Errorf("the survivor C1's tiers %v, want [potential_vip]", tiers)
	}
	// C2's held decision is always overtaken. C1's held one is overtaken
	// too unless C1's new decision (the same event id: the same tier from
	// the same financials) lands first through the other worker: then the
	// store answers the held one as that append's duplicate, a success.
	// Which worker reaches the store first is the scheduler's, so the
	// counts are not the test's; the log above is.
	if st := r.ReactorStats(); st.Refused != 0 || st.Overtaken < 1 {
		t.Errorf("stats %+v: want C2's decision counted as overtaken, none refused", st)
	}
	nothingToDecide(t, g.Store)
}

// TestSegmenterDecidedThenOvertaken: an ordinary event (an advisor
// assigned) lands on C1's stream while C1's TierAssigned is held at the
// gate. The held append conflicts, and the tier is not lost: the segmenter
// decides it again against the stream's new version, and the log ends with
// one TierAssigned after the advisor's event. A later financials report
// while a decision is held gets its own tier in the end.
func TestSegmenterDecidedThenOvertaken(t *testing.T) {
	g, r := segmentGated(t)
	c1, c2 := events.CustomerStream("C1"), events.CustomerStream("C2")
	leadAppend(t, g.Store, c1, events.Exact(1), &events.AdvisorAssigned{AdvisorID: "R1", Kind: "private_banker"})
	leadAppend(t, g.Store, c2, events.Exact(1), &events.FinancialsReported{AsOf: "2026-11-30",
		DepositBalance: i64(1_000), ProfitContribution: i64(0), Currency: "KRW"})
	waitPos(t, r, head(t, g.Store))

	g.set(func(g *gate) { g.left = -1 })
	waitPos(t, r, head(t, g.Store))
	waitIdle(t, r)
	if tiers := tiersOf(t, g.Store, c1); fmt.Sprint(tiers) != "[potential_vip]" {
		t.Errorf("C1's tiers %v, want [potential_vip]", tiers)
	}
	if tiers := tiersOf(t, g.Store, c2); fmt.Sprint(tiers) != "[general]" {
		t.Errorf("C2's tiers %v, want [general] (its latest financials)", tiers)
	}
	for _, c := range []string{c1, c2} {
		log, err := g.Store.ReadStream(t.Context(), c, 0, events.Forward, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n, last := len(log), log[len(log)-1].Type; n != 4 || last != "TierAssigned" {
			t.Errorf("%s: %d events ending with %s; want 4 ending with TierAssigned", c, n, last)
		}
	}
	// As in TestSegmenterDecidedThenMerged, a held decision whose
	// re-decision (the same event id) landed first through the other
	// worker is answered as its duplicate: how many count as overtaken is
	// the scheduler's; the streams above are the test.
	if st := r.ReactorStats(); st.Refused != 0 || st.Overtaken < 1 {
		t.Errorf("stats %+v: want an overtaken decision counted, none refused", st)
	}
	nothingToDecide(t, g.Store)
}

// nothingToDecide checks a fresh segmenter's replay of the log decides
// nothing.
func nothingToDecide(t *testing.T, s events.Store) {
	t.Helper()
	replay := projections.NewSegmenter(projections.DefaultTierRule(), s)
	foldFrom(t, s, replay, events.Start)
	if due := replay.Due(10); len(due) != 0 {
		t.Errorf("a replay would decide again: %+v", due)
	}
}

// foldFrom applies the log after from to seg and returns the position of
// its last event.
func foldFrom(t *testing.T, s events.Store, seg *projections.Segmenter, from events.Position) events.Position {
	t.Helper()
	all, err := s.ReadAll(context.Background(), from, 100)
	if err != nil {
		t.Fatal(err)
	}
	for i := range all {
		d, err := events.Decode(&all[i])
		if err != nil {
			t.Fatal(err)
		}
		seg.Apply(projections.Event{Envelope: &all[i], Data: d})
		from = all[i].Position
	}
	return from
}

// TestSegmenterFlushOvertaken: driven by hand, a Flush whose decision a
// later event overtook reports no error and appends nothing; once the
// segmenter has folded that event, the next Flush appends the tier against
// the stream's new version.
func TestSegmenterFlushOvertaken(t *testing.T) {
	s := leadStore(t)
	c1 := events.CustomerStream("C1")
	leadAppend(t, s, c1, events.NoStream,
		&events.CustomerRegistered{CustomerID: "C1", Name: "x", BranchID: "B1", Source: events.Source{System: "core"}},
		&events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(500_000_000), ProfitContribution: i64(0), Currency: "KRW"})
	seg := projections.NewSegmenter(projections.DefaultTierRule(), s)
	at := foldFrom(t, s, seg, events.Start)
	leadAppend(t, s, c1, events.Exact(1), &events.AdvisorAssigned{AdvisorID: "R1", Kind: "private_banker"})
	if err := seg.Flush(t.Context()); err != nil {
		t.Fatalf("Flush of an overtaken decision: %v", err)
	}
	if tiers := tiersOf(t, s, c1); len(tiers) != 0 {
		t.Fatalf("an overtaken decision landed: %v", tiers)
	}
	foldFrom(t, s, seg, at)
	if err := seg.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	if tiers := tiersOf(t, s, c1); fmt.Sprint(tiers) != "[vip]" {
		t.Fatalf("tiers %v after the fold and Flush, want [vip]", tiers)
	}
}
