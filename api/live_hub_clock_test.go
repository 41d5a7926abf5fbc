package api_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
)

// turnstile holds the calls that reach it while shut, letting them pass
// one at a time as the test says: a hub (or a replay) slow at one event.
type turnstile struct {
	mu      sync.Mutex
	shut    bool
	calls   int // calls that reached it while shut
	waiting int
	passes  int
	wake    chan struct{}
}

func newTurnstile() *turnstile { return &turnstile{wake: make(chan struct{})} }

func (g *turnstile) changedLocked() { close(g.wake); g.wake = make(chan struct{}) }

// pass blocks while the turnstile is shut and has no pass to give, or
// until ctx ends.
func (g *turnstile) pass(ctx context.Context) {
	g.mu.Lock()
	if !g.shut {
		g.mu.Unlock()
		return
	}
	g.calls++
	g.waiting++
	g.changedLocked()
	for g.shut && g.passes == 0 {
		ch := g.wake
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		g.mu.Lock()
		if ctx.Err() != nil {
			break
		}
	}
	if g.shut && g.passes > 0 {
		g.passes--
	}
	g.waiting--
	g.changedLocked()
	g.mu.Unlock()
}

func (g *turnstile) set(f func(g *turnstile)) {
	g.mu.Lock()
	defer g.mu.Unlock()
	f(g)
	g.changedLocked()
}

// await waits until calls have reached the turnstile and one of them is
// held there.
func (g *turnstile) await(t *testing.T, calls int) {
	t.Helper()
	waitUntil(t, "a call held at the turnstile", func() bool {
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.calls == calls && g.waiting == 1
	})
}

// letOne lets the held call through and waits until the next one is held
// (calls reaching it in all).
func (g *turnstile) letOne(t *testing.T, calls int) {
	t.Helper()
	g.set(func(g *turnstile) { g.passes++ })
	g.await(t, calls)
}

// slowSealer is the server's sealer, opening each event only once the
// turnstile lets it: the hub opens every event it dispatches, so it stays
// at one event while the log runs on.
type slowSealer struct {
	api.Sealer
	turn *turnstile
}

func (s slowSealer) OpenEnvelope(ctx context.Context, e *events.Envelope) (events.Data, error) {
	s.turn.pass(ctx)
	return s.Sealer.OpenEnvelope(ctx, e)
}

// watchedLog is the server's store, keeping the subscriptions it hands out
// (the hub's: the test reads how full its channel is) and holding at the
// turnstile the reads of the whole log from position from (a client's
// replay).
type watchedLog struct {
	api.Store
	turn *turnstile

	mu   sync.Mutex
	from events.Position
	subs []events.Subscription
}

// hold makes the reads of the whole log from position from wait at the
// turnstile, and no others.
func (l *watchedLog) hold(from events.Position) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.from = from
}

func (l *watchedLog) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	sub, err := l.Store.Subscribe(ctx, from)
	if err == nil {
		l.mu.Lock()
		l.subs = append(l.subs, sub)
		l.mu.Unlock()
	}
	return sub, err
}

func (l *watchedLog) ReadAll(ctx context.Context, from events.Position, limit int) ([]events.Envelope, error) {
	l.mu.Lock()
	held := from == l.from
	l.mu.Unlock()
	if held {
		l.turn.pass(ctx)
	}
	return l.Store.ReadAll(ctx, from, limit)
}

// hubFeed returns the channel of the hub's one subscription.
func (l *watchedLog) hubFeed(t *testing.T) <-chan events.Envelope {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.subs) != 1 {
		t.Fatalf("%d subscriptions to the store, want the hub's one", len(l.subs))
	}
	return l.subs[0].Events()
}

// closed waits until the server closed the client and returns the
// positions it received and the close code.
func (l *probedSub) closed(t *testing.T) ([]float64, int) {
	t.Helper()
	select {
	case <-l.done:
	case <-time.After(hang):
		t.Fatal("hang: the client was never closed")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]float64(nil), l.positions...), l.code
}

