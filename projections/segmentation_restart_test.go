package projections_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// TestSegmenterRestartBetweenAppends: a customer's financials change
// (general) and change back (vip) while the general assignment is being
// appended; the process stops after it lands and before the vip one is
// appended. The next start's replay must still bring the tier back to
// vip: the log's last financials say vip. (The replay forgot: the vip
// financials matched the tier then in the log, so the pending general
// decision was dropped before its own assignment came back.)
func TestSegmenterRestartBetweenAppends(t *testing.T) {
	s := leadStore(t)
	ctx := context.Background()
	stream := events.CustomerStream("C1")
	fin := func(dep int64) *events.FinancialsReported {
		return &events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(dep), ProfitContribution: i64(0), Currency: "KRW"}
	}
	leadAppend(t, s, stream, events.NoStream,
		&events.CustomerRegistered{CustomerID: "C1", Name: "x", BranchID: "B1", Source: events.Source{System: "core"}},
		fin(500_000_000))
	var pos events.Position
	fold := func(seg *projections.Segmenter) {
		evs, err := s.ReadAll(ctx, pos, 1000)
		if err != nil {
			t.Fatal(err)
		}
		for i := range evs {
			d, err := events.Decode(&evs[i])
			if err != nil {
				t.Fatal(err)
			}
			seg.Apply(projections.Event{Envelope: &evs[i], Data: d})
			pos = evs[i].Position
		}
	}
	appendDecision := func(d projections.Decision) {
		ev, err := d.Event()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(ctx, d.Stream, events.StreamExists, ev); err != nil {
			t.Fatal(err)
		}
	}

	seg := projections.NewSegmenter(projections.DefaultTierRule(), s)
	fold(seg)
	if err := seg.Flush(ctx); err != nil { // vip
		t.Fatal(err)
	}
	fold(seg)
	leadAppend(t, s, stream, events.Any, fin(1_000)) // general
	fold(seg)
	handed := seg.Due(10)
	if len(handed) != 1 {
		t.Fatalf("handed out %d decisions, want the general one", len(handed))
	}
	leadAppend(t, s, stream, events.Any, fin(600_000_000)) // vip again, while general is in flight
	fold(seg)
	appendDecision(handed[0]) // general lands; the process stops before vip is appended

	restarted := projections.NewSegmenter(projections.DefaultTierRule(), s)
	pos = events.Start
	fold(restarted)
	if err := restarted.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if tiers := tiersOf(t, s, stream); fmt.Sprint(tiers) != "[vip general vip]" {
		t.Fatalf("tiers in the log %v; want [vip general vip] (the last financials say vip)", tiers)
	}
}
