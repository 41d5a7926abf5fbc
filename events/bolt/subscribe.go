package bolt

import (
	"context"
	"sync"

	"github.com/dangol/dangol/events"
)

// subscription catches up from the file, then follows live commits fed by
// the committer into a bounded buffer.
type subscription struct {
	s      *Store
	ctx    context.Context
	cancel context.CancelFunc
	out    chan events.Envelope
	live   chan events.Envelope
	wg     sync.WaitGroup

	mu     sync.Mutex
	err    error
	failed chan struct{} // closed by fail
	once   sync.Once
}

// Subscribe delivers every event after from, in order, exactly once: first
// from the file, then live. A consumer that lets SubscriberBuffer live
// events pile up is ended with events.ErrFellBehind after everything before
// the overflow was delivered; it resumes by subscribing from its last position.
func (s *Store) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	sub := &subscription{s: s, ctx: ctx, cancel: cancel, out: make(chan events.Envelope, 256),
		live: make(chan events.Envelope, s.opt.SubscriberBuffer), failed: make(chan struct{})}
	sub.wg.Add(1)
	go sub.run(from)
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

// fail records why the subscription ends (first reason wins).
func (sub *subscription) fail(err error) {
	sub.once.Do(func() {
		sub.mu.Lock()
		sub.err = err
		sub.mu.Unlock()
		close(sub.failed)
	})
}

func (sub *subscription) run(from events.Position) {
	defer sub.wg.Done()
	defer close(sub.out)
	defer sub.unregister()
	last := from.Seq()
	// Catch up from the file until a read comes back short.
	for caught := false; !caught; {
		n, err := sub.readFrom(&last)
		if err != nil {
			sub.fail(err)
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
		sub.fail(events.ErrClosed)
		return
	}
	sub.s.subs[sub] = struct{}{}
	sub.s.mu.Unlock()
	for {
		n, err := sub.readFrom(&last)
		if err != nil {
			sub.fail(err)
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
			if !sub.send(env) {
				return
			}
			last = env.Position.Seq()
		case <-sub.failed:
			// Deliver what was buffered before the overflow, then end.
			for {
				select {
				case env := <-sub.live:
					if env.Position.Seq() > last {
						if !sub.send(env) {
							return
						}
						last = env.Position.Seq()
					}
				default:
					return
				}
			}
		case <-sub.ctx.Done():
			sub.fail(sub.ctx.Err())
			return
		}
	}
}

// readFrom delivers up to 1024 stored events after *last and advances it.
func (sub *subscription) readFrom(last *uint64) (int, error) {
	evs, err := sub.s.ReadAll(sub.ctx, events.At(*last), 1024)
	if err != nil {
		if sub.ctx.Err() != nil {
			return 0, sub.ctx.Err()
		}
		return 0, err
	}
	for _, env := range evs {
		if !sub.send(env) {
			return 0, sub.Err()
		}
		*last = env.Position.Seq()
	}
	return len(evs), nil
}

func (sub *subscription) send(env events.Envelope) bool {
	select {
	case sub.out <- env:
		return true
	case <-sub.ctx.Done():
		sub.fail(sub.ctx.Err())
		return false
	}
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
	feed:
		for _, env := range evs {
			select {
			case sub.live <- env:
			default:
				sub.fail(events.ErrFellBehind)
				delete(s.subs, sub)
				break feed
			}
		}
	}
}
