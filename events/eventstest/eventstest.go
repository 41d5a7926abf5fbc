// Package eventstest is the conformance suite of events.Store, in the manner
// of testing/fstest: every promise of the contract is a subtest, and every
// backend's test file calls TestStore with a function that opens a fresh,
// empty store:
//
//	func TestConformance(t *testing.T) {
//		eventstest.TestStore(t, func(tb testing.TB) events.Store {
//			s, err := bolt.Open(filepath.Join(tb.TempDir(), "events.db"), bolt.Options{})
//			if err != nil {
//				tb.Fatal(err)
//			}
//			tb.Cleanup(func() { s.Close() })
//			return s
//		})
//	}
//
// The suite never asserts on wall-clock speed: its timeouts only turn a hang
// into a failure.
package eventstest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// Options tune the suite's sizes for backends where the defaults take too
// long. A zero field takes its default.
type Options struct {
	Racers        int // goroutines racing on one stream with the same expected version (default 32)
	RaceRounds    int // rounds of that race, each on the version the previous one produced (default 3)
	LiveWriters   int // goroutines appending while subscribers read (default 8)
	LivePerWriter int // appends per live writer (default 200)
	SlowEvents    int // events appended while a subscriber does not read (default 20000)
	SlowBatch     int // events per append in that test (default 100)

	// Timeout bounds every wait that only a hang would exceed (default 60s).
	Timeout time.Duration

	clock *ManualClock // the clock of the subtest's store
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Racers, 32)
	def(&o.RaceRounds, 3)
	def(&o.LiveWriters, 8)
	def(&o.LivePerWriter, 200)
	def(&o.SlowEvents, 20000)
	def(&o.SlowBatch, 100)
	if o.Timeout <= 0 {
		o.Timeout = 60 * time.Second
	}
}

// TestStore runs the whole conformance suite with default Options. open must
// return a fresh, empty store each time it is called, stamping recordedAt
// with now, and register its own cleanup with tb.Cleanup; the suite closes
// some stores itself, so closing twice must be harmless.
func TestStore(t *testing.T, open func(tb testing.TB, now events.Clock) events.Store) {
	TestStoreWith(t, open, Options{})
}

// TestStoreWith runs the whole conformance suite with opt. Each subtest opens
// its own store.
func TestStoreWith(t *testing.T, open func(tb testing.TB, now events.Clock) events.Store, opt Options) {
	opt.defaults()
	for _, tc := range []struct {
		name string
		test func(*testing.T, events.Store, Options)
	}{
		{"RoundTrip", testRoundTrip},
		{"AtomicMultiEvent", testAtomic},
		{"ExpectedVersion", testExpected},
		{"RaceSameStream", testRace},
		{"IdempotentRetry", testIdempotent},
		{"ReadStream", testReadStream},
		{"ReadAll", testReadAll},
		{"SubscribeCatchUpThenLive", testSubscribe},
		{"SlowSubscriberNeverSkips", testSlow},
		{"ContextCancellation", testCancel},
		{"HashChain", testChain},
		{"InvalidInput", testInvalid},
		{"Close", testClose},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opt := opt
			opt.clock = NewManualClock(Epoch)
			tc.test(t, open(t, opt.clock.Now), opt)
		})
	}
	t.Run("SubscribeBatches", func(t *testing.T) { testBatches(t, open, opt) })
}

// NewEvent returns an event of type typ whose data is the JSON object data,
// with a fresh ULID, schema 1 and a test actor. It is meant for other
// packages' tests; it does not validate data against the catalog.
func NewEvent(typ, data string) events.Event {
	return events.Event{
		ID:     events.NewID(),
		Type:   typ,
		Schema: 1,
		Actor:  events.Actor{ID: "staff-test", Role: "rep"},
		Data:   json.RawMessage(data),
	}
}

func ev(n int) events.Event { return NewEvent("ContactLogged", fmt.Sprintf(`{"n":%d}`, n)) }

func evs(n int) []events.Event {
	out := make([]events.Event, n)
	for i := range out {
		out[i] = ev(i)
	}
	return out
}

func mustAppend(t testing.TB, s events.Store, stream string, exp events.ExpectedVersion, e ...events.Event) events.AppendResult {
	t.Helper()
	res, err := s.Append(context.Background(), stream, exp, e...)
	if err != nil {
		t.Fatalf("append %d events to %s (expected %s): %v", len(e), stream, exp, err)
	}
	return res
}

