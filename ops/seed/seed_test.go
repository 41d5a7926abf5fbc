package seed_test

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/seglog"
	"github.com/dangol/dangol/ops/seed"
	"github.com/dangol/dangol/projections"
)

// end is the simulated "today" of the generated bank (seed.Config.End's
// default); the store records at eventstest.Epoch, after it.
var end = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func generate(t *testing.T, n int, s uint64) (*bolt.Store, seed.Stats) {
	return generateAt(t, n, s, eventstest.Clock(eventstest.Epoch))
}

func generateAt(t *testing.T, n int, s uint64, now events.Clock) (*bolt.Store, seed.Stats) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	stats, err := seed.Generate(context.Background(), seed.Config{Customers: n, Seed: s}, st)
	if err != nil {
		t.Fatal(err)
	}
	return st, stats
}

// allReader reads the whole log (bolt and the segment log).
type allReader interface {
	ReadAll(ctx context.Context, from events.Position, limit int) ([]events.Envelope, error)
}

// digest hashes every stream's events (id, type, data) in stream order,
// independent of how concurrent workers interleaved the streams in the log.
func digest(t *testing.T, s allReader) [32]byte {
	all, err := s.ReadAll(context.Background(), events.Start, 1<<22)
	if err != nil {
		t.Fatal(err)
	}
	sort.SliceStable(all, func(i, j int) bool {
		if all[i].Stream != all[j].Stream {
			return all[i].Stream < all[j].Stream
		}
		return all[i].Version < all[j].Version
	})
	h := sha256.New()
	for _, e := range all {
		h.Write([]byte(e.Stream + e.Type + e.ID.String()))
		h.Write(e.Data)
	}
	var d [32]byte
	copy(d[:], h.Sum(nil))
	return d
}

func TestDeterministic(t *testing.T) {
	a, sa := generate(t, 1000, 1)
	// The store's clock (recordedAt) is not part of what is generated.
	b, sb := generateAt(t, 1000, 1, eventstest.Clock(eventstest.Epoch.AddDate(1, 0, 0)))
	if sa != sb || digest(t, a) != digest(t, b) {
		t.Fatal("the same config generated different banks")
	}
	c, _ := generate(t, 1000, 2)
	if digest(t, a) == digest(t, c) {
		t.Fatal("a different seed generated the same bank")
	}
}

// batchCounter is a segment log that counts the appends made to it one
// stream at a time and in batches.
type batchCounter struct {
	*seglog.Store
	appends, batches, streams atomic.Int64
}

func (c *batchCounter) Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	c.appends.Add(1)
	return c.Store.Append(ctx, stream, expected, evs...)
}

func (c *batchCounter) AppendBatch(ctx context.Context, batch []events.StreamAppend) ([]events.AppendResult, []error) {
	c.batches.Add(1)
	c.streams.Add(int64(len(batch)))
	return c.Store.AppendBatch(ctx, batch)
}

// TestBatchedSameBank: on a store that appends batches, the bank goes in
// batches of many streams (no stream appended alone) and is the bank
// appended stream by stream; a batch's refusal (another bank seeded over
// it: its streams exist) is Generate's error.
func TestBatchedSameBank(t *testing.T) {
	want, sw := generate(t, 3000, 1)
	sl, err := seglog.Open(t.TempDir(), seglog.Options{Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sl.Close() })
	c := &batchCounter{Store: sl}
	got, err := seed.Generate(context.Background(), seed.Config{Customers: 3000, Seed: 1}, c)
	if err != nil {
		t.Fatal(err)
	}
	if got != sw || digest(t, sl) != digest(t, want) {
		t.Fatalf("batched: %+v, stream by stream: %+v, or their events differ", got, sw)
	}
	if c.appends.Load() != 0 || c.streams.Load() != got.Streams || c.batches.Load() > got.Streams/20 {
		t.Fatalf("%d single appends, %d batches of %d streams in all, for %d streams", c.appends.Load(), c.batches.Load(), c.streams.Load(), got.Streams)
	}
	if _, err := seed.Generate(context.Background(), seed.Config{Customers: 3000, Seed: 2}, c); err == nil {
		t.Fatal("seeding another bank over it succeeded")
	}
}

