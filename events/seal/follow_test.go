package seal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// TestFollowConcurrentAppenders: Follow catches up with the events stored
// before it started, then follows four writers appending at once; the
// tree ends as the log, leaf for event, with no gap or duplicate.
func TestFollowConcurrentAppenders(t *testing.T) {
	store := openStore(t, eventstest.Clock(eventstest.Epoch))
	appendN(t, store, "before", 50)
	tr := openTree(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	followed := make(chan error, 1)
	go func() { followed <- tr.Follow(ctx, store) }()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			appendN(t, store, fmt.Sprintf("writer-%d", w), 100)
		}()
	}
	// A CatchUp racing with Follow adds nothing twice.
	if err := tr.CatchUp(context.Background(), store); err != nil {
		t.Error(err)
	}
	wg.Wait()
	eventually(t, "the tree to follow 450 events", func() bool { return tr.Size() >= 450 })
	cancel()
	if err := <-followed; !errors.Is(err, context.Canceled) {
		t.Fatalf("Follow returned %v", err)
	}
	checkTreeIsLog(t, tr, readLog(t, store))
}

// TestFollowResumesAfterFallingBehind: a subscription ended with
// ErrFellBehind is resumed from the tree's last leaf, skipping nothing.
func TestFollowResumesAfterFallingBehind(t *testing.T) {
	inner := openStore(t, eventstest.Clock(eventstest.Epoch))
	appendN(t, inner, "customer-1", 30)
	store := &fallingBehind{Store: inner, after: 7}
	tr := openTree(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	followed := make(chan error, 1)
	go func() { followed <- tr.Follow(ctx, store) }()
	eventually(t, "the tree to follow 30 events", func() bool { return tr.Size() == 30 })
	cancel()
	<-followed
	checkTreeIsLog(t, tr, readLog(t, inner))
	if n := store.subscribed.Load(); n < 5 {
		t.Fatalf("subscribed %d times; want a resubscription per 7 events", n)
	}
}

// TestFollowEndsWhenStoreCloses: a closed store ends Follow with its error.
// The event is appended once Follow subscribed, and followed before the
// store closes.
func TestFollowEndsWhenStoreCloses(t *testing.T) {
	store := &countSubscribe{Store: openStore(t, eventstest.Clock(eventstest.Epoch))}
	tr := openTree(t, t.TempDir())
	followed := make(chan error, 1)
	go func() { followed <- tr.Follow(context.Background(), store) }()
	eventually(t, "Follow to subscribe", func() bool { return store.subs.Load() == 1 })
	appendN(t, store, "customer-1", 1)
	eventually(t, "the tree to follow", func() bool { return tr.Size() == 1 })
	store.Close()
	if err := <-followed; !errors.Is(err, events.ErrClosed) {
		t.Fatalf("Follow returned %v, want ErrClosed", err)
	}
}

// fallingBehind ends every subscription with ErrFellBehind after a few
// events, as a store does to a consumer that does not keep up.
type fallingBehind struct {
	events.Store
	after      int
	subscribed atomic.Int32
}

func (s *fallingBehind) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	s.subscribed.Add(1)
	ctx, cancel := context.WithCancel(ctx)
	inner, err := s.Store.Subscribe(ctx, from)
	if err != nil {
		cancel()
		return nil, err
	}
	sub := &cutSubscription{ch: make(chan events.Envelope), done: make(chan struct{}), cancel: cancel}
	go func() {
		err := s.relay(ctx, inner, sub.ch)
		inner.Close()
		cancel()
		sub.mu.Lock()
		sub.err = err
		sub.mu.Unlock()
		close(sub.ch)
		close(sub.done)
	}()
	return sub, nil
}

// relay passes on up to s.after events and returns why it stopped.
func (s *fallingBehind) relay(ctx context.Context, inner events.Subscription, out chan<- events.Envelope) error {
	for n := 0; n < s.after; n++ {
		e, ok := <-inner.Events()
		if !ok {
			return inner.Err()
		}
		select {
		case out <- e:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return events.ErrFellBehind
}

type cutSubscription struct {
	ch     chan events.Envelope
	done   chan struct{}
	cancel context.CancelFunc
	mu     sync.Mutex
	err    error // set before ch is closed
}

func (s *cutSubscription) Events() <-chan events.Envelope { return s.ch }
func (s *cutSubscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}
func (s *cutSubscription) Close() { s.cancel(); <-s.done }
