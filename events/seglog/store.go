// Package seglog is dangol's embedded event store as an append-only
// segment log: events are framed records in segment files, each group
// commit (concurrent appends and batches together) is one write and one
// fdatasync, and the per-stream index (stream → versions → positions, and
// the event ids for idempotent retries) lives in memory, rebuilt from the
// log when the store opens. A torn tail left by a crash is cut off on open.
//
// On disk, under the store's directory:
//
//	LOCK                   held (flock) by the process that has the store open
//	<20-digit offset>.seg  segments; the name is the logical offset of the
//	                       segment's first byte, so offsets run on across files
//	index                  the index as Close left it (checkpoint.go), so that
//	                       Open reads only the log's tail
//
// A frame is a 4-byte little-endian header (record length, with bit 31 set
// on the last event of an append), a 4-byte CRC-32C of the record, and the
// canonical record of events.EncodeRecord. An append is on disk when its
// last frame is: recovery drops the frames of an append whose last frame is
// missing or torn, so an append is all or nothing across a crash.
package seglog

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/internal/groupcommit"
)

// Options configure a Store.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the directory (default 1s).
	LockTimeout time.Duration
	// MaxBatch caps the requests (appends or batches) coalesced into one
	// write (default 1024).
	MaxBatch int
	// SegmentBytes is the size at which a segment is closed and the next
	// begun (default 256 MiB).
	SegmentBytes int64
	// SubscriberBuffer is how many events a live subscriber may lag behind
	// the head before it is told it fell behind (default 8192).
	SubscriberBuffer int
	// Now stamps each append's recordedAt (default events.SystemClock).
	Now events.Clock
}

func (o *Options) defaults() {
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1024
	}
	if o.SegmentBytes <= 0 {
		o.SegmentBytes = 256 << 20
	}
	if o.SubscriberBuffer <= 0 {
		o.SubscriberBuffer = 8192
	}
	if o.Now == nil {
		o.Now = events.SystemClock
	}
}

// Store is the segment-log events.Store.
type Store struct {
	dir  string
	opt  Options
	lock *os.File

	q       *groupcommit.Queue[*request]
	closing chan struct{}
	once    sync.Once

	// Owned by the committer goroutine (and Open before it starts).
	active   *segment
	broken   error           // a failed write or sync: every later append is refused
	buf      []byte          // the last commit's frames, reused
	written  []written       // the last commit's events, reused
	heads    map[string]head // the last commit's streams, reused
	recorded time.Time       // recordedAt of the last event
	// flushGate, if set (tests only), runs in each commit after the
	// fdatasync; an error it returns is the fdatasync's.
	flushGate func() error
	// lastStamp is recorded in Unix microseconds, for the callers: prepare
	// stamps no earlier, so a request it frames again is not stale again.
	lastStamp atomic.Int64

	// files guards the segment files' lifetime: reads hold it shared, Close
	// takes it to close them.
	files       sync.RWMutex
	filesClosed bool

	// mu guards the index, the ring of recent events and the wake channel.
	// The committer is the only writer; it reads its own index unlocked.
	mu  sync.RWMutex
	idx index
	// published counts the commits published into idx, from 1 (0 means
	// unknown where a count is passed): written under mu's write lock.
	published atomic.Uint64
	ring      ring
	wake      chan struct{} // closed and replaced by every commit
}

var (
	_ events.Store         = (*Store)(nil)
	_ events.BatchAppender = (*Store)(nil)
)

// Open opens (creating if needed) the store in directory dir and takes an
// exclusive lock on it; another process holding it fails Open after
// LockTimeout with an Unavailable error saying so. Open loads the index
// checkpoint and reads the log after it (the whole log without one) to
// rebuild the index, cutting off a torn tail.
func Open(dir string, opt Options) (*Store, error) {
	opt.defaults()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, unavailable("create "+dir, err)
	}
	lock, err := lockDir(dir, opt.LockTimeout)
	if err != nil {
		return nil, err
	}
	s := &Store{dir: dir, opt: opt, lock: lock, q: groupcommit.New[*request](opt.MaxBatch),
		closing: make(chan struct{}), idx: newIndex(), ring: newRing(opt.SubscriberBuffer), wake: make(chan struct{})}
	if err := s.recover(); err != nil {
		s.closeFiles()
		lock.Close()
		return nil, err
	}
	s.lastStamp.Store(s.recorded.UnixMicro())
	s.published.Store(1)
	go s.q.Run(s.commit)
	return s, nil
}

// lockDir takes the exclusive flock of dir's LOCK file, retrying until timeout.
func lockDir(dir string, timeout time.Duration) (*os.File, error) {
	path := filepath.Join(dir, "LOCK")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, unavailable("open "+path, err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) || time.Now().After(deadline) {
			f.Close()
			if errors.Is(err, syscall.EWOULDBLOCK) {
				return nil, &events.Error{Code: events.Unavailable,
					Message: fmt.Sprintf("%s is in use by another dangol process (it holds the file lock); stop it or use another --data", dir)}
			}
			return nil, unavailable("lock "+path, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func unavailable(what string, err error) error {
	return &events.Error{Code: events.Unavailable, Message: what, Err: err}
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// UsedBytes returns the bytes of the log's frames on disk, excluding the
// zeros written ahead of the active segment's end.
func (s *Store) UsedBytes() (int64, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return int64(s.idx.end), nil
}

// Head returns the position of the last committed event (Start if empty).
func (s *Store) Head(ctx context.Context) (events.Position, error) {
	if err := s.alive(ctx); err != nil {
		return events.Position{}, err
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return events.At(s.idx.head()), nil
}

func (s *Store) alive(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.closing:
		return events.ErrClosed
	default:
		return nil
	}
}

// Close stops accepting appends, waits for the committer, ends every
// subscription with ErrClosed and closes the files.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closing)
		s.q.Close()
		_ = s.active.settle(true)    // the zeros ahead: none may be written to a closed file
		cpErr := s.writeCheckpoint() // a shortcut for the next Open; without it Open scans the whole log
		err = s.closeFiles()
		if err == nil {
			err = cpErr
		}
		if e := s.lock.Close(); err == nil {
			err = e
		}
	})
	return err
}

// closeFiles waits for reads in progress and closes every segment.
func (s *Store) closeFiles() error {
	s.files.Lock()
	defer s.files.Unlock()
	s.filesClosed = true
	var err error
	for _, seg := range s.idx.segs {
		if e := seg.f.Close(); err == nil {
			err = e
		}
	}
	return err
}

// idKey is the fingerprint of an event id the index keys ids by: its last
// eight bytes, all random in a ULID.
func idKey(id ulid.ULID) uint64 {
	var k uint64
	for _, b := range id[8:] {
		k = k<<8 | uint64(b)
	}
	return k
}
