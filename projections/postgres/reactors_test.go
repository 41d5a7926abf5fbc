package postgres_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
)

// heldAppends is the real store's Append behind a gate the test opens.
type heldAppends struct {
	events.Store
	mu      sync.Mutex
	open    bool
	waiting int
	wake    chan struct{} // closed and replaced on every change
}

func (h *heldAppends) Append(ctx context.Context, stream string, exp events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	h.mu.Lock()
	for !h.open {
		h.waiting++
		close(h.wake)
		h.wake = make(chan struct{})
		ch := h.wake
		h.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			h.mu.Lock()
			h.waiting--
			h.mu.Unlock()
			return events.AppendResult{}, ctx.Err()
		}
		h.mu.Lock()
		h.waiting--
	}
	h.mu.Unlock()
	return h.Store.Append(ctx, stream, exp, evs...)
}

func (h *heldAppends) awaitWaiting(t *testing.T) {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		h.mu.Lock()
		n, ch := h.waiting, h.wake
		h.mu.Unlock()
		if n > 0 {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatal("hang: no reactor append reached the gate")
		}
	}
}

func (h *heldAppends) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.open = true
	close(h.wake)
	h.wake = make(chan struct{})
}

func tierLog(t *testing.T, s events.Store, from, to int) {
	t.Helper()
	for c := from; c < to; c++ {
		id := fmt.Sprintf("C%02d", c)
		appendData(t, s, events.CustomerStream(id),
			&events.CustomerRegistered{CustomerID: id, Name: "x", BranchID: "B1", Source: events.Source{System: "core"}},
			&events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(int64(c%2) * 500_000_000), ProfitContribution: i64(0), Currency: "KRW"})
	}
}

func i64(v int64) *int64 { return &v }

func countType(t *testing.T, s events.Store, typ string) int {
	t.Helper()
	all, err := s.ReadAll(context.Background(), events.Start, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i := range all {
		if all[i].Type == typ {
			n++
		}
	}
	return n
}

// TestReactorsBesideTheWriter: the elected writer's checkpoint reaches the
// head while every reactor append is held; once released the decisions
// land, come back into the tables, and a new term has nothing to decide.
func TestReactorsBesideTheWriter(t *testing.T) {
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: eventstest.Clock(seedEnd)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	tierLog(t, s, 0, 20)
	h := &heldAppends{Store: s, wake: make(chan struct{})}
	st := openStore(t, pgtest.Database(t), postgres.Options{MaxBatch: 5})
	reactors := func() []projections.Reactor {
		return []projections.Reactor{projections.NewSegmenter(projections.DefaultTierRule(), h)}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx, postgres.Log{Source: s, Decode: decode, Reactors: reactors, Appender: h}) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	h.awaitWaiting(t)
	tierLog(t, s, 20, 25)
	waitHead(t, st, s)
	if c, err := st.Customer(context.Background(), "C24", seedEnd); err != nil || c.ID != "C24" || c.Tier != "" {
		t.Fatalf("C24 while reactors are held: %+v %v", c, err)
	}
	if n := countType(t, s, "TierAssigned"); n != 0 || st.ReactorStats().Idle {
		t.Fatalf("%d tiers passed the gate; stats %+v", n, st.ReactorStats())
	}

	h.release()
	wctx, wcancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer wcancel()
	if err := st.WaitReactorsIdle(wctx); err != nil {
		t.Fatalf("reactors not idle: %v %+v", err, st.ReactorStats())
	}
	if n := countType(t, s, "TierAssigned"); n != 25 {
		t.Fatalf("%d tiers assigned, want 25", n)
	}
	waitHead(t, st, s)
	for c, want := range map[string]string{"C23": "vip", "C24": "general"} {
		if v, err := st.Customer(context.Background(), c, seedEnd); err != nil || v.Tier != want {
			t.Fatalf("%s in the tables: tier %q (%v), want %s", c, v.Tier, err, want)
		}
	}

	// A new term (another process, or this one re-elected) decides nothing.
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("run: %v", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	done = make(chan error, 1)
	go func() { done <- st.Run(ctx, postgres.Log{Source: s, Decode: decode, Reactors: reactors}) }()
	if err := st.WaitReactorsIdle(wctx); err != nil {
		t.Fatalf("second term: %v", err)
	}
	if n, a := countType(t, s, "TierAssigned"), st.ReactorStats().Appended; n != 25 || a != 0 {
		t.Fatalf("second term: %d tiers (want 25), appended %d (want 0)", n, a)
	}
}
