package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/projections"
	rmpg "github.com/dangol/dangol/projections/postgres"
)

// runBenchWriter times the start of a newly elected writer of the
// PostgreSQL read store (`dangol serve --read-store postgres`), each run a
// fresh process holding one copy of the folds:
//
//	--prepare [--snapshot-at-events K]  the tables caught up with the log
//	                                    and a snapshot of the folds stored
//	                                    (at the K-th event: a tail to fold)
//	(default)                           the writer restores the stored
//	                                    snapshot, folds the tail, caught up
//	--full-replay                       the same writer without the
//	                                    snapshot: the whole log in memory
//
// The phases (election, the snapshot's load and check, the tail, caught
// up) are timed by the writer's own log lines, wall and CPU.
func runBenchWriter(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("bench writer", "Times a newly elected writer of the PostgreSQL read store (log and read models in\n"+
		"--postgres-url) until its folds have caught up with the log: from the stored snapshot\n"+
		"of its folds (default), or replaying the whole log (--full-replay). --prepare first\n"+
		"brings the tables to the log's head and stores that snapshot. No reactors, no search\n"+
		"index (as bench latency's --read-store postgres).", stderr)
	var sf storeFlags
	sf.register(fs)
	prepare := fs.Bool("prepare", false, "bring the read-model tables to the log's head and store a snapshot of the writer's folds, then exit")
	at := fs.Uint64("snapshot-at-events", 0, "with --prepare: store the snapshot at the K-th event of the log (the writer's replay is told the log ends there), so a start from it has the rest of the log as its tail (0: at the head; K must be past half the log)")
	full := fs.Bool("full-replay", false, "the newly elected writer has no snapshot keys, so it refuses the stored snapshot and replays the whole log, as before snapshots")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	switch {
	case sf.backend != "postgres" || sf.postgresURL == "":
		return errors.New("bench writer: wants --store postgres and --postgres-url (the log and the read models in PostgreSQL)")
	case *prepare && *full:
		return errors.New("bench writer: --prepare and --full-replay are two runs, not one")
	case *at > 0 && !*prepare:
		return errors.New("bench writer: --snapshot-at-events needs --prepare")
	}
	s, keys, sealer, closeAll, err := openBench(ctx, sf, getenv)
	if err != nil {
		return err
	}
	defer closeAll()
	head, err := s.Head(ctx)
	if err != nil {
		return err
	}
	if head.IsZero() {
		return errors.New("bench writer: the log is empty")
	}
	if *prepare {
		return benchWriterPrepare(ctx, s, keys, sealer, sf.postgresURL, head, *at, stdout)
	}
	return benchWriterStart(ctx, s, keys, sealer, sf.postgresURL, !*full, stdout)
}

