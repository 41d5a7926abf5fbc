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

// testCancel proves that a cancelled ctx makes every call return promptly
// with an error, that cancelling a subscription's ctx ends it with
// context.Canceled whether it is idle or has undelivered events, and that
// none of this harms the store.
func testCancel(t *testing.T, s events.Store, opt Options) {
	ctx := t.Context()
	mustAppend(t, s, "customer-X1", events.NoStream, evs(3)...)
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	fails := func(what string, call func() error) {
		t.Helper()
		within(t, opt.Timeout, what+" with a cancelled ctx", func() error {
			if call() == nil {
				return errors.New("succeeded")
			}
			return nil
		})
	}
	dropped := ev(1)
	fails("Append", func() error { _, err := s.Append(cancelled, "customer-X1", events.Any, dropped); return err })
	fails("ReadAll", func() error { _, err := s.ReadAll(cancelled, events.Start, 10); return err })
	fails("ReadStream", func() error {
		_, err := s.ReadStream(cancelled, "customer-X1", 0, events.Forward, 10)
		return err
	})

	// Subscribe with a cancelled ctx: refused, or a subscription that ends at once.
	within(t, opt.Timeout, "Subscribe with a cancelled ctx", func() error {
		sub, err := s.Subscribe(cancelled, events.Start)
		if err != nil {
			return nil
		}
		defer sub.Close()
		for range sub.Events() {
		}
		if !errors.Is(sub.Err(), context.Canceled) {
			return fmt.Errorf("subscription ended with Err() = %v, want context.Canceled", sub.Err())
		}
		return nil
	})

	// A subscription that has caught up and waits for live events.
	idleCtx, cancelIdle := context.WithCancel(ctx)
	defer cancelIdle()
	idle, err := follow(idleCtx, s, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer idle.close()
	mustFollow(t, s, idle, 3, opt.Timeout, "subscription before cancelling")
	cancelIdle()
	drain(t, idle.sub, opt.Timeout, "idle subscription after its ctx was cancelled")
	if err := idle.sub.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("idle subscription ended with Err() = %v, want context.Canceled", err)
	}

	// A subscription with a backlog its consumer has not read.
	for range 20 {
		mustAppend(t, s, "customer-X2", events.Any, evs(100)...)
	}
	busyCtx, cancelBusy := context.WithCancel(ctx)
	defer cancelBusy()
	busy, err := s.Subscribe(busyCtx, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	next(t, busy, opt.Timeout, "subscription with a backlog")
	cancelBusy()
	n := drain(t, busy, opt.Timeout, "subscription with a backlog after its ctx was cancelled")
	if err := busy.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("subscription with a backlog ended with Err() = %v (after %d more events), want context.Canceled", err, n)
	}
	within(t, opt.Timeout, "Subscription.Close after its ctx was cancelled", func() error { busy.Close(); return nil })

	// The store is unharmed. Whether the cancelled append wrote is not
	// pinned (its outcome is unknown to the caller, who retries with the
	// same ids), but the store must know which it was.
	x1 := mustReadStream(t, s, "customer-X1", 0, events.Forward, 10)
	last := x1[len(x1)-1].Version
	if len(x1) == 4 && x1[3].ID == dropped.ID {
		t.Logf("the append with a cancelled ctx returned an error but was written")
	} else if len(x1) != 3 {
		t.Fatalf("customer-X1 has %d events, want 3 (or 4 with the cancelled append)", len(x1))
	}
	res := mustAppend(t, s, "customer-X1", events.Exact(last), ev(4))
	if res.Version != last+1 {
		t.Errorf("after cancelled calls, an append landed at version %d, want %d", res.Version, last+1)
	}
	if n, want := len(readAll(t, s)), len(x1)+1+2000; n != want {
		t.Errorf("the log has %d events, want %d", n, want)
	}
}

// testClose proves that Subscription.Close ends a subscription even when its
// consumer stopped reading, that Close ends open subscriptions with
// ErrClosed and unblocks appends in flight, and that the store refuses every
// call afterwards.
func testClose(t *testing.T, s events.Store, opt Options) {
	ctx := t.Context()
	for range 10 {
		mustAppend(t, s, "customer-Z", events.Any, evs(100)...)
	}

	backlog, err := s.Subscribe(ctx, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	next(t, backlog, opt.Timeout, "subscription with a backlog")
	within(t, opt.Timeout, "Subscription.Close with undelivered events", func() error { backlog.Close(); return nil })
	drain(t, backlog, opt.Timeout, "subscription after its Close")

	live, err := follow(ctx, s, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer live.close()
	mustFollow(t, s, live, 1000, opt.Timeout, "subscription before Close")

	// Appends in flight while the store closes: each returns, none hangs,
	// none fails before Close was called.
	const appenders = 4
	var wg sync.WaitGroup
	var closing atomic.Bool
	started := make(chan struct{}, appenders)
	early := make([]error, appenders) // each appender writes only its own element
	for w := range appenders {
		wg.Go(func() {
			var once sync.Once
			signal := func() { once.Do(func() { started <- struct{}{} }) }
			defer signal()
			for i := 0; ; i++ {
				_, err := s.Append(ctx, fmt.Sprintf("customer-Z%d", w), events.Any, ev(i))
				if err != nil {
					if !closing.Load() {
						early[w] = err
					}
					return
				}
				signal()
			}
		})
	}
	for range appenders {
		select {
		case <-started:
		case <-time.After(opt.Timeout):
			t.Fatalf("hang: appenders made no progress within %s", opt.Timeout)
		}
	}
	closing.Store(true)
	within(t, opt.Timeout, "Close with appends in flight and a subscription open", s.Close)
	within(t, opt.Timeout, "appends in flight during Close", func() error { wg.Wait(); return nil })
	for w, err := range early {
		if err != nil {
			t.Errorf("appender %d failed before Close was called: %v", w, err)
		}
	}

	drain(t, live.sub, opt.Timeout, "subscription open during Close")
	if err := live.sub.Err(); !errors.Is(err, events.ErrClosed) {
		t.Errorf("a subscription open during Close ended with Err() = %v, want ErrClosed", err)
	}
	within(t, opt.Timeout, "Subscription.Close after the store closed", func() error { live.sub.Close(); return nil })

	closed := func(what string, err error) {
		t.Helper()
		if !errors.Is(err, events.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", what, err)
		}
	}
	_, err = s.Append(ctx, "customer-Z", events.Any, ev(1))
	closed("Append", err)
	_, err = s.ReadStream(ctx, "customer-Z", 0, events.Forward, 10)
	closed("ReadStream", err)
	_, err = s.ReadAll(ctx, events.Start, 10)
	closed("ReadAll", err)
	_, err = s.Head(ctx)
	closed("Head", err)
	// Subscribe may refuse, or return a subscription that ends with ErrClosed.
	if sub, err := s.Subscribe(ctx, events.Start); err != nil {
		closed("Subscribe", err)
	} else {
		drain(t, sub, opt.Timeout, "subscription opened after Close")
		closed("a subscription opened after Close", sub.Err())
		sub.Close()
	}
}
