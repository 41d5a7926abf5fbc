package api_test

import (
	"testing"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
)

// queueCap is api's liveQueue: how many live events wait for one client.
const queueCap = 1024

// heldReplayStack is a stack whose client replays can be held at a
// turnstile (watchedLog), on a hand-moved feed clock.
func heldReplayStack(t *testing.T) (*stack, *watchedLog, *turnstile, *handClock) {
	clock, turn := newHandClock(), newTurnstile()
	var log *watchedLog
	s := newStack(t, stackOptions{noReactors: true, configure: func(c *api.Config) {
		c.LiveMaxLag, c.LiveClock = maxLag, clock
		log = &watchedLog{Store: c.Store, turn: turn}
		c.Store = log
	}})
	return s, log, turn, clock
}

// got returns the positions the client has received so far.
func (l *probedSub) got() []float64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]float64(nil), l.positions...)
}

// appendDispatched appends n contacts to customer in appends of 100 and
// waits after each until the reading client (which keeps up, its queue
// never holding more than one append) has them all: the hub has then
// dispatched each to every client. It returns the log's head.
func (s *stack) appendDispatched(reading *probedSub, customer string, n int) events.Position {
	s.t.Helper()
	want := reading.received() + n
	for n > 0 {
		k := min(n, 100)
		s.appendContacts(customer, k)
		n -= k
	}
	s.waitUntil("the reading client gets every event", func() bool { return reading.received() == want })
	head, err := s.store.Head(s.t.Context())
	if err != nil {
		s.t.Fatal(err)
	}
	return head
}

func (s *stack) catchUps() float64 { return s.metric("dangol_ws_catchups_total", "", "") }

// TestLiveReplayBehindGoesOnFromStore: over real WebSocket connections, a
// client still replaying what it asked for while more live events are
// dispatched to it than its queue holds (its replay is held at a
// turnstile) is not closed: once its replay is done it goes on reading the
// store from where it is, gets every event once and in order, and then
// goes live. It counts as a catch-up, not as too slow.
func TestLiveReplayBehindGoesOnFromStore(t *testing.T) {
	s, log, turn, _ := heldReplayStack(t) // nobody moves the clock: only a full queue closes a client here
	from := s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)["position"].(float64)
	log.hold(events.At(uint64(from)))
	reading := s.subscribeProbed("R1", "customer:C1", from)
	s.appendDispatched(reading, "C1", 3)

	turn.set(func(g *turnstile) { g.shut = true })
	replaying := s.subscribeProbed("R1", "customer:C1", from)
	turn.await(t, 1) // attached, its replay held
	s.appendDispatched(reading, "C1", queueCap+76)
	turn.set(func(g *turnstile) { g.shut = false })

	want := s.streamPositions("C1", from)
	s.waitUntil("the replaying client gets every event", func() bool { return replaying.received() >= len(want) })
	replaying.open(t)
	if got := replaying.got(); len(got) != len(want) {
		t.Fatalf("the replaying client got %d events, the stream has %d after its position", len(got), len(want))
	} else {
		checkPrefix(t, got, want)
	}
	// Live again: the next events reach it through the hub.
	s.appendDispatched(reading, "C1", 2)
	want = s.streamPositions("C1", from)
	s.waitUntil("the caught-up client gets the live events", func() bool { return replaying.received() >= len(want) })
	checkPrefix(t, replaying.got(), want)
	replaying.open(t)
	reading.open(t)
	if c := s.tooSlow(); c != 0 {
		t.Fatalf("too_slow counted %v times, want 0", c)
	}
	if c := s.catchUps(); c != 1 {
		t.Fatalf("catch-ups counted %v times, want 1", c)
	}
}

// TestLiveReplayBehindTooOften: a client whose replay falls behind the hub
// again every time it goes on from the store (each of its rounds is held
// while more than its queue is dispatched) goes on 4 times and is closed
// with 4008 the fifth: it does not keep up. Up to then it got every event
// once and in order, and the rest when it resumes.
func TestLiveReplayBehindTooOften(t *testing.T) {
	s, log, turn, _ := heldReplayStack(t) // nobody moves the clock: only a full queue closes a client here
	from := s.must("R1", "POST", "/v1/customers", newCustomer("C1"), 201)["position"].(float64)
	log.hold(events.At(uint64(from)))
	reading := s.subscribeProbed("R1", "customer:C1", from)
	heads := []events.Position{s.appendDispatched(reading, "C1", 3)} // heads[k]: where round k+2 begins

	turn.set(func(g *turnstile) { g.shut = true })
	replaying := s.subscribeProbed("R1", "customer:C1", from)
	turn.await(t, 1) // round 1's first read held
	for round := 1; round <= 5; round++ {
		heads = append(heads, s.appendDispatched(reading, "C1", queueCap+10)) // behind while round is held
		if round == 5 {
			break
		}
		log.hold(heads[round-1]) // round+1 reads on from where round ends
		turn.letOne(t, round+1)
		if c := s.catchUps(); c != float64(round) {
			t.Fatalf("after round %d, catch-ups counted %v times, want %d", round, c, round)
		}
	}
	turn.set(func(g *turnstile) { g.shut = false })

	got, code := replaying.closed(t)
	if code != 4008 {
		t.Fatalf("the replaying client was closed with %d after %d events, want 4008", code, len(got))
	}
	all := s.streamPositions("C1", from)
	var want []float64 // rounds 1-5 replay the log up to where round 5 began
	for _, p := range all {
		if p <= float64(heads[4].Seq()) {
			want = append(want, p)
		}
	}
	if len(got) != len(want) {
		t.Fatalf("the client got %d events before 4008, want the %d its five rounds replay", len(got), len(want))
	}
	checkPrefix(t, got, want)
	if c := s.tooSlow(); c != 1 {
		t.Fatalf("too_slow counted %v times, want 1", c)
	}
	if c := s.catchUps(); c != 4 {
		t.Fatalf("catch-ups counted %v times, want 4", c)
	}
	reading.open(t)
	if shed := s.resumeGetsRest("C1", from, got, all); shed != 0 {
		t.Fatalf("the resumed client was closed with 4008 %d times, with nothing appended", shed)
	}
}
