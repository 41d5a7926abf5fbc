package bolt

import (
	"context"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/internal/feed"
)

// subscription catches up from the file, then follows live commits fed by
// the committer into a bounded buffer.
type subscription struct {
	s    *Store
	f    *feed.Feed
	live chan events.Envelope
}

// Subscribe delivers every event after from, in order, exactly once: first
// from the file, then live. A consumer that lets SubscriberBuffer live
// events pile up is ended with events.ErrFellBehind after everything before
// the overflow was delivered; it resumes by subscribing from its last position.
func (s *Store) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	sub := &subscription{s: s, f: feed.New(ctx, 256), live: make(chan events.Envelope, s.opt.SubscriberBuffer)}
	sub.f.Go(func() { sub.run(from) })
	return sub.f, nil
}

func (sub *subscription) run(from events.Position) {
	defer sub.unregister()
	last := from.Seq()
	// Catch up from the file until a read comes back short.
	for caught := false; !caught; {
		n, err := sub.readFrom(&last)
		if err != nil {
			sub.f.Fail(err)
			return
		}
		caught = n < 1024
	}
	// Register for live events, then read the file once more: anything
	// committed before registering is in the file, anything after arrives
	// live; positions already delivered are skipped, so there is no gap and
	// no duplicate.
	sub.s.mu.Lock()
	if sub.s.subs == nil {
		sub.s.mu.Unlock()
		sub.f.Fail(events.ErrClosed)
		return
	}
	sub.s.subs[sub] = struct{}{}
	sub.s.mu.Unlock()
	for {
		n, err := sub.readFrom(&last)
		if err != nil {
			sub.f.Fail(err)
			return
		}
		if n < 1024 {
			break
		}
	}
	for {
		select {
		case env := <-sub.live:
			if env.Position.Seq() <= last {
				continue
			}
			if !sub.f.Send(env) {
				return
			}
			last = env.Position.Seq()
		case <-sub.f.Failed():
			// Deliver what was buffered before the overflow, then end.
			for {
				select {
				case env := <-sub.live:
					if env.Position.Seq() > last {
						if !sub.f.Send(env) {
							return
						}
						last = env.Position.Seq()
					}
				default:
					return
				}
			}
		case <-sub.f.Context().Done():
			sub.f.Fail(sub.f.Context().Err())
			return
		}
	}
}

// readFrom delivers up to 1024 stored events after *last and advances it.
func (sub *subscription) readFrom(last *uint64) (int, error) {
	evs, err := sub.s.ReadAll(sub.f.Context(), events.At(*last), 1024)
	if err != nil {
		return 0, err
	}
	for _, env := range evs {
		if !sub.f.Send(env) {
			return 0, sub.f.Err()
		}
		*last = env.Position.Seq()
	}
	return len(evs), nil
}

func (sub *subscription) unregister() {
	sub.s.mu.Lock()
	if sub.s.subs != nil {
		delete(sub.s.subs, sub)
	}
	sub.s.mu.Unlock()
}

// publish hands committed envelopes to live subscribers; called by the
// committer with s.mu held, in position order. A subscriber whose buffer is
// full is failed with ErrFellBehind rather than blocking every writer.
func (s *Store) publish(evs []events.Envelope) {
	if len(evs) == 0 {
		return
	}
	for sub := range s.subs {
	deliver:
		for _, env := range evs {
			select {
			case sub.live <- env:
			default:
				sub.f.Fail(events.ErrFellBehind)
				delete(s.subs, sub)
				break deliver
			}
		}
	}
}
