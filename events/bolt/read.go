package bolt

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"

	bbolt "go.etcd.io/bbolt"

	"github.com/dangol/dangol/events"
)

// ReadStream returns up to limit events of stream from version from, in
// direction dir (Backward from events.LastVersion starts at the last event).
// A stream that does not exist is NotFound.
func (s *Store) ReadStream(ctx context.Context, stream string, from uint64, dir events.Direction, limit int) ([]events.Envelope, error) {
	if err := s.alive(ctx); err != nil {
		return nil, err
	}
	if limit <= 0 {
		limit = 1000
	}
	var out []events.Envelope
	err := s.view(func(tx *bbolt.Tx) error {
		h := tx.Bucket(bucketHeads).Get([]byte(stream))
		if h == nil {
			return events.Errorf(events.NotFound, "stream %s not found", stream)
		}
		last := binary.BigEndian.Uint64(h[:8])
		log := tx.Bucket(bucketLog)
		c := tx.Bucket(bucketIndex).Cursor()
		prefix := append([]byte(stream), 0)
		var k, v []byte
		if dir == events.Backward {
			k, v = c.Seek(indexKey(stream, min(from, last)))
		} else {
			k, v = c.Seek(indexKey(stream, from))
		}
		for k != nil && bytes.HasPrefix(k, prefix) && len(out) < limit {
			if len(out)%256 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			env, err := decodeAt(log, v)
			if err != nil {
				return err
			}
			out = append(out, env)
			if dir == events.Backward {
				k, v = c.Prev()
			} else {
				k, v = c.Next()
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func decodeAt(log *bbolt.Bucket, pos []byte) (events.Envelope, error) {
	rec := log.Get(pos)
	if rec == nil {
		return events.Envelope{}, events.Errorf(events.Internal, "index points at missing position %d", binary.BigEndian.Uint64(pos))
	}
	var env events.Envelope
	if err := events.DecodeRecord(bytes.Clone(rec), &env); err != nil {
		return env, err
	}
	env.Position = events.At(binary.BigEndian.Uint64(pos))
	return env, nil
}

// ReadAll returns up to limit events with position after from, in order.
func (s *Store) ReadAll(ctx context.Context, from events.Position, limit int) ([]events.Envelope, error) {
	if limit <= 0 {
		limit = 1000
	}
	out := make([]events.Envelope, 0, min(limit, 4096))
	err := s.Scan(ctx, from, func(e *events.Envelope) error {
		out = append(out, *e)
		if len(out) >= limit {
			return errStop
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

type stopError struct{}

func (stopError) Error() string { return "stop" }

var errStop error = stopError{}

// Scan calls fn for every event with position after from, in order, inside
// one read transaction, until fn returns an error (returned, unless it is
// the internal stop signal) or the log ends. The envelope passed to fn owns
// its memory. Scan is the fast path for whole-log reads.
func (s *Store) Scan(ctx context.Context, from events.Position, fn func(*events.Envelope) error) error {
	if err := s.alive(ctx); err != nil {
		return err
	}
	err := s.view(func(tx *bbolt.Tx) error {
		c := tx.Bucket(bucketLog).Cursor()
		n := 0
		// Records are copied out of the mmap into shared 1 MiB arenas: one
		// allocation per ~1,500 events instead of one per event.
		var arena []byte
		for k, v := c.Seek(u64(from.Seq() + 1)); k != nil; k, v = c.Next() {
			if n++; n%1024 == 0 && ctx.Err() != nil {
				return ctx.Err()
			}
			if cap(arena)-len(arena) < len(v) {
				arena = make([]byte, 0, max(1<<20, len(v)))
			}
			start := len(arena)
			arena = append(arena, v...)
			var env events.Envelope
			if err := events.DecodeRecord(arena[start:len(arena):len(arena)], &env); err != nil {
				return err
			}
			env.Position = events.At(binary.BigEndian.Uint64(k))
			if err := fn(&env); err != nil {
				return err
			}
		}
		return nil
	})
	if err == errStop {
		return nil
	}
	return err
}

// view runs fn in a read transaction. A read that lost the race with Close
// (alive said open, then the file closed) is ErrClosed, as a read after
// Close is, not bbolt's "database not open".
func (s *Store) view(fn func(*bbolt.Tx) error) error {
	err := s.db.View(fn)
	if errors.Is(err, bbolt.ErrDatabaseNotOpen) {
		return events.ErrClosed
	}
	return err
}
