package kurrentdb

import (
	"context"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/dangol/dangol/events"
)

// subscription follows $all with a catch-up subscription and resubscribes
// from the last delivered position when the server drops it.
type subscription struct {
	s      *Store
	ctx    context.Context
	cancel context.CancelFunc
	out    chan events.Envelope
	wg     sync.WaitGroup

	mu  sync.Mutex
	err error
}

// Subscribe implements events.Store.
func (s *Store) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	sub := &subscription{s: s, ctx: ctx, cancel: cancel, out: make(chan events.Envelope, 1024)}
	sub.wg.Add(1)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		sub.run(from)
	}()
	go func() { // Close of the store ends the subscription
		select {
		case <-s.closing:
			sub.fail(events.ErrClosed)
			cancel()
		case <-ctx.Done():
		}
	}()
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

func (sub *subscription) run(last events.Position) {
	defer sub.wg.Done()
	defer close(sub.out)
	backoff := 100 * time.Millisecond
	for {
		err := sub.follow(&last)
		if sub.ctx.Err() != nil {
			sub.fail(sub.ctx.Err())
			return
		}
		if events.ErrorCode(err) != events.Unavailable {
			sub.fail(err)
			return
		}
		select { // dropped: resubscribe from the last delivered position
		case <-time.After(backoff):
		case <-sub.ctx.Done():
			sub.fail(sub.ctx.Err())
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// follow runs one server subscription until it drops.
func (sub *subscription) follow(last *events.Position) error {
	s := sub.s
	var from esdb.AllPosition = esdb.Start{}
	if !last.IsZero() {
		from = esdb.Position{Commit: last.Commit, Prepare: last.Prepare}
	}
	opts := esdb.SubscribeToAllOptions{From: from, Filter: esdb.ExcludeSystemEventsFilter()}
	if s.opt.Prefix != "" {
		opts.Filter = &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{s.opt.Prefix}}
	}
	server, err := s.client.SubscribeToAll(sub.ctx, opts)
	if err != nil {
		return s.translate(sub.ctx, "subscribe to $all", err)
	}
	defer server.Close()
	for {
		ev := server.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			return s.translate(sub.ctx, "subscription dropped", ev.SubscriptionDropped.Error)
		case ev.EventAppeared == nil:
			continue // checkpoints, caught up, fell behind
		}
		r := ev.EventAppeared.OriginalEvent()
		pos := events.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare}
		if !s.ours(r) || !last.Less(pos) && !last.IsZero() {
			continue // another ledger's, a system event, or already delivered
		}
		env, err := s.decode(r)
		if err != nil {
			return err
		}
		select {
		case sub.out <- env:
			*last = pos
		case <-sub.ctx.Done():
			return sub.ctx.Err()
		}
	}
}
