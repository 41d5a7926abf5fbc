package seglog

import (
	"context"
	"encoding/binary"
	"errors"
	"os"

	"github.com/dangol/dangol/events"
)

// readChunk is the most bytes ReadAll and Scan read in one pread.
const readChunk = 1 << 20

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
	positions, err := s.streamPositions(stream, from, dir, limit)
	if err != nil {
		return nil, err
	}
	out := make([]events.Envelope, 0, len(positions))
	for i, p := range positions {
		if i%256 == 255 && ctx.Err() != nil {
			return nil, ctx.Err()
		}
		env, err := s.readPosition(p)
		if err != nil {
			return nil, err
		}
		out = append(out, env)
	}
	return out, nil
}

// Streams implements events.StreamCounter: the streams in the index.
func (s *Store) Streams() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.idx.streams)
}

// streamPositions returns the positions ReadStream reads, in its order.
func (s *Store) streamPositions(stream string, from uint64, dir events.Direction, limit int) ([]uint64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.idx.streams[stream]
	if st == nil {
		return nil, events.Errorf(events.NotFound, "stream %s not found", stream)
	}
	last := uint64(len(st.positions)) - 1
	if dir == events.Backward {
		start := min(from, last)
		n := min(uint64(limit), start+1)
		out := make([]uint64, 0, n)
		for v := start; uint64(len(out)) < n; v-- {
			out = append(out, st.positions[v])
		}
		return out, nil
	}
	if from > last {
		return nil, nil
	}
	to := min(last, from+uint64(limit)-1)
	return append([]uint64(nil), st.positions[from:to+1]...), nil
}

// readPosition reads and decodes the event at position p.
func (s *Store) readPosition(p uint64) (events.Envelope, error) {
	s.mu.RLock()
	off, n := s.idx.span(p)
	seg := s.idx.segmentAt(off)
	s.mu.RUnlock()
	buf := make([]byte, n)
	if err := s.readAt(seg, buf, off); err != nil {
		return events.Envelope{}, err
	}
	var env events.Envelope
	if err := decodeFrame(buf, p, &env); err != nil {
		return env, err
	}
	return env, nil
}

// readAt fills buf from seg at logical offset off.
func (s *Store) readAt(seg *segment, buf []byte, off uint64) error {
	s.files.RLock()
	defer s.files.RUnlock()
	if s.filesClosed {
		return events.ErrClosed
	}
	if _, err := seg.f.ReadAt(buf, int64(off-seg.base)); err != nil {
		if errors.Is(err, os.ErrClosed) {
			return events.ErrClosed
		}
		return &events.Error{Code: events.Internal, Message: "read " + seg.f.Name(), Err: err}
	}
	return nil
}

// decodeFrame decodes the frame b, the event at position p, into env,
// which shares memory with b.
func decodeFrame(b []byte, p uint64, env *events.Envelope) error {
	rec, _, n, ok := parseFrame(b)
	if !ok || n != len(b) {
		return events.Errorf(events.Internal, "position %d: the frame on disk is damaged (checksum or length)", p)
	}
	if err := events.DecodeRecord(rec, env); err != nil {
		return err
	}
	env.Position = events.At(p)
	return nil
}

// ReadAll returns up to limit events with position after from, in order.
func (s *Store) ReadAll(ctx context.Context, from events.Position, limit int) ([]events.Envelope, error) {
	if limit <= 0 {
		limit = 1000
	}
	out := make([]events.Envelope, 0, min(limit, 4096))
	into := func() *events.Envelope { // each event decoded in its place in out
		out = append(out, events.Envelope{})
		return &out[len(out)-1]
	}
	err := s.scanTo(ctx, from.Seq(), uint64(limit), into, func(*events.Envelope) error { return nil })
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Scan calls fn for every event with position after from, up to the head
// when Scan began, in order, until fn returns an error (which Scan
// returns). The envelope passed to fn owns its memory. Scan is the fast
// path for whole-log reads: it reads the segments in large sequential
// chunks.
func (s *Store) Scan(ctx context.Context, from events.Position, fn func(*events.Envelope) error) error {
	return s.scanTo(ctx, from.Seq(), ^uint64(0), nil, fn)
}

// scanTo calls fn for up to limit events after position from, each
// decoded into the zeroed envelope into returns (a scratch envelope, whose
// fields fn must copy if it keeps them; their strings and Data stay valid;
// or the next element of the caller's slice); with into nil, into an
// envelope of its own.
func (s *Store) scanTo(ctx context.Context, from, limit uint64, into func() *events.Envelope, fn func(*events.Envelope) error) error {
	if err := s.alive(ctx); err != nil {
		return err
	}
	s.mu.RLock()
	last := s.idx.head()
	s.mu.RUnlock()
	if limit < last-min(from, last) {
		last = from + limit
	}
	for p := from + 1; p <= last; {
		if err := ctx.Err(); err != nil {
			return err
		}
		q, err := s.readChunk(p, last, into, fn)
		if err != nil {
			return err
		}
		p = q
	}
	return nil
}

// readChunk reads the events from position p on, up to last, that lie in
// one segment and one readChunk of bytes (at least one event), calls fn for
// each (decoded where into says, see scanTo) and returns the next
// position. The chunk's buffer is never reused: the envelopes' strings and
// Data point into it, and whoever keeps them keeps it.
func (s *Store) readChunk(p, last uint64, into func() *events.Envelope, fn func(*events.Envelope) error) (uint64, error) {
	s.mu.RLock()
	off, _ := s.idx.span(p)
	seg := s.idx.segmentAt(off)
	segEnd := s.idx.end
	if i := len(s.idx.segs) - 1; s.idx.segs[i] != seg {
		segEnd = s.nextBase(seg)
	}
	q := p
	var end uint64
	for q <= last {
		o, n := s.idx.span(q)
		if o >= segEnd || q > p && o+n-off > readChunk {
			break
		}
		end = o + n
		q++
	}
	s.mu.RUnlock()
	buf := make([]byte, end-off)
	if err := s.readAt(seg, buf, off); err != nil {
		return p, err
	}
	for at := 0; p < q; p++ {
		var env *events.Envelope
		if into != nil {
			env = into()
		} else {
			env = new(events.Envelope)
		}
		n := frameLen(buf[at:])
		if err := decodeFrame(buf[at:at+n], p, env); err != nil {
			return p, err
		}
		at += n
		if err := fn(env); err != nil {
			return p, err
		}
	}
	return q, nil
}

// frameLen returns the length of the frame at the start of b as its header
// says, at most len(b); decodeFrame checks the rest.
func frameLen(b []byte) int {
	if len(b) < frameHeader {
		return len(b)
	}
	return min(len(b), int(binary.LittleEndian.Uint32(b)&^lastFlag)+frameHeader)
}

// nextBase returns the base of the segment after seg; s.mu is held.
func (s *Store) nextBase(seg *segment) uint64 {
	for i, x := range s.idx.segs {
		if x == seg {
			return s.idx.segs[i+1].base
		}
	}
	return s.idx.end
}
