package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// RebuildResult tells what a Rebuild did.
type RebuildResult struct {
	Position events.Position // the checkpoint swapped in
	Events   uint64          // events folded
	Elapsed  time.Duration
}

// beforeSwap, if set (tests), is called before each swap attempt while the
// new tables hold still.
var beforeSwap func(attempt int)

// Rebuild replays the whole log of l.Source into fresh tables in schema
// opt.Schema+"_next" and swaps them in for opt.Schema atomically, with
// their checkpoint, once they are at least as current as the live tables.
// Readers keep seeing the live tables until the swap commits; a running
// writer steps down at its next commit and resumes from the new tables.
// Reactors are not run. opt.MaxBatch defaults to 4096 events per
// transaction here. It returns a Conflict error if another rebuild of
// the same schema is running.
func Rebuild(ctx context.Context, url string, l Log, opt Options) (RebuildResult, error) {
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 4096 // fewer, larger transactions: ~1.8x the rate of 1024
	}
	opt.defaults()
	start := time.Now()
	if l.Source == nil || l.Decode == nil {
		return RebuildResult{}, events.Errorf(events.Invalid, "rebuild needs a source and a decoder")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return RebuildResult{}, events.Errorf(events.Invalid, "rebuild: database url: %v", err)
	}
	live, next := opt.Schema, opt.Schema+"_next"
	admin, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
	if err != nil {
		return RebuildResult{}, unavailable("rebuild: connect", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	var held bool
	if err := admin.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", lockKey(live, "rebuild")).Scan(&held); err != nil {
		return RebuildResult{}, unavailable("rebuild: lock", err)
	}
	if !held {
		return RebuildResult{}, events.Errorf(events.Conflict, "rebuild of %s already running", live)
	}
	if err := migrate(ctx, admin, live); err != nil {
		return RebuildResult{}, err
	}
	if _, err := admin.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{next}.Sanitize()+" CASCADE"); err != nil {
		return RebuildResult{}, unavailable("rebuild: drop leftover schema", err)
	}
	if err := migrate(ctx, admin, next); err != nil {
		return RebuildResult{}, err
	}

	wcfg := cfg.ConnConfig.Copy()
	wcfg.RuntimeParams["search_path"] = next
	wconn, err := pgx.ConnectConfig(ctx, wcfg)
	if err != nil {
		return RebuildResult{}, unavailable("rebuild: connect", err)
	}
	defer wconn.Close(context.WithoutCancel(ctx))
	w, err := newWriter(ctx, wconn, next, opt.Cipher, opt.SearchIndex, nil)
	if err != nil {
		return RebuildResult{}, err
	}
	w.mem.Customers.SetSurvivorship(opt.Survivorship)
	r := projections.NewRunner(l.Source, l.Decode, w.projections(), nil,
		projections.RunnerOptions{Checkpointer: w, Logger: opt.Logger, MaxBatch: opt.MaxBatch})
	rctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan error, 1)
	go func() { done <- r.Run(rctx) }()

	select {
	case <-r.CaughtUp():
	case err := <-done:
		return RebuildResult{}, fmt.Errorf("rebuild: %w", err)
	case <-ctx.Done():
		return RebuildResult{}, ctx.Err()
	}
	var pos events.Position
	for attempt := 0; ; attempt++ {
		swapped := false
		r.View(func(events.Position) {
			if beforeSwap != nil {
				beforeSwap(attempt)
			}
			pos = w.last
			swapped, err = swap(ctx, admin, live, next, pos, opt.SnapshotKeys)
		})
		if err != nil {
			return RebuildResult{}, err
		}
		if swapped {
			break
		}
		// The live writer is ahead: let the new tables catch up.
		select {
		case err := <-done:
			return RebuildResult{}, fmt.Errorf("rebuild: %w", err)
		case <-ctx.Done():
			return RebuildResult{}, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
	stop()
	<-done // its schema is gone: a commit in flight fails, and nothing is left to write
	opt.Logger.Info("read models rebuilt", "schema", live, "checkpoint", pos.String(), "events", r.Applied())
	return RebuildResult{Position: pos, Events: r.Applied(), Elapsed: time.Since(start)}, nil
}

// swap replaces schema live by next in one transaction if next's
// checkpoint pos is not behind live's, and reports whether it did. The
// data key of the snapshot the live schema holds is destroyed first (keys;
// nil: none is), so what its dropped rows leave in WAL and backups stays
// sealed under a destroyed key.
func swap(ctx context.Context, conn *pgx.Conn, live, next string, pos events.Position, keys projections.SnapshotKeys) (bool, error) {
	tx, err := conn.Begin(ctx)
	if err != nil {
		return false, unavailable("rebuild: swap", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	liveID, nextID, oldID := pgx.Identifier{live}.Sanitize(), pgx.Identifier{next}.Sanitize(), pgx.Identifier{live + "_old"}.Sanitize()
	// The writer's commit updates rm_checkpoint first: once this lock is
	// held no commit is open and none can start until the swap is done.
	if _, err := tx.Exec(ctx, "LOCK TABLE "+liveID+".rm_checkpoint IN ACCESS EXCLUSIVE MODE"); err != nil {
		return false, unavailable("rebuild: lock live checkpoint", err)
	}
	var c, p int64
	if err := tx.QueryRow(ctx, "SELECT commit_pos, prepare_pos FROM "+liveID+".rm_checkpoint").Scan(&c, &p); err != nil {
		return false, unavailable("rebuild: live checkpoint", err)
	}
	if pos.Less(events.Position{Commit: uint64(c), Prepare: uint64(p)}) {
		return false, nil
	}
	if err := destroySnapshotKey(ctx, tx, liveID+".rm_snapshot_chunks", keys); err != nil {
		return false, err
	}
	for _, sql := range []string{
		"DROP SCHEMA IF EXISTS " + oldID + " CASCADE",
		"ALTER SCHEMA " + liveID + " RENAME TO " + oldID,
		"ALTER SCHEMA " + nextID + " RENAME TO " + liveID,
		// Dropping in the same transaction invalidates every plan that
		// named the old tables: no statement can reach them after commit.
		"DROP SCHEMA " + oldID + " CASCADE",
	} {
		if _, err := tx.Exec(ctx, sql); err != nil {
			return false, unavailable("rebuild: swap", err)
		}
	}
	if _, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", channel(live), pos.String()); err != nil {
		return false, unavailable("rebuild: notify", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return false, unavailable("rebuild: swap commit", err)
	}
	return true, nil
}
