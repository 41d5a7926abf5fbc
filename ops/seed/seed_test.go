package seed_test

import (
	"context"
	"crypto/sha256"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/ops/seed"
	"github.com/dangol/dangol/projections"
)

func generate(t *testing.T, n int, s uint64) (*bolt.Store, seed.Stats) {
	st, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{})
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

// digest hashes every stream's events (id, type, data) in stream order,
// independent of how concurrent workers interleaved the streams in the log.
func digest(t *testing.T, s *bolt.Store) [32]byte {
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
	b, sb := generate(t, 1000, 1)
	if sa != sb || digest(t, a) != digest(t, b) {
		t.Fatal("the same config generated different banks")
	}
	c, _ := generate(t, 1000, 2)
	if digest(t, a) == digest(t, c) {
		t.Fatal("a different seed generated the same bank")
	}
}

func TestShapeOfTheBank(t *testing.T) {
	s, stats := generate(t, 20000, 1)
	m := projections.NewMemory()
	all, err := s.ReadAll(context.Background(), events.Start, 1<<22)
	if err != nil {
		t.Fatal(err)
	}
	if int64(len(all)) != stats.Events {
		t.Fatalf("stats say %d events, log has %d", stats.Events, len(all))
	}
	for i := range all {
		d, err := events.Decode(&all[i])
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Projections() {
			p.Apply(projections.Event{Envelope: &all[i], Data: d})
		}
	}
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
	if m.Calls.CoachingReport(time.Now()).Points == 0 {
		t.Fatal("no coaching points generated")
	}
	t.Logf("%d events, %d streams, %d reps, %d PBs, tiers %v, top-7%% share %.3f", stats.Events, stats.Streams,
		stats.Reps, stats.PrivateBankers, tr.ByTier, tr.Concentration[0].Share)
}
