package projections

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/dangol/dangol/events"
)

// SnapshotDir keeps read-model snapshots as files in a directory: each is
// written to a temporary file, fsynced, renamed into place and the
// directory fsynced, so a crash leaves the previous snapshots whole; the
// oldest beyond Keep are then removed, their data keys destroyed first.
// Each file is sealed under a data key of its own (SealSnapshot), created
// in Keys; files are readable by the owner only.
type SnapshotDir struct {
	Dir    string
	Keys   SnapshotKeys // where the snapshots' data keys live (the customers' key store); required
	Keep   int          // snapshots kept, newest first; default 2
	Logger *slog.Logger // where refused snapshots are told; default none
}

const snapshotExt = ".rms"

func (d *SnapshotDir) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return d.Logger
}

// name orders snapshots by position.
func snapshotName(p events.Position) string {
	return fmt.Sprintf("snapshot-%020d-%020d%s", p.Commit, p.Prepare, snapshotExt)
}

// List returns the snapshot files' paths, newest first.
func (d *SnapshotDir) List() ([]string, error) {
	ents, err := os.ReadDir(d.Dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, "snapshot-") && strings.HasSuffix(n, snapshotExt) {
			out = append(out, filepath.Join(d.Dir, n))
		}
	}
	slices.Sort(out)
	slices.Reverse(out)
	return out, nil
}

// Write writes a snapshot of roots at info durably, sealed under a new
// data key, and prunes the old ones; keepOnlyThis destroys the keys of
// every other snapshot and removes them (after an erasure: no copy of an
// older file, wherever it survives, opens any more).
func (d *SnapshotDir) Write(info SnapshotInfo, roots []Projection, keepOnlyThis bool) (path string, err error) {
	if err := os.MkdirAll(d.Dir, 0o700); err != nil {
		return "", err
	}
	f, err := os.CreateTemp(d.Dir, ".snapshot-*.tmp")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	var h SealedHeader
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			if h.Key != "" {
				d.Keys.Destroy(context.Background(), h.Key)
			}
		}
	}()
	bw := bufio.NewWriterSize(f, 1<<20)
	if h, err = SealSnapshot(context.Background(), bw, info, roots, d.Keys, keepOnlyThis); err != nil {
		h.Key = "" // SealSnapshot destroyed it
		return "", err
	}
	if err = bw.Flush(); err != nil {
		return "", err
	}
	if err = f.Sync(); err != nil {
		return "", err
	}
	if err = f.Close(); err != nil {
		return "", err
	}
	path = filepath.Join(d.Dir, snapshotName(info.Position))
	// A snapshot at this position already (a full replay after it was
	// refused ends where it was taken) is replaced: its key is destroyed
	// first, as a pruned one's, so no copy of the file it held opens.
	if err = d.shredKey(path); err != nil {
		return "", err
	}
	if err = os.Rename(tmp, path); err != nil {
		return "", err
	}
	h.Key = "" // the file is in place: its key stays with it
	if err = syncDir(d.Dir); err != nil {
		return "", err
	}
	keep := d.Keep
	if keep <= 0 {
		keep = 2
	}
	if keepOnlyThis {
		keep = 1
	}
	all, err := d.List()
	if err != nil {
		return path, err
	}
	// The snapshot just written is kept whatever its name: one named for a
	// later position is of a log since restored from an older copy.
	others := slices.DeleteFunc(all, func(p string) bool { return p == path })
	return path, d.shred(others[min(keep-1, len(others)):])
}

// shred destroys the data keys of the snapshots at paths, then removes
// them; a file whose key cannot be destroyed is kept (a later prune tries
// again). A file without a sealed header holds no key of ours.
func (d *SnapshotDir) shred(paths []string) error {
	for _, p := range paths {
		if err := d.shredKey(p); err != nil {
			return err
		}
		if err := os.Remove(p); err != nil {
			return err
		}
	}
	return nil
}