func mustReadStream(t testing.TB, s events.Store, stream string, from uint64, dir events.Direction, limit int) []events.Envelope {
	t.Helper()
	got, err := s.ReadStream(context.Background(), stream, from, dir, limit)
	if err != nil {
		t.Fatalf("read %s from %d: %v", stream, from, err)
	}
	return got
}

// readAll pages through the whole log, checking on the way that pages
// respect their limit and positions strictly increase.
func readAll(t testing.TB, s events.Store) []events.Envelope {
	t.Helper()
	const limit = 500
	var out []events.Envelope
	from := events.Start
	for {
		page, err := s.ReadAll(context.Background(), from, limit)
		if err != nil {
			t.Fatalf("read all after %s: %v", from, err)
		}
		if len(page) > limit {
			t.Fatalf("ReadAll(limit %d) returned %d events", limit, len(page))
		}
		if len(page) == 0 {
			return out
		}
		for _, e := range page {
			if !from.Less(e.Position) {
				t.Fatalf("ReadAll: %s@%d at position %s does not come after %s", e.Stream, e.Version, e.Position, from)
			}
			from = e.Position
		}
		out = append(out, page...)
	}
}

func head(t testing.TB, s events.Store) events.Position {
	t.Helper()
	h, err := s.Head(context.Background())
	if err != nil {
		t.Fatalf("head: %v", err)
	}
	return h
}

// logState is what "nothing was written" compares.
type logState struct {
	head events.Position
	n    int
}

func stateOf(t testing.TB, s events.Store) logState {
	t.Helper()
	return logState{head: head(t, s), n: len(readAll(t, s))}
}

func wantUnchanged(t testing.TB, s events.Store, before logState, what string) {
	t.Helper()
	if now := stateOf(t, s); now != before {
		t.Errorf("%s wrote something: log went from %d events (head %s) to %d (head %s)",
			what, before.n, before.head, now.n, now.head)
	}
}

func wantCode(t testing.TB, err error, code, what string) {
	t.Helper()
	if got := events.ErrorCode(err); got != code {
		t.Errorf("%s: err = %v (code %q), want code %q", what, err, got, code)
	}
}

// within runs fn and fails the test if it does not return within timeout.
// fn must not use t: on a hang it is left running.
func within(t testing.TB, timeout time.Duration, what string, fn func() error) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- fn() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("%s: %v", what, err)
		}
	case <-time.After(timeout):
		t.Fatalf("hang: %s did not return within %s", what, timeout)
	}
}

// drain reads sub until Events is closed and returns how many events it
// read; it fails the test if that takes longer than timeout.
func drain(t testing.TB, sub events.Subscription, timeout time.Duration, what string) int {
	t.Helper()
	deadline := time.After(timeout)
	n := 0
	for {
		select {
		case _, ok := <-sub.Events():
			if !ok {
				return n
			}
			n++
		case <-deadline:
			t.Fatalf("hang: %s: Events() not closed within %s (%d events drained)", what, timeout, n)
		}
	}
}

// next returns the next event of sub, failing the test if none arrives
// within timeout or the subscription ends.
func next(t testing.TB, sub events.Subscription, timeout time.Duration, what string) events.Envelope {
	t.Helper()
	select {
	case e, ok := <-sub.Events():
		if !ok {
			t.Fatalf("%s ended with Err() = %v before its first event", what, sub.Err())
		}
		return e
	case <-time.After(timeout):
		t.Fatalf("hang: %s delivered nothing within %s", what, timeout)
	}
	panic("unreachable")
}

