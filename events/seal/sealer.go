package seal

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dangol/dangol/events"
)

// Config configures a Sealer.
type Config struct {
	Store events.Store
	Tree  *Tree
	Key   *Key // must be able to sign
	// Every seals after this many new events (0: off); Interval at least
	// this often when an event arrived since the last seal (0: off).
	Every    int64
	Interval time.Duration
	// Now judges the interval against the latest seal's recordedAt and
	// stamps the witnesses' status (default events.SystemClock).
	Now       events.Clock
	Witnesses []Witness
	Logger    *slog.Logger // default slog.Default()
	// Ticks, if set, replaces the ticker that checks the interval
	// (Interval/4, at least a second), or with Poll the poll's ticker:
	// tests send on it.
	Ticks <-chan time.Time
	// Poll, if above zero, reads the log into the tree every Poll, a page
	// at a time, instead of following a live subscription: one read per
	// poll rather than one per commit, which is what following costs the
	// appenders on PostgreSQL. Every is then judged at each poll.
	Poll time.Duration
	// SyncEvery, if above zero, fsyncs the tree before a seal only when
	// the last fsync is at least this old (judged with Now), and flushes
	// it to the files otherwise; zero fsyncs before every seal. The tree
	// is derived data: a machine crash that loses its unsynced tail costs
	// a re-read from the log at start (Check), never a wrong seal. An
	// fsync competes with the store's own on the same disk, which every
	// appender then waits for.
	SyncEvery time.Duration
}

// maxAttempts bounds SealNow's retries after losing a race to another
// sealer.
const maxAttempts = 3

// Sealer appends LedgerSealed events: the signed root of the tree of every
// event before it. Several sealers (one per server) may share a store:
// each seal is appended at the ledger stream's exact next version, so a
// loser gets Conflict, re-reads the winner's seal and seals later only if
// events other than that seal came. Safe for concurrent use.
type Sealer struct {
	cfg     Config
	log     *slog.Logger
	started time.Time

	mu     sync.Mutex // serialises sealing
	synced time.Time  // when syncTree last fsynced the tree (guarded by mu)

	smu       sync.RWMutex // guards the fields below
	latest    *Seal
	witnesses []WitnessStatus
	mismatch  error // the tree does not match the latest seal even rebuilt

	// tickHandled, if set, is called once Run has handled a tick: a test
	// that injects ticks waits on it before looking at what the tick did.
	tickHandled func()
}