// shredKey destroys the data key of the snapshot file at path, if there is
// one: no file, or one without a sealed header, holds no key of ours.
func (d *SnapshotDir) shredKey(path string) error {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	h, herr := ReadSealedHeader(f)
	f.Close()
	if herr != nil || d.Keys == nil {
		return nil
	}
	if err := d.Keys.Destroy(context.Background(), h.Key); err != nil {
		return fmt.Errorf("snapshot %s: destroy its data key: %w", filepath.Base(path), err)
	}
	return nil
}

// ShredAll destroys the keys of every snapshot in the directory, then
// removes the files: after an erasure whose own snapshot failed, and what
// a server that writes none (serve --snapshots off) should do with those
// an earlier run left, which no erasure would reach. It is not safe for
// concurrent use with Write or Load.
func (d *SnapshotDir) ShredAll() error {
	all, err := d.List()
	if err != nil {
		return err
	}
	return d.shred(all)
}

// sweepTemp shreds the temporary files a crash during Write left: each is
// sealed under a key of its own that no prune or erasure reaches, since
// List never names it. A load runs before the runner writes any.
func (d *SnapshotDir) sweepTemp() error {
	tmps, err := filepath.Glob(filepath.Join(d.Dir, ".snapshot-*.tmp"))
	if err != nil {
		return err
	}
	return d.shred(tmps)
}

