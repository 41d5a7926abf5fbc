package kurrentdb

import (
	"context"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/internal/feed"
)

// Subscribe implements events.Store: a catch-up subscription to $all,
// resubscribed from the last delivered position when the server drops it.
func (s *Store) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	s.wg.Add(1)
	f := feed.New(ctx, 1024)
	f.Go(func() {
		defer s.wg.Done()
		s.run(f, from)
	})
	f.EndWith(s.closing, events.ErrClosed)
	return f, nil
}

func (s *Store) run(f *feed.Feed, last events.Position) {
	ctx := f.Context()
	backoff := 100 * time.Millisecond
	for {
		err := s.follow(f, &last)
		if ctx.Err() != nil {
			f.Fail(ctx.Err())
			return
		}
		if events.ErrorCode(err) != events.Unavailable {
			f.Fail(err)
			return
		}
		select { // dropped: resubscribe from the last delivered position
		case <-time.After(backoff):
		case <-ctx.Done():
			f.Fail(ctx.Err())
			return
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// follow runs one server subscription until it drops.
func (s *Store) follow(f *feed.Feed, last *events.Position) error {
	ctx := f.Context()
	var from esdb.AllPosition = esdb.Start{}
	if !last.IsZero() {
		from = esdb.Position{Commit: last.Commit, Prepare: last.Prepare}
	}
	opts := esdb.SubscribeToAllOptions{From: from, Filter: esdb.ExcludeSystemEventsFilter()}
	if s.opt.Prefix != "" {
		opts.Filter = &esdb.SubscriptionFilter{Type: esdb.StreamFilterType, Prefixes: []string{s.opt.Prefix}}
	}
	server, err := use(ctx, s, func(c *esdb.Client) (*esdb.Subscription, error) { return c.SubscribeToAll(ctx, opts) },
		func(sub *esdb.Subscription) { _ = sub.Close() })
	if err != nil {
		return s.translate(ctx, "subscribe to $all", err)
	}
	defer server.Close()
	for {
		ev := server.Recv()
		switch {
		case ev.SubscriptionDropped != nil:
			return s.translate(ctx, "subscription dropped", ev.SubscriptionDropped.Error)
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
		if !f.Send(env) {
			return ctx.Err()
		}
		*last = pos
	}
}
