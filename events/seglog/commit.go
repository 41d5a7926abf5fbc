package seglog

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"slices"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// request is one Append or AppendBatch waiting for the committer; the
// committer fills in results and errs.
type request struct {
	restore []events.Envelope // Restore's envelopes (then entries holds one empty entry, for the answer)
	entries []events.StreamAppend
	framed  []framed          // framed[i]: entry i framed by the caller, against the head it saw then
	envs    []events.Envelope // room for prepare's envelopes and ids (nil: it allocates them)
	ids     []string
	room    []byte    // room for prepare's frames (too small: it allocates them)
	stamp   time.Time // the recordedAt the caller framed with
	// stale: the committer sent the request back unapplied, its stamp
	// being earlier than the log's last event, for the caller to frame
	// again (reframes times); see submit.
	stale    bool
	reframes int
	results  []events.AppendResult
	errs     []error
	fresh    []bool // entry i is written by this commit (not refused, not a duplicate of the log)
}

// framed is an append's events encoded as the next events of a stream
// whose head was base: the envelopes with their records (position unset),
// the ids, and the frames as the log is to hold them (the records are in
// frames).
type framed struct {
	base, last head
	gen        uint64 // the index's publish count when base was read (0: unknown)
	envs       []events.Envelope
	ids        []string
	frames     []byte
}

// frame encodes a's events to follow head h, recorded at now: their
// envelopes into envs (len(a.Events); nil: new ones) and their frames
// onto buf (nil: a new buffer), which it returns extended; ids are a's ids
// as text. The frames' checksums are computed here too, in the caller's
// goroutine for prepare.
func frame(a *events.StreamAppend, h head, now time.Time, envs []events.Envelope, ids []string, buf []byte) (framed, []byte) {
	if envs == nil {
		envs = make([]events.Envelope, len(a.Events))
	}
	if buf == nil {
		buf = make([]byte, 0, frameBound(a))
	}
	f := framed{base: h, envs: envs, ids: ids}
	start := len(buf)
	for i, ev := range a.Events {
		env := events.Envelope{ID: ev.ID, Stream: a.Stream, Version: uint64(h.version + 1), Type: ev.Type, Schema: ev.Schema,
			RecordedAt: now, OccurredAt: ev.OccurredAt.UTC(), Actor: ev.Actor, CorrelationID: ev.CorrelationID,
			CausationID: ev.CausationID, Data: ev.Data, PrevHash: h.hash}
		at := len(buf)
		buf = events.AppendRecord(append(buf, make([]byte, frameHeader)...), &env)
		putHeader(buf[at:], env.Record(), i == len(a.Events)-1)
		f.envs[i] = env
		h = head{version: int64(env.Version), hash: env.Hash, st: h.st}
	}
	f.frames = buf[start:len(buf):len(buf)]
	f.last = h
	return f, buf
}

// frameBound is an upper bound of the bytes of a's frames.
func frameBound(a *events.StreamAppend) int {
	n := 0
	for i := range a.Events {
		ev := &a.Events[i]
		e := events.Envelope{Stream: a.Stream, Type: ev.Type, Actor: ev.Actor, CorrelationID: ev.CorrelationID,
			CausationID: ev.CausationID, Data: ev.Data}
		n += frameHeader + events.RecordBound(&e)
	}
	return n
}

// idText returns the text of each id of a, one string for them all.
func idText(a []events.StreamAppend, ids []string) {
	b := make([]byte, 0, len(ids)*ulid.EncodedSize)
	for i := range a {
		for _, ev := range a[i].Events {
			b = append(b, ev.ID.String()...)
		}
	}
	all := string(b)
	for i := range ids {
		ids[i] = all[i*ulid.EncodedSize : (i+1)*ulid.EncodedSize]
	}
}