// TestLiveHubOverloadOnHandClock: over real WebSocket connections, a hub
// that has had the store's events waiting for it (its subscription more
// than half full) at every event for LiveMaxLag on the feed's clock closes
// with 4008 the clients that cost it the most, and not one event sooner:
// the client on the busy customer goes, the one whose customer is quiet
// stays. The hub is held at one event at a time (its sealer waits at a
// turnstile) while the clock moves by hand; neither the queued-event age
// nor a lag probe can be what closes it (both are at most LiveMaxLag old).
// The closed client got a gap-free prefix and, resuming from its last
// position, gets the rest without being closed again (if the hub, still
// working off its backlog, fills its queue while it replays, it goes on
// from the store).
func TestLiveHubOverloadOnHandClock(t *testing.T) {
	clock, turn := newHandClock(), newTurnstile()
	var log *watchedLog
	s := newStack(t, stackOptions{noReactors: true, configure: func(c *api.Config) {
		c.LiveMaxLag, c.LiveClock = maxLag, clock
		c.Sealer = slowSealer{c.Sealer, turn}
		log = &watchedLog{Store: c.Store, turn: turn}
		c.Store = log
	}})
	fromC1 := s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)["position"].(float64)
	fromC2 := s.must("R1", "POST", "/v1/customers", newCustomer("C2"), 201)["position"].(float64)

	quiet := s.subscribeProbed("R1", "customer:C2", fromC2)
	nQuiet := s.appendUntilProbed(clock, "C2", 1, 1)
	quiet.probe(t)
	busy := s.subscribeProbed("R1", "customer:C1", fromC1)
	nBusy := s.appendUntilProbed(clock, "C1", 1, 2)
	busy.probe(t)
	// The busy client costs the hub more than the quiet one.
	s.appendContacts("C1", nQuiet+1)
	nBusy += nQuiet + 1
	s.waitUntil("the busy client gets its customer's events", func() bool { return busy.received() == nBusy })
	feed := log.hubFeed(t)

	turn.set(func(g *turnstile) { g.shut = true })
	s.appendContacts("C1", 1) // the hub takes it while keeping up, and is held opening it
	turn.await(t, 1)
	s.appendContacts("C1", 2*cap(feed))
	s.waitUntil("the store's events wait for the hub", func() bool { return len(feed) == cap(feed) })
	turn.letOne(t, 2) // the next event finds the hub behind: counting from now
	clock.advance(maxLag - time.Nanosecond)
	turn.letOne(t, 3)
	if c := s.tooSlow(); c != 0 {
		t.Fatalf("too_slow counted %v times with the hub behind for less than LiveMaxLag, want 0", c)
	}
	clock.advance(time.Nanosecond)
	turn.letOne(t, 4) // behind for LiveMaxLag: the hub sheds before dispatching it
	if c := s.tooSlow(); c != 1 {
		t.Fatalf("too_slow counted %v times once the hub was behind for LiveMaxLag, want 1 (the busy client)", c)
	}
	turn.set(func(g *turnstile) { g.shut = false })

	got, code := busy.closed(t)
	if code != 4008 {
		t.Fatalf("the busy client was closed with %d after %d events, want 4008", code, len(got))
	}
	want := s.streamPositions("C1", fromC1)
	checkPrefix(t, got, want)
	quiet.open(t)
	if got := quiet.received(); got != nQuiet {
		t.Fatalf("the quiet client got %d events, want %d", got, nQuiet)
	}

	// Resuming, it replays while the hub works off its backlog (on
	// PostgreSQL 4,000 events, more than its queue): it goes on from the
	// store rather than being closed again (at most 3 times: each takes
	// more than the queue's 1,024 of the backlog).
	if shed := s.resumeGetsRest("C1", fromC1, got, want); shed != 0 {
		t.Fatalf("the resumed client was closed with 4008 %d times while the hub worked off its backlog", shed)
	}
	if c := s.tooSlow(); c != 1 {
		t.Fatalf("too_slow counted %v times, want 1 (the busy client)", c)
	}
	t.Logf("the resumed client went on from the store %v times", s.catchUps())
}

