package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// appendReq is one Append waiting for the committer.
type appendReq struct {
	stream   string
	expected events.ExpectedVersion
	evs      []events.Event
	res      events.AppendResult
	err      error

	// Filled while a batch is planned.
	records [][]byte
	first   uint64     // version of the first event written
	dupOf   *appendReq // an earlier request of the batch with the same events
}

// Append writes evs atomically to stream if it is at the expected version,
// and returns once the transaction holding them has committed (PostgreSQL
// has flushed its WAL). Concurrent appends of this process are coalesced
// into one transaction. If ctx ends or the database is lost while the
// append is in flight, the outcome is unknown to the caller: retrying with
// the same event ids is safe and returns the original result.
func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	if err := s.alive(ctx); err != nil {
		return events.AppendResult{}, err
	}
	if err := events.CheckAppend(stream, evs); err != nil {
		return events.AppendResult{}, err
	}
	req := &appendReq{stream: stream, expected: expected, evs: evs}
	if s.inflight.Add(1) == 1 && s.committing.TryLock() {
		// The only append in flight, and no commit running: commit it
		// here rather than hand it to the committer and wait for it to be
		// woken (about a tenth of a lone writer's time per append).
		after := s.commit([]*appendReq{req})
		s.committing.Unlock()
		s.inflight.Add(-1)
		if after != nil {
			after()
		}
		return req.res, req.err
	}
	defer s.inflight.Add(-1)
	if err := s.q.Do(ctx, []*appendReq{req}); err != nil {
		return events.AppendResult{}, err
	}
	return req.res, req.err
}

// commitCalls is the committer's step: the queued calls' requests in one
// batch, while no lone Append commits.
func (s *Store) commitCalls(calls [][]*appendReq) (after func()) {
	s.committing.Lock()
	defer s.committing.Unlock()
	return s.commit(slices.Concat(calls...))
}

// commit writes a batch. A transaction that fails for a reason that may be
// one request's doing (a unique violation from an id appended concurrently
// elsewhere) or a transient one (deadlock, serialisation) is retried, and
// after that each request is committed on its own so one cannot sink the
// others. It is this process's committer step (groupcommit.Queue.Run); once
// the batch is answered, local subscriptions are woken.
func (s *Store) commit(batch []*appendReq) (after func()) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.commitOnce(ctx, batch)
	for attempt := 0; err != nil && retryable(err) && attempt < 3; attempt++ {
		err = s.commitOnce(ctx, batch)
	}
	if err != nil && retryable(err) && len(batch) > 1 {
		for _, req := range batch {
			s.commit([]*appendReq{req})
		}
		return s.signal
	}
	if err != nil {
		err = s.translate(ctx, "append", err)
		for _, req := range batch {
			req.res, req.err = events.AppendResult{}, err
		}
		return nil
	}
	return s.signal
}

// retryable reports whether a failed transaction may succeed when run
// again: a unique violation (an event id appended concurrently by another
// process, caught by the re-run's duplicate check), a deadlock or a
// serialisation failure.
func retryable(err error) bool {
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	switch pgErr.Code {
	case "23505", "40P01", "40001":
		return true
	}
	return false
}

// streamHead is a stream's state inside the transaction.
type streamHead struct {
	version int64
	hash    events.Hash
	moved   bool // a request of the batch appended to it
	create  bool // commitHeld: the stream has no row as far as the store knows
}

// heldVersion is the version dangol_append_held checks the stream's row
// for, nil for a row it creates.
func (h *streamHead) heldVersion() *int64 {
	if h.create {
		return nil
	}
	v := h.version
	return &v
}

// maxHeldHeads bounds the heads a store holds (about 100 bytes each).
const maxHeldHeads = 1 << 16

// heldHeads are the stream heads of this store's last committed
// transactions that wrote or locked each stream: the next append to such a
// stream needs no read before it writes. Another process's append makes a
// held head stale, which dangol_append_held detects. Only whoever holds
// Store.committing uses it.
type heldHeads struct {
	heads map[string]streamHead
}

// keep holds heads, as committed. When the map is full it starts afresh.
func (c *heldHeads) keep(heads map[string]*streamHead) {
	if c.heads == nil || len(c.heads)+len(heads) > maxHeldHeads {
		c.heads = make(map[string]streamHead, len(heads))
	}
	for name, h := range heads {
		c.heads[name] = streamHead{version: h.version, hash: h.hash}
	}
}

