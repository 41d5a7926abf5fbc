// Package kurrentdb is the events.Store on a KurrentDB (EventStoreDB)
// cluster, through github.com/EventStore/EventStore-Client-Go/v4: the last
// step of the scale path (shared/DESIGN.md), with PostgreSQL read models.
//
// NOT RUN HERE: no KurrentDB server can run on the machine this was written
// on, nor in this project's CI. The adapter is written to events/eventstest;
// its test runs the whole suite only when DANGOL_KURRENTDB_URL names a
// server (for example esdb://localhost:2113?tls=false) and is skipped
// otherwise: ops/conformance.sh is that run as one command for an operator's
// cluster. Treat the adapter as unproven until it has passed there. What
// runs everywhere: connection-string parsing and the errors of an
// unreachable node. `dangol serve --store kurrentdb` opens it with the
// stream prefix dangol-.
//
// Mapping:
//   - Each event is stored as a binary event whose data is the canonical
//     record of the events package (the bytes the hash chain covers), under
//     its own type and its ULID as the event id (both are 16 bytes).
//   - Streams are stored as Options.Prefix + stream, so that several
//     ledgers (or test runs) can share one cluster; reads of $all skip
//     events outside the prefix and every system event.
//   - Positions are $all's commit/prepare pairs, carried by events.Position.
//   - An append reads the stream's last event (for its version and hash),
//     builds the records, and appends with that exact expected revision. If
//     another writer got there first, an append whose caller asked for Any
//     or StreamExists is re-planned; an exact or NoStream expectation gets
//     the conflict error.
//   - Idempotency: KurrentDB's own is guaranteed only for a retry with the
//     same exact expected revision. This adapter therefore looks for the
//     event ids among the stream's last Options.IdempotencyWindow events
//     before appending: a retry after more than that many later events in
//     the same stream would append duplicates.
//   - AppendBatch appends the batch's streams concurrently, each entry as
//     Append does (batch.go): no write spans streams.
//   - Subscriptions are catch-up subscriptions to $all. The client does not
//     resume a dropped subscription; this adapter resubscribes from the last
//     delivered position with backoff, skipping what it already delivered.
package kurrentdb

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	neturl "net/url"
	"strings"
	"sync"
	"time"

	"github.com/EventStore/EventStore-Client-Go/v4/esdb"
	"github.com/google/uuid"

	"github.com/dangol/dangol/events"
)

// Options tune a Store.
type Options struct {
	// Prefix is put before every stream name on the server (default none).
	Prefix string
	// IdempotencyWindow is how many of a stream's last events an append
	// searches for its event ids (default 1000).
	IdempotencyWindow int
	// BatchStreams is how many streams an AppendBatch appends to at once
	// (default 32).
	BatchStreams int
	// Now stamps each append's recordedAt (default events.SystemClock).
	Now events.Clock
	// Logger receives the client library's own log lines (discovery and
	// connection trouble) as records "kurrentdb client" with the line as
	// detail; nil leaves them to the library, which prints plain text
	// through the log package.
	Logger *slog.Logger
}

