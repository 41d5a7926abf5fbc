// Package feed is the plumbing every store's events.Subscription shares:
// the delivery channel, the reason the subscription ended, and the
// goroutine that fills it. Stores embed a *Feed and supply the loop.
package feed

import (
	"context"
	"sync"

	"github.com/dangol/dangol/events"
)

// Feed implements events.Subscription around a store's delivery loop, or
// events.BatchSubscription when made by NewBatches.
type Feed struct {
	ctx     context.Context
	cancel  context.CancelFunc
	out     chan events.Envelope   // nil for a feed of batches
	batches chan []events.Envelope // nil for a feed of events
	spare   chan []events.Envelope // batches given back by Recycle (a feed of batches)
	wg      sync.WaitGroup

	mu     sync.Mutex
	err    error
	failed chan struct{} // closed by the first Fail
}

// New returns a Feed whose channel holds buf envelopes and whose context
// ends with ctx or Close. Go starts its loop.
func New(ctx context.Context, buf int) *Feed {
	ctx, cancel := context.WithCancel(ctx)
	return &Feed{ctx: ctx, cancel: cancel, out: make(chan events.Envelope, buf), failed: make(chan struct{})}
}

// NewBatches returns a Feed of batches (events.BatchSubscription) whose
// channel holds buf batches; the loop delivers with SendBatch.
func NewBatches(ctx context.Context, buf int) *Feed {
	ctx, cancel := context.WithCancel(ctx)
	return &Feed{ctx: ctx, cancel: cancel, batches: make(chan []events.Envelope, buf), spare: make(chan []events.Envelope, spareBatches),
		failed: make(chan struct{})}
}

// spareBatches is how many recycled batches a feed keeps: about as many as
// a reader has in flight (the runner's decoding pipeline holds a few per
// core); more given back are left to the collector.
const spareBatches = 8

// Recycle implements events.BatchRecycler: b is cleared (its envelopes no
// longer keep what they pointed to alive) and kept for Spare, or left to
// the collector when enough are kept.
func (f *Feed) Recycle(b []events.Envelope) {
	if f.spare == nil || cap(b) == 0 {
		return
	}
	b = b[:cap(b)]
	clear(b)
	select {
	case f.spare <- b[:0]:
	default:
	}
}

// Spare returns an empty recycled batch of capacity at least n, or nil.
func (f *Feed) Spare(n int) []events.Envelope {
	select {
	case b := <-f.spare:
		if cap(b) >= n {
			return b
		}
	default:
	}
	return nil
}

// Go runs the delivery loop in its own goroutine; the channel is closed
// when loop returns. Call it once.
func (f *Feed) Go(loop func()) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer func() {
			if f.out != nil {
				close(f.out)
			} else {
				close(f.batches)
			}
		}()
		loop()
	}()
}

// Events implements events.Subscription.
func (f *Feed) Events() <-chan events.Envelope { return f.out }

// Batches implements events.BatchSubscription (nil for a feed of events).
func (f *Feed) Batches() <-chan []events.Envelope { return f.batches }

// Err implements events.Subscription.
func (f *Feed) Err() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.err
}

// Close implements events.Subscription: it ends the context and waits for
// the loop.
func (f *Feed) Close() {
	f.cancel()
	f.wg.Wait()
}

// Context is the loop's context: done when the subscriber's ctx ends or
// Close is called.
func (f *Feed) Context() context.Context { return f.ctx }

// Fail records why the subscription ends; the first reason wins. The loop
// sees it through Failed and returns.
func (f *Feed) Fail(err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err == nil {
		f.err = err
		close(f.failed)
	}
}

// Failed is closed once Fail was called.
func (f *Feed) Failed() <-chan struct{} { return f.failed }

// Send delivers env, waiting for the consumer. It reports false, having
// failed the feed, when the context ends first. (A feed that failed for
// another reason may still deliver what it holds, as a subscriber that
// fell behind gets everything before the overflow.)
func (f *Feed) Send(env events.Envelope) bool {
	select {
	case f.out <- env:
		return true
	case <-f.ctx.Done():
		f.Fail(f.ctx.Err())
		return false
	}
}

// EndWith fails the feed with err and ends its context when stop closes
// first (a store's Close), until the feed's context ends.
func (f *Feed) EndWith(stop <-chan struct{}, err error) {
	go func() {
		select {
		case <-stop:
			f.Fail(err)
			f.cancel()
		case <-f.ctx.Done():
		}
	}()
}

// SendBatch delivers b, which the receiver then owns, as Send delivers an
// event: waiting for the consumer, false once the context has ended.
func (f *Feed) SendBatch(b []events.Envelope) bool {
	select {
	case f.batches <- b:
		return true
	case <-f.ctx.Done():
		f.Fail(f.ctx.Err())
		return false
	}
}
