package seal

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dangol/dangol/events"
)

// Files of a Tree's directory. Both are derived data, rebuilt from the log
// when lost or damaged.
const (
	// HashesFile holds tlog's stored hashes, 32 bytes each, at offset
	// 32 × tlog.StoredHashIndex: dense and append-only.
	HashesFile = "tree.hashes"
	// LeavesFile holds each leaf's log position, 16 bytes each (commit,
	// prepare, big-endian), strictly increasing.
	LeavesFile = "tree.leaves"
)

const (
	leafSize = 16
	// flushAt is how many bytes of pending hashes Append gathers before
	// writing them to the files: a write per event would cost a system
	// call each.
	flushAt = 1 << 20
)

// Tree is the Merkle tree of the log kept in files: every stored hash of
// tlog (so roots and proofs are read, never recomputed) and the position
// of every leaf. Append, Sync, Reset and Close may be called by one
// goroutine at a time (they serialise on a lock); the readers (Size, Root,
// ProveRecord, ProveTree, Leaf, Position, Frontier, Last) are safe for
// concurrent use with them and with each other, and see every leaf
// appended so far, synced or not.
type Tree struct {
	hashes, leaves *os.File
	hr             tlog.HashReader

	wmu sync.Mutex // serialises the writers

	mu      sync.RWMutex // guards the fields below for the readers
	size    int64        // leaves
	last    events.Position
	flushed int64  // leaves whose hashes and position are in the files
	pendH   []byte // stored hashes from index StoredHashCount(flushed) on
	pendL   []byte // positions of the leaves from flushed on
	closed  bool
}

var _ Prover = (*Tree)(nil)

// OpenTree opens (creating if needed) the tree stored in dir. Files cut
// short or ending in zeros by a crash are truncated to their longest
// consistent prefix: n leaves with all their stored hashes, positions
// strictly increasing. What was cut is appended again from the log by
// Follow or CatchUp. Errors are Internal.
func OpenTree(dir string) (*Tree, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, ioError("create tree directory", dir, err)
	}
	t := &Tree{}
	t.hr = tlog.HashReaderFunc(t.readHashes)
	var err error
	if t.hashes, err = os.OpenFile(filepath.Join(dir, HashesFile), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		return nil, ioError("open", filepath.Join(dir, HashesFile), err)
	}
	if t.leaves, err = os.OpenFile(filepath.Join(dir, LeavesFile), os.O_RDWR|os.O_CREATE, 0o600); err != nil {
		t.hashes.Close()
		return nil, ioError("open", filepath.Join(dir, LeavesFile), err)
	}
	if err := t.recover(); err != nil {
		t.hashes.Close()
		t.leaves.Close()
		return nil, err
	}
	return t, nil
}

func ioError(op, path string, err error) error {
	return &events.Error{Code: events.Internal, Message: op + " " + path, Err: err}
}

// recover sets the size to the longest consistent prefix of the files and
// truncates them to it.
func (t *Tree) recover() error {
	hs, err := t.hashes.Stat()
	if err != nil {
		return ioError("stat", t.hashes.Name(), err)
	}
	ls, err := t.leaves.Stat()
	if err != nil {
		return ioError("stat", t.leaves.Name(), err)
	}
	nh := hs.Size() / tlog.HashSize
	n := ls.Size() / leafSize
	// The largest n whose stored hashes are all present.
	n = int64(sort.Search(int(n+1), func(i int) bool { return tlog.StoredHashCount(int64(i)) > nh })) - 1
	t.size, t.flushed = n, n
	for t.size > 0 && !t.tailSound() {
		t.size--
	}
	t.flushed = t.size
	if t.size > 0 {
		if t.last, err = t.position(t.size - 1); err != nil {
			return err
		}
	}
	if err := t.hashes.Truncate(tlog.StoredHashCount(t.size) * tlog.HashSize); err != nil {
		return ioError("truncate", t.hashes.Name(), err)
	}
	if err := t.leaves.Truncate(t.size * leafSize); err != nil {
		return ioError("truncate", t.leaves.Name(), err)
	}
	return nil
}

// tailSound reports whether the last leaf looks written: a position after
// the one before it, and no stored hash of it all zeros (what a file
// extended but not written by a crash reads as).
func (t *Tree) tailSound() bool {
	n := t.size - 1
	p, err := t.position(n)
	if err != nil || p.IsZero() {
		return false
	}
	if n > 0 {
		if q, err := t.position(n - 1); err != nil || !q.Less(p) {
			return false
		}
	}
	for i := tlog.StoredHashCount(n); i < tlog.StoredHashCount(n+1); i++ {
		h, err := t.readHashes([]int64{i})
		if err != nil || h[0] == (tlog.Hash{}) {
			return false
		}
	}
	return true
}

