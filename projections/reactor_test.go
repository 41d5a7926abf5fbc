package projections_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/projections"
)

// hang bounds every wait: it only detects a hang, nothing is timed.
const hang = 30 * time.Second

// gate is the real store with reactor appends held at a gate: the test
// opens it, closes it, lets a number through, or makes the store fail.
type gate struct {
	*bolt.Store
	mu      sync.Mutex
	left    int // appends let through before it blocks; negative: open
	waiting int // appends blocked at the gate now
	calls   int // appends attempted
	fail    func(stream string) error
	wake    chan struct{} // closed and replaced on every change
}

func newGate(s *bolt.Store, left int) *gate {
	return &gate{Store: s, left: left, wake: make(chan struct{})}
}

func (g *gate) changedLocked() { close(g.wake); g.wake = make(chan struct{}) }

func (g *gate) Append(ctx context.Context, stream string, exp events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	g.mu.Lock()
	g.calls++
	g.changedLocked()
	for g.left == 0 {
		g.waiting++
		g.changedLocked()
		ch := g.wake
		g.mu.Unlock()
		var done bool
		select {
		case <-ch:
		case <-ctx.Done():
			done = true
		}
		g.mu.Lock()
		g.waiting--
		g.changedLocked()
		if done {
			g.mu.Unlock()
			return events.AppendResult{}, ctx.Err()
		}
	}
	if g.left > 0 {
		g.left--
	}
	fail := g.fail
	g.mu.Unlock()
	if fail != nil {
		if err := fail(stream); err != nil {
			return events.AppendResult{}, err
		}
	}
	return g.Store.Append(ctx, stream, exp, evs...)
}

// set changes the gate under its lock.
func (g *gate) set(f func(g *gate)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
	g.changedLocked()
}

// await blocks until cond holds of the gate.
func (g *gate) await(t *testing.T, what string, cond func(g *gate) bool) {
	t.Helper()
	timeout := time.After(hang)
	for {
		g.mu.Lock()
		ok, ch := cond(g), g.wake
		g.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("hang: waiting for %s", what)
		}
	}
}

// reactorLog appends customers C00..C(n-1) with financials cycling
// through the three tiers, and calls K00..K(calls-1) of reps R0 and R1.
func reactorLog(t *testing.T, s events.Store, from, n, calls int) {
	t.Helper()
	deposits := []int64{500_000_000, 40_000_000, 1_000}
	for c := from; c < from+n; c++ {
		id := fmt.Sprintf("C%02d", c)
		leadAppend(t, s, events.CustomerStream(id), events.NoStream,
			&events.CustomerRegistered{CustomerID: id, Name: "고객", BranchID: "B1", Source: events.Source{System: "core"}},
			&events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(deposits[c%3]), ProfitContribution: i64(0), Currency: "KRW"})
	}
	for k := from; k < from+calls; k++ {
		call := fmt.Sprintf("K%02d", k)
		leadAppend(t, s, events.CallStream(call), events.NoStream, &events.CallRecorded{CallID: call, CustomerID: "C00",
			StaffID: fmt.Sprintf("R%d", k%2), Direction: "inbound", StartedAt: leadNow.Add(-time.Duration(k) * time.Minute),
			DurationSec: 100, Recording: events.Recording{SHA256: fmt.Sprintf("%064x", k), ContentType: "audio/wav", Bytes: 1}})
	}
}

// started runs r until the test ends and returns the function that stops it
// and checks Run returned nil.
func started(t *testing.T, r *projections.Runner) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(hang):
				t.Error("hang: Run did not return")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func reactorsFor(s projections.Appender) []projections.Reactor {
	return []projections.Reactor{projections.NewSampler(projections.DefaultSamplerPolicy(), s),
		projections.NewSegmenter(projections.DefaultTierRule(), s)}
}

func waitIdle(t *testing.T, r *projections.Runner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	if err := r.WaitReactorsIdle(ctx); err != nil {
		t.Fatalf("reactors not idle: %v (%+v)", err, r.ReactorStats())
	}
}

func waitPos(t *testing.T, r *projections.Runner, pos events.Position) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	if err := r.WaitFor(ctx, pos); err != nil {
		t.Fatalf("the read side never reached %v (at %v): %v", pos, r.Position(), err)
	}
}

func head(t *testing.T, s events.Store) events.Position {
	t.Helper()
	h, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return h
}

