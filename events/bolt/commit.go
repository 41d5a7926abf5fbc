package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bbolt "go.etcd.io/bbolt"

	"github.com/dangol/dangol/events"
)

// appendReq is one Append waiting for the committer.
type appendReq struct {
	stream   string
	expected events.ExpectedVersion
	evs      []events.Event
	res      events.AppendResult
	err      error
	written  []events.Envelope // envelopes written, for subscribers
}

// Append writes evs atomically to stream if it is at the expected version,
// and returns once they are durable. Concurrent appends are coalesced into
// one transaction (group commit). If ctx ends while the append is queued or
// committing, the outcome is unknown to the caller: retrying with the same
// event ids is safe and returns the original result.
func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	if err := s.alive(ctx); err != nil {
		return events.AppendResult{}, err
	}
	if err := events.CheckAppend(stream, evs); err != nil {
		return events.AppendResult{}, err
	}
	req := &appendReq{stream: stream, expected: expected, evs: evs}
	if err := s.q.Do(ctx, req); err != nil {
		return events.AppendResult{}, err
	}
	return req.res, req.err
}

// commit is the single writer's step (groupcommit.Queue.Run): it applies a
// batch of appends in one transaction, commits (bbolt fsyncs the data
// pages, then the meta page), and feeds subscribers before the appends are
// answered. Growing the file's preallocation runs after the answers.
func (s *Store) commit(batch []*appendReq) (after func()) {
	s.mu.Lock()
	seq := s.head
	s.mu.Unlock()
	next := seq
	var used int64
	err := s.db.Update(func(tx *bbolt.Tx) error {
		w := writer{tx: tx, log: tx.Bucket(bucketLog), heads: tx.Bucket(bucketHeads),
			index: tx.Bucket(bucketIndex), ids: tx.Bucket(bucketIDs), seq: next,
			now: s.opt.Now().UTC().Truncate(time.Microsecond)}
		for _, req := range batch {
			if err := w.apply(req); err != nil {
				return err // a storage failure: the whole transaction is void
			}
		}
		next = w.seq
		used = tx.Size()
		return nil
	})
	if err != nil {
		for _, req := range batch {
			req.res, req.written = events.AppendResult{}, nil
			if req.err == nil || events.ErrorCode(req.err) != events.Invalid && events.ErrorCode(req.err) != events.Conflict {
				req.err = &events.Error{Code: events.Unavailable, Message: "commit failed", Err: err}
			}
		}
		return nil
	}
	var live []events.Envelope
	for _, req := range batch {
		live = append(live, req.written...)
	}
	s.mu.Lock()
	s.head = next
	s.publish(live)
	s.mu.Unlock()
	return func() {
		if err := s.preallocate(used); err != nil {
			s.file.Close()
			s.file = nil // fall back to bbolt's own growth
		}
	}
}

// writer applies appends inside one transaction.
type writer struct {
	tx                     *bbolt.Tx
	log, heads, index, ids *bbolt.Bucket
	seq                    uint64
	now                    time.Time // recordedAt of every event of the batch
}

// apply checks one request against the transaction's current view and, if
// it passes, writes all its events. A request that fails validation sets
// req.err and writes nothing; the returned error is reserved for storage
// failures that void the whole batch.
func (w *writer) apply(req *appendReq) error {
	dup, err := w.duplicate(req)
	if err != nil || dup {
		req.err = err
		return nil
	}
	actual := events.NoStreamVersion
	var prev events.Hash
	if h := w.heads.Get([]byte(req.stream)); h != nil {
		actual = int64(binary.BigEndian.Uint64(h[:8]))
		copy(prev[:], h[8:40])
	}
	if !req.expected.Allows(actual) {
		req.err = events.ConflictError(req.stream, req.expected, actual)
		return nil
	}
	now := w.now
	version := uint64(actual + 1)
	req.written = make([]events.Envelope, len(req.evs))
	ids := make([]string, len(req.evs))
	for i, ev := range req.evs {
		env := events.Envelope{ID: ev.ID, Stream: req.stream, Version: version, Type: ev.Type, Schema: ev.Schema,
			RecordedAt: now, OccurredAt: ev.OccurredAt.UTC(), Actor: ev.Actor, CorrelationID: ev.CorrelationID,
			CausationID: ev.CausationID, Data: ev.Data, PrevHash: prev}
		rec := events.EncodeRecord(&env)
		w.seq++
		env.Position = events.At(w.seq)
		pos := u64(w.seq)
		if err := w.log.Put(pos, rec); err != nil {
			return err
		}
		if err := w.index.Put(indexKey(req.stream, version), pos); err != nil {
			return err
		}
		if err := w.ids.Put(ev.ID[:], pos); err != nil {
			return err
		}
		req.written[i] = env
		ids[i] = ev.ID.String()
		prev = env.Hash
		version++
	}
	last := req.written[len(req.written)-1]
	head := make([]byte, 40)
	binary.BigEndian.PutUint64(head, last.Version)
	copy(head[8:], last.Hash[:])
	if err := w.heads.Put([]byte(req.stream), head); err != nil {
		return err
	}
	req.res = events.AppendResult{Stream: req.stream, Version: last.Version, Position: last.Position, EventIDs: ids}
	return nil
}

// duplicate reports whether every event of req is already stored, in this
// stream, at consecutive versions in the same order: then req.res is the
// original result. Some but not all ids stored, or stored elsewhere, is
// Invalid.
func (w *writer) duplicate(req *appendReq) (bool, error) {
	var found int
	var first, prevVersion uint64
	ids := make([]string, len(req.evs))
	var lastPos uint64
	for i, ev := range req.evs {
		ids[i] = ev.ID.String()
		p := w.ids.Get(ev.ID[:])
		if p == nil {
			continue
		}
		found++
		pos := binary.BigEndian.Uint64(p)
		var env events.Envelope
		if err := events.DecodeRecord(bytes.Clone(w.log.Get(p)), &env); err != nil {
			return false, err
		}
		if env.Stream != req.stream {
			return false, events.InvalidField(fmt.Sprintf("events[%d].id", i), "event id %s was already used in another stream", ids[i])
		}
		if found > 1 && env.Version != prevVersion+1 {
			return false, events.InvalidField(fmt.Sprintf("events[%d].id", i), "event ids were already used in a different append")
		}
		if found == 1 {
			first = env.Version
		}
		prevVersion, lastPos = env.Version, pos
	}
	switch {
	case found == 0:
		return false, nil
	case found < len(req.evs):
		return false, events.InvalidField("events", "%d of %d event ids were already appended; retry the original append unchanged", found, len(req.evs))
	}
	req.res = events.AppendResult{Stream: req.stream, Version: first + uint64(len(req.evs)) - 1,
		Position: events.At(lastPos), EventIDs: ids, Duplicate: true}
	return true, nil
}
