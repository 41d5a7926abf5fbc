package postgres

import (
	"context"
	"sync"
	"time"

	"github.com/dangol/dangol/events"
)

// subscriptionPage is how many events a subscription reads per query.
const subscriptionPage = 2000

// gapPatience is how long a subscription waits at a hole in the sequence
// before ending with an error. Appends assign sequence numbers under the
// head row's lock, in commit order, so a hole should never be seen; this
// guard turns a violated invariant into an error instead of a skip.
const gapPatience = 10 * time.Second

// subscription reads the log after its position page by page and, once at
// the end, waits for a wake-up (a local commit, a NOTIFY from any process)
// or the polling interval before reading again. It is pull-based: a slow
// consumer only slows its own reads, so it never falls behind. A lost
// database is retried with backoff until it returns or ctx ends.
type subscription struct {
	s      *Store
	ctx    context.Context
	cancel context.CancelFunc
	out    chan events.Envelope
	wg     sync.WaitGroup

	mu  sync.Mutex
	err error
}

// Subscribe delivers every event after from, in order, exactly once.
func (s *Store) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	sub := &subscription{s: s, ctx: ctx, cancel: cancel, out: make(chan events.Envelope, subscriptionPage)}
	sub.wg.Add(1)
	go sub.run(from.Seq())
	return sub, nil
}

func (sub *subscription) Events() <-chan events.Envelope { return sub.out }

func (sub *subscription) Err() error {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	return sub.err
}

func (sub *subscription) Close() {
	sub.cancel()
	sub.wg.Wait()
}

func (sub *subscription) fail(err error) {
	sub.mu.Lock()
	if sub.err == nil {
		sub.err = err
	}
	sub.mu.Unlock()
}

func (sub *subscription) run(last uint64) {
	defer sub.wg.Done()
	defer close(sub.out)
	s := sub.s
	backoff := 10 * time.Millisecond
	var gapSince time.Time
	for {
		// Take the wake channel before reading, so a commit that lands
		// after the read is not missed.
		wake := s.waitCh()
		page, err := s.ReadAll(sub.ctx, events.At(last), subscriptionPage)
		switch {
		case err == nil:
			backoff = 10 * time.Millisecond
		case sub.ctx.Err() != nil:
			sub.fail(sub.ctx.Err())
			return
		case events.ErrorCode(err) == events.Unavailable && err != events.ErrClosed:
			s.opt.Logger.Warn("postgres: subscription read failed; retrying", "after", last, "err", err.Error())
			if !sub.sleep(backoff, nil) {
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		default:
			sub.fail(err)
			return
		}
		n := 0
		for _, env := range page {
			if env.Position.Seq() != last+1 {
				break // a hole: wait for it to fill, never skip it
			}
			select {
			case sub.out <- env:
			case <-sub.ctx.Done():
				sub.fail(sub.ctx.Err())
				return
			case <-s.closing:
				sub.fail(events.ErrClosed)
				return
			}
			last = env.Position.Seq()
			n++
		}
		if n < len(page) {
			if gapSince.IsZero() {
				gapSince = time.Now()
			} else if time.Since(gapSince) > gapPatience {
				sub.fail(events.Errorf(events.Internal, "postgres: the log has a hole after position %d", last))
				return
			}
			if !sub.sleep(5*time.Millisecond, nil) {
				return
			}
			continue
		}
		gapSince = time.Time{}
		if len(page) == subscriptionPage {
			continue
		}
		if !sub.sleep(s.opt.PollInterval, wake) {
			return
		}
	}
}

// sleep waits for d, an optional wake-up, the end of ctx or the store's
// Close; it reports whether the subscription goes on.
func (sub *subscription) sleep(d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-wake:
		return true
	case <-sub.ctx.Done():
		sub.fail(sub.ctx.Err())
		return false
	case <-sub.s.closing:
		sub.fail(events.ErrClosed)
		return false
	}
}
