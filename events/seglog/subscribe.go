package seglog

import (
	"context"
	"errors"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/internal/feed"
)

// Subscribe delivers every event after from, in order, exactly once: it
// reads the log until it reaches the head, then follows the ring of recent
// events that every commit fills, waiting for the next commit when it has
// delivered the head. A subscriber that, once live, lets more than
// SubscriberBuffer events pass beyond what it has taken is ended with
// events.ErrFellBehind, after everything before was delivered; it resumes
// by subscribing from its last position.
func (s *Store) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	f := feed.New(ctx, 256)
	f.EndWith(s.closing, events.ErrClosed)
	f.Go(func() { s.follow(f, from.Seq()) })
	return f, nil
}

// follow is a subscription's loop; last is the last position delivered.
// Behind the ring it sends each event as it is decoded from the log (one
// envelope decoded into, no page of them allocated first).
func (s *Store) follow(f *feed.Feed, last uint64) {
	live := false
	var scratch events.Envelope
	send := func(e *events.Envelope) error {
		if !f.Send(*e) {
			return errStopped
		}
		last = e.Position.Seq()
		return nil
	}
	for {
		evs, wake, fromLog := s.recent(last)
		switch {
		case fromLog && live:
			f.Fail(events.ErrFellBehind)
			return
		case fromLog:
			if err := s.scanTo(f.Context(), last, 1024, &scratch, send); err != nil {
				if err != errStopped {
					f.Fail(err)
				}
				return
			}
			continue
		case len(evs) == 0:
			live = true
			select {
			case <-wake:
			case <-f.Failed():
				return
			case <-f.Context().Done():
				f.Fail(f.Context().Err())
				return
			}
			continue
		}
		for _, e := range evs {
			if !f.Send(e) {
				return
			}
			last = e.Position.Seq()
		}
	}
}

// errStopped ends a scan whose subscription has ended (Send failed it).
var errStopped = errors.New("seglog: subscription ended")

// recent returns up to 256 events after position last from the ring, or
// fromLog if the ring no longer (or not yet) holds position last+1. With
// no event after last it returns the channel the next commit closes.
func (s *Store) recent(last uint64) (evs []events.Envelope, wake <-chan struct{}, fromLog bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	head := s.idx.head()
	if last >= head {
		return nil, s.wake, false
	}
	if last+1 < s.ring.low(head) {
		return nil, nil, true
	}
	n := min(head-last, 256)
	evs = make([]events.Envelope, 0, n)
	for p := last + 1; p <= last+n; p++ {
		evs = append(evs, s.ring.get(p))
	}
	return evs, nil, false
}
