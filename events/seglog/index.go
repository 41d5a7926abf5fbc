package seglog

import (
	"sort"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// index is what the log says, kept in memory: where each position's frame
// is, each stream's positions and head hash, and which position holds each
// event id. The log is its only durable form; Open rebuilds it.
type index struct {
	segs    []*segment
	offsets []uint64 // offsets[p-1] is the logical offset of position p's frame
	end     uint64   // logical offset just past the last committed frame
	streams map[string]*streamIndex
	// The ids are the committer's alone (it adds a commit's ids as it frames
	// them, before they are durable: a failed write breaks the store).
	ids  map[uint64]uint64    // idKey(id) → position
	more map[ulid.ULID]uint64 // ids whose key an earlier id took
	slab []streamIndex        // newStream's next entries
}

// streamIndex is one stream: the position of each version, and the hash
// of its last event (the next event's prevHash).
type streamIndex struct {
	positions []uint64
	hash      events.Hash
	first     [1]uint64 // positions' first array: a new stream is one allocation
}

// newStream returns an empty stream entry, from a slab of them: an import
// of new customers allocates one slab per 256 streams, not two objects per
// stream. The committer's, like the rest of the index's writes.
func (x *index) newStream() *streamIndex {
	if len(x.slab) == 0 {
		x.slab = make([]streamIndex, 256)
	}
	st := &x.slab[0]
	x.slab = x.slab[1:]
	st.positions = st.first[:0]
	return st
}

func newIndex() index {
	return index{streams: map[string]*streamIndex{}, ids: map[uint64]uint64{}, more: map[ulid.ULID]uint64{}}
}

// head is the last position (0 if the log is empty).
func (x *index) head() uint64 { return uint64(len(x.offsets)) }

// version is the stream's last version, events.NoStreamVersion if it has none.
func (st *streamIndex) version() int64 {
	if st == nil {
		return events.NoStreamVersion
	}
	return int64(len(st.positions)) - 1
}

// add records the next position: an event of stream (whose entry is st,
// or nil to look it up) with id, whose frame starts at off and ends at
// end, whose hash is hash. stream must not share memory with a buffer that
// changes.
func (x *index) add(st *streamIndex, stream string, id ulid.ULID, off, end uint64, hash events.Hash) {
	x.addID(id, x.head()+1)
	x.addPosition(st, stream, off, end, hash)
}

// addPosition is add without the id (which the committer adds itself).
func (x *index) addPosition(st *streamIndex, stream string, off, end uint64, hash events.Hash) {
	pos := x.head() + 1
	x.offsets = append(x.offsets, off)
	x.end = end
	if st == nil {
		st = x.streams[stream]
	}
	if st == nil {
		st = x.newStream()
		x.streams[stream] = st
	}
	st.positions = append(st.positions, pos)
	st.hash = hash
}

// addID records that position pos holds id.
func (x *index) addID(id ulid.ULID, pos uint64) {
	k := idKey(id)
	if _, taken := x.ids[k]; taken {
		x.more[id] = pos
	} else {
		x.ids[k] = pos
	}
}

// candidates returns the positions that may hold id (to be confirmed by
// reading them), 0 for none: the one its key names, and the one the side
// map names if an earlier id took the key.
func (x *index) candidates(id ulid.ULID) [2]uint64 {
	var out [2]uint64
	out[0] = x.ids[idKey(id)]
	if len(x.more) > 0 {
		out[1] = x.more[id]
	}
	return out
}

// span returns the logical offset and length of position p's frame.
func (x *index) span(p uint64) (off, n uint64) {
	off = x.offsets[p-1]
	next := x.end
	if p < x.head() {
		next = x.offsets[p]
	}
	return off, next - off
}

// segmentAt returns the segment holding logical offset off.
func (x *index) segmentAt(off uint64) *segment {
	i := sort.Search(len(x.segs), func(i int) bool { return x.segs[i].base > off })
	return x.segs[i-1]
}

// ring holds the last committed envelopes, for live subscribers: position
// p is at evs[p % len(evs)] while p is within the last len(evs) positions
// and at least first.
type ring struct {
	evs   []*events.Envelope // the committed requests' own envelopes, never changed
	first uint64             // the lowest position ever put (head+1 at Open)
}

func newRing(n int) ring { return ring{evs: make([]*events.Envelope, n)} }

func (r *ring) put(e *events.Envelope) { r.evs[e.Position.Seq()%uint64(len(r.evs))] = e }

// low returns the lowest position the ring holds when head is the head.
func (r *ring) low(head uint64) uint64 {
	n := uint64(len(r.evs))
	if head >= n && head-n+1 > r.first {
		return head - n + 1
	}
	return r.first
}

func (r *ring) get(p uint64) events.Envelope { return *r.evs[p%uint64(len(r.evs))] }
