package projections_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/seglog"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// wrapped is a store that hides the one it wraps but for Unwrap, as
// ops/metrics' instrumented store does.
type wrapped struct{ events.Store }

func (w wrapped) Unwrap() events.Store { return w.Store }

// TestExpectSameAnswers proves that sizing the read models before a replay
// (Memory.Expect, by StreamsIn) changes no answer, that StreamsIn counts
// the embedded log's streams through a wrapper, and that Expect on read
// models already holding customers leaves them as they are.
func TestExpectSameAnswers(t *testing.T) {
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s, setClock := generatedLog(t, end)
	// Two events after the cut below build on what came before it: a second
	// customer with the first's phone and birth date (a likely pair, found
	// through Duplicates' maps), and the first's tier changed in the next
	// month (a move out of the tier TierMigration holds for them).
	add := func(stream string, d events.Data) {
		t.Helper()
		e, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "X2", Role: "admin"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(t.Context(), stream, events.Any, e); err != nil {
			t.Fatal(err)
		}
	}
	tier := func(name string, v int64) *events.TierAssigned {
		return &events.TierAssigned{Tier: name, Basis: events.TierBasis{DepositBalance: &v, ProfitContribution: &v, Rule: "test"}}
	}
	add(events.CustomerStream("CX1"), &events.CustomerRegistered{CustomerID: "CX1", Name: "Early", BirthDate: "1970-01-01",
		Phone: "010-9999-0001", BranchID: "B01", Source: events.Source{System: "core"}})
	add(events.CustomerStream("CX1"), tier("vip", 900_000_000))
	before, err := s.ReadAll(t.Context(), events.Start, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	now := end.AddDate(0, 1, 10)
	setClock(now)
	add(events.CustomerStream("CX2"), &events.CustomerRegistered{CustomerID: "CX2", Name: "Late", BirthDate: "1970-01-01",
		Phone: "010-9999-0001", BranchID: "B01", Source: events.Source{System: "card-app"}})
	add(events.CustomerStream("CX1"), tier("general", 1))

	streams := map[string]bool{}
	all, err := s.ReadAll(t.Context(), events.Start, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range all {
		streams[e.Stream] = true
	}
	n := projections.StreamsIn(wrapped{s})
	if n != len(streams) || n < 400 {
		t.Fatalf("StreamsIn = %d, the log holds %d streams (400 customers generated)", n, len(streams))
	}
	if got := projections.StreamsIn(wrapped{eventsOnly{s}}); got != 0 {
		t.Fatalf("StreamsIn of a store that cannot count = %d, want 0", got)
	}

	ids := projectionstest.LogIDs(t, s)
	whole := projectionstest.Fold(t, s)
	if p, _ := whole.Duplicates(t.Context()); !slices.ContainsFunc(p, func(p projections.DuplicatePair) bool {
		return p.CustomerIDs == [2]string{"CX1", "CX2"}
	}) {
		t.Fatalf("CX1 and CX2 are not a likely pair: %+v", p)
	}
	want := projectionstest.Answers(t, whole, ids, now)
	if len(want) < 400 {
		t.Fatalf("%d answers: the bank is not what the test needs", len(want))
	}
	sized := projections.NewMemory()
	sized.Expect(n)
	projectionstest.FoldInto(t, s, sized)
	projectionstest.SameAnswers(t, want, projectionstest.Answers(t, sized, ids, now))

	// Expect in the middle of a replay (a restored snapshot's state, then its
	// tail) must keep what the read models hold: the tail builds on it.
	late := projections.NewMemory()
	foldEnvs(t, late, all[:len(before)])
	late.Expect(n)
	foldEnvs(t, late, all[len(before):])
	projectionstest.SameAnswers(t, want, projectionstest.Answers(t, late, ids, now))
}

// foldEnvs applies envs to m's read models in order.
func foldEnvs(t *testing.T, m *projections.Memory, envs []events.Envelope) {
	t.Helper()
	for i := range envs {
		d, err := events.Decode(&envs[i])
		if err != nil && events.ErrorCode(err) != events.NotFound {
			t.Fatalf("decode %s@%d: %v", envs[i].Stream, envs[i].Version, err)
		}
		for _, p := range m.Projections() {
			p.Apply(projections.Event{Envelope: &envs[i], Data: d})
		}
	}
}

// eventsOnly is a store with nothing but events.Store's methods.
type eventsOnly struct{ events.Store }

// TestRunnerRecycledBatchesSameAnswers proves that a Runner over the
// embedded log, which gives each folded batch back to the store to fill
// again (events.BatchRecycler), builds the read models a direct fold
// builds: nothing a read model keeps points into a recycled batch. Small
// batches, so that hundreds are recycled while the decoder runs ahead.
func TestRunnerRecycledBatchesSameAnswers(t *testing.T) {
	end := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	s, _ := generatedLog(t, end)
	ids := projectionstest.LogIDs(t, s)
	want := projectionstest.Answers(t, projectionstest.Fold(t, s), ids, end)
	for _, size := range []int{7, 1024} {
		mem := projections.NewMemory()
		decode := func(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }
		r := projections.NewRunner(s, decode, mem.Projections(), nil, projections.RunnerOptions{MaxBatch: size})
		mem.Attach(r)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		select {
		case <-r.CaughtUp():
		case err := <-done:
			t.Fatalf("batches of %d: the runner stopped before catching up: %v", size, err)
		}
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
		projectionstest.SameAnswers(t, want, projectionstest.Answers(t, mem, ids, end))
	}
}

// generatedLog is an embedded log holding projectionstest.Generate's bank
// of 400 customers up to end, recorded from four months before it; its
// clock is at end after, and setClock moves it.
func generatedLog(t *testing.T, end time.Time) (s *seglog.Store, setClock func(time.Time)) {
	t.Helper()
	clock := end.AddDate(0, -4, 0)
	s, err := seglog.Open(t.TempDir(), seglog.Options{Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	projectionstest.Generate(t, s, 400, end)
	clock = end
	return s, func(at time.Time) { clock = at }
}