// TestLiveQueuedAgeOnHandClock: over a real WebSocket connection, a client
// whose live events wait in its queue (it is replaying what it asked for,
// and its replay is held at a turnstile) is closed with 4008 once the
// oldest of them has waited more than LiveMaxLag on the feed's clock, after
// its whole replay and before any of them; at exactly LiveMaxLag it keeps
// them all. No lag probe is out for it (none goes out before it is live),
// and a client that reads throughout is not closed.
func TestLiveQueuedAgeOnHandClock(t *testing.T) {
	for _, tc := range []struct {
		name   string
		waited time.Duration
		closed bool
	}{
		{"at LiveMaxLag", maxLag, false},
		{"past LiveMaxLag", maxLag + time.Nanosecond, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, log, turn, clock := heldReplayStack(t)
			from := s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)["position"].(float64)
			log.hold(events.At(uint64(from)))

			reading := s.subscribeProbed("R1", "customer:C1", from)
			n := s.appendUntilProbed(clock, "C1", 1, 1) // the hub has dispatched them
			s.waitUntil("the reading client gets every event", func() bool { return reading.received() == n })
			reading.probe(t)

			turn.set(func(g *turnstile) { g.shut = true })
			replaying := s.subscribeProbed("R1", "customer:C1", from)
			turn.await(t, 1) // attached, its replay held
			s.appendContacts("C1", 2)
			n += 2
			// The reading client got the second: the hub has queued the
			// first to the replaying client too.
			s.waitUntil("the reading client gets the live events", func() bool { return reading.received() == n })
			if a := clock.armed(); a != 1 {
				t.Fatalf("%d timers armed, want the reading client's probe only", a)
			}
			clock.advance(tc.waited)
			turn.set(func(g *turnstile) { g.shut = false })

			want := s.streamPositions("C1", from)
			if !tc.closed {
				s.waitUntil("the replaying client gets every event", func() bool { return replaying.received() == len(want) })
				replaying.open(t)
				if c := s.tooSlow(); c != 0 {
					t.Fatalf("too_slow counted %v times, want 0", c)
				}
				return
			}
			got, code := replaying.closed(t)
			if code != 4008 {
				t.Fatalf("the replaying client was closed with %d after %d events, want 4008", code, len(got))
			}
			checkPrefix(t, got, want)
			if len(got) != len(want)-2 {
				t.Fatalf("the replaying client got %d events before 4008, want its replay's %d", len(got), len(want)-2)
			}
			reading.open(t)
			if c := s.tooSlow(); c != 1 {
				t.Fatalf("too_slow counted %v times, want 1", c)
			}
		})
	}
}

// resumeGetsRest subscribes to customer's topic from the last of got (from
// if none), the positions a client closed with 4008 received of want, and
// checks it gets the rest of want: nothing was lost. It resumes as a client
// is told to: a resumed connection closed with 4008 in its turn (its queue
// filled while it replayed, the hub still working off a backlog larger than
// the queue: on PostgreSQL the hub's subscription holds 2,000 events, the
// queue 1,024) is resumed again from its own last position, at most
// maxResumes times; it returns how many were.
func (s *stack) resumeGetsRest(customer string, from float64, got, want []float64) (shed int) {
	s.t.Helper()
	const maxResumes = 20
	last := from
	if len(got) > 0 {
		last = got[len(got)-1]
	}
	rest := want[len(got):]
	var resumed []float64
	for {
		l := s.subscribe("R1", []string{"customer:" + customer}, &last)
		ended := func() bool {
			select {
			case <-l.done:
				return true
			default:
				return false
			}
		}
		s.waitUntil("the resumed client gets the rest, or is closed", func() bool { return len(resumed)+len(l.received()) >= len(rest) || ended() })
		if !ended() {
			l.finish(s.t)
		}
		for _, m := range l.received() {
			resumed = append(resumed, m["position"].(float64))
		}
		checkPrefix(s.t, resumed, rest)
		if len(resumed) >= len(rest) {
			break
		}
		l.mu.Lock()
		code := l.code
		l.mu.Unlock()
		if code != 4008 {
			s.t.Fatalf("the resumed client was closed with %d after %d of %d events, want 4008 or all of them", code, len(resumed), len(rest))
		}
		if shed++; shed > maxResumes {
			s.t.Fatalf("the resumed client was closed with 4008 %d times (%d of %d events)", shed, len(resumed), len(rest))
		}
		last = l.lastPosition(last)
	}
	if len(resumed) != len(rest) {
		s.t.Fatalf("the resumed client got %d events, want %d", len(resumed), len(rest))
	}
	return shed
}