// NewSealer returns a sealer of cfg. The error is Invalid when a part is
// missing.
func NewSealer(cfg Config) (*Sealer, error) {
	switch {
	case cfg.Store == nil || cfg.Tree == nil:
		return nil, events.Errorf(events.Invalid, "sealer: a store and a tree are required")
	case cfg.Key == nil || !cfg.Key.CanSign():
		return nil, events.Errorf(events.Invalid, "sealer: a signing key is required")
	case cfg.Every < 0 || cfg.Interval < 0:
		return nil, events.Errorf(events.Invalid, "sealer: every and interval must not be negative")
	}
	if cfg.Now == nil {
		cfg.Now = events.SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	s := &Sealer{cfg: cfg, log: cfg.Logger.With("component", "sealer"), started: cfg.Now()}
	for _, w := range cfg.Witnesses {
		kind, target := w.Describe()
		s.witnesses = append(s.witnesses, WitnessStatus{Kind: kind, Target: target})
	}
	return s, nil
}

// Status returns the latest seal known, the witnesses' state and the
// schedule.
func (s *Sealer) Status() Status {
	s.smu.RLock()
	defer s.smu.RUnlock()
	st := Status{Every: s.cfg.Every, Interval: s.cfg.Interval,
		Witnesses: append([]WitnessStatus(nil), s.witnesses...)}
	if s.latest != nil {
		l := *s.latest
		st.Latest = &l
	}
	return st
}

func (s *Sealer) setLatest(l *Seal) {
	s.smu.Lock()
	defer s.smu.Unlock()
	if l != nil && (s.latest == nil || l.Seq > s.latest.Seq) {
		s.latest = l
	}
}

// Check catches the tree up with the log and holds it to the latest seal:
// its root at the seal's tree size must be the seal's merkleRoot, and its
// last leaf the log's event at that position; the leaves after the seal's
// tree size (all of them before the first seal) are read again from the
// log, since nothing proves them. If not, the tree is damaged
// or belongs to another log: it is logged, emptied and rebuilt from the
// log. If even the rebuilt tree does not match, the log does not match its
// seal; the error is Internal and the sealer refuses to seal over it.
// Run calls it first; call it alone only while Run is not running, since
// it may empty the tree.
func (s *Sealer) Check(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	latest, err := Latest(ctx, s.cfg.Store)
	if err != nil {
		return err
	}
	s.setLatest(latest)
	err = s.matches(ctx, latest)
	if err == nil || ctx.Err() != nil {
		return err
	}
	s.log.Error("the stored tree does not match the log; rebuilding it from the log", "err", err)
	if err := s.cfg.Tree.Reset(); err != nil {
		return err
	}
	if err := s.matches(ctx, latest); err != nil {
		err = fmt.Errorf("the log does not match its latest seal (run dangol audit verify): %w", err)
		s.smu.Lock()
		s.mismatch = err
		s.smu.Unlock()
		return err
	}
	return nil
}

// matches catches the tree up and checks it against the log's event at its
// last leaf and against latest. Leaves past latest's tree size are read
// again from the log once the root at that size is latest's: a crash may
// have left a hole anywhere in what was written since the last sync (the
// sealer syncs before each seal it appends), where OpenTree cannot see it
// but the next seal's root would be wrong. The root at latest's size
// proves the frontier there, from which the tree grows again.
func (s *Sealer) matches(ctx context.Context, latest *Seal) error {
	t := s.cfg.Tree
	keep := int64(0)
	if latest != nil {
		keep = latest.TreeSize
	}
	if t.Size() > keep {
		if err := s.covers(latest); err != nil {
			return err
		}
		if err := s.lastLeafInLog(ctx, t.Size()); err != nil && ctx.Err() == nil {
			// No seal proves these events, so no check will name it: say it.
			s.log.Error("events after the latest seal are no longer in the log as the tree holds them (removed or changed); reading them again from the log",
				"sealedTreeSize", keep, "err", err)
		}
		if err := t.truncate(keep); err != nil {
			return err
		}
	}
	if n := t.Size(); n > 0 {
		if err := s.lastLeafInLog(ctx, n); err != nil {
			return err
		}
	}
	if err := t.CatchUp(ctx, s.cfg.Store); err != nil {
		return err
	}
	return s.covers(latest)
}

// lastLeafInLog checks that leaf n-1 is the log's event at its position.
func (s *Sealer) lastLeafInLog(ctx context.Context, n int64) error {
	t := s.cfg.Tree
	before := events.Start
	if n > 1 {
		var err error
		if before, err = t.Position(n - 2); err != nil {
			return err
		}
	}
	evs, err := s.cfg.Store.ReadAll(ctx, before, 1)
	if err != nil {
		return err
	}
	last := t.Last()
	if len(evs) == 0 || evs[0].Position != last {
		return events.Errorf(events.Internal, "tree leaf %d is at position %s, where the log has no event", n-1, last)
	}
	h, err := t.readHashes([]int64{tlog.StoredHashIndex(0, n-1)})
	if err != nil {
		return err
	}
	if h[0] != LeafHash(&evs[0]) {
		return events.Errorf(events.Internal, "tree leaf %d is not the log's event at %s", n-1, last)
	}
	return nil
}

// covers checks the tree's root at the seal's size against the seal.
func (s *Sealer) covers(l *Seal) error {
	if l == nil {
		return nil
	}
	if n := s.cfg.Tree.Size(); n < l.TreeSize {
		return events.Errorf(events.Internal, "seal %d covers %d events, the log has %d", l.Seq, l.TreeSize, n)
	}
	root, err := s.cfg.Tree.Root(l.TreeSize)
	if err != nil {
		return err
	}
	if hex.EncodeToString(root[:]) != l.MerkleRoot {
		return events.Errorf(events.Internal, "seal %d: root of the first %d events is %x, the seal says %s", l.Seq, l.TreeSize, root, l.MerkleRoot)
	}
	return nil
}

// SealNow catches the tree up with the log and seals it as it then is.
// If no event came since the latest seal but that seal itself, it returns
// the latest seal (nil for an empty log) and appends nothing. Losing a
// race to another sealer, it re-reads the winner's seal and tries again
// (a few times; then the error is Conflict). A tree that does not match
// the latest seal is an Internal error and nothing is appended.
func (s *Sealer) SealNow(ctx context.Context) (*Seal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var err error
	for range maxAttempts {
		var l *Seal
		if l, err = s.sealOnce(ctx); events.ErrorCode(err) != events.Conflict {
			return l, err
		}
		s.log.Info("another sealer sealed first; re-reading its seal")
	}
	return nil, err
}

func (s *Sealer) mismatched() error {
	s.smu.RLock()
	defer s.smu.RUnlock()
	return s.mismatch
}

func (s *Sealer) sealOnce(ctx context.Context) (*Seal, error) {
	if err := s.mismatched(); err != nil {
		return nil, err
	}
	prev, err := Latest(ctx, s.cfg.Store)
	if err != nil {
		return nil, err
	}
	s.setLatest(prev)
	if err := s.cfg.Tree.CatchUp(ctx, s.cfg.Store); err != nil {
		return nil, err
	}
	if err := s.covers(prev); err != nil {
		return nil, err
	}
	if s.pending(prev) == 0 {
		return prev, nil
	}
	ev, err := s.build(prev, s.cfg.Tree.Size())
	if err != nil {
		return nil, err
	}
	if err := s.syncTree(); err != nil {
		return nil, err
	}
	expected := events.NoStream
	if prev != nil {
		expected = events.Exact(prev.Seq)
	}
	res, err := s.cfg.Store.Append(ctx, events.LedgerStream, expected, ev)
	if err != nil {
		return nil, fmt.Errorf("append seal: %w", err)
	}
	l, err := s.readSeal(ctx, res.Version)
	if err != nil {
		return nil, err
	}
	s.setLatest(l)
	s.log.Info("sealed", "seal", l.Seq, "treeSize", l.TreeSize, "position", l.Position.String())
	s.witness(ctx, l)
	return l, nil
}

// pending is the number of leaves not yet sealed, the latest seal itself
// not counted: sealing only that would seal forever.
func (s *Sealer) pending(prev *Seal) int64 {
	n := s.cfg.Tree.Size()
	if prev == nil {
		return n
	}
	n -= prev.TreeSize
	if !s.cfg.Tree.Last().Less(prev.Position) {
		n-- // the tree holds prev
	}
	return n
}

// build returns the seal event of the first n leaves after prev.
func (s *Sealer) build(prev *Seal, n int64) (events.Event, error) {
	t := s.cfg.Tree
	d := events.LedgerSealed{PrevSealHash: events.Hash{}.String(), TreeSize: n}
	from := int64(0)
	if prev != nil {
		from, d.PrevSealHash = prev.TreeSize, prev.Hash.String()
	}
	d.Count = n - from
	var err error
	if d.FromPosition, err = t.Position(from); err != nil {
		return events.Event{}, err
	}
	if d.ToPosition, err = t.Position(n - 1); err != nil {
		return events.Event{}, err
	}
	root, err := t.Root(n)
	if err != nil {
		return events.Event{}, err
	}
	d.MerkleRoot = hex.EncodeToString(root[:])
	signed, sig, err := s.cfg.Key.SignCheckpoint(Checkpoint{Origin: s.cfg.Key.Name(), Size: n, Root: root})
	if err != nil {
		return events.Event{}, err
	}
	d.Checkpoint, d.Signature = signed, base64.StdEncoding.EncodeToString(sig)
	return events.NewEvent(&d, events.Meta{Actor: events.System("sealer")})
}

func (s *Sealer) readSeal(ctx context.Context, version uint64) (*Seal, error) {
	evs, err := s.cfg.Store.ReadStream(ctx, events.LedgerStream, version, events.Forward, 1)
	if err != nil {
		return nil, fmt.Errorf("read seal %d back: %w", version, err)
	}
	if len(evs) == 0 {
		return nil, events.Errorf(events.Internal, "seal %d appended but not found", version)
	}
	l, err := SealOf(&evs[0])
	return &l, err
}

// witness hands the seal's checkpoint to every witness. A failing witness
// is logged and shown in Status; it never stops sealing.
func (s *Sealer) witness(ctx context.Context, l *Seal) {
	for i, w := range s.cfg.Witnesses {
		err := w.Witness(ctx, []byte(l.LedgerSealed.Checkpoint), l.TreeSize)
		s.smu.Lock()
		st := &s.witnesses[i]
		if err != nil {
			st.LastError = err.Error()
			s.log.Warn("witness failed", "kind", st.Kind, "target", st.Target, "err", err)
		} else {
			st.TreeSize, st.At, st.LastError = l.TreeSize, s.cfg.Now(), ""
		}
		s.smu.Unlock()
	}
}

// Run checks the tree (Check), then follows the log into it and seals when
// Every new events arrived, or when Interval passed since the latest seal
// and an event arrived. It returns when ctx is done (ctx's error) or the
// store fails. A failed seal is logged and tried again later.
func (s *Sealer) Run(ctx context.Context) error {
	if err := s.Check(ctx); err != nil {
		if ctx.Err() != nil || s.mismatched() == nil {
			return err
		}
		// Following goes on, so that the tree serves proofs; sealing does not.
		s.log.Error("not sealing: the log does not match its latest seal", "err", err)
	}
	if s.cfg.Poll > 0 {
		return s.poll(ctx)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Events Check read into the tree count too: the first pass of the
	// loop judges them, though following delivers only what came after.
	arrived := make(chan struct{}, 1)
	arrived <- struct{}{}
	followed := make(chan error, 1)
	go func() {
		followed <- s.cfg.Tree.follow(ctx, s.cfg.Store, func(e *events.Envelope) {
			s.noteSeal(e)
			select {
			case arrived <- struct{}{}:
			default:
			}
		})
	}()
	ticks, stop := s.ticks()
	defer stop()
	for {
		select {
		case <-ctx.Done():
			<-followed
			return ctx.Err()
		case err := <-followed:
			return err
		case <-arrived:
			if s.cfg.Every > 0 && s.pendingNow() >= s.cfg.Every {
				s.sealLogged(ctx)
			}
		case <-ticks:
			if s.cfg.Interval > 0 && s.pendingNow() > 0 && s.intervalPassed() {
				s.sealLogged(ctx)
			}
			s.ticked()
		}
	}
}

// poll is Run with Config.Poll: at each tick the tree catches up with the
// log, then seals if Every events came or the interval passed.
func (s *Sealer) poll(ctx context.Context) error {
	ticks, stop := s.cfg.Ticks, func() {}
	if ticks == nil {
		t := time.NewTicker(s.cfg.Poll)
		ticks, stop = t.C, t.Stop
	}
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticks:
		}
		if err := s.cfg.Tree.catchUp(ctx, s.cfg.Store, s.noteSeal); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		pending := s.pendingNow()
		if s.cfg.Every > 0 && pending >= s.cfg.Every || s.cfg.Interval > 0 && pending > 0 && s.intervalPassed() {
			s.sealLogged(ctx)
		}
		s.ticked()
	}
}

