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
	f.Go(func() { s.follow(f, from.Seq(), &eventSink{f: f}) })
	return f, nil
}

// SubscribeBatches implements events.BatchSubscriber: Subscribe's events,
// in batches of up to size (a read of the log, or what the ring holds past
// the last batch), each decoded once into the slice the receiver gets.
func (s *Store) SubscribeBatches(ctx context.Context, from events.Position, size int) (events.BatchSubscription, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	f := feed.NewBatches(ctx, 2)
	f.EndWith(s.closing, events.ErrClosed)
	f.Go(func() { s.follow(f, from.Seq(), &batchSink{f: f, max: max(1, size)}) })
	return f, nil
}

// A sink is where follow puts what it reads: each event on the feed's
// channel (Subscribe), or gathered into batches (SubscribeBatches).
type sink interface {
	// slot is where the next event read from the log is decoded, zeroed.
	slot() *events.Envelope
	// put delivers or gathers e, the event just decoded into the last
	// slot; false once the subscription has ended.
	put(e *events.Envelope) bool
	// ring delivers evs, the sink's to keep.
	ring(evs []events.Envelope) bool
	// flush delivers what put gathered; follow calls it before it waits.
	flush() bool
	// limit is how many events follow reads from the log at a time.
	limit() uint64
}

type eventSink struct {
	f       *feed.Feed
	scratch events.Envelope // each event is decoded into it and sent as a copy
}

func (k *eventSink) slot() *events.Envelope {
	k.scratch = events.Envelope{}
	return &k.scratch
}
func (k *eventSink) put(e *events.Envelope) bool { return k.f.Send(*e) }
func (k *eventSink) flush() bool                 { return true }
func (k *eventSink) limit() uint64               { return 1024 }
func (k *eventSink) ring(evs []events.Envelope) bool {
	for _, e := range evs {
		if !k.f.Send(e) {
			return false
		}
	}
	return true
}

type batchSink struct {
	f   *feed.Feed
	max int
	b   []events.Envelope
}

func (k *batchSink) limit() uint64 { return uint64(k.max) }

func (k *batchSink) slot() *events.Envelope {
	if k.b == nil {
		if k.b = k.f.Spare(k.max); k.b == nil {
			k.b = make([]events.Envelope, 0, k.max)
		}
	}
	k.b = append(k.b, events.Envelope{})
	return &k.b[len(k.b)-1]
}

func (k *batchSink) put(*events.Envelope) bool { return len(k.b) < k.max || k.flush() }

func (k *batchSink) flush() bool {
	if len(k.b) == 0 {
		return true
	}
	b := k.b
	k.b = nil
	return k.f.SendBatch(b)
}

func (k *batchSink) ring(evs []events.Envelope) bool {
	if !k.flush() {
		return false
	}
	for len(evs) > 0 {
		n := min(len(evs), k.max)
		if !k.f.SendBatch(evs[:n:n]) {
			return false
		}
		evs = evs[n:]
	}
	return true
}

// follow is a subscription's loop; last is the last position delivered.
// Behind the ring it decodes each event from the log where out says and
// puts it there.
func (s *Store) follow(f *feed.Feed, last uint64, out sink) {
	live := false
	put := func(e *events.Envelope) error {
		at := e.Position.Seq() // before put: a batch sent is the receiver's (to recycle, clearing e)
		if !out.put(e) {
			return errStopped
		}
		last = at
		return nil
	}
	for {
		evs, wake, fromLog := s.recent(last)
		switch {
		case fromLog && live:
			if out.flush() {
				f.Fail(events.ErrFellBehind)
			}
			return
		case fromLog:
			err := s.scanTo(f.Context(), last, out.limit(), out.slot, put)
			if err == nil && !out.flush() {
				err = errStopped
			}
			if err != nil {
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
		at := evs[len(evs)-1].Position.Seq() // before ring: what it sends is the receiver's
		if !out.ring(evs) {
			return
		}
		last = at
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
