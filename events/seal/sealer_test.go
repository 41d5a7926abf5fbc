package seal

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
)

func openStore(t testing.TB, now events.Clock) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func testKey(t testing.TB) *Key {
	k, err := NewKey("dangol.test", bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func appendN(t testing.TB, s events.Store, stream string, n int) {
	t.Helper()
	for i := 0; i < n; i++ {
		ev := eventstest.NewEvent("ContactLogged", fmt.Sprintf(`{"n":%d}`, i))
		if _, err := s.Append(context.Background(), stream, events.Any, ev); err != nil {
			t.Fatal(err)
		}
	}
}

func readLog(t testing.TB, s events.Store) []events.Envelope {
	t.Helper()
	var out []events.Envelope
	for from := events.Start; ; {
		evs, err := s.ReadAll(context.Background(), from, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if len(evs) == 0 {
			return out
		}
		out = append(out, evs...)
		from = evs[len(evs)-1].Position
	}
}

// eventually polls cond with a generous bound: never a timing assertion.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// checkTreeIsLog holds the tree to the log: one leaf per event in position
// order, and the root of tlog's tree over the log's hashes.
func checkTreeIsLog(t testing.TB, tr *Tree, log []events.Envelope) {
	t.Helper()
	if tr.Size() != int64(len(log)) {
		t.Fatalf("tree of %d leaves, log of %d events", tr.Size(), len(log))
	}
	mem := &memTree{}
	for i := range log {
		mem.add(t, int64(i), &log[i])
		if p, err := tr.Position(int64(i)); err != nil || p != log[i].Position {
			t.Fatalf("leaf %d at %s %v, log event at %s", i, p, err, log[i].Position)
		}
	}
	want, _ := tlog.TreeHash(int64(len(log)), mem)
	if got, err := tr.Root(int64(len(log))); err != nil || got != want {
		t.Fatalf("tree root %v %v, root of the log %v", got, err, want)
	}
}

// checkSeals checks every seal of the log from the log alone: its tree
// size, root, range, count, chain to the previous seal, signature and
// checkpoint, and that no two seals cover the same size.
func checkSeals(t testing.TB, s events.Store, k *Key) []Seal {
	t.Helper()
	log := readLog(t, s)
	seals, err := ReadSeals(context.Background(), s, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	mem := &memTree{}
	for i := range log {
		mem.add(t, int64(i), &log[i])
	}
	v, err := ParseVerifierKey(k.VerifierKey())
	if err != nil {
		t.Fatal(err)
	}
	prevSize, prevHash := int64(0), events.Hash{}.String()
	for _, l := range seals {
		n := l.TreeSize
		if n <= prevSize || n > int64(len(log)) || !log[n-1].Position.Less(l.Position) {
			t.Fatalf("seal %d of size %d after a seal of %d, at %s", l.Seq, n, prevSize, l.Position)
		}
		root, _ := tlog.TreeHash(n, mem)
		if l.MerkleRoot != hex.EncodeToString(root[:]) {
			t.Fatalf("seal %d: root %s, the log's %x", l.Seq, l.MerkleRoot, root)
		}
		if l.Count != n-prevSize || l.FromPosition != log[prevSize].Position || l.ToPosition != log[n-1].Position {
			t.Fatalf("seal %d: %d events %s..%s, want %d %s..%s", l.Seq, l.Count, l.FromPosition, l.ToPosition,
				n-prevSize, log[prevSize].Position, log[n-1].Position)
		}
		if l.PrevSealHash != prevHash {
			t.Fatalf("seal %d: prevSealHash %s, want %s", l.Seq, l.PrevSealHash, prevHash)
		}
		cp := Checkpoint{Origin: k.Name(), Size: n, Root: root}
		sig, err := base64.StdEncoding.DecodeString(l.Signature)
		if err != nil || !v.Verify(cp.Body(), sig) {
			t.Fatalf("seal %d: signature does not verify", l.Seq)
		}
		if got, err := v.OpenCheckpoint([]byte(l.LedgerSealed.Checkpoint)); err != nil || got != cp {
			t.Fatalf("seal %d: checkpoint %+v %v", l.Seq, got, err)
		}
		e := findEvent(log, l.Position)
		if e.Actor != events.System("sealer") {
			t.Fatalf("seal %d by %+v", l.Seq, e.Actor)
		}
		prevSize, prevHash = n, l.Hash.String()
	}
	return seals
}

func findEvent(log []events.Envelope, p events.Position) events.Envelope {
	for _, e := range log {
		if e.Position == p {
			return e
		}
	}
	return events.Envelope{}
}

func newSealer(t testing.TB, cfg Config) *Sealer {
	t.Helper()
	if cfg.Tree == nil {
		cfg.Tree = openTree(t, t.TempDir())
	}
	if cfg.Key == nil {
		cfg.Key = testKey(t)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s, err := NewSealer(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestSealNow seals the log as it is, returns the same seal when nothing
// but that seal came since, and chains the next seal to it.
func TestSealNow(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, eventstest.Clock(eventstest.Epoch))
	s := newSealer(t, Config{Store: store})
	if l, err := s.SealNow(ctx); err != nil || l != nil {
		t.Fatalf("seal of an empty log: %+v %v", l, err)
	}
	appendN(t, store, "customer-1", 3)
	first, err := s.SealNow(ctx)
	if err != nil || first == nil || first.TreeSize != 3 || first.Seq != 0 {
		t.Fatalf("first seal: %+v %v", first, err)
	}
	head, _ := store.Head(ctx)
	again, err := s.SealNow(ctx)
	if err != nil || again.Hash != first.Hash {
		t.Fatalf("second SealNow with nothing new: %+v %v", again, err)
	}
	if h, _ := store.Head(ctx); h != head {
		t.Fatalf("SealNow with nothing new appended: head %s → %s", head, h)
	}
	appendN(t, store, "customer-2", 2)
	second, err := s.SealNow(ctx)
	if err != nil || second.TreeSize != 6 || second.Count != 3 || second.FromPosition != first.Position {
		t.Fatalf("second seal: %+v %v", second, err)
	}
	if st := s.Status(); st.Latest == nil || st.Latest.Hash != second.Hash {
		t.Fatalf("status: %+v", st)
	}
	checkSeals(t, store, s.cfg.Key)
	checkTreeIsLog(t, s.cfg.Tree, readLog(t, store)[:6])
}

// TestSealerEvery runs the sealer with Every = 5 while events arrive in
// groups of five: each group brings a seal covering it (the seal before it
// is one more new event), and the seals chain. A group is appended only
// once the previous seal is there, so how fast the sealer keeps up does
// not change what is asserted.
func TestSealerEvery(t *testing.T) {
	store := openStore(t, eventstest.Clock(eventstest.Epoch))
	s := newSealer(t, Config{Store: store, Every: 5})
	done := runSealer(t, s)
	for i := range 4 {
		appendN(t, store, fmt.Sprintf("customer-%d", i), 5)
		eventually(t, fmt.Sprintf("seal %d", i), func() bool { st := s.Status(); return st.Latest != nil && st.Latest.Seq == uint64(i) })
	}
	done()
	seals := checkSeals(t, store, s.cfg.Key)
	if len(seals) != 4 {
		t.Fatalf("%d seals, want 4", len(seals))
	}
	for i, l := range seals {
		if new := l.Count - min(int64(i), 1); new != 5 { // the previous seal is no new event
			t.Fatalf("seal %d covers %d new events, want the group's 5", l.Seq, new)
		}
	}
}

// newTickedSealer returns a sealer of cfg with injected ticks, and tick,
// which sends one and returns once the sealer has handled it: nothing a
// test does after tick races with it.
func newTickedSealer(t testing.TB, cfg Config) (s *Sealer, tick func()) {
	t.Helper()
	ticks, handled := make(chan time.Time), make(chan struct{})
	cfg.Ticks = ticks
	s = newSealer(t, cfg)
	s.tickHandled = func() { handled <- struct{}{} }
	return s, func() { ticks <- time.Time{}; <-handled }
}

// runSealer runs s until the returned function is called, and fails the
// test if Run returns anything but the context's error.
func runSealer(t testing.TB, s *Sealer) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-errc; err != context.Canceled {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// TestSealerInterval: with a manual clock and injected ticks, a tick seals
// only once the interval has passed since the last seal and an event came.
func TestSealerInterval(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	store := openStore(t, clock.Now)
	s, tick := newTickedSealer(t, Config{Store: store, Interval: 10 * time.Minute, Now: clock.Now})
	runSealer(t, s)
	tick()
	if s.Status().Latest != nil {
		t.Fatal("sealed an empty log")
	}
	appendN(t, store, "customer-1", 2)
	eventually(t, "the tree to follow", func() bool { return s.cfg.Tree.Size() == 2 })
	clock.Set(eventstest.Epoch.Add(9 * time.Minute))
	tick()
	if s.Status().Latest != nil {
		t.Fatal("sealed before the interval passed")
	}
	clock.Set(eventstest.Epoch.Add(10 * time.Minute))
	tick()
	first := s.Status().Latest
	if first == nil || first.TreeSize != 2 {
		t.Fatalf("after the interval: %+v", first)
	}
	clock.Set(eventstest.Epoch.Add(30 * time.Minute))
	tick()
	if l := s.Status().Latest; l.Seq != first.Seq {
		t.Fatalf("sealed again with no new event: %+v", l)
	}
	appendN(t, store, "customer-1", 1)
	eventually(t, "the tree to follow", func() bool { return s.cfg.Tree.Size() == 4 })
	tick()
	if l := s.Status().Latest; l.Seq != 1 || l.TreeSize != 4 {
		t.Fatalf("second seal: %+v", l)
	}
	checkSeals(t, store, s.cfg.Key)
}

// TestSealersRace runs two sealers, each with its own tree, on one store
// while events arrive: they race, one wins each round, and the log holds
// one seal per tree size, chained, each valid.
func TestSealersRace(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, eventstest.Clock(eventstest.Epoch))
	a, b := newSealer(t, Config{Store: store}), newSealer(t, Config{Store: store})
	for round := 0; round < 10; round++ {
		appendN(t, store, fmt.Sprintf("customer-%d", round%3), 3)
		var wg sync.WaitGroup
		var la, lb *Seal
		var ea, eb error
		wg.Add(2)
		go func() { defer wg.Done(); la, ea = a.SealNow(ctx) }()
		go func() { defer wg.Done(); lb, eb = b.SealNow(ctx) }()
		wg.Wait()
		if ea != nil || eb != nil {
			t.Fatalf("round %d: %v / %v", round, ea, eb)
		}
		// The loser finds only the winner's seal new: it returns that seal.
		if la.Seq != uint64(round) || lb.Hash != la.Hash {
			t.Fatalf("round %d: seals %d and %d", round, la.Seq, lb.Seq)
		}
	}
	seals := checkSeals(t, store, a.cfg.Key)
	if len(seals) != 10 {
		t.Fatalf("%d seals after 10 rounds", len(seals))
	}
}

// TestSealerRebuildsDamagedTree: a tree whose stored hashes were altered
// no longer gives the latest seal's root; Check logs it, rebuilds the tree
// from the log, and sealing goes on.
func TestSealerRebuildsDamagedTree(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, eventstest.Clock(eventstest.Epoch))
	dir := t.TempDir()
	sealTwenty(t, store, dir).Close()
	editFile(t, filepath.Join(dir, HashesFile), func(b []byte) {
		b[tlog.StoredHashIndex(4, 0)*tlog.HashSize+3] ^= 0xff // the root of leaves 0..15
	})

	var logs bytes.Buffer
	tr := openTree(t, dir)
	s := newSealer(t, Config{Store: store, Tree: tr, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(logs.Bytes(), []byte("level=ERROR")) || !bytes.Contains(logs.Bytes(), []byte("rebuilding")) {
		t.Fatalf("the damaged tree was not reported: %s", logs.String())
	}
	checkTreeIsLog(t, tr, readLog(t, store))
	appendN(t, store, "customer-1", 1)
	if l, err := s.SealNow(ctx); err != nil || l.Seq != 1 {
		t.Fatalf("seal after the rebuild: %+v %v", l, err)
	}
	checkSeals(t, store, s.cfg.Key)
}

// TestSealerRefusesLogNotMatchingSeal: when even the tree rebuilt from the
// log does not give the latest seal's root, the log is not what was
// sealed: Check says so and SealNow appends nothing over it.
func TestSealerRefusesLogNotMatchingSeal(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, eventstest.Clock(eventstest.Epoch))
	appendN(t, store, "customer-1", 4)
	log := readLog(t, store)
	root := tlog.Hash(bytes.Repeat([]byte{1}, 32))
	signed, _, err := testKey(t).SignCheckpoint(Checkpoint{Origin: "dangol.test", Size: 4, Root: root})
	if err != nil {
		t.Fatal(err)
	}
	forged := events.LedgerSealed{FromPosition: log[0].Position, ToPosition: log[3].Position, Count: 4, TreeSize: 4,
		MerkleRoot: hex.EncodeToString(root[:]), PrevSealHash: events.Hash{}.String(), Checkpoint: signed}
	ev, err := events.NewEvent(&forged, events.Meta{Actor: events.System("sealer")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Append(ctx, events.LedgerStream, events.NoStream, ev); err != nil {
		t.Fatal(err)
	}
	s := newSealer(t, Config{Store: store})
	if err := s.Check(ctx); events.ErrorCode(err) != events.Internal {
		t.Fatalf("check: %v", err)
	}
	appendN(t, store, "customer-1", 1)
	head, _ := store.Head(ctx)
	if _, err := s.SealNow(ctx); err == nil {
		t.Fatal("sealed over a log that does not match its seal")
	}
	if h, _ := store.Head(ctx); h != head {
		t.Fatal("something was appended")
	}
}

// sealTwenty appends 20 events to store and seals them with a tree in
// dir, which it returns open.
func sealTwenty(t testing.TB, store events.Store, dir string) *Tree {
	t.Helper()
	tr := openTree(t, dir)
	appendN(t, store, "customer-1", 20)
	if _, err := newSealer(t, Config{Store: store, Tree: tr}).SealNow(context.Background()); err != nil {
		t.Fatal(err)
	}
	return tr
}

// editFile rewrites the file at path with edit applied to its bytes.
func editFile(t testing.TB, path string, edit func(b []byte)) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	edit(b)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestNewSealerRefusesIncompleteConfig: a missing store, tree or signing
// key, or a negative schedule, is Invalid.
func TestNewSealerRefusesIncompleteConfig(t *testing.T) {
	store := openStore(t, eventstest.Clock(eventstest.Epoch))
	tr := openTree(t, t.TempDir())
	verifying, _ := VerifyingKey("dangol.test", testKey(t).Public())
	for name, cfg := range map[string]Config{
		"no store":          {Tree: tr, Key: testKey(t)},
		"no tree":           {Store: store, Key: testKey(t)},
		"no key":            {Store: store, Tree: tr},
		"a verifying key":   {Store: store, Tree: tr, Key: verifying},
		"negative every":    {Store: store, Tree: tr, Key: testKey(t), Every: -1},
		"negative interval": {Store: store, Tree: tr, Key: testKey(t), Interval: -time.Second},
	} {
		if _, err := NewSealer(cfg); events.ErrorCode(err) != events.Invalid {
			t.Errorf("%s: %v", name, err)
		}
	}
}

// TestRunEndsWhenStoreCloses: Run returns the store's error, not nil.
// Each step waits for the one before: Run has checked the empty log and
// subscribed before the events are appended, and the seal is followed
// into the tree before the store closes.
func TestRunEndsWhenStoreCloses(t *testing.T) {
	store := &countSubscribe{Store: openStore(t, eventstest.Clock(eventstest.Epoch))}
	s := newSealer(t, Config{Store: store, Every: 2})
	errc := make(chan error, 1)
	go func() { errc <- s.Run(context.Background()) }()
	eventually(t, "Run to follow the log", func() bool { return store.subs.Load() == 1 })
	appendN(t, store, "customer-1", 2)
	eventually(t, "a seal", func() bool { return s.Status().Latest != nil })
	eventually(t, "the seal followed into the tree", func() bool { return s.cfg.Tree.Size() == 3 })
	store.Close()
	if err := <-errc; !errors.Is(err, events.ErrClosed) {
		t.Fatalf("Run returned %v, want ErrClosed", err)
	}
}

// TestSealerPoll runs the sealer polling the log (Config.Poll) with
// injected ticks: nothing is read into the tree between ticks, a tick
// catches up and seals once Every events came, and a tick with too few
// new events does not seal.
func TestSealerPoll(t *testing.T) {
	store := &countSubscribe{Store: openStore(t, eventstest.Clock(eventstest.Epoch))}
	s, tick := newTickedSealer(t, Config{Store: store, Every: 5, Poll: time.Hour})
	runSealer(t, s)
	tick() // Run has checked the tree and polls
	appendN(t, store, "customer-1", 3)
	tick()
	if n := s.cfg.Tree.Size(); n != 3 || s.Status().Latest != nil {
		t.Fatalf("after a poll with 3 events: tree %d, latest %+v; want 3 and no seal", n, s.Status().Latest)
	}
	appendN(t, store, "customer-1", 4)
	tick()
	l := s.Status().Latest
	if l == nil || l.TreeSize != 7 {
		t.Fatalf("after a poll with 7 events: latest %+v, want a seal of 7", l)
	}
	tick()
	if got := s.Status().Latest; got.Seq != l.Seq {
		t.Fatalf("a poll with only the seal new sealed again: %+v", got)
	}
	if n := store.subs.Load(); n != 0 {
		t.Fatalf("a polling sealer subscribed to the log %d times", n)
	}
	checkSeals(t, store, s.cfg.Key)
}

// countSubscribe is a store that counts its subscriptions.
type countSubscribe struct {
	events.Store
	subs atomic.Int32
}

func (s *countSubscribe) Subscribe(ctx context.Context, from events.Position) (events.Subscription, error) {
	s.subs.Add(1)
	return s.Store.Subscribe(ctx, from)
}

// TestSealerRereadsTheUnsealedTail: a crash may leave a hole (zeros) in
// the middle of what was written since the last sync, not only at the
// end, where opening the tree looks. Here the stored hash of leaves 32..47
// is lost after the seal of 20 leaves; the last leaf and the seal's root
// still match the log. The leaves after the latest seal are read again
// from the log, so the next seal's root is the log's.
func TestSealerRereadsTheUnsealedTail(t *testing.T) {
	ctx := context.Background()
	store := openStore(t, eventstest.Clock(eventstest.Epoch))
	dir := t.TempDir()
	tr := sealTwenty(t, store, dir)
	appendN(t, store, "customer-2", 40)
	if err := tr.CatchUp(ctx, store); err != nil || tr.Size() != 61 {
		t.Fatalf("catch up: %d leaves, %v", tr.Size(), err)
	}
	tr.Close()
	editFile(t, filepath.Join(dir, HashesFile), func(b []byte) {
		off := tlog.StoredHashIndex(4, 2) * tlog.HashSize // the root of leaves 32..47
		clear(b[off : off+tlog.HashSize])
	})

	tr = openTree(t, dir)
	if tr.Size() != 61 {
		t.Fatalf("reopened at %d leaves, want 61 (the hole is not at the end)", tr.Size())
	}
	s := newSealer(t, Config{Store: store, Tree: tr})
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	checkTreeIsLog(t, tr, readLog(t, store))
	if l, err := s.SealNow(ctx); err != nil || l.Seq != 1 || l.TreeSize != 61 {
		t.Fatalf("seal after the reopen: %+v %v", l, err)
	}
	checkSeals(t, store, s.cfg.Key)
}

// TestSealerEveryCountsWhatCheckRead: events already in the log when Run
// starts are read into the tree by its Check, not delivered by following;
// they count towards Every all the same, so a quiet log is sealed without
// waiting for one more event.
func TestSealerEveryCountsWhatCheckRead(t *testing.T) {
	store := openStore(t, eventstest.Clock(eventstest.Epoch))
	appendN(t, store, "customer-1", 3)
	s := newSealer(t, Config{Store: store, Every: 2})
	runSealer(t, s)
	eventually(t, "a seal of the 3 events there at start", func() bool {
		l := s.Status().Latest
		return l != nil && l.TreeSize == 3
	})
}

// TestSealerSaysUnsealedEventsChanged: the tree holds events after the
// latest seal that the log no longer has (here: a copy of the log taken
// before them, as a restore or a cut while stopped leaves it). No seal
// proves them, so Check says so in the log, then reads the tree again
// from the log past the seal, and sealing goes on over the log as it is.
func TestSealerSaysUnsealedEventsChanged(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	store, err := bolt.Open(filepath.Join(dir, "a.db"), bolt.Options{Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	tr := sealTwenty(t, store, filepath.Join(dir, "seals"))
	store.Close()
	b, err := os.ReadFile(filepath.Join(dir, "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.db"), b, 0o600); err != nil {
		t.Fatal(err)
	}
	store, err = bolt.Open(filepath.Join(dir, "a.db"), bolt.Options{Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	appendN(t, store, "customer-2", 5)
	if err := tr.CatchUp(ctx, store); err != nil || tr.Size() != 26 {
		t.Fatalf("catch up: %d leaves, %v", tr.Size(), err)
	}

	cut, err := bolt.Open(filepath.Join(dir, "b.db"), bolt.Options{Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	defer cut.Close()
	var logs bytes.Buffer
	s := newSealer(t, Config{Store: cut, Tree: tr, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := s.Check(ctx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(logs.Bytes(), []byte("level=ERROR")) || !bytes.Contains(logs.Bytes(), []byte("events after the latest seal are no longer in the log")) {
		t.Fatalf("the changed events were not reported: %s", logs.String())
	}
	checkTreeIsLog(t, tr, readLog(t, cut))
	appendN(t, cut, "customer-3", 1)
	if l, err := s.SealNow(ctx); err != nil || l.Seq != 1 || l.TreeSize != 22 {
		t.Fatalf("seal after the check: %+v %v", l, err)
	}
	checkSeals(t, cut, s.cfg.Key)
}

// TestSealerSyncEvery: with SyncEvery, a seal between fsyncs still writes
// every leaf it covers to the tree's files (a crash of the process keeps
// them), and the tree it signs is the log's.
func TestSealerSyncEvery(t *testing.T) {
	clock := eventstest.NewManualClock(eventstest.Epoch)
	store := openStore(t, clock.Now)
	dir := t.TempDir()
	s := newSealer(t, Config{Store: store, Tree: openTree(t, dir), Now: clock.Now, SyncEvery: time.Hour})
	for round := range 3 {
		appendN(t, store, fmt.Sprintf("customer-%d", round), 3)
		l, err := s.SealNow(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join(dir, LeavesFile))
		if err != nil {
			t.Fatal(err)
		}
		if got := fi.Size() / leafSize; got < l.TreeSize {
			t.Fatalf("round %d: %d leaves in the file, the seal covers %d", round, got, l.TreeSize)
		}
		clock.Set(clock.Now().Add(time.Minute))
	}
	checkSeals(t, store, s.cfg.Key)
}