func TestShapeOfTheBank(t *testing.T) {
	s, stats := generate(t, 20000, 1)
	if n := len(readAll(t, s)); int64(n) != stats.Events {
		t.Fatalf("stats say %d events, log has %d", stats.Events, n)
	}
	m := fold(t, s)
	tr := m.Customers.TierReport([]float64{7})
	if tr.Customers != 20000 {
		t.Fatalf("%d customers", tr.Customers)
	}
	if share := tr.Concentration[0].Share; share < 0.85 || share > 0.95 {
		t.Fatalf("top 7%% hold %.3f of profit, want ≈0.9", share)
	}
	vip, pot := float64(tr.ByTier["vip"])/20000, float64(tr.ByTier["potential_vip"])/20000
	if vip < 0.009 || vip > 0.017 || pot < 0.007 || pot > 0.013 {
		t.Fatalf("tier shares vip %.4f potential %.4f", vip, pot)
	}
	if m.Calls.CoachingReport(end).Points == 0 {
		t.Fatal("no coaching points generated")
	}
	t.Logf("%d events, %d streams, %d reps, %d PBs, tiers %v, top-7%% share %.3f", stats.Events, stats.Streams,
		stats.Reps, stats.PrivateBankers, tr.ByTier, tr.Concentration[0].Share)
	checkQA(t, m)
}

// checkQA checks the quality assurance the bank holds: the form's two
// versions, reviews on each in the new shape (item ids, a critical item,
// N/A, points at a second of their call), disputes of every status, a
// re-score that answers no dispute, and a closed calibration of three
// evaluators.
func checkQA(t *testing.T, m *projections.Memory) {
	t.Helper()
	if f, ok := m.QA.Form("QA-2026", 0); !ok || f.Version != 2 || len(f.Items) != 4 || !f.Items[2].Critical || !f.Items[3].NAAllowed {
		t.Fatalf("the form's latest version: %+v", f)
	}
	if f, ok := m.QA.Form("QA-2026", 1); !ok || len(f.Items) != 3 {
		t.Fatalf("the form's version 1: %+v", f)
	}
	versions, failed, na, corrections, points := map[int]int{}, 0, 0, 0, 0
	for _, c := range m.Calls.Evaluations(projections.EvaluationFilter{}) {
		for _, ev := range c.Evaluations {
			versions[ev.FormVersion]++
			if ev.CriticalFailed {
				failed++
			}
			for _, it := range ev.Items {
				if it.ItemID == "" {
					t.Fatalf("%s: an item without its id: %+v", c.ID, it)
				}
				if it.NA {
					na++
				}
			}
			if ev.Supersedes > 0 && ev.DisputeID == "" {
				corrections++
			}
		}
	}
	for _, p := range m.Calls.Coaching(projections.CoachingFilter{}, end) {
		if p.AtSec != nil && p.ItemID == "needs_analysis" {
			points++
		}
	}
	status := map[string]int{}
	for _, d := range m.Calls.Disputes(projections.DisputeFilter{}) {
		status[d.Status]++
	}
	t.Logf("evaluations by form version %v, %d failed a critical item, %d items N/A, %d corrections, disputes %v, %d points at a second",
		versions, failed, na, corrections, status, points)
	if versions[1] == 0 || versions[2] == 0 || versions[0] != 0 || failed == 0 || na == 0 || corrections == 0 || points == 0 {
		t.Errorf("the reviews do not exercise the new shape")
	}
	for _, st := range []string{projections.DisputeOpen, projections.DisputeUpheld, projections.DisputeRescored} {
		if status[st] == 0 {
			t.Errorf("no dispute %s", st)
		}
	}
	cs := m.QA.Calibrations(projections.CalibrationFilter{Status: projections.CalibrationClosed})
	if len(cs) != 1 || len(cs[0].Scores) != 3 || len(cs[0].Evaluators) != 3 || len(cs[0].Items) != 3 && len(cs[0].Items) != 4 {
		t.Fatalf("closed calibrations: %+v", cs)
	}
}

