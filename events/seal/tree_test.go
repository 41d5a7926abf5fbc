package seal

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dangol/dangol/events"
)

// synthetic returns the i-th synthetic event: positions with gaps, as a
// PostgreSQL sequence leaves them, and a hash of its own.
func synthetic(i int64) *events.Envelope {
	e := &events.Envelope{Position: events.At(uint64(3*i + 1))}
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(i))
	e.Hash = sha256.Sum256(b[:])
	return e
}

// memTree is tlog's tree in memory, the reference the file tree is held to.
type memTree struct{ stored []tlog.Hash }

func (m *memTree) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		out[i] = m.stored[x]
	}
	return out, nil
}

func (m *memTree) add(t testing.TB, n int64, e *events.Envelope) {
	hs, err := tlog.StoredHashesForRecordHash(n, LeafHash(e), m)
	if err != nil {
		t.Fatal(err)
	}
	m.stored = append(m.stored, hs...)
}

func openTree(t testing.TB, dir string) *Tree {
	t.Helper()
	tr, err := OpenTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tr.Close() })
	return tr
}

func appendSynthetic(t testing.TB, tr *Tree, from, to int64) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := tr.Append(synthetic(i)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
}

// TestTreeMatchesTlog holds the file tree to tlog's in-memory tree at
// several sizes: the same roots, proofs that tlog's checkers accept, the
// leaf ↔ position map, and Frontier equal to a Compact's.
func TestTreeMatchesTlog(t *testing.T) {
	tr := openTree(t, t.TempDir())
	mem := &memTree{}
	c, _ := NewCompact(0, nil)
	const n = 1100
	for i := int64(0); i < n; i++ {
		e := synthetic(i)
		mem.add(t, i, e)
		c.Append(LeafHash(e))
		if err := tr.Append(e); err != nil {
			t.Fatal(err)
		}
		if i == 500 {
			if err := tr.Sync(); err != nil { // half in the file, half pending
				t.Fatal(err)
			}
		}
		size := i + 1
		want, _ := tlog.TreeHash(size, mem)
		if got, err := tr.Root(size); err != nil || got != want {
			t.Fatalf("size %d: root %v %v, tlog %v", size, got, err, want)
		}
		f, err := tr.Frontier(size)
		if err != nil || !equalHashes(f, c.Frontier()) {
			t.Fatalf("size %d: frontier %v %v, compact %v", size, f, err, c.Frontier())
		}
	}
	for _, size := range []int64{1, 2, 3, 7, 8, 9, 255, 256, 257, 1000, n} {
		checkProofs(t, tr, mem, size)
	}
	for i := int64(0); i < n; i += 37 {
		e := synthetic(i)
		if leaf, err := tr.Leaf(e.Position); err != nil || leaf != i {
			t.Fatalf("leaf of %s: %d %v, want %d", e.Position, leaf, err, i)
		}
		if p, err := tr.Position(i); err != nil || p != e.Position {
			t.Fatalf("position of %d: %s %v", i, p, err)
		}
		if _, err := tr.Leaf(events.At(e.Position.Commit + 1)); events.ErrorCode(err) != events.NotFound {
			t.Fatalf("leaf of a gap: %v", err)
		}
	}
	if tr.Last() != synthetic(n-1).Position || tr.Size() != n {
		t.Fatalf("last %s size %d", tr.Last(), tr.Size())
	}
}

func equalHashes(a, b []tlog.Hash) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkProofs checks record proofs of some leaves and tree proofs from some
// older sizes under the tree of size leaves.
func checkProofs(t *testing.T, tr *Tree, mem *memTree, size int64) {
	t.Helper()
	root, _ := tlog.TreeHash(size, mem)
	for _, leaf := range []int64{0, size / 2, size - 1} {
		p, err := tr.ProveRecord(leaf, size)
		if err != nil {
			t.Fatalf("prove %d in %d: %v", leaf, size, err)
		}
		if err := tlog.CheckRecord(p, size, root, leaf, LeafHash(synthetic(leaf))); err != nil {
			t.Fatalf("record proof of %d in %d: %v", leaf, size, err)
		}
		if err := tlog.CheckRecord(p, size, root, leaf, LeafHash(synthetic(leaf+1))); err == nil {
			t.Fatalf("record proof of %d in %d accepts another leaf", leaf, size)
		}
	}
	for _, old := range []int64{1, (size + 1) / 2, size} {
		p, err := tr.ProveTree(old, size)
		if err != nil {
			t.Fatalf("prove %d in %d: %v", old, size, err)
		}
		oldRoot, _ := tlog.TreeHash(old, mem)
		if err := tlog.CheckTree(p, size, root, old, oldRoot); err != nil {
			t.Fatalf("tree proof %d → %d: %v", old, size, err)
		}
	}
}