func (s *Sealer) ticked() {
	if s.tickHandled != nil {
		s.tickHandled()
	}
}

func (s *Sealer) ticks() (<-chan time.Time, func()) {
	if s.cfg.Ticks != nil || s.cfg.Interval <= 0 {
		return s.cfg.Ticks, func() {}
	}
	t := time.NewTicker(max(s.cfg.Interval/4, time.Second))
	return t.C, t.Stop
}

// noteSeal keeps Status's latest seal current with seals other sealers
// append.
func (s *Sealer) noteSeal(e *events.Envelope) {
	if e.Stream != events.LedgerStream || e.Type != "LedgerSealed" {
		return
	}
	if l, err := SealOf(e); err == nil {
		s.setLatest(&l)
	}
}

func (s *Sealer) pendingNow() int64 {
	s.smu.RLock()
	l := s.latest
	s.smu.RUnlock()
	return s.pending(l)
}

func (s *Sealer) intervalPassed() bool {
	s.smu.RLock()
	since := s.started
	if s.latest != nil {
		since = s.latest.RecordedAt
	}
	s.smu.RUnlock()
	return s.cfg.Now().Sub(since) >= s.cfg.Interval
}

// syncTree makes the tree durable before a seal as SyncEvery says: an
// fsync, or only a flush to the files while the last fsync is recent. The
// caller holds s.mu.
func (s *Sealer) syncTree() error {
	now := s.cfg.Now()
	if s.cfg.SyncEvery > 0 && !s.synced.IsZero() && now.Sub(s.synced) < s.cfg.SyncEvery {
		return s.cfg.Tree.Flush()
	}
	if err := s.cfg.Tree.Sync(); err != nil {
		return err
	}
	s.synced = now
	return nil
}

func (s *Sealer) sealLogged(ctx context.Context) {
	if _, err := s.SealNow(ctx); err != nil && ctx.Err() == nil {
		s.log.Error("seal failed", "err", err)
	}
}