// forget drops the heads of a batch whose commit failed (its outcome may be
// unknown).
func (c *heldHeads) forget(batch []*appendReq) {
	for _, req := range batch {
		delete(c.heads, req.stream)
	}
}

// storedID is where an event id already is.
type storedID struct {
	stream  string
	version int64
	seq     int64
	pending *appendReq // written by this batch (seq not known yet)
}

// commitOnce commits a batch in one round trip when the store holds the
// head of every stream the batch writes (commitHeld), and otherwise, or
// when a held head has moved, in two (commitLocked).
func (s *Store) commitOnce(ctx context.Context, batch []*appendReq) error {
	if done, err := s.commitHeld(ctx, batch); done || err != nil {
		return err
	}
	return s.commitLocked(ctx, batch)
}

// commitLocked runs one transaction in two round trips. The first locks the
// batch's stream rows (in byte order, so concurrent committers cannot
// deadlock) and looks up its event ids; the requests are then checked and
// encoded here; the second takes the log head's row lock, inserts the
// events at the next sequence numbers, moves the stream heads, notifies
// if NotifyInterval is negative and commits. Requests refused by the checks get their error and write
// nothing; the others are answered with their positions. The heads it
// locked are held for the next commits.
func (s *Store) commitLocked(ctx context.Context, batch []*appendReq) error {
	resetAll(batch)
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	c := conn.Conn()
	ok := false
	defer func() {
		if !ok && !c.IsClosed() {
			if _, err := c.Exec(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
				conn.Conn().Close(context.Background())
			}
		}
	}()

	streams := make([]string, 0, len(batch))
	var ids [][]byte
	for _, req := range batch {
		streams = append(streams, req.stream)
		for i := range req.evs {
			ids = append(ids, req.evs[i].ID[:])
		}
	}
	slices.Sort(streams)
	streams = slices.Compact(streams)

	heads, stored, err := lockStreams(ctx, c, streams, ids)
	if err != nil {
		return err
	}
	now := s.opt.Now().UTC().Truncate(time.Microsecond)
	var written []*appendReq
	for _, req := range batch {
		if plan(req, heads, stored, now) {
			written = append(written, req)
		}
	}
	if len(written) == 0 {
		ok = true
		if _, err := c.Exec(ctx, "COMMIT"); err != nil { // nothing written, so no request is a duplicate of a written one
			return err
		}
		s.held.keep(heads)
		return nil
	}
	// The new heads of the streams written to (heads holds every locked one).
	var hStream []string
	var hVersion []int64
	var hHash [][]byte
	for _, name := range streams {
		if h := heads[name]; h.moved {
			hStream, hVersion, hHash = append(hStream, name), append(hVersion, h.version), append(hHash, h.hash[:])
		}
	}
	r := eventRows(written)
	notify := s.notes.due()
	b := &pgx.Batch{}
	var base int64
	b.Queue(`WITH h AS (UPDATE dangol_log_head SET seq = seq + $1 RETURNING seq - $1 AS base),
		ins AS (INSERT INTO dangol_events (seq, stream, version, id, type, recorded_at, record)
			SELECT h.base + r.n, r.stream, r.version, r.id, r.type, $2, r.record
			FROM h, unnest($3::text[], $4::bigint[], $5::bytea[], $6::text[], $7::bytea[])
				WITH ORDINALITY AS r(stream, version, id, type, record, n))
		SELECT base FROM h`, int64(len(r.id)), now, r.stream, r.version, r.id, r.typ, r.record).QueryRow(func(row pgx.Row) error {
		return row.Scan(&base)
	})
	b.Queue(`UPDATE dangol_streams s SET version = u.version, hash = u.hash
		FROM unnest($1::text[], $2::bigint[], $3::bytea[]) AS u(stream, version, hash) WHERE s.stream = u.stream`,
		hStream, hVersion, hHash)
	if notify {
		b.Queue(`SELECT pg_notify('` + notifyChannel + `', '')`)
	}
	b.Queue(`COMMIT`)
	err = c.SendBatch(ctx, b).Close()
	s.notes.settle(err == nil, notify)
	if err != nil {
		s.held.forget(batch)
		return err
	}
	ok = true
	s.held.keep(heads)
	answer(batch, written, base)
	return nil
}

