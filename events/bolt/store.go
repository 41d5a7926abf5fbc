// Package bolt is dangol's embedded event store: the whole log in one
// go.etcd.io/bbolt file, appends made durable by group commit (concurrent
// appends share one transaction and its fsyncs), subscriptions fed from
// memory once they have caught up from the file.
package bolt

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	bbolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/internal/groupcommit"
)

// Buckets of the file.
var (
	bucketLog   = []byte("log")   // 8-byte big-endian position → canonical record
	bucketHeads = []byte("heads") // stream → 8-byte version ‖ 32-byte hash of its last event
	bucketIndex = []byte("index") // stream ‖ 0x00 ‖ 8-byte version → 8-byte position
	bucketIDs   = []byte("ids")   // 16-byte event id → 8-byte position
)

// Options configure a Store.
type Options struct {
	// LockTimeout is how long Open waits for another process to release
	// the file (default 1s).
	LockTimeout time.Duration
	// MaxBatch caps the appends coalesced into one transaction (default 1024).
	MaxBatch int
	// SubscriberBuffer is how many live events a subscriber may lag behind
	// before it is told it fell behind (default 8192).
	SubscriberBuffer int
	// Now stamps each append's recordedAt (default events.SystemClock).
	Now events.Clock
}

// Store is the embedded events.Store.
type Store struct {
	db   *bbolt.DB
	path string
	file *os.File // for preallocation only (see prealloc.go)
	opt  Options

	q       *groupcommit.Queue[*appendReq]
	closing chan struct{}
	once    sync.Once

	mu   sync.Mutex // guards subs and head
	subs map[*subscription]struct{}
	head uint64 // last committed position
}

var _ events.Store = (*Store)(nil)

// Open opens (creating if needed) the store file at path and takes an
// exclusive lock on it. If another process holds the file, it fails after
// LockTimeout with an Unavailable error saying so.
func Open(path string, opt Options) (*Store, error) {
	if opt.LockTimeout <= 0 {
		opt.LockTimeout = time.Second
	}
	if opt.MaxBatch <= 0 {
		opt.MaxBatch = 1024
	}
	if opt.SubscriberBuffer <= 0 {
		opt.SubscriberBuffer = 8192
	}
	if opt.Now == nil {
		opt.Now = events.SystemClock
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{
		Timeout:         opt.LockTimeout,
		FreelistType:    bbolt.FreelistMapType,
		NoFreelistSync:  true, // rebuilt by a scan after a crash; fewer pages per commit
		InitialMmapSize: 256 << 20,
	})
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, &events.Error{Code: events.Unavailable,
			Message: fmt.Sprintf("%s is in use by another dangol process (it holds the file lock); stop it or use another --data", path)}
	}
	if err != nil {
		return nil, &events.Error{Code: events.Unavailable, Message: "open " + path, Err: err}
	}
	s := &Store{db: db, path: path, opt: opt,
		q: groupcommit.New[*appendReq](opt.MaxBatch), closing: make(chan struct{}),
		subs: map[*subscription]struct{}{}}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bucketLog, bucketHeads, bucketIndex, bucketIDs} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if k, _ := tx.Bucket(bucketLog).Cursor().Last(); k != nil {
			s.head = binary.BigEndian.Uint64(k)
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, &events.Error{Code: events.Internal, Message: "initialise " + path, Err: err}
	}
	s.file = openPrealloc(path)
	go s.q.Run(s.commit)
	return s, nil
}

// Path returns the file's path.
func (s *Store) Path() string { return s.path }

// Size returns the file's size in bytes.
func (s *Store) Size() (int64, error) {
	fi, err := os.Stat(s.path)
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// Head returns the position of the last committed event (Start if empty).
func (s *Store) Head(ctx context.Context) (events.Position, error) {
	if err := s.alive(ctx); err != nil {
		return events.Position{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return events.At(s.head), nil
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
// subscription with ErrClosed and closes the file.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		close(s.closing)
		s.q.Close()
		s.mu.Lock()
		for sub := range s.subs {
			sub.f.Fail(events.ErrClosed)
		}
		s.subs = nil
		s.mu.Unlock()
		err = s.db.Close()
		if s.file != nil {
			s.file.Close()
		}
	})
	return err
}

func u64(v uint64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], v)
	return b[:]
}

func indexKey(stream string, version uint64) []byte {
	k := make([]byte, 0, len(stream)+9)
	k = append(k, stream...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, version)
}

// UsedBytes returns the bytes of the file bbolt uses (its high-water mark,
// free pages included), excluding space preallocated ahead of it.
func (s *Store) UsedBytes() (int64, error) {
	var n int64
	err := s.db.View(func(tx *bbolt.Tx) error { n = tx.Size(); return nil })
	return n, err
}