// Store is the KurrentDB events.Store.
type Store struct {
	conn *conn
	opt  Options

	closing chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

var _ events.Store = (*Store)(nil)

// Open connects to the cluster named by url: an esdb:// or esdb+discover://
// connection string, or the kurrentdb:// and kurrentdb+discover:// forms of
// KurrentDB's documentation, read as those (the v4 client knows only esdb).
func Open(url string, opt Options) (*Store, error) {
	if opt.IdempotencyWindow <= 0 {
		opt.IdempotencyWindow = 1000
	}
	if opt.BatchStreams <= 0 {
		opt.BatchStreams = 32
	}
	if opt.Now == nil {
		opt.Now = events.SystemClock
	}
	cfg, err := esdb.ParseConnectionString(esdbURL(url))
	if err != nil {
		// url.Parse's errors quote the string, password and all.
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, events.Errorf(events.Invalid, "kurrentdb url: %v", err)
	}
	if opt.Logger != nil {
		cfg.Logger = clientLog(opt.Logger)
	}
	c, err := newConn(cfg)
	if err != nil {
		return nil, &events.Error{Code: events.Unavailable, Message: "kurrentdb: connect", Err: err}
	}
	return &Store{conn: c, opt: opt, closing: make(chan struct{})}, nil
}

// clientLog routes the client library's log lines to l at their level.
func clientLog(l *slog.Logger) esdb.LoggingFunc {
	levels := map[esdb.LogLevel]slog.Level{esdb.LogDebug: slog.LevelDebug, esdb.LogInfo: slog.LevelInfo, esdb.LogWarn: slog.LevelWarn, esdb.LogError: slog.LevelError}
	return func(level esdb.LogLevel, format string, args ...any) {
		l.Log(context.Background(), levels[level], "kurrentdb client", "detail", fmt.Sprintf(format, args...))
	}
}

// esdbURL rewrites a kurrentdb:// or kurrentdb+discover:// connection
// string to the esdb scheme the client parses; any other is unchanged.
func esdbURL(url string) string {
	if rest, ok := strings.CutPrefix(url, "kurrentdb"); ok && (strings.HasPrefix(rest, "://") || strings.HasPrefix(rest, "+discover://")) {
		return "esdb" + rest
	}
	return url
}

// Close ends subscriptions with ErrClosed and closes the client.
func (s *Store) Close() error {
	s.once.Do(func() {
		close(s.closing)
		s.wg.Wait()
		s.conn.close()
	})
	return nil
}

func (s *Store) alive(ctx context.Context) error {
	select {
	case <-s.closing:
		return events.ErrClosed
	default:
	}
	return ctx.Err()
}

func (s *Store) name(stream string) string { return s.opt.Prefix + stream }

// ours reports whether a recorded event belongs to this ledger.
func (s *Store) ours(r *esdb.RecordedEvent) bool {
	return r != nil && strings.HasPrefix(r.StreamID, s.opt.Prefix) && !strings.HasPrefix(r.EventType, "$") &&
		!strings.HasPrefix(r.StreamID, "$")
}

// decode turns a recorded event into an envelope, checking that the record
// agrees with where the server says it is.
func (s *Store) decode(r *esdb.RecordedEvent) (events.Envelope, error) {
	var env events.Envelope
	if err := events.DecodeRecord(r.Data, &env); err != nil {
		return env, fmt.Errorf("kurrentdb: %s@%d: %w", r.StreamID, r.EventNumber, err)
	}
	if s.name(env.Stream) != r.StreamID || env.Version != r.EventNumber || [16]byte(env.ID) != [16]byte(r.EventID) {
		return env, events.Errorf(events.Internal, "kurrentdb: the record at %s@%d names %s@%d", r.StreamID, r.EventNumber, env.Stream, env.Version)
	}
	env.Position = events.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare}
	return env, nil
}

// translate turns a client error into an events.Error.
func (s *Store) translate(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	select {
	case <-s.closing:
		return events.ErrClosed
	default:
	}
	if _, ok := err.(*events.Error); ok {
		return err
	}
	var e *esdb.Error
	if errors.As(err, &e) {
		switch e.Code() {
		case esdb.ErrorCodeResourceNotFound, esdb.ErrorCodeStreamDeleted:
			return &events.Error{Code: events.NotFound, Message: "kurrentdb: " + what, Err: err}
		case esdb.ErrorCodeConnectionClosed, esdb.ErrorCodeDeadlineExceeded, esdb.ErrorCodeNotLeader, esdb.ErrorCodeUnknown,
			esdb.ErrorUnavailable, esdb.ErrorAborted: // the last two: a node down or restarting
			return &events.Error{Code: events.Unavailable, Message: "kurrentdb unavailable: " + what, Err: err}
		}
	}
	return &events.Error{Code: events.Internal, Message: "kurrentdb: " + what, Err: err}
}

// readStream reads up to n events of the server stream name from from in
// direction dir. A missing stream returns (nil, nil, NotFound-coded error).
func (s *Store) readStream(ctx context.Context, name string, from esdb.StreamPosition, dir esdb.Direction, n uint64) ([]*esdb.RecordedEvent, error) {
	rs, err := use(ctx, s, func(c *esdb.Client) (*esdb.ReadStream, error) {
		return c.ReadStream(ctx, name, esdb.ReadStreamOptions{Direction: dir, From: from}, n)
	}, (*esdb.ReadStream).Close)
	if err != nil {
		return nil, s.translate(ctx, "read stream", err)
	}
	defer rs.Close()
	var out []*esdb.RecordedEvent
	for {
		ev, err := rs.Recv()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, s.translate(ctx, "read stream", err)
		}
		if r := ev.OriginalEvent(); r != nil {
			out = append(out, r)
		}
	}
}

func (s *Store) readAll(ctx context.Context, opts esdb.ReadAllOptions, n uint64) (*esdb.ReadStream, error) {
	return use(ctx, s, func(c *esdb.Client) (*esdb.ReadStream, error) { return c.ReadAll(ctx, opts, n) }, (*esdb.ReadStream).Close)
}