// commitHeld commits the batch in one round trip, the statement
// dangol_append_held (migration 0003), if the store holds the head of every
// stream the batch writes, or the batch starts the stream (NoStream), and
// every request passes its checks against those heads. It reports false,
// having written nothing, when it does not apply: then the batch is
// committed the locking way, which reads the true heads. A head held by
// this store can only be stale, never wrong: versions only grow, and a
// head is held only once its commit is known, so the statement's check of
// the held version is enough.
func (s *Store) commitHeld(ctx context.Context, batch []*appendReq) (bool, error) {
	resetAll(batch)
	heads := make(map[string]*streamHead, len(batch))
	for _, req := range batch {
		if _, ok := heads[req.stream]; ok {
			continue
		}
		h, ok := s.held.heads[req.stream]
		switch {
		case ok:
			heads[req.stream] = &h
		case req.expected == events.NoStream:
			heads[req.stream] = &streamHead{version: -1, create: true}
		default:
			return false, nil
		}
	}
	now := s.opt.Now().UTC().Truncate(time.Microsecond)
	stored := map[ulid.ULID]storedID{}
	var h heldRows
	for name := range heads {
		h.stream = append(h.stream, name)
	}
	slices.Sort(h.stream) // rows are locked in byte order, as commitLocked does
	for _, name := range h.stream {
		h.old = append(h.old, heads[name].heldVersion())
	}
	for _, req := range batch {
		if !plan(req, heads, stored, now) {
			return false, nil // refused by a held head that may be stale, or a retry within the batch
		}
	}
	for _, name := range h.stream {
		h.version, h.hash = append(h.version, heads[name].version), append(h.hash, heads[name].hash[:])
	}
	r := eventRows(batch)
	notify := s.notes.due()
	var base int64
	err := s.pool.QueryRow(ctx, `SELECT dangol_append_held($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		h.stream, h.old, h.version, h.hash, now, r.stream, r.version, r.id, r.typ, r.record, notify).Scan(&base)
	s.notes.settle(err == nil, notify)
	if err != nil {
		s.held.forget(batch)
		var pgErr *pgconn.PgError
		if errors.As(err, &pgErr) && (pgErr.Code == "DG001" || pgErr.Code == "23505") {
			return false, nil // a head moved, or an id is stored already: read the truth
		}
		return false, err
	}
	s.held.keep(heads)
	answer(batch, batch, base)
	return true, nil
}

// resetAll clears what an earlier attempt planned.
func resetAll(batch []*appendReq) {
	for _, req := range batch {
		req.res, req.err, req.records, req.dupOf = events.AppendResult{}, nil, nil, nil
	}
}

// heldRows are the stream heads dangol_append_held checks and moves.
type heldRows struct {
	stream  []string
	old     []*int64 // nil: the stream is created
	version []int64
	hash    [][]byte
}

// rows are the events of a commit in position order, as the insert's arrays.
type rows struct {
	stream  []string
	version []int64
	id      [][]byte
	typ     []string
	record  [][]byte
}

// eventRows lays out the planned records of written in position order.
func eventRows(written []*appendReq) rows {
	var r rows
	for _, req := range written {
		for i, rec := range req.records {
			r.stream = append(r.stream, req.stream)
			r.version = append(r.version, int64(req.first)+int64(i))
			r.id = append(r.id, req.evs[i].ID[:])
			r.typ = append(r.typ, req.evs[i].Type)
			r.record = append(r.record, rec)
		}
	}
	return r
}

// answer fills in the results of a committed batch whose written requests'
// events were numbered from base+1 in order, and of its in-batch retries.
func answer(batch, written []*appendReq, base int64) {
	seq := base
	for _, req := range written {
		seq += int64(len(req.records))
		ids := make([]string, len(req.evs))
		for i := range req.evs {
			ids[i] = req.evs[i].ID.String()
		}
		req.res = events.AppendResult{Stream: req.stream, Version: req.first + uint64(len(req.evs)) - 1,
			Position: events.At(uint64(seq)), EventIDs: ids}
	}
	for _, req := range batch {
		if req.dupOf != nil {
			req.res = req.dupOf.res
			req.res.Duplicate = true
		}
	}
}

// lockStreams begins the transaction, reserves and locks the stream rows
// and reads where the batch's event ids already are, in one round trip.
func lockStreams(ctx context.Context, c *pgx.Conn, streams []string, ids [][]byte) (map[string]*streamHead, map[ulid.ULID]storedID, error) {
	heads := make(map[string]*streamHead, len(streams))
	stored := map[ulid.ULID]storedID{}
	b := &pgx.Batch{}
	b.Queue(`BEGIN`)
	b.Queue(`INSERT INTO dangol_streams (stream, version, hash)
		SELECT s, -1, '\x'::bytea FROM unnest($1::text[]) AS s ORDER BY s ON CONFLICT DO NOTHING`, streams)
	b.Queue(`SELECT stream, version, hash FROM dangol_streams WHERE stream = ANY($1) ORDER BY stream FOR UPDATE`, streams).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var name string
				var h streamHead
				var hash []byte
				if err := rows.Scan(&name, &h.version, &hash); err != nil {
					return err
				}
				copy(h.hash[:], hash)
				heads[name] = &h
			}
			return rows.Err()
		})
	b.Queue(`SELECT id, stream, version, seq FROM dangol_events WHERE id = ANY($1)`, ids).
		Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var id []byte
				var at storedID
				if err := rows.Scan(&id, &at.stream, &at.version, &at.seq); err != nil {
					return err
				}
				stored[ulid.ULID(id)] = at
			}
			return rows.Err()
		})
	if err := c.SendBatch(ctx, b).Close(); err != nil {
		return nil, nil, err
	}
	return heads, stored, nil
}

// plan checks one request against the transaction's view of its stream
// (which earlier requests of the batch may have advanced) and encodes its
// records. It reports whether the request writes; otherwise req.err or, for
// a duplicate, req.res is set.
func plan(req *appendReq, heads map[string]*streamHead, stored map[ulid.ULID]storedID, now time.Time) bool {
	if dup, err := duplicate(req, stored); err != nil || dup {
		req.err = err
		return false
	}
	h := heads[req.stream]
	actual := h.version
	if actual < 0 {
		actual = events.NoStreamVersion
	}
	if !req.expected.Allows(actual) {
		req.err = events.ConflictError(req.stream, req.expected, actual)
		return false
	}
	req.first = uint64(actual + 1)
	prev := h.hash
	if actual < 0 {
		prev = events.Hash{}
	}
	req.records = make([][]byte, len(req.evs))
	for i, ev := range req.evs {
		env := events.Envelope{ID: ev.ID, Stream: req.stream, Version: req.first + uint64(i), Type: ev.Type, Schema: ev.Schema,
			RecordedAt: now, OccurredAt: ev.OccurredAt.UTC(), Actor: ev.Actor, CorrelationID: ev.CorrelationID,
			CausationID: ev.CausationID, Data: ev.Data, PrevHash: prev}
		req.records[i] = events.EncodeRecord(&env)
		prev = env.Hash
		stored[ev.ID] = storedID{stream: req.stream, version: int64(env.Version), seq: -1, pending: req}
	}
	h.version = int64(req.first) + int64(len(req.evs)) - 1
	h.hash = prev
	h.moved = true
	return true
}

// duplicate reports whether every event of req is already stored in this
// stream at consecutive versions in order: then req.res is the original
// result. Some but not all ids stored, or stored elsewhere, is Invalid.
func duplicate(req *appendReq, stored map[ulid.ULID]storedID) (bool, error) {
	found := 0
	var first, prevVersion, lastSeq int64
	var pending *appendReq // the batch request that is writing the ids, if any
	ids := make([]string, len(req.evs))
	for i, ev := range req.evs {
		ids[i] = ev.ID.String()
		at, ok := stored[ev.ID]
		if !ok {
			continue
		}
		found++
		switch {
		case at.stream != req.stream:
			return false, events.InvalidField(fmt.Sprintf("events[%d].id", i), "event id %s was already used in another stream", ids[i])
		case found > 1 && (at.version != prevVersion+1 || at.pending != pending):
			return false, events.InvalidField(fmt.Sprintf("events[%d].id", i), "event ids were already used in a different append")
		case found == 1:
			first, pending = at.version, at.pending
		}
		prevVersion, lastSeq = at.version, at.seq
	}
	switch {
	case found == 0:
		return false, nil
	case found < len(req.evs):
		return false, events.InvalidField("events", "%d of %d event ids were already appended; retry the original append unchanged", found, len(req.evs))
	case pending != nil && len(pending.evs) != len(req.evs):
		return false, events.InvalidField("events", "event ids were already used in a different append")
	case pending != nil:
		req.dupOf = pending // a retry racing its original within one batch: answered after the commit
		return true, nil
	}
	req.res = events.AppendResult{Stream: req.stream, Version: uint64(first) + uint64(len(req.evs)) - 1,
		Position: events.At(uint64(lastSeq)), EventIDs: ids, Duplicate: true}
	return true, nil
}
