package postgres

import (
	"context"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/internal/feed"
)

// subscriptionPage is how many events a subscription reads per query.
const subscriptionPage = 2000

// gapPatience is how long a subscription waits at a hole in the sequence
// before ending with an error. Appends assign sequence numbers under the
// head row's lock, in commit order, so a hole should never be seen; this
// guard turns a violated invariant into an error instead of a skip.
const gapPatience = 10 * time.Second

// Subscribe delivers every event after from, in order, exactly once. The
// subscription reads the log after its position page by page and, once at
// the end, waits for a wake-up (a local commit, a NOTIFY from any process)
// or the polling interval before reading again. It is pull-based: a slow
// consumer only slows its own reads, so it never falls behind. A lost
// database is retried with backoff until it returns or ctx ends.
func (s *Store) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	f := feed.New(ctx, subscriptionPage)
	f.Go(func() { s.follow(f, from.Seq()) })
	f.EndWith(s.closing, events.ErrClosed)
	return f, nil
}

func (s *Store) follow(f *feed.Feed, last uint64) {
	ctx := f.Context()
	backoff := 10 * time.Millisecond
	var gapSince time.Time
	for {
		// Take the wake channel before reading, so a commit that lands
		// after the read is not missed.
		wake := s.waitCh()
		page, err := s.ReadAll(ctx, events.At(last), subscriptionPage)
		switch {
		case err == nil:
			backoff = 10 * time.Millisecond
		case ctx.Err() != nil:
			f.Fail(ctx.Err())
			return
		case events.ErrorCode(err) == events.Unavailable && err != events.ErrClosed:
			s.opt.Logger.Warn("postgres: subscription read failed; retrying", "after", last, "err", err.Error())
			if !sleep(f, backoff, nil) {
				return
			}
			backoff = min(2*backoff, 2*time.Second)
			continue
		default:
			f.Fail(err)
			return
		}
		n := 0
		for _, env := range page {
			if env.Position.Seq() != last+1 {
				break // a hole: wait for it to fill, never skip it
			}
			if !f.Send(env) {
				return
			}
			last = env.Position.Seq()
			n++
		}
		if n < len(page) {
			if gapSince.IsZero() {
				gapSince = time.Now()
			} else if time.Since(gapSince) > gapPatience {
				f.Fail(events.Errorf(events.Internal, "postgres: the log has a hole after position %d", last))
				return
			}
			if !sleep(f, 5*time.Millisecond, nil) {
				return
			}
			continue
		}
		gapSince = time.Time{}
		if len(page) == subscriptionPage {
			continue
		}
		if !sleep(f, s.opt.PollInterval, wake) {
			return
		}
	}
}

// sleep waits for d, an optional wake-up, or the end of the feed's context
// (the subscriber's ctx, Close, or the store's Close); it reports whether
// the subscription goes on.
func sleep(f *feed.Feed, d time.Duration, wake <-chan struct{}) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-wake:
		return true
	case <-f.Context().Done():
		f.Fail(f.Context().Err())
		return false
	}
}