// benchWriterPrepare runs a writer that stores snapshots until the tables
// reach head. With at > 0 the writer's source ends at the at-th event for
// its replay (its runner catches up there, where the snapshotter stores
// one), then the writer goes on to head, storing none on the way
// (SnapshotEvery is at, more than the events left).
func benchWriterPrepare(ctx context.Context, s events.Store, keys pii.KeyStore, sealer *pii.Sealer, url string, head events.Position, at uint64, stdout io.Writer) error {
	var src projections.Source = s
	every := 0 // the default
	if at > 0 {
		if at <= head.Seq()-at {
			return fmt.Errorf("bench writer: --snapshot-at-events %d: want more than half of the log's %d events (the tail must be shorter than the snapshot interval)", at, head.Seq())
		}
		evs, err := s.ReadAll(ctx, events.At(at-1), 1)
		if err != nil {
			return err
		}
		if len(evs) == 0 || evs[0].Position.Less(events.At(at)) {
			return fmt.Errorf("bench writer: --snapshot-at-events %d: the log has no event there", at)
		}
		src, every = cappedSource{Source: s, head: evs[0].Position}, int(at)
	}
	lg := newPhaseLog()
	t0, cpu0 := time.Now(), cpuTime()
	rm, err := rmpg.Open(ctx, url, rmpg.Options{Logger: slog.New(lg), Cipher: rowCipher(sealer), SnapshotKeys: keys, SnapshotEvery: every})
	if err != nil {
		return err
	}
	defer rm.Close()
	from := rm.Position()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rm.Run(rctx, rmpg.Log{Source: src, Decode: sealer.OpenEnvelope}) }()
	// Done when the tables are at the head and the writer's folds have
	// caught up and stored their snapshot (or restored one already stored).
	ready := func() bool {
		_, caught := lg.find(msgCaughtUp)
		_, stored := lg.find(msgStored)
		_, failed := lg.find(msgNotStored)
		_, restored := lg.find(msgRestored)
		return !rm.Position().Less(head) && caught && (stored || failed || restored)
	}
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for !ready() {
		select {
		case err := <-done:
			return fmt.Errorf("bench writer: the writer stopped before the tables reached the head and a snapshot was stored: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	el, cpu := time.Since(t0), cpuTime()-cpu0
	cancel()
	if err := <-done; err != nil {
		return err
	}
	caught, _ := lg.find(msgCaughtUp)
	fmt.Fprintf(stdout, "tables from %s to the head %s in %s (CPU %s); the writer's folds caught up with %s after %s, %d events folded\n",
		from, head, msRound(el), msRound(cpu), caughtLabel(at), msRound(caught.at.Sub(t0)), caught.applied)
	if r, ok := lg.find(msgRestored); ok {
		fmt.Fprintf(stdout, "the writer restored a snapshot already stored (at %s): none written\n", r.position)
	}
	if st, ok := lg.find(msgStored); ok {
		fmt.Fprintf(stdout, "snapshot stored at %s in %s (CPU %s)\n", st.position, msRound(st.at.Sub(caught.at)), msRound(st.cpu-caught.cpu))
	}
	if w, ok := lg.find(msgNotStored); ok {
		return fmt.Errorf("bench writer: the snapshot was not stored at %s: %s", w.position, w.err)
	}
	snap, err := storedSnapshot(ctx, url, rm.Schema())
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, snap.String(head))
	return nil
}

func caughtLabel(at uint64) string {
	if at > 0 {
		return "the event " + strconv.FormatUint(at, 10)
	}
	return "the head"
}

// benchWriterStart is a newly elected writer until its folds have caught
// up with the log: from the stored snapshot (fromSnapshot; one the writer
// refuses is an error, a bench of the start from it would time a full
// replay) or, without snapshot keys, replaying the whole log.
func benchWriterStart(ctx context.Context, s events.Store, keys pii.KeyStore, sealer *pii.Sealer, url string, fromSnapshot bool, stdout io.Writer) error {
	snap, err := storedSnapshot(ctx, url, rmpg.DefaultSchema)
	if err != nil {
		return err
	}
	if fromSnapshot && !snap.ok {
		return errors.New("bench writer: no snapshot stored (bench writer --prepare stores one)")
	}
	head, err := s.Head(ctx)
	if err != nil {
		return err
	}
	var sk projections.SnapshotKeys
	if fromSnapshot {
		sk = keys
	}
	lg := newPhaseLog()
	base := liveHeap()
	t0, cpu0 := time.Now(), cpuTime()
	// SnapshotEvery -1: this writer stores none, so every run starts from
	// the same one (the seeded bank holds no erasure, which would remove it).
	rm, err := rmpg.Open(ctx, url, rmpg.Options{Logger: slog.New(lg), Cipher: rowCipher(sealer), SnapshotKeys: sk, SnapshotEvery: -1})
	if err != nil {
		return err
	}
	defer rm.Close()
	opened, openCPU := time.Since(t0), cpuTime()-cpu0
	if rm.Position().Less(head) {
		return fmt.Errorf("bench writer: the tables are at %s, the log's head at %s (bench writer --prepare brings them there)", rm.Position(), head)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- rm.Run(rctx, rmpg.Log{Source: s, Decode: sealer.OpenEnvelope}) }()
	select {
	case <-lg.wait(msgCaughtUp):
	case err := <-done:
		return fmt.Errorf("bench writer: the writer stopped before it caught up: %v", err)
	case <-ctx.Done():
		return ctx.Err()
	}
	caught, _ := lg.find(msgCaughtUp)
	elected, _ := lg.find(msgElected)
	restored, isRestored := lg.find(msgRestored)
	refused, isRefused := lg.find(msgRefused)
	customers, err := countCustomers(ctx, url, rm.Schema())
	if err != nil {
		return err
	}
	heap := heapLine(max(customers, 1), base) // the writer's folds are live: its runner holds them
	cancel()
	if err := <-done; err != nil {
		return err
	}
	if fromSnapshot && !isRestored {
		return fmt.Errorf("bench writer: the writer did not restore the stored snapshot (%s): it replayed the whole log", refused.err)
	}
	ms := msRound
	fmt.Fprintf(stdout, "opened the read store in %s (CPU %s); elected after %s (CPU %s)\n", ms(opened), ms(openCPU), ms(elected.at.Sub(t0)), ms(elected.cpu-cpu0))
	foldFrom := elected
	if isRestored {
		fmt.Fprintf(stdout, "snapshot at %s (%d bytes) loaded and checked in %s (CPU %s)\n", restored.position, snap.bytes, ms(restored.at.Sub(elected.at)), ms(restored.cpu-elected.cpu))
		foldFrom = restored
	} else if isRefused {
		fmt.Fprintf(stdout, "the stored snapshot refused (%s) in %s\n", refused.err, ms(refused.at.Sub(elected.at)))
		foldFrom = refused
	}
	fold := caught.at.Sub(foldFrom.at)
	what := "tail"
	if !isRestored {
		what = "whole log"
	}
	fmt.Fprintf(stdout, "%s of %d events folded in memory in %s (CPU %s, %.0f events/s)\n", what, caught.applied, ms(fold), ms(caught.cpu-foldFrom.cpu), float64(caught.applied)/max(fold.Seconds(), 1e-9))
	fmt.Fprintf(stdout, "newly elected writer caught up with the log at %s in %s (CPU %s): %d customers; heap %s\n", caught.position, ms(caught.at.Sub(t0)), ms(caught.cpu-cpu0), customers, heap)
	return nil
}

func msRound(d time.Duration) time.Duration { return d.Round(time.Millisecond) }

// The writer's and its runner's log lines that end the phases.
const (
	msgElected   = "read-model writer elected"
	msgRestored  = "read-model writer restored its folds from a snapshot"
	msgRefused   = "read-model snapshot refused; replaying the whole log"
	msgCaughtUp  = "projections caught up"
	msgStored    = "read-model snapshot stored"
	msgNotStored = "read-model snapshot not stored"
)

// phaseLog is a slog.Handler that keeps, for each message, when it was
// first logged (wall and this process's CPU) and its attributes.
type phaseLog struct {
	mu    sync.Mutex
	seen  map[string]phase
	waits map[string]chan struct{}
}

type phase struct {
	at            time.Time
	cpu           time.Duration
	position, err string
	applied       uint64
}

func newPhaseLog() *phaseLog {
	return &phaseLog{seen: map[string]phase{}, waits: map[string]chan struct{}{}}
}

func (l *phaseLog) Enabled(context.Context, slog.Level) bool { return true }
func (l *phaseLog) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *phaseLog) WithGroup(string) slog.Handler            { return l }