// prepare frames req's entries in the caller's goroutine, each against its
// stream's head as the index has it now: the hashing and encoding then run
// in parallel across callers, and the committer only checks that each
// head is unchanged (re-framing an entry whose head moved).
func (s *Store) prepare(req *request) {
	req.stamp = maxTime(s.opt.Now().UTC().Truncate(time.Microsecond), time.UnixMicro(s.lastStamp.Load()).UTC())
	var few [4]head // on the stack for an Append
	heads := few[:0]
	if len(req.entries) > len(few) {
		heads = make([]head, 0, len(req.entries))
	}
	s.mu.RLock()
	for i := range req.entries {
		heads = append(heads, headIn(&s.idx, req.entries[i].Stream))
	}
	gen := s.published.Load() // under the read lock: the count of the index the heads are from
	s.mu.RUnlock()
	n := 0
	for i := range req.entries {
		n += len(req.entries[i].Events)
	}
	envs, ids := req.envs, req.ids
	if len(envs) < n {
		envs, ids = make([]events.Envelope, n), make([]string, n) // one allocation each for the request
		req.envs, req.ids = envs, ids
	}
	if req.reframes == 0 {
		idText(req.entries, ids[:n])
	}
	size := 0
	for i := range req.entries {
		size += frameBound(&req.entries[i])
	}
	buf := req.room[:0]
	if size > cap(buf) {
		buf = make([]byte, 0, size) // every frame of the request in one buffer
		req.room = buf
	}
	for i := range req.entries {
		if i > 0 && req.entries[i].Stream == req.entries[i-1].Stream {
			heads[i] = req.framed[i-1].last
		}
		k := len(req.entries[i].Events)
		req.framed[i], buf = frame(&req.entries[i], heads[i], req.stamp, envs[:k:k], ids[:k:k], buf)
		req.framed[i].gen = gen
		envs, ids = envs[k:], ids[k:]
	}
}

// headIn returns stream's head in x.
func headIn(x *index, stream string) head {
	st := x.streams[stream]
	if st == nil {
		return head{version: events.NoStreamVersion}
	}
	return head{version: st.version(), hash: st.hash, st: st}
}

// Append writes evs atomically to stream if it is at the expected version,
// and returns once they are durable. Concurrent appends share one write and
// one fdatasync (group commit). If ctx ends while the append is queued or
// committing, the outcome is unknown to the caller: retrying with the same
// event ids is safe and returns the original result.
func (s *Store) Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	if err := s.alive(ctx); err != nil {
		return events.AppendResult{}, err
	}
	if err := events.CheckAppend(stream, evs); err != nil {
		return events.AppendResult{}, err
	}
	req := newSingle(events.StreamAppend{Stream: stream, Expected: expected, Events: evs})
	if err := s.submit(ctx, req); err != nil {
		return events.AppendResult{}, err
	}
	return req.results[0], req.errs[0]
}

// AppendBatch applies each entry as Append would and returns once every
// applied entry is durable: the whole batch is one request of the group
// commit, so it shares a write and an fdatasync with whatever else is
// queued. An invalid entry is refused alone.
func (s *Store) AppendBatch(ctx context.Context, batch []events.StreamAppend) ([]events.AppendResult, []error) {
	results := make([]events.AppendResult, len(batch))
	errs := make([]error, len(batch))
	if err := s.alive(ctx); err != nil {
		return results, fill(errs, err)
	}
	valid := make([]events.StreamAppend, 0, len(batch))
	at := make([]int, 0, len(batch)) // at[j]: the entry of batch that valid[j] is
	for i, a := range batch {
		if errs[i] = events.CheckAppend(a.Stream, a.Events); errs[i] == nil {
			valid = append(valid, a)
			at = append(at, i)
		}
	}
	if len(valid) == 0 {
		return results, errs
	}
	req := newRequest(valid)
	if err := s.submit(ctx, req); err != nil {
		for _, i := range at {
			errs[i] = err
		}
		return results, errs
	}
	for j, i := range at {
		results[i], errs[i] = req.results[j], req.errs[j]
	}
	return results, errs
}

// maxReframes bounds how often a request goes back to its caller to be
// framed again; after that the committer frames it itself.
const maxReframes = 2

// submit frames req in the caller's goroutine and hands it to the
// committer, framing it again while the committer sends it back stale:
// the hashing of a request that lost the race to the log stays off the
// committer, the one goroutine every append waits on.
func (s *Store) submit(ctx context.Context, req *request) error {
	for {
		s.prepare(req)
		if err := s.q.Do(ctx, req); err != nil || !req.stale {
			return err
		}
		req.stale = false
		req.reframes++
	}
}

func fill(errs []error, err error) []error {
	for i := range errs {
		errs[i] = err
	}
	return errs
}

func newRequest(entries []events.StreamAppend) *request {
	return &request{entries: entries, results: make([]events.AppendResult, len(entries)),
		errs: make([]error, len(entries)), fresh: make([]bool, len(entries)), framed: make([]framed, len(entries))}
}

// single is a request of one append of one event with the backing arrays
// of its slices: an Append's request in one allocation.
type single struct {
	req     request
	entry   [1]events.StreamAppend
	results [1]events.AppendResult
	errs    [1]error
	fresh   [1]bool
	framed  [1]framed
	env     [1]events.Envelope
	id      [1]string
	frame   [1024]byte // an event of up to ~700 bytes of data
}