// Size returns the number of leaves.
func (t *Tree) Size() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.size
}

// Last returns the position of the last leaf, Start for an empty tree.
func (t *Tree) Last() events.Position {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.last
}

// Append adds e as the next leaf. Its position must come after Last(),
// else the error is Invalid and nothing is added. The leaf is not durable
// before Sync.
func (t *Tree) Append(e *events.Envelope) error {
	_, err := t.add(e, false)
	return err
}

// add appends e; with skipOld an event at or before Last() is skipped
// (another writer added it already) and added is false.
func (t *Tree) add(e *events.Envelope, skipOld bool) (added bool, err error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	last, n := t.Last(), t.Size()
	if !last.Less(e.Position) {
		if skipOld {
			return false, nil
		}
		return false, events.Errorf(events.Invalid, "tree: event at %s is not after the last leaf at %s", e.Position, last)
	}
	hs, err := tlog.StoredHashesForRecordHash(n, LeafHash(e), t.hr)
	if err != nil {
		return false, &events.Error{Code: events.Internal, Message: "tree: stored hashes", Err: err}
	}
	t.mu.Lock()
	if t.closed {
		t.mu.Unlock()
		return false, events.ErrClosed
	}
	for _, h := range hs {
		t.pendH = append(t.pendH, h[:]...)
	}
	t.pendL = binary.BigEndian.AppendUint64(t.pendL, e.Position.Commit)
	t.pendL = binary.BigEndian.AppendUint64(t.pendL, e.Position.Prepare)
	t.size++
	t.last = e.Position
	t.mu.Unlock()
	if len(t.pendH) >= flushAt {
		return true, t.flush()
	}
	return true, nil
}

// flush writes the pending bytes to the files. The caller holds wmu, so
// no leaf is added meanwhile; readers keep reading the pending bytes until
// they are written.
func (t *Tree) flush() error {
	if t.size == t.flushed {
		return nil
	}
	if _, err := t.hashes.WriteAt(t.pendH, tlog.StoredHashCount(t.flushed)*tlog.HashSize); err != nil {
		return ioError("write", t.hashes.Name(), err)
	}
	if _, err := t.leaves.WriteAt(t.pendL, t.flushed*leafSize); err != nil {
		return ioError("write", t.leaves.Name(), err)
	}
	t.mu.Lock()
	t.flushed = t.size
	t.pendH, t.pendL = t.pendH[:0], t.pendL[:0]
	t.mu.Unlock()
	return nil
}

// Flush writes every leaf appended so far to the files, without waiting
// for stable storage: a crash of the process keeps them (the operating
// system holds the writes), a crash of the machine may not. Errors are
// Internal.
func (t *Tree) Flush() error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	return t.flush()
}

// Sync writes every leaf appended so far to stable storage. Errors are
// Internal.
func (t *Tree) Sync() error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	return t.sync()
}

// sync flushes and fsyncs. fsync rather than fdatasync: the files grow
// with every append, so fdatasync would have to write their size anyway.
func (t *Tree) sync() error {
	if err := t.flush(); err != nil {
		return err
	}
	if err := t.hashes.Sync(); err != nil {
		return ioError("sync", t.hashes.Name(), err)
	}
	if err := t.leaves.Sync(); err != nil {
		return ioError("sync", t.leaves.Name(), err)
	}
	return nil
}

// Reset empties the tree, to rebuild it from the log when it does not
// match a seal.
func (t *Tree) Reset() error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.size, t.flushed, t.last = 0, 0, events.Start
	t.pendH, t.pendL = t.pendH[:0], t.pendL[:0]
	if err := t.hashes.Truncate(0); err != nil {
		return ioError("truncate", t.hashes.Name(), err)
	}
	if err := t.leaves.Truncate(0); err != nil {
		return ioError("truncate", t.leaves.Name(), err)
	}
	return nil
}

// truncate cuts the tree to its first n leaves (0 <= n <= Size()), so
// that the rest is appended again from the log. Readers of a tree of at
// most n leaves are not disturbed.
func (t *Tree) truncate(n int64) error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if err := t.checkSize("size", n); err != nil || n == t.Size() {
		return err
	}
	if err := t.flush(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	last := events.Start
	if n > 0 {
		var err error
		if last, err = t.position(n - 1); err != nil {
			return err
		}
	}
	t.size, t.flushed, t.last = n, n, last
	if err := t.hashes.Truncate(tlog.StoredHashCount(n) * tlog.HashSize); err != nil {
		return ioError("truncate", t.hashes.Name(), err)
	}
	if err := t.leaves.Truncate(n * leafSize); err != nil {
		return ioError("truncate", t.leaves.Name(), err)
	}
	return nil
}