// diffEnvelope lists the fields in which got differs from want, or returns "".
func diffEnvelope(got, want events.Envelope) string {
	var d []string
	add := func(field string, g, w any) { d = append(d, fmt.Sprintf("%s %v, want %v", field, g, w)) }
	if got.ID != want.ID {
		add("id", got.ID, want.ID)
	}
	if got.Stream != want.Stream {
		add("stream", got.Stream, want.Stream)
	}
	if got.Version != want.Version {
		add("version", got.Version, want.Version)
	}
	if got.Position != want.Position {
		add("position", got.Position, want.Position)
	}
	if got.Type != want.Type {
		add("type", got.Type, want.Type)
	}
	if got.Schema != want.Schema {
		add("schema", got.Schema, want.Schema)
	}
	if !got.RecordedAt.Equal(want.RecordedAt) {
		add("recordedAt", got.RecordedAt, want.RecordedAt)
	}
	if !got.OccurredAt.Equal(want.OccurredAt) {
		add("occurredAt", got.OccurredAt, want.OccurredAt)
	}
	if got.Actor != want.Actor {
		add("actor", got.Actor, want.Actor)
	}
	if got.CorrelationID != want.CorrelationID {
		add("correlationId", got.CorrelationID, want.CorrelationID)
	}
	if got.CausationID != want.CausationID {
		add("causationId", got.CausationID, want.CausationID)
	}
	if !bytes.Equal(got.Data, want.Data) {
		add("data", abbrev(got.Data), abbrev(want.Data))
	}
	if got.PrevHash != want.PrevHash {
		add("prevHash", got.PrevHash, want.PrevHash)
	}
	if got.Hash != want.Hash {
		add("hash", got.Hash, want.Hash)
	}
	return strings.Join(d, "; ")
}

// diffEvent lists the caller-chosen fields in which got differs from the
// event that was appended, or returns "".
func diffEvent(got events.Envelope, want events.Event) string {
	w := events.Envelope{ID: want.ID, Type: want.Type, Schema: want.Schema, OccurredAt: want.OccurredAt,
		Actor: want.Actor, CorrelationID: want.CorrelationID, CausationID: want.CausationID, Data: want.Data}
	g := got.Event()
	return diffEnvelope(events.Envelope{ID: g.ID, Type: g.Type, Schema: g.Schema, OccurredAt: g.OccurredAt,
		Actor: g.Actor, CorrelationID: g.CorrelationID, CausationID: g.CausationID, Data: g.Data}, w)
}

func abbrev(b []byte) string {
	if len(b) > 80 {
		return fmt.Sprintf("%q…(%d bytes)", b[:80], len(b))
	}
	return fmt.Sprintf("%q", b)
}

func describe(e events.Envelope) string {
	return fmt.Sprintf("%s@%d (id %s, position %s)", e.Stream, e.Version, e.ID, e.Position)
}

// checkSameLog fails unless got is want, event for event and field for field.
func checkSameLog(t testing.TB, what string, got, want []events.Envelope) {
	t.Helper()
	n := min(len(got), len(want))
	for i := range n {
		if d := diffEnvelope(got[i], want[i]); d != "" {
			t.Fatalf("%s: event %d is %s, want %s: %s%s", what, i, describe(got[i]), describe(want[i]), d, whereIs(got, want, i))
		}
	}
	switch {
	case len(got) > len(want):
		t.Fatalf("%s: %d events, want %d; first extra: %s", what, len(got), len(want), describe(got[n]))
	case len(got) < len(want):
		t.Fatalf("%s: %d events, want %d; first missing: %s", what, len(got), len(want), describe(want[n]))
	}
}

// whereIs explains a divergence at index i: a duplicate, a skip, or a reorder.
func whereIs(got, want []events.Envelope, i int) string {
	for j := range i {
		if got[j].ID == got[i].ID {
			return fmt.Sprintf(" (a duplicate of event %d)", j)
		}
	}
	for j := i + 1; j < len(got); j++ {
		if got[j].ID == want[i].ID {
			return fmt.Sprintf(" (the wanted event came later, at %d: out of order)", j)
		}
	}
	return " (the wanted event was never delivered: skipped)"
}

// ManualClock is a clock that reads what a test last set: pass its Now to
// a store's Options to choose each append's recordedAt. Safe for concurrent
// use.
type ManualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewManualClock returns a ManualClock reading t.
func NewManualClock(t time.Time) *ManualClock { return &ManualClock{now: t} }

// Now returns the time last set.
func (c *ManualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Set makes the clock read t.
func (c *ManualClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Epoch is the day tests pretend it is: a fixed date, so that no test's
// outcome depends on the day it runs.
var Epoch = time.Date(2026, 11, 25, 9, 0, 0, 0, time.UTC)

// Clock returns a clock that starts at base and advances with the real
// elapsed time (monotonic): dates are pinned, durations still pass, so
// expiries and timeouts behave as in production whatever today's date is.
func Clock(base time.Time) events.Clock {
	start := time.Now()
	return func() time.Time { return base.Add(time.Since(start)).UTC() }
}