// TestCoherentTimes checks the times of every customer stream: the
// interactions happened after the registration and before end, say when
// (occurredAt, also in the envelope) and are appended in that order but
// for the contacts typed up late, at most thirty days late; a pitch's
// follow-up day comes after it, and a call back on that day comes after it.
func TestCoherentTimes(t *testing.T) {
	s, _ := generate(t, 3000, 3)
	all, err := s.ReadAll(context.Background(), events.Start, 1<<22)
	if err != nil {
		t.Fatal(err)
	}
	type pitched struct {
		at       time.Time
		followUp string
	}
	var late, callBacks, interactions, rounds int
	var registered time.Time
	var prev time.Time // when the previous event of the stream was entered
	var pitches map[string][]pitched
	for i := range all {
		e := &all[i]
		if cat, _ := events.StreamID(e.Stream); cat != events.CategoryCustomer {
			continue
		}
		d, err := events.Decode(e)
		if err != nil {
			t.Fatal(err)
		}
		entered := time.UnixMilli(int64(e.ID.Time())).UTC() // the seed dates an id when the event is entered
		if e.Version == 0 {
			registered, prev, pitches = entered, entered, map[string][]pitched{}
			continue
		}
		if !entered.Before(end) {
			// The campaigns' rounds, appended after every history (so
			// interleaved with other streams): pitches made as they are
			// recorded (no occurredAt), so that they fall in the
			// attribution window of a target who joined in the log.
			if p, ok := d.(*events.ProductPitched); ok && (!p.OccurredAt.IsZero() || p.FollowUpOn != "") {
				t.Fatalf("%s@%d: a campaign round's pitch says when it was made: %+v", e.Stream, e.Version, p)
			}
			rounds++
			continue
		}
		if entered.Before(prev) {
			t.Fatalf("%s@%d (%s) entered %v, before the previous event (%v)", e.Stream, e.Version, e.Type, entered, prev)
		}
		prev = entered
		o, ok := d.(interface{ Occurred() time.Time })
		if !ok {
			continue
		}
		interactions++
		at := o.Occurred()
		switch {
		case at.IsZero() || !at.Equal(e.OccurredAt):
			t.Fatalf("%s@%d %s: occurredAt %v, envelope %v", e.Stream, e.Version, e.Type, at, e.OccurredAt)
		case !at.After(registered) || !at.Before(end) || at.After(e.RecordedAt):
			t.Fatalf("%s@%d %s happened %v: not between the registration %v and end %v, or after it was recorded (%v)",
				e.Stream, e.Version, e.Type, at, registered, end, e.RecordedAt)
		case entered.Before(at.Truncate(time.Millisecond)) || entered.After(at.AddDate(0, 0, 30)): // ids have milliseconds
			t.Fatalf("%s@%d %s happened %v, entered %v", e.Stream, e.Version, e.Type, at, entered)
		}
		if entered.After(at.Truncate(time.Millisecond)) {
			if e.Type != "ContactLogged" {
				t.Fatalf("%s@%d: a %s entered late", e.Stream, e.Version, e.Type)
			}
			late++
		}
		if p, ok := d.(*events.ProductPitched); ok {
			if p.FollowUpOn != "" && p.FollowUpOn <= at.Format(time.DateOnly) {
				t.Fatalf("%s@%d: follow-up on %s for a pitch of %v", e.Stream, e.Version, p.FollowUpOn, at)
			}
			for _, q := range pitches[p.Product] {
				if q.followUp == at.Format(time.DateOnly) {
					callBacks++
				}
			}
			pitches[p.Product] = append(pitches[p.Product], pitched{at, p.FollowUpOn})
		}
	}
	t.Logf("%d interactions, %d contacts entered late, %d call backs on the follow-up day, %d events of the campaigns' rounds",
		interactions, late, callBacks, rounds)
	if late == 0 || callBacks == 0 || rounds == 0 {
		t.Errorf("%d late contacts, %d call backs: the generated bank does not exercise the timeline's order", late, callBacks)
	}
}
