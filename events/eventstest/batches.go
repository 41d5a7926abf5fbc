package eventstest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
)

// testBatches runs the subscription tests again over the store's
// SubscribeBatches (events.BatchSubscriber), seen through batchesAsEvents:
// the same events exactly once in log order, the same ends (a cancelled
// context, ErrFellBehind, ErrClosed), and every batch 1 to size events.
func testBatches(t *testing.T, open func(tb testing.TB, now events.Clock) events.Store, opt Options) {
	probe := open(t, NewManualClock(Epoch).Now)
	if _, ok := probe.(events.BatchSubscriber); !ok {
		t.Skipf("%T delivers no batches (not an events.BatchSubscriber)", probe)
	}
	for _, tc := range []struct {
		name string
		test func(*testing.T, events.Store, Options)
	}{
		{"CatchUpThenIdle", testCatchUpIdle},
		{"SubscribeCatchUpThenLive", testSubscribe},
		{"SlowSubscriberNeverSkips", testSlow},
		{"ContextCancellation", testCancel},
		{"Close", testClose},
	} {
		for _, size := range []int{1, 7, 1024} {
			t.Run(fmt.Sprintf("%s/size=%d", tc.name, size), func(t *testing.T) {
				opt := opt
				opt.clock = NewManualClock(Epoch)
				s := open(t, opt.clock.Now)
				tc.test(t, batchesAsEvents{Store: s, bs: s.(events.BatchSubscriber), size: size}, opt)
			})
		}
	}
}

// testCatchUpIdle proves that a subscription delivers the whole log when
// nothing more is appended: a batch gathered from the log is sent when the
// log's end is reached, not held for the next commit.
func testCatchUpIdle(t *testing.T, s events.Store, opt Options) {
	mustAppend(t, s, "customer-I1", events.NoStream, evs(4)...)
	mustAppend(t, s, "customer-I2", events.NoStream, evs(5)...)
	mustAppend(t, s, "customer-I1", events.Any, evs(1)...)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f, err := follow(ctx, s, events.Start)
	if err != nil {
		t.Fatal(err)
	}
	defer f.close()
	mustFollow(t, s, f, 10, opt.Timeout, "the whole log of 10 events, nothing appended after")
	checkSameLog(t, "what arrived", f.got, readAll(t, s))
}

// batchesAsEvents is a store whose Subscribe reads SubscribeBatches and
// hands on the batches' events one at a time, failing the subscription if
// a batch is empty or larger than size.
type batchesAsEvents struct {
	events.Store
	bs   events.BatchSubscriber
	size int
}

func (s batchesAsEvents) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	b, err := s.bs.SubscribeBatches(ctx, from, s.size)
	if err != nil {
		return nil, err
	}
	f := &flattened{b: b, out: make(chan events.Envelope), done: make(chan struct{}), stopped: make(chan struct{})}
	go f.run(s.size)
	return f, nil
}

type flattened struct {
	b       events.BatchSubscription
	out     chan events.Envelope
	done    chan struct{} // closed by Close
	stopped chan struct{} // closed when run returns
	once    sync.Once
	bad     error // a batch broke the contract; set before out is closed
}

func (f *flattened) run(size int) {
	// stopped is closed before out, so a reader that sees out closed and
	// asks Err gets the batches' reason, never the nil of a run still
	// returning (the race that once read ErrFellBehind as nil).
	defer close(f.out)
	defer close(f.stopped)
	for b := range f.b.Batches() {
		if len(b) == 0 || len(b) > size {
			f.bad = fmt.Errorf("a batch of %d events, want 1 to %d", len(b), size)
			return
		}
		for _, e := range b {
			select {
			case f.out <- e:
			case <-f.done:
				return
			}
		}
	}
}

func (f *flattened) Events() <-chan events.Envelope { return f.out }

// Err is the batches' reason, once Events is closed.
func (f *flattened) Err() error {
	select {
	case <-f.stopped:
	default:
		return nil
	}
	if f.bad != nil {
		return f.bad
	}
	return f.b.Err()
}

func (f *flattened) Close() {
	f.once.Do(func() { close(f.done) })
	f.b.Close()
	<-f.stopped
}