// newSingle returns the request of the one append a.
func newSingle(a events.StreamAppend) *request {
	o := &single{entry: [1]events.StreamAppend{a}}
	o.req = request{entries: o.entry[:], results: o.results[:], errs: o.errs[:], fresh: o.fresh[:], framed: o.framed[:]}
	if len(a.Events) == 1 {
		o.req.envs, o.req.ids, o.req.room = o.env[:], o.id[:], o.frame[:0]
	}
	return &o.req
}

// commit is the single writer's step (groupcommit.Queue.Run): it checks
// every entry of the batch against the index and what the batch wrote
// before it, frames the accepted events into one buffer, writes it at the
// active segment's end with one fdatasync, and only then updates the index
// and wakes subscribers. Preallocating the segment starts after the answers
// and runs in the background.
func (s *Store) commit(batch []*request) (after func()) {
	if s.broken != nil {
		s.failAll(batch, s.broken)
		return nil
	}
	b := s.newBatch()
	// In the order the callers stamped them, so that recordedAt rarely
	// has to be raised (and the entry re-framed) to keep it non-decreasing.
	slices.SortStableFunc(batch, func(x, y *request) int { return x.stamp.Compare(y.stamp) })
	for _, req := range batch {
		if req.restore != nil {
			req.errs[0] = b.restore(req.restore)
			req.fresh[0] = req.errs[0] == nil
			continue
		}
		if req.stamp.Before(b.recorded) && req.reframes < maxReframes {
			req.stale = true
			continue
		}
		for i := range req.entries {
			req.results[i], req.fresh[i], req.errs[i] = b.apply(&req.entries[i], &req.framed[i])
		}
	}
	if len(b.written) == 0 {
		return nil
	}
	if err := s.write(b.buf); err != nil {
		s.broken = err
		s.failAll(batch, err)
		return nil
	}
	s.publish(b)
	s.buf, s.written, s.recorded = b.buf[:0], b.written[:0], b.recorded
	s.lastStamp.Store(b.recorded.UnixMicro())
	concurrent := len(batch) > 1
	return func() {
		if err := s.preallocate(); err != nil {
			s.broken = err
		}
		// The callers this commit answered are runnable now: let them
		// queue their next appends before the committer takes the next
		// batch, so that it is one write and fdatasync rather than several
		// (a lone caller has nobody to wait for).
		if concurrent {
			runtime.Gosched()
		}
	}
}

// failAll answers Unavailable to every entry of batch that this commit was
// to write.
func (s *Store) failAll(batch []*request, err error) {
	for _, req := range batch {
		for i := range req.entries {
			if req.fresh[i] || req.errs[i] == nil && !req.results[i].Duplicate {
				req.results[i], req.fresh[i] = events.AppendResult{}, false
				req.errs[i] = &events.Error{Code: events.Unavailable, Message: "the log's write failed; the store refuses appends until it is reopened", Err: err}
			}
		}
	}
}

// write puts buf at the active segment's end (beginning the next segment
// first if it would pass SegmentBytes) and waits until it is on disk.
func (s *Store) write(buf []byte) error {
	if seg := s.active; seg.size > 0 && int64(seg.size)+int64(len(buf)) > s.opt.SegmentBytes {
		if err := s.roll(); err != nil {
			return err
		}
	}
	seg := s.active
	if seg.size+uint64(len(buf)) > seg.alloc { // into the zeros being written: let them land first
		if err := seg.settle(true); err != nil {
			return err
		}
	}
	if _, err := seg.f.WriteAt(buf, int64(seg.size)); err != nil {
		return fmt.Errorf("write %s: %w", seg.f.Name(), err)
	}
	err := datasync(seg.f)
	if s.flushGate != nil {
		err = errors.Join(err, s.flushGate())
	}
	if err != nil {
		return fmt.Errorf("fdatasync %s: %w", seg.f.Name(), err)
	}
	seg.size += uint64(len(buf))
	seg.alloc = max(seg.alloc, seg.size)
	return nil
}

// publish applies a durable batch to the index and the ring and wakes
// the subscribers.
func (s *Store) publish(b *batch) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range b.written {
		w := &b.written[i]
		if w.isNew {
			s.idx.streams[w.env.Stream] = w.st
		}
		s.idx.addPosition(w.st, w.env.Stream, w.off, w.end, w.env.Hash)
		s.ring.put(w.env)
	}
	s.published.Add(1)
	close(s.wake)
	s.wake = make(chan struct{})
}