func syncDir(dir string) error {
	f, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

// Load restores the newest snapshot that reads whole and whose event src
// holds into roots that build returns (fresh each call), and returns them
// with where it was taken. A snapshot refused (damaged, of another log or
// release) is logged and the next older one tried; when none is left it
// returns fresh roots and ok false: replay the whole log.
func (d *SnapshotDir) Load(ctx context.Context, src Source, build func() []Projection) (roots []Projection, info SnapshotInfo, ok bool) {
	if err := d.sweepTemp(); err != nil {
		d.logger().Warn("read-model snapshot left by a crash not shredded", "dir", d.Dir, "err", err.Error())
	}
	all, err := d.List()
	if err != nil {
		d.logger().Warn("read-model snapshots unreadable; replaying the whole log", "dir", d.Dir, "err", err.Error())
	}
	for i, p := range all {
		roots = build()
		start := time.Now()
		h, err := loadSnapshot(ctx, p, src, roots, d.Keys)
		if err == nil {
			d.logger().Info("read models restored from a snapshot", "file", filepath.Base(p), "position", h.Info.Position.String(),
				"took", time.Since(start).String())
			if h.ShredOlder {
				if err := d.shred(all[i+1:]); err != nil {
					d.logger().Warn("older read-model snapshots not shredded", "err", err.Error())
				}
			}
			return roots, h.Info, true
		}
		d.logger().Warn("read-model snapshot refused", "file", filepath.Base(p), "err", err.Error())
	}
	if len(all) > 0 {
		d.logger().Warn("no read-model snapshot usable; replaying the whole log", "dir", d.Dir)
	}
	return build(), SnapshotInfo{}, false
}

func loadSnapshot(ctx context.Context, path string, src Source, roots []Projection, keys SnapshotKeys) (SealedHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return SealedHeader{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return SealedHeader{}, err
	}
	return OpenSnapshot(ctx, f, st.Size(), src, roots, keys)
}

// SnapshotPolicy says when a runner writes a snapshot: after a batch that
// brings the events since the last one to Every, or the log's time (the
// events' recordedAt) to Interval past it; zero disables either trigger.
type SnapshotPolicy struct {
	Every    uint64
	Interval time.Duration
}

// Snapshotter writes a runner's snapshots by its policy: give its
// AfterBatch to RunnerOptions.AfterBatch, and the runner's CaughtUp to
// After. A snapshot that fails is logged and the runner goes on; a batch
// holding an erasure writes one at once and removes the older ones (all
// of them, should that snapshot fail).
//
// While the runner replays the log it found at start, no snapshot is
// written (the log's time runs by months there, and a snapshot every
// Every events would slow the replay it is meant to spare): the batch that
// catches up writes one if the replay alone met the policy, or held an
// erasure.
type Snapshotter struct {
	dir      *SnapshotDir
	policy   SnapshotPolicy
	roots    []Projection
	caughtUp <-chan struct{} // nil: the runner is live from the start
	since    uint64          // events since the last snapshot
	last     time.Time       // the log's time at the last snapshot (zero: none yet)
	erased   bool            // a batch since the last snapshot held an erasure
}

// After makes the snapshotter write nothing until caughtUp (the runner's
// CaughtUp) is closed.
func (s *Snapshotter) After(caughtUp <-chan struct{}) { s.caughtUp = caughtUp }

func (s *Snapshotter) replaying() bool {
	if s.caughtUp == nil {
		return false
	}
	select {
	case <-s.caughtUp:
		s.caughtUp = nil
		return false
	default:
		return true
	}
}

// NewSnapshotter returns a snapshotter of roots (the runner's projections,
// then its reactors) into dir.
func NewSnapshotter(dir *SnapshotDir, p SnapshotPolicy, roots []Projection) *Snapshotter {
	return &Snapshotter{dir: dir, policy: p, roots: roots}
}

// AfterBatch counts batch (which followed the event at prev) and, when the
// policy says so, writes a snapshot inside view, which holds the folds
// still (the runner's read lock).
func (s *Snapshotter) AfterBatch(prev events.Position, batch []Event, view func(func())) {
	if len(batch) == 0 {
		return
	}
	s.since += uint64(len(batch))
	last := batch[len(batch)-1]
	if s.last.IsZero() {
		s.last = batch[0].RecordedAt
	}
	info, erasure := SnapshotAfter(prev, batch)
	s.erased = s.erased || erasure
	due := s.erased || s.policy.Every > 0 && s.since >= s.policy.Every ||
		s.policy.Interval > 0 && last.RecordedAt.Sub(s.last) >= s.policy.Interval
	if !due || s.replaying() {
		return
	}
	var path string
	var err error
	view(func() {
		unlock := lockCaches(s.roots)
		defer unlock()
		path, err = s.dir.Write(info, s.roots, s.erased)
	})
	if err != nil {
		s.dir.logger().Warn("read-model snapshot not written", "position", info.Position.String(), "err", err.Error())
		if s.erased && path == "" {
			// The older snapshots hold the erased data under live keys:
			// shred them all the same (the next start replays the log).
			if err := s.dir.ShredAll(); err != nil {
				s.dir.logger().Warn("read-model snapshots not shredded after an erasure", "err", err.Error())
			}
		}
		return
	}
	s.since, s.last, s.erased = 0, last.RecordedAt, false
	s.dir.logger().Info("read-model snapshot written", "file", filepath.Base(path), "position", info.Position.String())
}

// SnapshotAfter returns the SnapshotInfo of a snapshot taken once batch
// (not empty), which followed the event at prev, is folded, and whether
// batch holds an erasure (a PersonalDataErased): whoever stores snapshots
// replaces the older ones at once then.
func SnapshotAfter(prev events.Position, batch []Event) (info SnapshotInfo, erasure bool) {
	before := prev
	if len(batch) > 1 {
		before = batch[len(batch)-2].Position
	}
	erasure = slices.ContainsFunc(batch, func(e Event) bool { _, ok := e.Data.(*events.PersonalDataErased); return ok })
	return InfoAt(batch[len(batch)-1].Envelope, before), erasure
}

// lockCaches holds the mutexes of the caches queries fill under the read
// lock (sorted ids), so the snapshot reads them still.
func lockCaches(roots []Projection) (unlock func()) {
	var held []func()
	for _, r := range roots {
		switch p := r.(type) {
		case *Customers:
			p.sortMu.Lock()
			held = append(held, p.sortMu.Unlock)
		case *Campaigns:
			p.sortMu.Lock()
			held = append(held, p.sortMu.Unlock)
		}
	}
	return func() {
		for _, u := range held {
			u()
		}
	}
}
