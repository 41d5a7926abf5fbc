package eventstest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// follower consumes a subscription as a well-behaved consumer does: when
// the store ends it with ErrFellBehind (the one early end the contract
// allows) it resubscribes from the last position received. It checks as it
// goes that positions strictly increase across resubscriptions, so a
// duplicate is caught at once; a skip shows when the caller compares got
// with ReadAll. It never uses t, so it may run in its own goroutine.
type follower struct {
	s      events.Store
	ctx    context.Context
	sub    events.Subscription
	last   events.Position   // position of the last event received, or where it started
	got    []events.Envelope // every event received, across resubscriptions
	behind []int             // len(got) each time the store said ErrFellBehind
}

func follow(ctx context.Context, s events.Store, from events.Position) (*follower, error) {
	sub, err := s.Subscribe(ctx, from)
	if err != nil {
		return nil, fmt.Errorf("subscribe from %s: %w", from, err)
	}
	return &follower{s: s, ctx: ctx, sub: sub, last: from}, nil
}

// until reads until n events were received in all.
func (f *follower) until(n int, timeout time.Duration) error {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for len(f.got) < n {
		select {
		case e, ok := <-f.sub.Events():
			if !ok {
				err := f.sub.Err()
				if !errors.Is(err, events.ErrFellBehind) {
					return fmt.Errorf("subscription ended after %d of %d events with Err() = %v", len(f.got), n, err)
				}
				f.sub.Close()
				f.behind = append(f.behind, len(f.got))
				if f.sub, err = f.s.Subscribe(f.ctx, f.last); err != nil {
					f.sub = nil
					return fmt.Errorf("resubscribe from %s after falling behind: %w", f.last, err)
				}
				continue
			}
			if !f.last.Less(e.Position) {
				return fmt.Errorf("event %d, %s, does not come after position %s: a duplicate or out of order", len(f.got), describe(e), f.last)
			}
			f.last = e.Position
			f.got = append(f.got, e)
		case <-deadline.C:
			return fmt.Errorf("hang: %d of %d events after %s", len(f.got), n, timeout)
		}
	}
	return nil
}

func (f *follower) close() {
	if f != nil && f.sub != nil {
		f.sub.Close()
	}
}

func (f *follower) fellBehind() string {
	if len(f.behind) == 0 {
		return "never fell behind"
	}
	return fmt.Sprintf("fell behind %d times (after %v events) and resubscribed", len(f.behind), f.behind)
}

// mustFollow fails the test unless f reads n events in all, explaining a
// hang by comparing what arrived with the log.
func mustFollow(t testing.TB, s events.Store, f *follower, n int, timeout time.Duration, what string) {
	t.Helper()
	if err := f.until(n, timeout); err != nil {
		all := readAll(t, s)
		checkSameLog(t, what+" (what arrived, against the log)", f.got, all[:min(len(f.got), len(all))])
		t.Fatalf("%s: %v; %s", what, err, f.fellBehind())
	}
}

// liveBatch is how many events a live writer's i-th append carries.
func liveBatch(i int) int {
	if i%4 == 3 {
		return 3
	}
	return 1
}