// Close syncs the tree and closes its files. Readers then fail with
// ErrClosed.
func (t *Tree) Close() error {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if t.isClosed() {
		return nil
	}
	err := t.sync()
	t.mu.Lock()
	t.closed = true
	t.mu.Unlock()
	if cerr := t.hashes.Close(); err == nil && cerr != nil {
		err = ioError("close", t.hashes.Name(), cerr)
	}
	if cerr := t.leaves.Close(); err == nil && cerr != nil {
		err = ioError("close", t.leaves.Name(), cerr)
	}
	return err
}

func (t *Tree) isClosed() bool {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.closed
}

// readHashes is the tree's tlog.HashReader: pending hashes from memory,
// the others from the file.
func (t *Tree) readHashes(indexes []int64) ([]tlog.Hash, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return nil, events.ErrClosed
	}
	count, base := tlog.StoredHashCount(t.size), tlog.StoredHashCount(t.flushed)
	out := make([]tlog.Hash, len(indexes))
	for i, x := range indexes {
		switch {
		case x < 0 || x >= count:
			return nil, events.Errorf(events.Internal, "tree: stored hash %d of %d read", x, count)
		case x >= base:
			copy(out[i][:], t.pendH[(x-base)*tlog.HashSize:])
		default:
			if _, err := t.hashes.ReadAt(out[i][:], x*tlog.HashSize); err != nil {
				return nil, ioError("read", t.hashes.Name(), err)
			}
		}
	}
	return out, nil
}

// position reads leaf n's position; the caller holds mu or is recover.
func (t *Tree) position(n int64) (events.Position, error) {
	var b [leafSize]byte
	if n >= t.flushed {
		copy(b[:], t.pendL[(n-t.flushed)*leafSize:])
	} else if _, err := t.leaves.ReadAt(b[:], n*leafSize); err != nil {
		return events.Position{}, ioError("read", t.leaves.Name(), err)
	}
	return events.Position{Commit: binary.BigEndian.Uint64(b[:8]), Prepare: binary.BigEndian.Uint64(b[8:])}, nil
}

// checkSize returns an Invalid error unless 0 <= n <= Size(). The API
// checks its query parameters itself; these are the tree's own guards.
func (t *Tree) checkSize(what string, n int64) error {
	if size := t.Size(); n < 0 || n > size {
		return events.Errorf(events.Invalid, "tree: %s %d is not a tree size from 0 to %d", what, n, size)
	}
	return nil
}

// Root returns the root hash of the first n leaves, read from the stored
// hashes (for n = 0 tlog's root of no leaves, Compact's too). n beyond Size() is Invalid.
func (t *Tree) Root(n int64) (tlog.Hash, error) {
	if err := t.checkSize("size", n); err != nil {
		return tlog.Hash{}, err
	}
	h, err := tlog.TreeHash(n, t.hr)
	if err != nil {
		return tlog.Hash{}, treeError("root", err)
	}
	return h, nil
}

func treeError(what string, err error) error {
	if events.ErrorCode(err) != events.Internal {
		return err
	}
	return &events.Error{Code: events.Internal, Message: "tree: " + what, Err: err}
}

// ProveRecord returns the proof that leaf is in the tree of the first size
// leaves (tlog.CheckRecord checks it). Unless 0 <= leaf < size <= Size(),
// the error is Invalid.
func (t *Tree) ProveRecord(leaf, size int64) (tlog.RecordProof, error) {
	if err := t.checkSize("size", size); err != nil {
		return nil, err
	}
	if leaf < 0 || leaf >= size {
		return nil, events.Errorf(events.Invalid, "tree: leaf %d is not below the tree size %d", leaf, size)
	}
	p, err := tlog.ProveRecord(size, leaf, t.hr)
	if err != nil {
		return nil, treeError("record proof", err)
	}
	return p, nil
}

