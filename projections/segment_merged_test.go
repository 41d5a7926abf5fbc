package projections_test

import (
	"fmt"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// TestSegmenterLeavesMergedAlone: C2's vip financials are in the log
// without their TierAssigned (the process stopped before it was appended)
// when C2 is merged into C1. The next start's segmentation job must not
// append that pending decision to C2's stream after the merge: a merged
// customer's tier is their survivor's. Nor does it decide on financials
// reported on C2 after the merge. The survivor C1 is still decided.
func TestSegmenterLeavesMergedAlone(t *testing.T) {
	s := leadStore(t) // its clock is pinned at leadNow
	fin := func(dep int64) *events.FinancialsReported {
		return &events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(dep), ProfitContribution: i64(0), Currency: "KRW"}
	}
	c1, c2 := events.CustomerStream("C1"), events.CustomerStream("C2")
	leadAppend(t, s, c1, events.NoStream,
		&events.CustomerRegistered{CustomerID: "C1", Name: "x", BranchID: "B1", Source: events.Source{System: "core"}},
		fin(40_000_000))
	leadAppend(t, s, c2, events.NoStream,
		&events.CustomerRegistered{CustomerID: "C2", Name: "x", BranchID: "B1", Source: events.Source{System: "cards"}},
		fin(500_000_000))
	leadAppend(t, s, c1, events.Exact(1), &events.CustomerMerged{MergedID: "C2", Reason: "same person"})
	leadAppend(t, s, c2, events.Exact(1), &events.CustomerMergedInto{SurvivorID: "C1", Reason: "same person"})

	r := projections.NewRunner(s, leadDecode, nil, reactorsFor(s), projections.RunnerOptions{})
	started(t, r)
	waitIdle(t, r)
	if tiers := tiersOf(t, s, c2); len(tiers) != 0 {
		t.Errorf("the merged C2's stream got tiers %v after the merge", tiers)
	}
	if tiers := tiersOf(t, s, c1); fmt.Sprint(tiers) != "[potential_vip]" {
		t.Errorf("the survivor C1's tiers %v, want [potential_vip]", tiers)
	}

	leadAppend(t, s, c2, events.StreamExists, fin(1_000))
	waitPos(t, r, head(t, s))
	waitIdle(t, r)
	if tiers := tiersOf(t, s, c2); len(tiers) != 0 {
		t.Errorf("financials reported on the merged C2 were decided: tiers %v", tiers)
	}
	log, err := s.ReadStream(t.Context(), c2, 0, events.Forward, 100)
	if err != nil {
		t.Fatal(err)
	}
	if last := log[len(log)-1].Type; last != "FinancialsReported" {
		t.Errorf("C2's stream ends with %s", last)
	}
}