// batch is one commit in the making: the frames, and the streams and ids
// it has touched so far, which later entries of the same commit see.
type batch struct {
	s        *Store
	now      time.Time // the clock when the commit began
	recorded time.Time // the latest recordedAt in the log and this commit
	buf      []byte
	written  []written
	heads    map[string]head // streams this commit appended to
	first    uint64          // the commit's first position
	next     uint64          // the next position
	off      uint64          // the next frame's logical offset
}

// written is an event of the batch: its envelope (position set; the
// request's, which nothing changes once it is committed) and frame.
type written struct {
	env      *events.Envelope
	st       *streamIndex // the stream's entry in the index (nil: look it up)
	isNew    bool         // the first event of a stream: publish puts st in the index
	off, end uint64
}

// head is a stream's last version and hash, and its index entry (nil for
// a stream not in the index).
type head struct {
	version int64
	hash    events.Hash
	st      *streamIndex
}

// same reports whether h and o are the same version and hash.
func (h head) same(o head) bool { return h.version == o.version && h.hash == o.hash }

func (s *Store) newBatch() *batch {
	if s.heads == nil {
		s.heads = map[string]head{}
	}
	clear(s.heads)
	return &batch{s: s, now: s.opt.Now().UTC().Truncate(time.Microsecond), recorded: s.recorded, buf: s.buf[:0], written: s.written,
		heads: s.heads, first: s.idx.head() + 1, next: s.idx.head() + 1, off: s.idx.end}
}

// headOf returns stream's head as this commit sees it; st is the stream's
// index entry if the caller found one (saving a lookup), and gen the
// index's publish count when the caller looked (0: unknown): a stream the
// caller found absent, with nothing published since, is still absent from
// the index, so a new stream costs no second look-up.
func (b *batch) headOf(stream string, st *streamIndex, gen uint64) head {
	if h, ok := b.heads[stream]; ok {
		return h
	}
	if st == nil && gen != 0 && b.s.published.Load() == gen {
		return head{version: events.NoStreamVersion}
	}
	if st != nil {
		return head{version: st.version(), hash: st.hash, st: st}
	}
	return headIn(&b.s.idx, stream)
}

// apply checks one entry and adds its frames to the commit: those the
// caller made if they follow the stream's head and keep recordedAt
// non-decreasing, else new ones. fresh reports that the entry's events are
// in this commit's buffer.
func (b *batch) apply(a *events.StreamAppend, f *framed) (res events.AppendResult, fresh bool, err error) {
	if res, dup, err := b.duplicate(a); err != nil || dup {
		return res, false, err
	}
	h := b.headOf(a.Stream, f.base.st, f.gen)
	if !a.Expected.Allows(h.version) {
		return events.AppendResult{}, false, events.ConflictError(a.Stream, a.Expected, h.version)
	}
	if !f.base.same(h) || f.envs[0].RecordedAt.Before(b.recorded) {
		*f, _ = frame(a, h, maxTime(b.now, b.recorded), nil, f.ids, nil)
	}
	b.recorded = f.envs[0].RecordedAt
	isNew := h.st == nil
	if isNew { // the index entry publish adds, made now so that every event of the commit carries it
		h.st = b.s.idx.newStream()
	}
	b.buf = append(b.buf, f.frames...)
	for i := range f.envs {
		env := &f.envs[i]
		n := uint64(frameHeader + len(env.Record()))
		env.Position = events.At(b.next)
		b.s.idx.addID(env.ID, b.next)
		b.written = append(b.written, written{env: env, st: h.st, isNew: isNew && i == 0, off: b.off, end: b.off + n})
		b.off, b.next = b.off+n, b.next+1
	}
	b.heads[a.Stream] = head{version: f.last.version, hash: f.last.hash, st: h.st}
	return events.AppendResult{Stream: a.Stream, Version: uint64(f.last.version), Position: events.At(b.next - 1), EventIDs: f.ids}, true, nil
}

