package seglog

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/dangol/dangol/events"
)

// Frames and segments.
const (
	frameHeader = 8       // length ‖ flags, CRC-32C
	lastFlag    = 1 << 31 // set in the header of an append's last frame
	// The committer keeps the active segment written with zeros ahead of
	// its end: fdatasync of a write into allocated, written blocks flushes
	// the data alone, where a write past the end also commits the file's
	// new size and block allocation to the filesystem journal.
	preallocAhead = 16 << 20
	preallocChunk = 32 << 20
	scanChunk     = 4 << 20 // bytes read at a time when Open scans a segment
	// maxRecord bounds a frame's length: an event's data and stream are at
	// most events.MaxEventSize, its other fields a few hundred bytes.
	maxRecord = 2 * events.MaxEventSize
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

var zeros = make([]byte, 1<<20)

// segment is one file of the log.
type segment struct {
	base  uint64   // logical offset of the file's first byte
	f     *os.File // opened read-write
	size  uint64   // bytes of frames; the committer's (and Open's) only
	alloc uint64   // bytes written, frames and zeros ahead; the committer's only
	// A zero-fill of [alloc, zeroTo) running in the background (nil: none);
	// it sends its outcome once. The committer writes below alloc, or waits.
	zeroing chan error
	zeroTo  uint64
}

func segName(base uint64) string { return fmt.Sprintf("%020d.seg", base) }

// appendFrame appends rec's frame to buf.
func appendFrame(buf, rec []byte, last bool) []byte {
	at := len(buf)
	buf = append(buf, make([]byte, frameHeader)...)
	putHeader(buf[at:], rec, last)
	return append(buf, rec...)
}

// putHeader writes the header of rec's frame into the first frameHeader
// bytes of hdr.
func putHeader(hdr, rec []byte, last bool) {
	h := uint32(len(rec))
	if last {
		h |= lastFlag
	}
	binary.LittleEndian.PutUint32(hdr, h)
	binary.LittleEndian.PutUint32(hdr[4:], crc32.Checksum(rec, castagnoli))
}

// parseFrame reads the frame at the start of b: its record, whether it
// ends an append, and its size. ok is false when b does not start with a
// whole frame whose checksum matches (zeros, a torn write, or b too short).
func parseFrame(b []byte) (rec []byte, last bool, n int, ok bool) {
	if len(b) < frameHeader {
		return nil, false, 0, false
	}
	h := binary.LittleEndian.Uint32(b)
	size := int(h &^ lastFlag)
	if size == 0 || size > maxRecord || len(b) < frameHeader+size {
		return nil, false, 0, false
	}
	rec = b[frameHeader : frameHeader+size : frameHeader+size]
	if crc32.Checksum(rec, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, false, 0, false
	}
	return rec, h&lastFlag != 0, frameHeader + size, true
}

// recover opens every segment, loads the index checkpoint if it is a
// prefix of this log, rebuilds the rest of the index from the frames after
// it (all of them without a checkpoint), cuts off the active segment's torn
// tail, and makes it ready for appends.
func (s *Store) recover() error {
	names, err := filepath.Glob(filepath.Join(s.dir, "*.seg"))
	if err != nil {
		return unavailable("list "+s.dir, err)
	}
	if len(names) == 0 {
		seg, err := s.createSegment(0)
		if err != nil {
			return err
		}
		s.idx.segs = append(s.idx.segs, seg)
	}
	var next uint64              // where the next segment must start
	for _, name := range names { // Glob sorts; the names have fixed width
		base, err := strconv.ParseUint(strings.TrimSuffix(filepath.Base(name), ".seg"), 10, 64)
		if err != nil || base != next {
			return events.Errorf(events.Internal, "%s: segment does not start where the one before ends, offset %d", name, next)
		}
		f, err := os.OpenFile(name, os.O_RDWR, 0)
		if err != nil {
			return unavailable("open "+name, err)
		}
		fi, err := f.Stat()
		if err != nil {
			f.Close()
			return unavailable("stat "+name, err)
		}
		s.idx.segs = append(s.idx.segs, &segment{base: base, f: f})
		next = base + uint64(fi.Size())
	}
	s.loadCheckpoint()
	for i, seg := range s.idx.segs {
		active := i == len(s.idx.segs)-1
		if next := s.nextSegmentBase(i); !active && next <= s.idx.end {
			seg.size = next - seg.base // wholly in the checkpoint
			continue
		}
		seg.size = max(s.idx.end, seg.base) - seg.base
		if err := s.scan(seg, active); err != nil {
			return err
		}
	}
	s.active = s.idx.segs[len(s.idx.segs)-1]
	s.ring.first = s.idx.head() + 1
	if err := s.active.f.Truncate(int64(s.active.size)); err != nil {
		return unavailable("truncate the torn tail of "+s.active.f.Name(), err)
	}
	s.active.alloc = s.active.size
	return s.preallocate()
}

// nextSegmentBase returns the base of segment i+1 (the end of the log's
// files after the last).
func (s *Store) nextSegmentBase(i int) uint64 {
	if i+1 < len(s.idx.segs) {
		return s.idx.segs[i+1].base
	}
	return ^uint64(0)
}

// scan adds seg's frames to the index. In the active (last) segment the
// frames after the last whole append are a torn tail and are dropped (see
// recover); in any other segment a bad frame is corruption.
func (s *Store) scan(seg *segment, active bool) error {
	var r recovery
	buf := make([]byte, 0, scanChunk)
	fileOff := int64(seg.size) // where buf's first byte is in the file
	for {
		n, err := seg.f.ReadAt(buf[len(buf):cap(buf)], fileOff+int64(len(buf)))
		buf = buf[:len(buf)+n]
		eof := err == io.EOF || n == 0
		if err != nil && err != io.EOF {
			return unavailable("read "+seg.f.Name(), err)
		}
		used, stop, ferr := s.frames(&r, seg, buf, uint64(fileOff))
		if ferr != nil {
			return ferr
		}
		if stop || eof {
			break
		}
		// Keep the frame cut by the end of the buffer for the next read.
		fileOff += int64(used)
		buf = buf[:copy(buf[:cap(buf)], buf[used:])]
	}
	if active {
		return nil
	}
	fi, err := seg.f.Stat()
	if err != nil {
		return unavailable("stat "+seg.f.Name(), err)
	}
	if seg.size != uint64(fi.Size()) {
		return events.Errorf(events.Internal, "%s: bad frame at byte %d of a closed segment", seg.f.Name(), seg.size)
	}
	return nil
}

// recovery holds the frames of an append whose last frame is not yet read.
type recovery struct {
	open []events.Envelope
	ends []uint64
}

// frames parses the whole frames of buf (which starts at byte at of seg),
// adding every complete append to the index and seg.size. It returns the
// bytes parsed and stop when it met something that is not a frame.
func (s *Store) frames(r *recovery, seg *segment, buf []byte, at uint64) (used int, stop bool, err error) {
	for used < len(buf) {
		rec, last, n, ok := parseFrame(buf[used:])
		if !ok {
			return used, !partial(buf[used:]), nil
		}
		var env events.Envelope
		if err := events.DecodeRecord(rec, &env); err != nil {
			return used, false, fmt.Errorf("%s at byte %d: %w", seg.f.Name(), at+uint64(used), err)
		}
		used += n
		r.open = append(r.open, env)
		r.ends = append(r.ends, seg.base+at+uint64(used))
		if last {
			if err := s.indexAppend(r, seg); err != nil {
				return used, false, err
			}
		}
	}
	return used, false, nil
}

// partial reports whether b may be the start of a frame cut by the end of
// the read buffer (a plausible header), rather than zeros or garbage.
func partial(b []byte) bool {
	if len(b) < frameHeader {
		return true
	}
	size := int(binary.LittleEndian.Uint32(b) &^ lastFlag)
	return size > 0 && size <= maxRecord && len(b) < frameHeader+size
}

// indexAppend checks the recovered append's events against their streams
// (versions without gaps, prevHash chained) and adds them to the index.
func (s *Store) indexAppend(r *recovery, seg *segment) error {
	start := seg.base + seg.size
	for i := range r.open {
		e := &r.open[i]
		st := s.idx.streams[e.Stream]
		var prev events.Hash
		if st != nil {
			prev = st.hash
		}
		if int64(e.Version) != st.version()+1 || e.PrevHash != prev {
			return events.Errorf(events.Internal, "%s: %s@%d at offset %d does not follow its stream's last event", seg.f.Name(), e.Stream, e.Version, start)
		}
		stream := e.Stream
		if st == nil {
			stream = strings.Clone(stream)
		}
		s.idx.add(st, stream, e.ID, start, r.ends[i], e.Hash)
		s.recorded = e.RecordedAt
		start = r.ends[i]
	}
	seg.size = start - seg.base
	r.open, r.ends = r.open[:0], r.ends[:0]
	return nil
}

// createSegment creates the segment file starting at logical offset base
// and makes its name durable.
func (s *Store) createSegment(base uint64) (*segment, error) {
	name := filepath.Join(s.dir, segName(base))
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_RDWR, 0o600)
	if err != nil {
		return nil, unavailable("create "+name, err)
	}
	if err := syncDir(s.dir); err != nil {
		f.Close()
		return nil, err
	}
	return &segment{base: base, f: f}, nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return unavailable("open "+dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return unavailable("sync "+dir, err)
	}
	return nil
}

