package seglog_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/seglog"
)

// gateClock is a manual clock that tells the committer's readings (one
// per commit) from the callers' (one per framing), and can hold the call
// of a chosen number until the test lets it go on.
type gateClock struct {
	mu      sync.Mutex
	now     time.Time
	calls   int
	holdAt  int                // the call to hold (0: none)
	held    chan chan struct{} // the held call sends its release here
	commits int                // readings by the committer
	frames  int                // readings by a caller framing its request
}

func (c *gateClock) Now() time.Time {
	committer := calledFrom("(*Store).commit")
	c.mu.Lock()
	c.calls++
	if committer {
		c.commits++
	} else {
		c.frames++
	}
	now, hold := c.now, c.calls == c.holdAt
	c.mu.Unlock()
	if hold {
		release := make(chan struct{})
		c.held <- release
		<-release
	}
	return now
}

// holdNext makes the call after the next skip calls wait, and returns
// the channel its release comes on.
func (c *gateClock) holdNext(skip int) <-chan chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.holdAt = c.calls + skip + 1
	return c.held
}

func (c *gateClock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func (c *gateClock) counts() (commits, frames int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.commits, c.frames
}

// calledFrom reports whether the calling goroutine is inside fn (a
// function of package seglog).
func calledFrom(fn string) bool {
	pc := make([]uintptr, 32)
	frames := runtime.CallersFrames(pc[:runtime.Callers(2, pc)])
	for {
		f, more := frames.Next()
		if strings.HasSuffix(f.Function, "/seglog."+fn) {
			return true
		}
		if !more {
			return false
		}
	}
}

// TestStaleRequestSentBack makes the committer's send-back path run: X is
// stamped at T and its commit is held at the clock; meanwhile appends and
// batches are stamped earlier than T (their callers read the clock first,
// as a caller overtaken between stamping and queueing has). Once X is
// committed each of them is stale: the committer sends it back unapplied,
// its caller frames it again (stamped no earlier than X) and it lands.
// Every append is answered once with where its events are, recordedAt
// never goes back in log order, and every chain verifies.
func TestStaleRequestSentBack(t *testing.T) {
	ctx := context.Background()
	T := eventstest.Epoch.Add(time.Hour)
	clock := &gateClock{now: T, held: make(chan chan struct{})}
	s := open(t, t.TempDir(), seglog.Options{Now: clock.Now})

	type outcome struct {
		what    string
		entries []events.StreamAppend
		res     []events.AppendResult
		errs    []error
	}
	outcomes := make(chan outcome, 16)
	appendAsync := func(what string, entries ...events.StreamAppend) {
		go func() {
			o := outcome{what: what, entries: entries}
			if len(entries) == 1 {
				a := entries[0]
				res, err := s.Append(ctx, a.Stream, a.Expected, a.Events...)
				o.res, o.errs = []events.AppendResult{res}, []error{err}
			} else {
				o.res, o.errs = s.AppendBatch(ctx, entries)
			}
			outcomes <- o
		}()
	}

	// X frames (one reading), then its commit reads the clock and waits.
	held := clock.holdNext(1)
	appendAsync("X", events.StreamAppend{Stream: "customer-X", Expected: events.NoStream, Events: []events.Event{ev(`{"x":1}`)}})
	commitX := <-held

	// Five appends and two batches read the clock, earlier than T, while
	// X's commit waits; each goes on to frame and queue.
	const appends, batches = 5, 2
	for i := range appends + batches {
		clock.set(T.Add(-time.Duration(appends+batches-i) * time.Millisecond))
		held := clock.holdNext(0)
		what := fmt.Sprintf("A%d", i)
		stream := fmt.Sprintf("customer-A%d", i)
		if i%3 == 0 {
			stream = "customer-X" // X's stream, whose head X moves
		}
		entries := []events.StreamAppend{{Stream: stream, Expected: events.Any, Events: []events.Event{ev(`{"a":1}`), ev(`{"a":2}`)}}}
		if i >= appends {
			entries = append(entries,
				events.StreamAppend{Stream: what + "-x", Expected: events.Any, Events: []events.Event{ev(`{"b":1}`)}}, // invalid: refused alone
				events.StreamAppend{Stream: "customer-B" + what, Expected: events.NoStream, Events: []events.Event{ev(`{"b":2}`)}},
				events.StreamAppend{Stream: "customer-B" + what, Expected: events.Exact(0), Events: []events.Event{ev(`{"b":3}`)}})
		}
		appendAsync(what, entries...)
		close(<-held)
	}
	// Framed again, a request reads a clock still earlier than T: its
	// stamp is X's recordedAt, the last in the log.
	clock.set(T.Add(-time.Minute))
	close(commitX)

	answered := map[string]bool{}
	placed := map[ulid.ULID]events.Position{} // event id → the position its answer names
	for range 1 + appends + batches {
		o := <-outcomes
		if answered[o.what] {
			t.Fatalf("%s answered twice", o.what)
		}
		answered[o.what] = true
		for j, a := range o.entries {
			if !events.ValidStream(a.Stream) {
				if events.ErrorCode(o.errs[j]) != events.Invalid {
					t.Errorf("%s entry %d (%s): %v, want Invalid", o.what, j, a.Stream, o.errs[j])
				}
				continue
			}
			if o.errs[j] != nil || o.res[j].Duplicate {
				t.Fatalf("%s entry %d: %+v, %v", o.what, j, o.res[j], o.errs[j])
			}
			for k, e := range a.Events {
				placed[e.ID] = events.At(o.res[j].Position.Seq() - uint64(len(a.Events)-1-k))
			}
		}
	}

	log := readAll(t, s)
	if want := 1 + appends*2 + batches*4; len(log) != want || len(placed) != want {
		t.Fatalf("the log has %d events and the answers name %d, want %d", len(log), len(placed), want)
	}
	chain := events.NewChainVerifier()
	for i, e := range log {
		if at, ok := placed[e.ID]; !ok || at != e.Position {
			t.Errorf("event %s at %s: its answer said %v (%v)", e.ID, e.Position, at, ok)
		}
		if i > 0 && e.RecordedAt.Before(log[i-1].RecordedAt) {
			t.Errorf("position %s recorded at %s, before the event ahead of it (%s)", e.Position, e.RecordedAt, log[i-1].RecordedAt)
		}
		if i > 0 && !e.RecordedAt.Equal(T) {
			t.Errorf("position %s recorded at %s, want X's %s (framed again no earlier than X)", e.Position, e.RecordedAt, T)
		}
		if err := chain.Add(&e); err != nil {
			t.Error(err)
		}
	}
	// Each request was framed twice by its caller: stamped before X, then
	// again once sent back (X's framing adds one).
	if _, frames := clock.counts(); frames != 1+2*(appends+batches) {
		t.Errorf("the callers read the clock %d times to frame, want %d: the stale requests were not all sent back once", frames, 1+2*(appends+batches))
	}
}