// ReadStream implements events.Store.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, dir events.Direction, limit int) ([]events.Envelope, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1000
	}
	var start esdb.StreamPosition = esdb.Revision(from)
	d := esdb.Forwards
	if dir == events.Backward {
		d = esdb.Backwards
		if from == events.LastVersion {
			start = esdb.End{}
		}
	}
	recs, err := s.readStream(ctx, s.name(stream), start, d, uint64(limit))
	if events.ErrorCode(err) == events.NotFound {
		return nil, events.Errorf(events.NotFound, "stream %s not found", stream)
	}
	if err != nil {
		return nil, err
	}
	out := make([]events.Envelope, 0, len(recs))
	for _, r := range recs {
		env, err := s.decode(r)
		if err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	return out, nil
}

// ReadAll implements events.Store: it pages through $all from from,
// skipping the event at from itself, system events and other prefixes.
func (s *Store) ReadAll(ctx context.Context, from events.Position, limit int) ([]events.Envelope, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1000
	}
	var out []events.Envelope
	cursor := from
	for len(out) < limit {
		var start esdb.AllPosition = esdb.Start{}
		if !cursor.IsZero() {
			start = esdb.Position{Commit: cursor.Commit, Prepare: cursor.Prepare}
		}
		page := uint64(max(limit-len(out), 256)) + 1
		rs, err := s.readAll(ctx, esdb.ReadAllOptions{Direction: esdb.Forwards, From: start}, page)
		if err != nil {
			return nil, s.translate(ctx, "read $all", err)
		}
		n, last := 0, cursor
		for len(out) < limit {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rs.Close()
				return nil, s.translate(ctx, "read $all", err)
			}
			n++
			r := ev.OriginalEvent()
			pos := events.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare}
			last = pos
			if !cursor.Less(pos) && !cursor.IsZero() || !s.ours(r) {
				continue
			}
			env, err := s.decode(r)
			if err != nil {
				rs.Close()
				return nil, err
			}
			out = append(out, env)
		}
		rs.Close()
		if n < int(page) || last == cursor {
			break // the end of $all
		}
		cursor = last
	}
	return out, nil
}

// Head implements events.Store: the position of this ledger's last event.
// It reads $all backwards, first a few events (where a cluster of its own
// has the ledger's last one: /readyz and every metrics scrape ask), then
// pages of 512 past other ledgers' and system events.
func (s *Store) Head(ctx context.Context) (events.Position, error) {
	if err := s.alive(ctx); err != nil {
		return events.Position{}, err
	}
	var from esdb.AllPosition = esdb.End{}
	for page := uint64(8); ; page = 512 {
		rs, err := s.readAll(ctx, esdb.ReadAllOptions{Direction: esdb.Backwards, From: from}, page)
		if err != nil {
			return events.Position{}, s.translate(ctx, "read $all", err)
		}
		n := 0
		var last esdb.Position
		for {
			ev, err := rs.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				rs.Close()
				return events.Position{}, s.translate(ctx, "read $all", err)
			}
			n++
			r := ev.OriginalEvent()
			if s.ours(r) {
				rs.Close()
				return events.Position{Commit: r.Position.Commit, Prepare: r.Position.Prepare}, nil
			}
			last = r.Position
		}
		rs.Close()
		if uint64(n) < page {
			return events.Start, nil
		}
		from = last
	}
}

// Append implements events.Store (see the package comment for how
// expected versions and idempotency map onto KurrentDB's).
func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	if err := s.alive(ctx); err != nil {
		return events.AppendResult{}, err
	}
	if err := events.CheckAppend(stream, evs); err != nil {
		return events.AppendResult{}, err
	}
	return retryRaced(stream, func() (events.AppendResult, bool, error) { return s.appendOnce(ctx, stream, expected, evs) })
}

// appendAttempts bounds how often an append is planned again after losing
// a race for its stream.
const appendAttempts = 21

// retryRaced runs plan again while it reports a lost race, at most
// appendAttempts times; an append that lost every race is Unavailable
// (nothing was appended: the caller may retry).
func retryRaced(stream string, plan func() (events.AppendResult, bool, error)) (events.AppendResult, error) {
	for range appendAttempts {
		res, raced, err := plan()
		if !raced {
			return res, err
		}
	}
	return events.AppendResult{}, events.Errorf(events.Unavailable, "append %s: other writers changed the stream during each of %d attempts; nothing was appended", stream, appendAttempts)
}