// checkDecisions checks the log holds each decision exactly once: one
// TierAssigned per customer, with its financials' tier, and the new_rep
// selections of the first five calls of each rep.
func checkDecisions(t *testing.T, s events.Store, customers int) {
	t.Helper()
	all, err := s.ReadAll(context.Background(), events.Start, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	tiers, selected := map[string]int{}, map[string]int{}
	for i := range all {
		_, id := events.StreamID(all[i].Stream)
		switch all[i].Type {
		case "TierAssigned":
			tiers[id]++
			d, _ := events.Decode(&all[i])
			var c int
			fmt.Sscanf(id, "C%d", &c)
			if want := []string{"vip", "potential_vip", "general"}[c%3]; d.(*events.TierAssigned).Tier != want {
				t.Errorf("%s: tier %s, want %s", id, d.(*events.TierAssigned).Tier, want)
			}
		case "CallSelectedForReview":
			selected[id]++
		}
	}
	if len(tiers) != customers || len(selected) != 10 {
		t.Fatalf("%d customers with a tier (want %d), %d calls selected (want 10)", len(tiers), customers, len(selected))
	}
	for _, m := range []map[string]int{tiers, selected} {
		for id, n := range m {
			if n != 1 {
				t.Fatalf("%s decided %d times", id, n)
			}
		}
	}
}

// TestReadSideNotStalledByReactorAppends: while every reactor append is
// held at the gate, the read models still apply new events up to the head
// (the runner used to append on its own goroutine and stalled); once the
// gate opens the backlog drains, more decisions than the workers' window.
func TestReadSideNotStalledByReactorAppends(t *testing.T) {
	s := leadStore(t)
	reactorLog(t, s, 0, 30, 12)
	g := newGate(s, 0)
	m := projections.NewMemory()
	r := projections.NewRunner(s, leadDecode, m.Projections(), reactorsFor(g),
		projections.RunnerOptions{Appender: g, AppendWorkers: 2, MaxBatch: 7})
	m.Attach(r)
	started(t, r)
	g.await(t, "both workers blocked", func(g *gate) bool { return g.waiting == 2 })

	reactorLog(t, s, 30, 10, 0) // 10 customers more, written by someone else
	waitPos(t, r, head(t, s))
	if c, err := m.Customer(context.Background(), "C39", leadNow); err != nil || c.ID != "C39" {
		t.Fatalf("the read model lacks a customer written while reactors were blocked: %+v %v", c, err)
	}
	if st := r.ReactorStats(); st.Idle || st.InFlight != 2 || st.Appended != 0 {
		t.Fatalf("reactors while the gate is shut: %+v", st)
	}
	if n := leadCount(t, s, "TierAssigned") + leadCount(t, s, "CallSelectedForReview"); n != 0 {
		t.Fatalf("%d decisions passed a shut gate", n)
	}

	g.set(func(g *gate) { g.left = -1 })
	waitIdle(t, r)
	if r.Position() != head(t, s) {
		t.Fatalf("idle at %v, head %v", r.Position(), head(t, s))
	}
	checkDecisions(t, s, 40)
	if st := r.ReactorStats(); st.Appended != 50 || st.Refused != 0 {
		t.Fatalf("stats %+v; want 50 appended", st)
	}
	// The read models folded the reactors' events too.
	if c, _ := m.Customer(context.Background(), "C39", leadNow); c.Tier != "vip" {
		t.Fatalf("C39 tier %q in the read model", c.Tier)
	}
}

// TestReactorsStoppedMidBacklog: a server stopped while most decisions
// are still queued loses none: the next start decides what is not in the
// log and appends it, once.
func TestReactorsStoppedMidBacklog(t *testing.T) {
	s := leadStore(t)
	reactorLog(t, s, 0, 40, 12)
	g := newGate(s, 7)
	r := projections.NewRunner(s, leadDecode, nil, reactorsFor(g), projections.RunnerOptions{Appender: g, AppendWorkers: 3})
	stop := started(t, r)
	g.await(t, "7 through and 3 blocked", func(g *gate) bool { return g.waiting == 3 && g.left == 0 })
	eventually(t, "the 7 let through landed", func() bool { return r.ReactorStats().Appended == 7 })
	stop()
	if n := leadCount(t, s, "TierAssigned") + leadCount(t, s, "CallSelectedForReview"); n != 7 {
		t.Fatalf("%d decisions in the log after the stop, want the 7 let through", n)
	}

	again := projections.NewRunner(s, leadDecode, nil, reactorsFor(s), projections.RunnerOptions{})
	started(t, again)
	waitIdle(t, again)
	checkDecisions(t, s, 40)
	if st := again.ReactorStats(); st.Appended != 50-7 {
		t.Fatalf("the restart appended %d, want %d", st.Appended, 50-7)
	}
	third := projections.NewRunner(s, leadDecode, nil, reactorsFor(s), projections.RunnerOptions{})
	started(t, third)
	waitIdle(t, third)
	if st := third.ReactorStats(); st.Appended != 0 {
		t.Fatalf("a start with nothing to decide appended %d", st.Appended)
	}
}

// TestReactorStoreDown: an unavailable store pauses the reactors instead of
// spinning (with a long backoff no append is tried again), the read side
// goes on, and decisions survive to the next start.
func TestReactorStoreDown(t *testing.T) {
	s := leadStore(t)
	reactorLog(t, s, 0, 20, 12)
	g := newGate(s, -1)
	g.fail = func(string) error { return events.Errorf(events.Unavailable, "disk gone") }
	var logs bytes.Buffer
	r := projections.NewRunner(s, leadDecode, nil, reactorsFor(g), projections.RunnerOptions{Appender: g, AppendWorkers: 4,
		AppendBackoff: time.Hour, Logger: slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, nil))})
	started(t, r)
	eventually(t, "reactors paused", func() bool { st := r.ReactorStats(); return st.Paused && st.InFlight == 0 })
	tried := g.callsNow()
	if tried == 0 || tried > 4 {
		t.Fatalf("%d appends tried before pausing; want 1 to 4 (one per worker at most)", tried)
	}
	reactorLog(t, s, 20, 5, 0)
	waitPos(t, r, head(t, s))
	if st := r.ReactorStats(); !st.Paused || st.Idle || g.callsNow() != tried {
		t.Fatalf("after the read side moved on: %+v, %d appends tried (was %d)", st, g.callsNow(), tried)
	}

	// Back up, with a short backoff: the probe lands and everything follows.
	g2 := newGate(s, -1)
	down := 3
	g2.fail = func(string) error {
		g2.mu.Lock()
		defer g2.mu.Unlock()
		if down > 0 {
			down--
			return events.Errorf(events.Unavailable, "still starting")
		}
		return nil
	}
	again := projections.NewRunner(s, leadDecode, nil, reactorsFor(g2), projections.RunnerOptions{Appender: g2, AppendWorkers: 4,
		AppendBackoff: time.Millisecond, Logger: slog.New(slog.NewJSONHandler(&syncWriter{w: &logs}, nil))})
	started(t, again)
	waitIdle(t, again)
	checkDecisions(t, s, 25)
	out := logs.String()
	if !strings.Contains(out, "store unavailable; pausing") || !strings.Contains(out, "reactor appends resumed") {
		t.Fatalf("no pause and resume in the log:\n%s", out)
	}
	if strings.Contains(out, "고객") {
		t.Fatal("a customer's name reached the log")
	}
}