// preallocate starts writing zeros ahead of the active segment's end, in
// the background, when fewer than preallocAhead bytes are left and no
// zeros are being written already; it first collects a zero-fill that has
// finished (its error, if any, is returned). The committer never waits for
// the zeros unless its next write would reach them (write).
func (s *Store) preallocate() error {
	seg := s.active
	if err := seg.settle(false); err != nil {
		return err
	}
	if seg.zeroing != nil || seg.alloc-seg.size >= preallocAhead {
		return nil
	}
	from, to := seg.alloc, seg.size+preallocChunk
	done := make(chan error, 1)
	seg.zeroing, seg.zeroTo = done, to
	go func() { done <- zeroFill(seg.f, from, to) }()
	return nil
}

// settle collects the segment's background zero-fill: waiting for it to
// finish if wait, else only if it has finished. Then alloc covers it.
func (seg *segment) settle(wait bool) error {
	if seg.zeroing == nil {
		return nil
	}
	var err error
	if wait {
		err = <-seg.zeroing
	} else {
		select {
		case err = <-seg.zeroing:
		default:
			return nil
		}
	}
	seg.zeroing = nil
	if err != nil {
		return err
	}
	seg.alloc = max(seg.alloc, seg.zeroTo)
	return nil
}

// zeroFill writes zeros to f's bytes [from, to) and syncs f.
func zeroFill(f *os.File, from, to uint64) error {
	for off := from; off < to; off += uint64(len(zeros)) {
		if _, err := f.WriteAt(zeros[:min(uint64(len(zeros)), to-off)], int64(off)); err != nil {
			return unavailable("preallocate "+f.Name(), err)
		}
	}
	if err := f.Sync(); err != nil {
		return unavailable("sync "+f.Name(), err)
	}
	return nil
}

// roll closes the active segment at its last frame and begins the next.
func (s *Store) roll() error {
	old := s.active
	if err := old.settle(true); err != nil { // no zeros may land past the cut
		return err
	}
	if err := old.f.Truncate(int64(old.size)); err != nil {
		return unavailable("truncate "+old.f.Name(), err)
	}
	if err := old.f.Sync(); err != nil {
		return unavailable("sync "+old.f.Name(), err)
	}
	seg, err := s.createSegment(old.base + old.size)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.idx.segs = append(s.idx.segs, seg)
	s.mu.Unlock()
	s.active = seg
	return s.preallocate()
}