// TestTreeRefusesBadInput: a position not after the last, sizes and leaves
// out of range are Invalid, and nothing is added.
func TestTreeRefusesBadInput(t *testing.T) {
	tr := openTree(t, t.TempDir())
	appendSynthetic(t, tr, 0, 10)
	for _, e := range []*events.Envelope{synthetic(9), synthetic(3), {Position: events.Start}} {
		if err := tr.Append(e); events.ErrorCode(err) != events.Invalid {
			t.Fatalf("append at %s: %v", e.Position, err)
		}
	}
	if tr.Size() != 10 {
		t.Fatalf("size %d after refused appends", tr.Size())
	}
	bad := []error{}
	_, err := tr.Root(11)
	bad = append(bad, err)
	_, err = tr.ProveRecord(10, 10)
	bad = append(bad, err)
	_, err = tr.ProveRecord(-1, 10)
	bad = append(bad, err)
	_, err = tr.ProveTree(0, 10)
	bad = append(bad, err)
	_, err = tr.ProveTree(5, 11)
	bad = append(bad, err)
	_, err = tr.Frontier(11)
	bad = append(bad, err)
	for i, err := range bad {
		if events.ErrorCode(err) != events.Invalid {
			t.Errorf("bad call %d: %v, want invalid", i, err)
		}
	}
	if _, err := tr.Position(10); events.ErrorCode(err) != events.NotFound {
		t.Errorf("position of leaf 10: %v", err)
	}
}

// TestTreeReopens: a synced tree reopens at the same size and root, and
// goes on growing.
func TestTreeReopens(t *testing.T) {
	dir := t.TempDir()
	tr, err := OpenTree(dir)
	if err != nil {
		t.Fatal(err)
	}
	appendSynthetic(t, tr, 0, 300)
	want, _ := tr.Root(300)
	if err := tr.Close(); err != nil {
		t.Fatal(err)
	}
	tr = openTree(t, dir)
	if got, err := tr.Root(300); tr.Size() != 300 || err != nil || got != want {
		t.Fatalf("reopened: size %d root %v %v", tr.Size(), got, err)
	}
	appendSynthetic(t, tr, 300, 301)
	mem := &memTree{}
	for i := int64(0); i < 301; i++ {
		mem.add(t, i, synthetic(i))
	}
	checkProofs(t, tr, mem, 301)
}

// TestTreeRecovers cuts the files as a crash may leave them — a hash cut in
// the middle, a file ending in zeros, the leaves file longer than the
// hashes — and holds the reopened tree to the longest consistent prefix.
func TestTreeRecovers(t *testing.T) {
	cases := []struct {
		name string
		cut  func(t *testing.T, dir string)
		want int64
	}{
		{"hash cut mid-way", func(t *testing.T, dir string) {
			truncate(t, dir, HashesFile, tlog.StoredHashCount(77)*tlog.HashSize+13)
		}, 77},
		{"leaves cut mid-way", func(t *testing.T, dir string) {
			truncate(t, dir, LeavesFile, 40*leafSize+5)
		}, 40},
		{"zeros at the end of the hashes", func(t *testing.T, dir string) {
			zero(t, dir, HashesFile, tlog.StoredHashIndex(0, 90)*tlog.HashSize)
		}, 90},
		{"zeros at the end of the leaves", func(t *testing.T, dir string) {
			zero(t, dir, LeavesFile, 95*leafSize)
		}, 95},
		{"both empty", func(t *testing.T, dir string) {
			truncate(t, dir, HashesFile, 0)
		}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			tr, err := OpenTree(dir)
			if err != nil {
				t.Fatal(err)
			}
			appendSynthetic(t, tr, 0, 100)
			tr.Close()
			c.cut(t, dir)
			tr = openTree(t, dir)
			if tr.Size() != c.want {
				t.Fatalf("size %d after recovery, want %d", tr.Size(), c.want)
			}
			if c.want > 0 && tr.Last() != synthetic(c.want-1).Position {
				t.Fatalf("last %s", tr.Last())
			}
			appendSynthetic(t, tr, c.want, 100)
			mem := &memTree{}
			for i := int64(0); i < 100; i++ {
				mem.add(t, i, synthetic(i))
			}
			checkProofs(t, tr, mem, 100)
		})
	}
}

func truncate(t *testing.T, dir, name string, size int64) {
	if err := os.Truncate(filepath.Join(dir, name), size); err != nil {
		t.Fatal(err)
	}
}

