package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Log is what the writer needs to keep the tables current: the event store
// it subscribes to, the decoder that opens personal fields, and the
// reactors to run while this process is the writer.
type Log struct {
	Source projections.Source
	Decode projections.Decoder
	// Reactors, if set, returns fresh reactors each time this process
	// becomes the writer: only the writer runs them, so several processes
	// never act on the same decision (and DerivedID makes a race harmless).
	// They fold with the read models and append beside them
	// (projections.Runner): the checkpoint never waits for their appends.
	Reactors func() []projections.Reactor
	// Appender is where the reactors' decisions are appended (default:
	// Source, which must then be able to append).
	Appender projections.Appender
}

// Run keeps this process's view of the checkpoint current and stands for
// election as the writer until ctx ends. While it holds the writer lock it
// folds the log into memory and commits to the tables; otherwise it only
// follows the checkpoint. It returns nil when ctx is cancelled, and an
// error if the log cannot be read or decoded.
func (s *Store) Run(ctx context.Context, l Log) error {
	if l.Source == nil || l.Decode == nil {
		return events.Errorf(events.Invalid, "read models: run needs a source and a decoder")
	}
	head, err := l.Source.Head(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil // cancelled before it began, as the doc comment promises
		}
		return fmt.Errorf("read models: head: %w", err)
	}
	s.src.Store(&l.Source)
	s.head.Store(&head)
	s.checkCaughtUp()

	fctx, stop := context.WithCancel(ctx)
	followed := make(chan struct{})
	go func() { defer close(followed); s.follow(fctx) }()
	defer func() { stop(); <-followed }()

	// One connection stands for election until it wins; the lock dies
	// with it, so it is closed after a term as the writer.
	var cand *pgx.Conn
	defer func() {
		if cand != nil {
			cand.Close(context.WithoutCancel(ctx))
		}
	}()
	for {
		var err error
		if cand == nil || cand.IsClosed() {
			cand, err = pgx.ConnectConfig(ctx, s.cfg.ConnConfig.Copy())
			if err != nil {
				cand, err = nil, unavailable("read models: connect", err)
			}
		}
		if err == nil {
			var led bool
			led, err = s.stand(ctx, cand, l)
			if led {
				cand.Close(context.WithoutCancel(ctx)) // releases the lock
				cand = nil
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		var ce *commitError
		switch {
		case err == nil:
		case errors.As(err, &ce), errors.Is(err, errFenced), events.ErrorCode(err) == events.Unavailable:
			s.log.Warn("read-model writer stepped down or could not stand; standing again", "err", err)
		default:
			return err
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(s.opt.ElectionInterval):
		}
	}
}

// stand tries once to take the writer lock on conn and, if it gets it,
// writes on conn until ctx ends or writing fails; led tells whether it got
// the lock (the caller then closes conn, which releases it).
func (s *Store) stand(ctx context.Context, conn *pgx.Conn, l Log) (led bool, err error) {
	var held bool
	if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockKey(s.opt.Schema, "writer")).Scan(&held); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return false, unavailable("read models: writer lock", err)
	}
	if !held {
		return false, nil
	}
	s.writer.Store(true)
	defer s.writer.Store(false)
	w, err := newWriter(ctx, conn, s.opt.Schema, s.opt.Cipher, s.opt.SearchIndex, s.advance)
	if err != nil {
		return true, err
	}
	s.advance(w.last)
	s.log.Info("read-model writer elected", "schema", s.opt.Schema, "checkpoint", w.last.String())
	w.log, w.keys = s.log, s.opt.SnapshotKeys
	w.mem.Customers.SetSurvivorship(s.opt.Survivorship) // a snapshot taken under another rule is refused
	reactors, from, err := w.restore(ctx, l)
	if err != nil {
		return true, err
	}
	if !from.IsZero() && from == w.last {
		// Restored at the checkpoint, nothing to replay: do what a replay
		// reaching it does (fill the briefs, evaluations, campaigns and
		// search rows the tables lack).
		if err := w.Commit(ctx, from); err != nil {
			return true, err
		}
	}
	w.mem.Customers.SetSurvivorship(s.opt.Survivorship) // before the runner folds anything (restore may have made new folds)
	// The runner's CaughtUp, once it is made: the snapshotter writes
	// nothing while the runner replays.
	var caughtUp <-chan struct{}
	opt := projections.RunnerOptions{From: from, Checkpointer: w, Logger: s.log, MaxBatch: s.opt.MaxBatch, Now: s.opt.Now, Appender: l.Appender}
	if s.opt.SnapshotKeys != nil {
		var every uint64 // 0: none stored, but an erasure still shreds the one an earlier writer stored
		if s.opt.SnapshotEvery >= 0 {
			every = cmp.Or(uint64(s.opt.SnapshotEvery), 1_000_000)
		}
		opt.AfterBatch = w.snapshotter(every, projections.SnapshotRoots(w.mem.Projections(), reactors), &caughtUp)
	}
	r := projections.NewRunner(l.Source, l.Decode, w.projections(), reactors, opt)
	caughtUp = r.CaughtUp()
	s.runner.Store(r)
	defer s.runner.Store(nil)
	return true, r.Run(ctx)
}

// ReactorStats returns what the reactors of this process have done in its
// current term as the writer; zero when it is not the writer.
func (s *Store) ReactorStats() projections.ReactorStats {
	if r := s.runner.Load(); r != nil {
		return r.ReactorStats()
	}
	return projections.ReactorStats{}
}

// WaitReactorsIdle blocks until this process is the writer and its
// reactors are idle (projections.Runner.WaitReactorsIdle): nothing left to
// append and their own events folded. It returns ctx.Err() if ctx ends
// first.
func (s *Store) WaitReactorsIdle(ctx context.Context) error {
	for {
		if r := s.runner.Load(); r != nil {
			err := r.WaitReactorsIdle(ctx)
			if err == nil || ctx.Err() != nil {
				return err
			}
			// That term ended; wait for the next.
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(min(s.opt.ElectionInterval, 50*time.Millisecond)):
		}
	}
}

// follow keeps Position current from the table checkpoint: it LISTENs for
// the writer's NOTIFY and re-reads the checkpoint on each, or every
// PollInterval, reconnecting after failures.
func (s *Store) follow(ctx context.Context) {
	for ctx.Err() == nil {
		if err := s.listen(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("read-model checkpoint follower failed; reconnecting", "err", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(s.opt.PollInterval):
		}
	}
}

func (s *Store) listen(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, s.cfg.ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{channel(s.opt.Schema)}.Sanitize()); err != nil {
		return err
	}
	for {
		// Simple protocol: after a Rebuild swap the name must resolve to the
		// new table, never to a statement prepared against the old one.
		pos, err := readCheckpoint(ctx, queryRowSimple{conn})
		if err != nil {
			return err
		}
		s.advance(pos)
		wctx, cancel := context.WithTimeout(ctx, s.opt.PollInterval)
		_, err = conn.WaitForNotification(wctx)
		cancel()
		if err != nil && ctx.Err() != nil {
			return nil
		}
		if err != nil && !errors.Is(err, context.DeadlineExceeded) {
			return err
		}
	}
}

// queryRowSimple runs QueryRow with the simple protocol.
type queryRowSimple struct{ c *pgx.Conn }

func (q queryRowSimple) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return q.c.QueryRow(ctx, sql, append([]any{pgx.QueryExecModeSimpleProtocol}, args...)...)
}