func (l *phaseLog) Handle(_ context.Context, r slog.Record) error {
	p := phase{at: time.Now(), cpu: cpuTime()}
	r.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "position":
			p.position = a.Value.String()
		case "err":
			p.err = a.Value.String()
		case "applied":
			p.applied, _ = strconv.ParseUint(a.Value.String(), 10, 64)
		}
		return true
	})
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[r.Message]; ok {
		return nil
	}
	l.seen[r.Message] = p
	if c, ok := l.waits[r.Message]; ok {
		close(c)
	}
	return nil
}

func (l *phaseLog) find(msg string) (phase, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	p, ok := l.seen[msg]
	return p, ok
}

// wait is closed once msg is logged.
func (l *phaseLog) wait(msg string) <-chan struct{} {
	l.mu.Lock()
	defer l.mu.Unlock()
	c, ok := l.waits[msg]
	if !ok {
		c = make(chan struct{})
		l.waits[msg] = c
		if _, seen := l.seen[msg]; seen {
			close(c)
		}
	}
	return c
}

// cappedSource is a log whose head, for a runner starting on it, is head:
// its replay catches up there (the events after it follow as live ones).
type cappedSource struct {
	projections.Source
	head events.Position
}

func (c cappedSource) Head(context.Context) (events.Position, error) { return c.head, nil }

// snapshotRow is rm_snapshot's row.
type snapshotRow struct {
	ok              bool
	commit, prepare int64
	chunks          int
	bytes           int64
	writtenAt       time.Time
}

func (r snapshotRow) String(head events.Position) string {
	if !r.ok {
		return "no snapshot stored"
	}
	return fmt.Sprintf("stored snapshot: position %d, %d events before the head, %d bytes in %d chunks, written at %s",
		r.commit, head.Seq()-uint64(r.commit), r.bytes, r.chunks, r.writtenAt.UTC().Format(time.RFC3339))
}

func storedSnapshot(ctx context.Context, url, schema string) (snapshotRow, error) {
	var r snapshotRow
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return r, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	err = conn.QueryRow(ctx, "SELECT commit_pos, prepare_pos, chunks, bytes, written_at FROM "+pgx.Identifier{schema, "rm_snapshot"}.Sanitize()).
		Scan(&r.commit, &r.prepare, &r.chunks, &r.bytes, &r.writtenAt)
	var pe *pgconn.PgError
	if errors.Is(err, pgx.ErrNoRows) || errors.As(err, &pe) && pe.Code == "42P01" { // none, or no read-model tables yet
		return r, nil
	}
	if err != nil {
		return r, fmt.Errorf("bench writer: the stored snapshot: %w", err)
	}
	r.ok = true
	return r, nil
}

func countCustomers(ctx context.Context, url, schema string) (int, error) {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	var n int
	err = conn.QueryRow(ctx, "SELECT count(*) FROM "+pgx.Identifier{schema, "rm_customers"}.Sanitize()).Scan(&n)
	return n, err
}