// zero overwrites the file from off to its end with zeros.
func zero(t *testing.T, dir, name string, off int64) {
	p := filepath.Join(dir, name)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(p, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteAt(make([]byte, fi.Size()-off), off); err != nil {
		t.Fatal(err)
	}
}

// TestTreeReadersWhileAppending: proofs read while one goroutine appends
// (past a flush of the pending hashes to the files, and Syncs) always
// check against the root of the size they were made for.
func TestTreeReadersWhileAppending(t *testing.T) {
	tr := openTree(t, t.TempDir())
	const n = 40_000 // more than flushAt's worth of hashes
	stop := readWhile(func(_ int, k int64) error {
		size := tr.Size()
		if size == 0 {
			return nil
		}
		leaf := (k * 7919) % size
		root, err := tr.Root(size)
		if err != nil {
			return err
		}
		p, err := tr.ProveRecord(leaf, size)
		if err != nil {
			return err
		}
		return tlog.CheckRecord(p, size, root, leaf, LeafHash(synthetic(leaf)))
	})
	for i := int64(0); i < n; i++ {
		if err := tr.Append(synthetic(i)); err != nil {
			t.Fatal(err)
		}
		if i == 30_000 { // after add flushed at flushAt on its own
			if err := tr.Sync(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
}

// readWhile runs read(r, k) for k = 0, 1, ... in each of two goroutines r
// until the returned stop is called. stop waits for both and returns the
// first error read returned, which also ended that goroutine.
func readWhile(read func(r int, k int64) error) (stop func() error) {
	done := make(chan struct{})
	errs := make(chan error, 2)
	for r := range 2 {
		go func() {
			for k := int64(0); ; k++ {
				select {
				case <-done:
					errs <- nil
					return
				default:
				}
				if err := read(r, k); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	return func() error {
		close(done)
		return errors.Join(<-errs, <-errs)
	}
}

// TestTreeTruncate: a tree cut to fewer leaves, pending ones among those
// cut, has the size, last position and root of that many, and grows again
// to the same tree; a size beyond it is Invalid.
func TestTreeTruncate(t *testing.T) {
	dir := t.TempDir()
	tr := openTree(t, dir)
	appendSynthetic(t, tr, 0, 100)
	if err := tr.Sync(); err != nil {
		t.Fatal(err)
	}
	appendSynthetic(t, tr, 100, 130) // pending
	want, _ := tr.Root(64)
	if err := tr.truncate(131); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("truncate beyond the size: %v", err)
	}
	if err := tr.truncate(64); err != nil {
		t.Fatal(err)
	}
	if got, err := tr.Root(64); tr.Size() != 64 || tr.Last() != synthetic(63).Position || err != nil || got != want {
		t.Fatalf("cut to 64: size %d last %s root %v %v", tr.Size(), tr.Last(), got, err)
	}
	appendSynthetic(t, tr, 64, 130)
	mem := &memTree{}
	for i := int64(0); i < 130; i++ {
		mem.add(t, i, synthetic(i))
	}
	checkProofs(t, tr, mem, 130)
	if err := tr.truncate(0); err != nil || tr.Size() != 0 || tr.Last() != events.Start {
		t.Fatalf("cut to 0: size %d last %s %v", tr.Size(), tr.Last(), err)
	}
	tr.Close()
	if tr = openTree(t, dir); tr.Size() != 0 {
		t.Fatalf("reopened at %d leaves after a cut to 0", tr.Size())
	}
}

// TestTreeProofsWhileReset: proofs asked while the tree is emptied or cut
// and rebuilt from other leaves (Check does so while the API serves
// proofs) fail, or verify whole for one tree or the other: never hashes of
// two trees, since each proof is one read under the lock.
func TestTreeProofsWhileReset(t *testing.T) {
	tr := openTree(t, t.TempDir())
	const n, size, other = 700, 600, 100_000 // the other tree's leaves are synthetic(other+i)
	appendSynthetic(t, tr, 0, n)
	roots := map[int64]tlog.Hash{}
	for _, base := range []int64{0, other} {
		mem := &memTree{}
		for i := int64(0); i < size; i++ {
			mem.add(t, i, synthetic(base+i))
		}
		roots[base], _ = tlog.TreeHash(size, mem)
	}
	var proved [2]int
	stop := readWhile(func(r int, k int64) error {
		leaf := (k * 7919) % size
		p, err := tr.ProveRecord(leaf, size)
		if err != nil {
			return nil // the tree is smaller than size just now
		}
		if tlog.CheckRecord(p, size, roots[0], leaf, LeafHash(synthetic(leaf))) != nil &&
			tlog.CheckRecord(p, size, roots[other], leaf, LeafHash(synthetic(other+leaf))) != nil {
			return fmt.Errorf("the proof of leaf %d verifies in neither tree", leaf)
		}
		proved[r]++
		return nil
	})
	rebuild := func(base, from int64) {
		for i := from; i < n; i++ {
			e := synthetic(base + i)
			e.Position = synthetic(i).Position
			if err := tr.Append(e); err != nil {
				t.Fatal(err)
			}
		}
	}
	for round := range 20 {
		base := int64(0)
		if round%2 == 1 {
			base = other
		}
		if err := tr.Reset(); err != nil {
			t.Fatal(err)
		}
		rebuild(base, 0)
		if err := tr.truncate(size / 2); err != nil {
			t.Fatal(err)
		}
		rebuild(base, size/2)
	}
	if err := stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("proofs checked: %v", proved)
}
