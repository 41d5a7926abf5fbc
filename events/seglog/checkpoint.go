package seglog

import (
	"bufio"
	"encoding/binary"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// The index checkpoint. Close writes the index to the file "index"
// (renamed into place, deliberately not synced: it is only ever a shortcut),
// and Open loads it when it is whole (its checksum matches) and describes a
// prefix of the log (the event at its head is in the log with the hash it
// names), then scans only the frames after it: the log's tail. A missing,
// torn or foreign checkpoint costs a scan of the whole log, nothing else.
//
// Layout, after the 8-byte magic: end, head (uvarints), the last event's
// hash; the colliding ids (count; each: id, position); per position the
// offset delta (uvarint), then per position its idKey (8 bytes; 0 for a
// colliding id); the streams (count; each: name, hash, count, position
// deltas); a CRC-32C of all before it.
const (
	checkpointName  = "index"
	checkpointMagic = "DGSLIDX1"
)

// writeCheckpoint writes the index; the committer has stopped.
func (s *Store) writeCheckpoint() error {
	if s.broken != nil || s.idx.head() == 0 {
		return nil
	}
	last, err := s.readPosition(s.idx.head())
	if err != nil {
		return err
	}
	path := filepath.Join(s.dir, checkpointName)
	f, err := os.OpenFile(path+".tmp", os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	crc := crc32.New(castagnoli)
	bw := bufio.NewWriterSize(io.MultiWriter(f, crc), 1<<20)
	w := cpWriter{w: bw}
	x := &s.idx
	w.raw([]byte(checkpointMagic))
	w.uvarint(x.end)
	w.uvarint(x.head())
	w.raw(last.Hash[:])
	w.uvarint(uint64(len(x.more)))
	for id, p := range x.more {
		w.raw(id[:])
		w.uvarint(p)
	}
	prev := uint64(0)
	for p := uint64(1); p <= x.head(); p++ {
		w.uvarint(x.offsets[p-1] - prev)
		prev = x.offsets[p-1]
	}
	keys := make([]uint64, x.head()+1)
	for k, p := range x.ids {
		keys[p] = k
	}
	for p := uint64(1); p <= x.head(); p++ {
		w.raw(binary.LittleEndian.AppendUint64(w.tmp[:0], keys[p]))
	}
	w.uvarint(uint64(len(x.streams)))
	for name, st := range x.streams {
		w.uvarint(uint64(len(name)))
		w.raw([]byte(name))
		w.raw(st.hash[:])
		w.uvarint(uint64(len(st.positions)))
		prev = 0
		for _, p := range st.positions {
			w.uvarint(p - prev)
			prev = p
		}
	}
	if w.err == nil {
		w.err = bw.Flush()
	}
	if w.err != nil {
		return w.err
	}
	if _, err := f.Write(binary.LittleEndian.AppendUint32(nil, crc.Sum32())); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(path+".tmp", path)
}

type cpWriter struct {
	w   *bufio.Writer
	tmp [16]byte
	err error
}

func (w *cpWriter) raw(b []byte) {
	if w.err == nil {
		_, w.err = w.w.Write(b)
	}
}

func (w *cpWriter) uvarint(v uint64) { w.raw(binary.AppendUvarint(w.tmp[:0], v)) }

// loadCheckpoint fills the index from the checkpoint if it is whole and a
// prefix of the log, and leaves it empty otherwise.
func (s *Store) loadCheckpoint() {
	b, err := os.ReadFile(filepath.Join(s.dir, checkpointName))
	if err != nil || len(b) < len(checkpointMagic)+4 || string(b[:len(checkpointMagic)]) != checkpointMagic ||
		crc32.Checksum(b[:len(b)-4], castagnoli) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return
	}
	r := cpReader{b: b[len(checkpointMagic) : len(b)-4]}
	segs := s.idx.segs
	x := newIndex()
	x.segs = segs
	end, head := r.uvarint(), r.uvarint()
	var lastHash events.Hash
	copy(lastHash[:], r.take(32))
	colliding := map[uint64]bool{}
	for n := r.uvarint(); n > 0 && !r.err; n-- {
		var id ulid.ULID
		copy(id[:], r.take(16))
		p := r.uvarint()
		x.more[id], colliding[p] = p, true
	}
	if r.err || head > uint64(len(r.b)) {
		return
	}
	x.offsets = make([]uint64, head)
	prev := uint64(0)
	for p := range x.offsets {
		prev += r.uvarint()
		x.offsets[p] = prev
	}
	x.end = end
	x.ids = make(map[uint64]uint64, head)
	for p := uint64(1); p <= head && !r.err; p++ {
		if k := binary.LittleEndian.Uint64(r.take(8)); !colliding[p] {
			x.ids[k] = p
		}
	}
	n := r.uvarint()
	x.streams = make(map[string]*streamIndex, min(n, uint64(len(r.b))))
	for range n {
		if r.err {
			return
		}
		name := string(r.take(int(r.uvarint())))
		st := x.newStream()
		copy(st.hash[:], r.take(32))
		if k := min(r.uvarint(), uint64(len(r.b))); k > 1 {
			st.positions = make([]uint64, k)
		} else {
			st.positions = st.first[:k]
		}
		prev = 0
		for i := range st.positions {
			prev += r.uvarint()
			st.positions[i] = prev
		}
		x.streams[name] = st
	}
	if r.err || len(r.b) != 0 {
		return
	}
	saved := s.idx
	s.idx = x
	last, err := s.readPosition(head)
	if err != nil || last.Hash != lastHash {
		s.idx = saved // not a prefix of this log
		return
	}
	s.recorded = last.RecordedAt
}

type cpReader struct {
	b   []byte
	err bool
}

func (r *cpReader) take(n int) []byte {
	if r.err || n < 0 || n > len(r.b) {
		r.err = true
		return make([]byte, max(n, 0))
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *cpReader) uvarint() uint64 {
	v, n := binary.Uvarint(r.b)
	if r.err || n <= 0 {
		r.err = true
		return 0
	}
	r.b = r.b[n:]
	return v
}