// testSubscribe proves catch-up then live under concurrent appends: every
// event exactly once in log order, for a subscriber started before the
// appends, one started while they run, one started in the middle of the log
// and one started at its head.
func testSubscribe(t *testing.T, s events.Store, opt Options) {
	ctx := t.Context()
	const prefill = 50
	for i := range prefill {
		mustAppend(t, s, fmt.Sprintf("customer-P%d", i%5), events.Any, ev(i))
	}
	perWriter := 0
	for i := range opt.LivePerWriter {
		perWriter += liveBatch(i)
	}
	want := prefill + opt.LiveWriters*perWriter

	early, err := follow(ctx, s, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer early.close()

	// Writers append to their own stream and, with Any, to one shared
	// stream; each records only into its own element.
	type writer struct {
		results []events.AppendResult
		err     error
	}
	writers := make([]writer, opt.LiveWriters)
	start, half := make(chan struct{}), make(chan struct{})
	var appended atomic.Int64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			for i := range opt.LivePerWriter {
				stream := fmt.Sprintf("customer-W%d", w)
				if i%3 == 1 {
					stream = "customer-shared"
				}
				res, err := s.Append(ctx, stream, events.Any, evs(liveBatch(i))...)
				if err != nil {
					writers[w].err = fmt.Errorf("writer %d, append %d to %s: %w", w, i, stream, err)
					return
				}
				writers[w].results = append(writers[w].results, res)
				if appended.Add(1) == int64(opt.LiveWriters*opt.LivePerWriter/2) {
					close(half)
				}
			}
		})
	}
	writersDone := make(chan struct{})
	go func() { wg.Wait(); close(writersDone) }()
	// Readers run in their own goroutines; each returns by its own timeout,
	// and is waited for before the deferred closes run.
	var readers sync.WaitGroup
	defer readers.Wait()
	var earlyErr, lateErr error
	readers.Go(func() { earlyErr = early.until(want, opt.Timeout) })
	close(start)

	// This subscriber's catch-up races with the live appends.
	select {
	case <-half:
	case <-writersDone:
	case <-time.After(opt.Timeout):
		t.Fatalf("hang: writers made no progress within %s", opt.Timeout)
	}
	late, err := follow(ctx, s, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer late.close()
	defer readers.Wait() // before the closes above, on every path
	readers.Go(func() { lateErr = late.until(want, opt.Timeout) })

	select {
	case <-writersDone:
	case <-time.After(opt.Timeout):
		t.Fatalf("hang: writers did not finish within %s", opt.Timeout)
	}
	readers.Wait()
	for _, w := range writers {
		if w.err != nil {
			t.Fatal(w.err)
		}
	}
	all := readAll(t, s)
	if len(all) != want {
		t.Fatalf("the log has %d events, want %d", len(all), want)
	}
	for _, r := range []struct {
		what string
		f    *follower
		err  error
	}{
		{"subscriber from before the appends", early, earlyErr},
		{"subscriber started during the appends", late, lateErr},
	} {
		if r.err != nil {
			checkSameLog(t, r.what+" (what arrived, against the log)", r.f.got, all[:min(len(r.f.got), len(all))])
			t.Fatalf("%s: %v; %s", r.what, r.err, r.f.fellBehind())
		}
		checkSameLog(t, r.what, r.f.got, all)
		t.Logf("%s %s", r.what, r.f.fellBehind())
	}

	// Each writer's appends were sequential, so their positions increase,
	// and each result names the event the log holds there.
	byPos := make(map[events.Position]events.Envelope, len(all))
	for _, e := range all {
		byPos[e.Position] = e
	}
	for w, wr := range writers {
		for i, r := range wr.results {
			if i > 0 && !wr.results[i-1].Position.Less(r.Position) {
				t.Fatalf("writer %d: append %d landed at %s, not after append %d at %s", w, i, r.Position, i-1, wr.results[i-1].Position)
			}
			e := byPos[r.Position]
			if e.ID.String() != r.EventIDs[len(r.EventIDs)-1] || e.Stream != r.Stream || e.Version != r.Version {
				t.Fatalf("writer %d, append %d: result %s@%d at %s, but the log has %s there", w, i, r.Stream, r.Version, r.Position, describe(e))
			}
		}
	}

	// From the middle: only later events, then live ones.
	k := len(all) / 2
	mid, err := follow(ctx, s, all[k].Position)
	if err != nil {
		t.Fatal(err)
	}
	defer mid.close()
	mustFollow(t, s, mid, len(all)-k-1, opt.Timeout, "subscriber from a middle position")
	checkSameLog(t, "subscriber from a middle position", mid.got, all[k+1:])

	// From the head: nothing until the next append. A sentinel appended now
	// must be the next event of every open subscription: nothing extra was
	// pending, and each went live.
	tail, err := follow(ctx, s, head(t, s))
	if err != nil {
		t.Fatal(err)
	}
	defer tail.close()
	sentinel := mustAppend(t, s, "customer-P0", events.Any, ev(-1))
	for what, f := range map[string]*follower{"subscriber from before the appends": early, "subscriber started during the appends": late,
		"subscriber from a middle position": mid, "subscriber from the head": tail} {
		n := len(f.got)
		mustFollow(t, s, f, n+1, opt.Timeout, what+", awaiting a last live event")
		if e := f.got[n]; e.Position != sentinel.Position || e.ID.String() != sentinel.EventIDs[0] {
			t.Fatalf("%s: the next event after the log was read is %s, want the one just appended at %s", what, describe(e), sentinel.Position)
		}
	}
}

// testSlow proves that a subscriber that stops reading while many events
// are appended is never skipped ahead: it receives everything in order, or
// ends with ErrFellBehind after a gap-free prefix and completes the log
// exactly once by resubscribing from the last position it received.
func testSlow(t *testing.T, s events.Store, opt Options) {
	ctx := t.Context()
	f, err := follow(ctx, s, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	// Receive one event first, so the subscription is established (live,
	// on backends that distinguish) before the flood.
	mustAppend(t, s, "customer-Q", events.NoStream, ev(0))
	mustFollow(t, s, f, 1, opt.Timeout, "slow subscriber's first event")

	for n := 0; n < opt.SlowEvents; n += opt.SlowBatch {
		mustAppend(t, s, fmt.Sprintf("customer-Q%d", (n/opt.SlowBatch)%7), events.Any, evs(min(opt.SlowBatch, opt.SlowEvents-n))...)
	}
	all := readAll(t, s)
	if len(all) != 1+opt.SlowEvents {
		t.Fatalf("the log has %d events, want %d", len(all), 1+opt.SlowEvents)
	}
	mustFollow(t, s, f, len(all), opt.Timeout, "slow subscriber")
	// Equality with the log proves the prefix delivered before any
	// ErrFellBehind had no gap: resubscribing from its last position could
	// not have filled one.
	checkSameLog(t, "slow subscriber ("+f.fellBehind()+")", f.got, all)
	t.Logf("slow subscriber of %d events %s", len(all), f.fellBehind())

	sentinel := mustAppend(t, s, "customer-Q", events.Any, ev(-1))
	mustFollow(t, s, f, len(all)+1, opt.Timeout, "slow subscriber, awaiting a live event")
	if e := f.got[len(all)]; e.Position != sentinel.Position {
		t.Fatalf("slow subscriber: after the log, got %s, want the event just appended at %s", describe(e), sentinel.Position)
	}
}