// eventually polls cond, which the reactors' workers make true from
// their goroutines, until it holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.After(hang)
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("hang: waiting for %s", what)
		case <-time.After(time.Millisecond):
		}
	}
}

func (g *gate) callsNow() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.calls
}

// syncWriter serialises writes of concurrent loggers into one buffer.
type syncWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}

// TestReactorDecisionRefused: a decision the store refuses for good is
// reported (event id, no personal data) and dropped; the others land, the
// read side goes on, and the runner keeps running.
func TestReactorDecisionRefused(t *testing.T) {
	s := leadStore(t)
	reactorLog(t, s, 0, 9, 12)
	g := newGate(s, -1)
	g.fail = func(stream string) error {
		if stream == events.CallStream("K03") {
			return events.Errorf(events.Conflict, "refused")
		}
		return nil
	}
	var logs syncWriter
	logs.w = &bytes.Buffer{}
	r := projections.NewRunner(s, leadDecode, nil, reactorsFor(g), projections.RunnerOptions{Appender: g,
		Logger: slog.New(slog.NewJSONHandler(&logs, nil))})
	started(t, r)
	waitIdle(t, r)
	if st := r.ReactorStats(); st.Refused != 1 || st.Appended != 9+10-1 {
		t.Fatalf("stats %+v; want 1 refused, 18 appended", st)
	}
	if out := logs.w.String(); !strings.Contains(out, `"reactor":"sampler"`) || !strings.Contains(out, `"event_id":"`) {
		t.Fatalf("the refusal is not reported:\n%s", out)
	}
	reactorLog(t, s, 9, 3, 0)
	waitPos(t, r, head(t, s))
	waitIdle(t, r)
	if n := leadCount(t, s, "TierAssigned"); n != 12 {
		t.Fatalf("%d tiers after the refusal, want 12", n)
	}
}

