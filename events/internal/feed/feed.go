// Package feed is the plumbing every store's events.Subscription shares:
// the delivery channel, the reason the subscription ended, and the
// goroutine that fills it. Stores embed a *Feed and supply the loop.
package feed

import (
	"context"
	"sync"

	"github.com/dangol/dangol/events"
)

// Feed implements events.Subscription around a store's delivery loop.
type Feed struct {
	ctx    context.Context
	cancel context.CancelFunc
	out    chan events.Envelope
	wg     sync.WaitGroup

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

// Go runs the delivery loop in its own goroutine; the channel is closed
// when loop returns. Call it once.
func (f *Feed) Go(loop func()) {
	f.wg.Add(1)
	go func() {
		defer f.wg.Done()
		defer close(f.out)
		loop()
	}()
}

// Events implements events.Subscription.
func (f *Feed) Events() <-chan events.Envelope { return f.out }

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