// ProveTree returns the proof that the tree of oldSize leaves is a prefix
// of the tree of newSize leaves (tlog.CheckTree checks it). Unless
// 1 <= oldSize <= newSize <= Size(), the error is Invalid.
func (t *Tree) ProveTree(oldSize, newSize int64) (tlog.TreeProof, error) {
	if err := t.checkSize("size", newSize); err != nil {
		return nil, err
	}
	if oldSize < 1 || oldSize > newSize {
		return nil, events.Errorf(events.Invalid, "tree: old size %d is not a tree size from 1 to %d", oldSize, newSize)
	}
	p, err := tlog.ProveTree(newSize, oldSize, t.hr)
	if err != nil {
		return nil, treeError("tree proof", err)
	}
	return p, nil
}

// Leaf returns the index of the leaf of the event at pos. NotFound if the
// tree holds no event at pos.
func (t *Tree) Leaf(pos events.Position) (int64, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return 0, events.ErrClosed
	}
	var ioErr error
	i := sort.Search(int(t.size), func(i int) bool {
		p, err := t.position(int64(i))
		if err != nil {
			ioErr = err
			return true
		}
		return !p.Less(pos)
	})
	if ioErr != nil {
		return 0, ioErr
	}
	if int64(i) < t.size {
		if p, err := t.position(int64(i)); err != nil {
			return 0, err
		} else if p == pos {
			return int64(i), nil
		}
	}
	return 0, &events.Error{Code: events.NotFound, Message: fmt.Sprintf("tree: no event at position %s", pos)}
}

// Position returns the log position of leaf. NotFound unless
// 0 <= leaf < Size().
func (t *Tree) Position(leaf int64) (events.Position, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.closed {
		return events.Position{}, events.ErrClosed
	}
	if leaf < 0 || leaf >= t.size {
		return events.Position{}, &events.Error{Code: events.NotFound, Message: fmt.Sprintf("tree: no leaf %d in a tree of %d", leaf, t.size)}
	}
	return t.position(leaf)
}

// Frontier returns the roots of the complete subtrees of leaves [0, n),
// largest first: what a Compact of n leaves holds, so NewCompact(n,
// Frontier(n)) continues the tree from leaf n. n beyond Size() is Invalid.
func (t *Tree) Frontier(n int64) ([]tlog.Hash, error) {
	if err := t.checkSize("frontier size", n); err != nil {
		return nil, err
	}
	var idx []int64
	start := int64(0)
	for level := 62; level >= 0; level-- {
		if n&(1<<level) != 0 {
			idx = append(idx, tlog.StoredHashIndex(level, start>>level))
			start += 1 << level
		}
	}
	hs, err := t.readHashes(idx)
	if err != nil {
		return nil, treeError("frontier", err)
	}
	return hs, nil
}

// CatchUp appends every event of store after Last(), up to the log's end
// as it is when the read reaches it. It may run while Follow does: an
// event either has appended is skipped by the other.
func (t *Tree) CatchUp(ctx context.Context, store events.Store) error {
	return t.catchUp(ctx, store, nil)
}

// catchUp is CatchUp calling added after each event it appended.
func (t *Tree) catchUp(ctx context.Context, store events.Store, added func(*events.Envelope)) error {
	for {
		evs, err := store.ReadAll(ctx, t.Last(), 1000)
		if err != nil {
			return fmt.Errorf("tree catch-up: %w", err)
		}
		if len(evs) == 0 {
			return nil
		}
		for i := range evs {
			ok, err := t.add(&evs[i], true)
			if err != nil {
				return err
			}
			if ok && added != nil {
				added(&evs[i])
			}
		}
	}
}

// Follow appends every event of store after Last() and then every event
// appended to it, until ctx is done (returning ctx's error) or the store
// fails. A subscription that fell behind is resumed from Last().
func (t *Tree) Follow(ctx context.Context, store events.Store) error {
	return t.follow(ctx, store, nil)
}

// follow is Follow calling added after each event it appended.
func (t *Tree) follow(ctx context.Context, store events.Store, added func(*events.Envelope)) error {
	for {
		sub, err := store.Subscribe(ctx, t.Last())
		if err != nil {
			return fmt.Errorf("tree follow: %w", err)
		}
		err = t.consume(sub, added)
		sub.Close()
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if err == nil {
			return events.Errorf(events.Internal, "tree follow: the subscription ended without saying why")
		}
		if !errors.Is(err, events.ErrFellBehind) {
			return fmt.Errorf("tree follow: %w", err)
		}
	}
}

func (t *Tree) consume(sub events.Subscription, added func(*events.Envelope)) error {
	for e := range sub.Events() {
		ok, err := t.add(&e, true)
		if err != nil {
			return err
		}
		if ok && added != nil {
			added(&e)
		}
	}
	return sub.Err()
}