// appendOnce plans against the stream's current last event and appends
// with that exact revision. raced reports a lost race that the caller's
// expectation (Any, StreamExists) allows re-planning.
func (s *Store) appendOnce(ctx context.Context, stream string, expected events.ExpectedVersion, evs []events.Event) (events.AppendResult, bool, error) {
	name := s.name(stream)
	tail, err := s.readStream(ctx, name, esdb.End{}, esdb.Backwards, uint64(max(s.opt.IdempotencyWindow, len(evs))))
	if err != nil && events.ErrorCode(err) != events.NotFound {
		return events.AppendResult{}, false, err
	}
	if res, dup, err := s.duplicate(stream, tail, evs); dup || err != nil {
		return res, false, err
	}
	actual := events.NoStreamVersion
	var prev events.Hash
	if len(tail) > 0 {
		last, err := s.decode(tail[0])
		if err != nil {
			return events.AppendResult{}, false, err
		}
		actual, prev = int64(last.Version), last.Hash
	}
	if !expected.Allows(actual) {
		return events.AppendResult{}, false, events.ConflictError(stream, expected, actual)
	}
	now := s.opt.Now().UTC().Truncate(time.Microsecond)
	data := make([]esdb.EventData, len(evs))
	ids := make([]string, len(evs))
	for i, ev := range evs {
		env := events.Envelope{ID: ev.ID, Stream: stream, Version: uint64(actual + 1 + int64(i)), Type: ev.Type, Schema: ev.Schema,
			RecordedAt: now, OccurredAt: ev.OccurredAt.UTC(), Actor: ev.Actor, CorrelationID: ev.CorrelationID,
			CausationID: ev.CausationID, Data: ev.Data, PrevHash: prev}
		data[i] = esdb.EventData{EventID: uuid.UUID(ev.ID), EventType: ev.Type, ContentType: esdb.ContentTypeBinary, Data: events.EncodeRecord(&env)}
		prev, ids[i] = env.Hash, ev.ID.String()
	}
	var rev esdb.ExpectedRevision = esdb.NoStream{}
	if actual >= 0 {
		rev = esdb.Revision(uint64(actual))
	}
	_, err = use(ctx, s, func(c *esdb.Client) (*esdb.WriteResult, error) {
		return c.AppendToStream(ctx, name, esdb.AppendToStreamOptions{ExpectedRevision: rev}, data...)
	}, nil)
	var e *esdb.Error
	if errors.As(err, &e) && e.Code() == esdb.ErrorCodeWrongExpectedVersion {
		if expected == events.Any || expected == events.StreamExists {
			return events.AppendResult{}, true, nil
		}
		// Report the version the stream has now.
		now, rerr := s.readStream(ctx, name, esdb.End{}, esdb.Backwards, 1)
		v := events.NoStreamVersion
		if rerr == nil && len(now) == 1 {
			v = int64(now[0].EventNumber)
		}
		return events.AppendResult{}, false, events.ConflictError(stream, expected, v)
	}
	if err != nil {
		return events.AppendResult{}, false, s.translate(ctx, "append", err)
	}
	// The append's answer carries the commit's position; read the last
	// event back for the position it is read at.
	lastVersion := uint64(actual + int64(len(evs)))
	back, err := s.readStream(ctx, name, esdb.Revision(lastVersion), esdb.Forwards, 1)
	if err != nil || len(back) != 1 {
		return events.AppendResult{}, false, &events.Error{Code: events.Unavailable, Message: "kurrentdb: appended, but reading the position back failed; retry with the same ids", Err: err}
	}
	return events.AppendResult{Stream: stream, Version: lastVersion, EventIDs: ids,
		Position: events.Position{Commit: back[0].Position.Commit, Prepare: back[0].Position.Prepare}}, false, nil
}

// duplicate looks for evs' ids among the stream's tail (newest first):
// all of them at consecutive versions in order is a retry, answered with
// the original result; some of them is Invalid.
func (s *Store) duplicate(stream string, tail []*esdb.RecordedEvent, evs []events.Event) (events.AppendResult, bool, error) {
	at := make(map[[16]byte]*esdb.RecordedEvent, len(tail))
	for _, r := range tail {
		at[[16]byte(r.EventID)] = r
	}
	found := 0
	var first, last *esdb.RecordedEvent
	ids := make([]string, len(evs))
	for i, ev := range evs {
		ids[i] = ev.ID.String()
		r, ok := at[[16]byte(ev.ID)]
		if !ok {
			continue
		}
		if found > 0 && r.EventNumber != last.EventNumber+1 {
			return events.AppendResult{}, false, events.InvalidField(fmt.Sprintf("events[%d].id", i), "event ids were already used in a different append")
		}
		if found == 0 {
			first = r
		}
		found++
		last = r
	}
	switch {
	case found == 0:
		return events.AppendResult{}, false, nil
	case found < len(evs):
		return events.AppendResult{}, false, events.InvalidField("events", "%d of %d event ids were already appended; retry the original append unchanged", found, len(evs))
	}
	return events.AppendResult{Stream: stream, Version: first.EventNumber + uint64(len(evs)) - 1, EventIDs: ids, Duplicate: true,
		Position: events.Position{Commit: last.Position.Commit, Prepare: last.Position.Prepare}}, true, nil
}