// restore adds envs to the commit as they are, if each is the next
// position, follows its stream's head and hashes to its hash; if one does
// not, none is added.
func (b *batch) restore(envs []events.Envelope) error {
	start, off, heads := len(b.written), b.off, map[string]head{}
	envs = slices.Clone(envs) // the caller's are not the store's, to keep in the ring
	for i := range envs {
		e := &envs[i] // re-encoded from its fields: what is written is what it says
		h, ok := heads[e.Stream]
		if !ok {
			h = b.headOf(e.Stream, nil, 0)
		}
		claimed := e.Hash
		rec := events.EncodeRecord(e)
		var err error
		switch {
		case e.Position != events.At(b.next):
			err = events.Errorf(events.Invalid, "restore: %s@%d is at position %s, the log's next is %d", e.Stream, e.Version, e.Position, b.next)
		case int64(e.Version) != h.version+1 || e.PrevHash != h.hash:
			err = events.Errorf(events.Invalid, "restore: %s@%d does not follow its stream's last event (version %d)", e.Stream, e.Version, h.version)
		case e.Hash != claimed:
			err = events.Errorf(events.Internal, "restore: %s@%d: its content does not hash to its hash", e.Stream, e.Version)
		}
		if err != nil {
			b.written, b.off, b.next = b.written[:start], off, b.next-uint64(i)
			b.buf = b.buf[:off-b.s.idx.end]
			return err
		}
		b.buf = appendFrame(b.buf, rec, i == len(envs)-1) // the whole Restore is one append across a crash
		n := uint64(frameHeader + len(rec))
		b.written = append(b.written, written{env: e, st: h.st, off: b.off, end: b.off + n})
		b.off, b.next = b.off+n, b.next+1
		heads[e.Stream] = head{version: int64(e.Version), hash: e.Hash, st: h.st}
	}
	for s, h := range heads {
		b.heads[s] = h
	}
	for _, w := range b.written[start:] {
		b.s.idx.addID(w.env.ID, w.env.Position.Seq())
	}
	b.recorded = maxTime(b.recorded, envs[len(envs)-1].RecordedAt)
	return nil
}

// Restore appends envs, events of another store read in position order
// from the first, as they are: same positions, versions, recordedAt and
// hashes (the hash chains and any seal of the log stay valid). Each must
// be the log's next position and follow its stream's last event; a batch
// with one that does not is refused whole (Invalid). It is the way from
// the bbolt store (dangol migrate-store), not an append.
func (s *Store) Restore(ctx context.Context, envs []events.Envelope) error {
	if err := s.alive(ctx); err != nil {
		return err
	}
	if len(envs) == 0 {
		return nil
	}
	req := newRequest(make([]events.StreamAppend, 1)) // one answer: errs[0]
	req.restore = envs
	if err := s.q.Do(ctx, req); err != nil {
		return err
	}
	return req.errs[0]
}

func maxTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return b
	}
	return a
}

// stored is where an event id already is: its stream, version and position.
type stored struct {
	stream   string
	version  uint64
	position uint64
}

// duplicate reports whether every event of a is already stored (in the log
// or earlier in this commit), in a's stream, at consecutive versions in
// the same order: then res is the original result. Some but not all ids
// stored, or stored in another stream, is Invalid.
func (b *batch) duplicate(a *events.StreamAppend) (res events.AppendResult, dup bool, err error) {
	var found int
	var first, prev stored
	for i, ev := range a.Events {
		at, ok, err := b.find(ev.ID)
		if err != nil {
			return res, false, err
		}
		if !ok {
			continue
		}
		found++
		switch {
		case at.stream != a.Stream:
			return res, false, events.InvalidField(fmt.Sprintf("events[%d].id", i), "event id %s was already used in another stream", ev.ID)
		case found > 1 && at.version != prev.version+1:
			return res, false, events.InvalidField(fmt.Sprintf("events[%d].id", i), "event ids were already used in a different append")
		case found == 1:
			first = at
		}
		prev = at
	}
	switch {
	case found == 0:
		return res, false, nil
	case found < len(a.Events):
		return res, false, events.InvalidField("events", "%d of %d event ids were already appended; retry the original append unchanged", found, len(a.Events))
	}
	ids := make([]string, len(a.Events))
	for i, ev := range a.Events {
		ids[i] = ev.ID.String()
	}
	return events.AppendResult{Stream: a.Stream, Version: first.version + uint64(len(a.Events)) - 1,
		Position: events.At(prev.position), EventIDs: ids, Duplicate: true}, true, nil
}

// find looks id up in the index, reading the candidate positions it
// names (from this commit's events or the log) to compare the whole id.
func (b *batch) find(id ulid.ULID) (stored, bool, error) {
	for _, p := range b.s.idx.candidates(id) {
		var env events.Envelope
		switch {
		case p == 0 || p >= b.first+uint64(len(b.written)):
			continue // not a position of the log or this commit
		case p >= b.first:
			env = *b.written[p-b.first].env
		default:
			var err error
			if env, err = b.s.readPosition(p); err != nil {
				return stored{}, false, err
			}
		}
		if env.ID == id {
			return stored{env.Stream, env.Version, p}, true, nil
		}
	}
	return stored{}, false, nil
}