// TestSegmenterFinancialsOutrunAppends: new financials arrive while the
// tier of older ones is being appended; that decision, made against an
// older version of the stream, is overtaken (it lands on no stream), the
// log ends with the latest financials' tier, and a replay of it has
// nothing left to decide.
func TestSegmenterFinancialsOutrunAppends(t *testing.T) {
	s := leadStore(t)
	leadAppend(t, s, events.CustomerStream("C1"), events.NoStream,
		&events.CustomerRegistered{CustomerID: "C1", Name: "x", BranchID: "B1", Source: events.Source{System: "core"}},
		&events.FinancialsReported{AsOf: "2026-09-30", DepositBalance: i64(500_000_000), ProfitContribution: i64(0), Currency: "KRW"})
	g := newGate(s, 0)
	seg := projections.NewSegmenter(projections.DefaultTierRule(), g)
	r := projections.NewRunner(s, leadDecode, nil, []projections.Reactor{seg}, projections.RunnerOptions{Appender: g})
	started(t, r)
	g.await(t, "the vip assignment at the gate", func(g *gate) bool { return g.waiting == 1 })
	for _, dep := range []int64{1_000, 40_000_000, 2_000} { // general, potential, general again
		leadAppend(t, s, events.CustomerStream("C1"), events.Any,
			&events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: i64(dep), ProfitContribution: i64(0), Currency: "KRW"})
	}
	waitPos(t, r, head(t, s))
	g.set(func(g *gate) { g.left = -1 })
	waitIdle(t, r)
	if tiers := tiersOf(t, s, events.CustomerStream("C1")); fmt.Sprint(tiers) != "[general]" {
		t.Fatalf("tiers in the log %v; want [general] (the vip decided against the first financials overtaken)", tiers)
	}
	if st := r.ReactorStats(); st.Overtaken == 0 || st.Refused != 0 {
		t.Fatalf("stats %+v; want the vip decision counted as overtaken, none refused", st)
	}
	replay := projections.NewSegmenter(projections.DefaultTierRule(), s)
	all, _ := s.ReadAll(context.Background(), events.Start, 100)
	for i := range all {
		d, _ := events.Decode(&all[i])
		replay.Apply(projections.Event{Envelope: &all[i], Data: d})
	}
	if due := replay.Due(10); len(due) != 0 {
		t.Fatalf("a replay would decide again: %+v", due)
	}
}

// TestRunnerReactorsNeedAnAppender: reactors over a source that cannot
// append are refused at Run, not silently idle.
func TestRunnerReactorsNeedAnAppender(t *testing.T) {
	s := leadStore(t)
	r := projections.NewRunner(readOnly{s}, leadDecode, nil, reactorsFor(s), projections.RunnerOptions{})
	if err := r.Run(context.Background()); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("Run: %v; want invalid", err)
	}
}

type readOnly struct{ s *bolt.Store }

func (r readOnly) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	return r.s.Subscribe(ctx, from)
}
func (r readOnly) Head(ctx context.Context) (events.Position, error) { return r.s.Head(ctx) }
func (r readOnly) ReadAll(ctx context.Context, from events.Position, limit int) ([]events.Envelope, error) {
	return r.s.ReadAll(ctx, from, limit)
}

// tiersOf returns the tiers the log assigned in stream, in order.
func tiersOf(t *testing.T, s events.Store, stream string) []string {
	t.Helper()
	evs, err := s.ReadStream(t.Context(), stream, 0, events.Forward, 1000)
	if err != nil {
		t.Fatal(err)
	}
	var tiers []string
	for i := range evs {
		if evs[i].Type == "TierAssigned" {
			d, err := events.Decode(&evs[i])
			if err != nil {
				t.Fatal(err)
			}
			tiers = append(tiers, d.(*events.TierAssigned).Tier)
		}
	}
	return tiers
}
