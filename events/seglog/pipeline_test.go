package seglog_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/seglog"
)

// heldFlush is a flush gate that holds the first flush until released
// and fails it with fail (nil: it succeeds); later flushes pass.
type heldFlush struct {
	entered chan struct{} // closed when the first flush reaches the gate
	release chan struct{}
	fail    error
	n       int // flushes so far (the flusher's only)
}

func newHeldFlush(fail error) *heldFlush {
	return &heldFlush{entered: make(chan struct{}), release: make(chan struct{}), fail: fail}
}

func (h *heldFlush) gate() error {
	h.n++
	if h.n > 1 {
		return nil
	}
	close(h.entered)
	<-h.release
	return h.fail
}

// committerClock reports each reading by the committer (one per batch it
// takes in) on commits; the callers' readings are not reported.
type committerClock struct {
	now     time.Time
	commits chan struct{}
}

func (c *committerClock) Now() time.Time {
	if calledFrom("(*Store).commit") {
		c.commits <- struct{}{}
	}
	return c.now
}

type appended struct {
	res events.AppendResult
	err error
}

func appendAsync(s *seglog.Store, stream string, expected events.ExpectedVersion, evs ...events.Event) <-chan appended {
	out := make(chan appended, 1)
	go func() {
		res, err := s.Append(context.Background(), stream, expected, evs...)
		out <- appended{res, err}
	}()
	return out
}

// TestAppendsWhileFlushing: while the group holding A is being flushed
// (its fdatasync done, not yet published or answered), the committer takes
// in B, the next append to A's stream, checked against A's head from the
// group being flushed; a retry of A, a duplicate of an event not yet
// answered; and C, whose expected version A has already taken. None is
// answered before A, none of A's stream is readable before A is answered,
// and afterwards the log is A then B, chained, the retry answered as A.
func TestAppendsWhileFlushing(t *testing.T) {
	ctx := context.Background()
	clock := &committerClock{now: eventstest.Epoch, commits: make(chan struct{}, 16)}
	s := open(t, t.TempDir(), seglog.Options{Now: clock.Now})
	hold := newHeldFlush(nil)
	seglog.SetFlushGate(s, hold.gate)

	a := ev(`{"n":"a"}`)
	gotA := appendAsync(s, "customer-1", events.NoStream, a)
	<-clock.commits
	<-hold.entered
	gotB := appendAsync(s, "customer-1", events.Exact(0), ev(`{"n":"b"}`))
	<-clock.commits
	gotRetry := appendAsync(s, "customer-1", events.NoStream, a)
	<-clock.commits
	gotC := appendAsync(s, "customer-1", events.NoStream, ev(`{"n":"c"}`))
	<-clock.commits
	// Each was taken in while A's flush was held: none may be answered yet.
	select {
	case r := <-gotB:
		t.Fatalf("B answered before A was durable: %+v", r)
	case r := <-gotRetry:
		t.Fatalf("A's retry answered before A was durable: %+v", r)
	case r := <-gotC:
		t.Fatalf("C answered before A was durable: %+v", r)
	case r := <-gotA:
		t.Fatalf("A answered before its flush ended: %+v", r)
	default:
	}
	if _, err := s.ReadStream(ctx, "customer-1", 0, events.Forward, 10); events.ErrorCode(err) != events.NotFound {
		t.Fatalf("A's stream read before A was answered: %v, want NotFound", err)
	}
	close(hold.release)

	ra, rb, rr, rc := <-gotA, <-gotB, <-gotRetry, <-gotC
	if ra.err != nil || ra.res.Version != 0 || ra.res.Duplicate {
		t.Fatalf("A: %+v", ra)
	}
	if rb.err != nil || rb.res.Version != 1 || rb.res.Position.Seq() != ra.res.Position.Seq()+1 {
		t.Fatalf("B: %+v (A %+v)", rb, ra)
	}
	if rr.err != nil || !rr.res.Duplicate || rr.res.Position != ra.res.Position || rr.res.Version != 0 {
		t.Fatalf("A's retry: %+v, want A's own answer as a duplicate", rr)
	}
	if events.ErrorCode(rc.err) != events.Conflict {
		t.Fatalf("C at NoStream after A: %+v, want a conflict", rc)
	}
	log := readAll(t, s)
	if len(log) != 2 || log[0].ID != a.ID {
		t.Fatalf("the log: %d events", len(log))
	}
	chain := events.NewChainVerifier()
	for i := range log {
		if err := chain.Add(&log[i]); err != nil {
			t.Fatal(err)
		}
	}
	if hold.n != 2 {
		t.Fatalf("%d flushes, want 2: A's, then one for everything taken in during it", hold.n)
	}
}

// TestFailedFlushFailsWhatFollowed: A's fdatasync fails while B (on A's
// stream, after A), a retry of A and D (another stream) were taken in:
// every one is answered Unavailable — B was checked against a head that
// never became durable, and the retry's "already appended" would be a
// guess — and so is every append after. Reopened, the store holds at most
// what was written, chained, and retries of each land exactly once.
func TestFailedFlushFailsWhatFollowed(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	clock := &committerClock{now: eventstest.Epoch, commits: make(chan struct{}, 16)}
	s, err := seglog.Open(dir, seglog.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	hold := newHeldFlush(errors.New("injected: fdatasync failed"))
	seglog.SetFlushGate(s, hold.gate)

	a, b, d := ev(`{"n":"a"}`), ev(`{"n":"b"}`), ev(`{"n":"d"}`)
	gotA := appendAsync(s, "customer-1", events.NoStream, a)
	<-clock.commits
	<-hold.entered
	gotB := appendAsync(s, "customer-1", events.Exact(0), b)
	<-clock.commits
	gotRetry := appendAsync(s, "customer-1", events.NoStream, a)
	<-clock.commits
	gotD := appendAsync(s, "customer-2", events.NoStream, d)
	<-clock.commits
	close(hold.release)
	for name, got := range map[string]<-chan appended{"A": gotA, "B": gotB, "A's retry": gotRetry, "D": gotD} {
		if r := <-got; events.ErrorCode(r.err) != events.Unavailable {
			t.Errorf("%s after a failed flush: %+v, want Unavailable", name, r)
		}
	}
	if _, err := s.Append(ctx, "customer-3", events.NoStream, ev(`{"n":"e"}`)); events.ErrorCode(err) != events.Unavailable {
		t.Errorf("an append after the failure: %v, want Unavailable", err)
	}
	if err := s.Close(); err != nil {
		t.Logf("close: %v", err)
	}

	s = open(t, dir, seglog.Options{})
	for _, r := range []struct {
		stream   string
		expected events.ExpectedVersion
		ev       events.Event
	}{{"customer-1", events.NoStream, a}, {"customer-1", events.Exact(0), b}, {"customer-2", events.NoStream, d}} {
		if _, err := s.Append(ctx, r.stream, r.expected, r.ev); err != nil {
			t.Fatalf("retry of %s on %s after reopening: %v", r.ev.ID, r.stream, err)
		}
	}
	log := readAll(t, s)
	if len(log) != 3 {
		t.Fatalf("after the retries the log has %d events, want 3 (each once)", len(log))
	}
	chain := events.NewChainVerifier()
	for i := range log {
		if err := chain.Add(&log[i]); err != nil {
			t.Fatal(err)
		}
	}
}
