package projections_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// plainSnapshot returns the plain snapshot of a generated bank of 20
// customers, folded by newFolds.
func plainSnapshot(t *testing.T) []byte {
	t.Helper()
	all := readLog(t, snapLog(t, 20))
	f := newFolds()
	f.apply(t, all)
	var buf bytes.Buffer
	if err := projections.WriteSnapshot(&buf, projections.InfoAt(&all[len(all)-1], all[len(all)-2].Position), f.roots()); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestReviewSnapshotSamplerPolicy: the sampler's policy (the --sample-*
// flags) is configuration, as the tier rule is: a snapshot taken under
// another policy is refused, rather than restoring the old policy over the
// one the server was started with (it would decide every call after the
// restart by the flags of the run before).
func TestReviewSnapshotSamplerPolicy(t *testing.T) {
	buf := plainSnapshot(t)
	restarted := newFolds()
	policy := samplerPolicy()
	policy.NewRepCalls = 3 // the server restarted with --sample-new-rep-calls 3
	restarted.reactors[0] = projections.NewSampler(policy, nil)
	_, err := projections.ReadSnapshot(bytes.NewReader(buf), restarted.roots())
	if err == nil || !strings.Contains(err.Error(), "projections.Sampler.policy (configuration)") {
		t.Fatalf("err %v, want the sampler's policy named", err)
	}
	if _, err := projections.ReadSnapshot(bytes.NewReader(buf), newFolds().roots()); err != nil {
		t.Fatalf("under the same policy: %v", err)
	}
}

// TestReviewSnapshotReplacedKeyDestroyed: a snapshot written at the
// position of one the directory holds already (a full replay after that
// one was refused ends where it was taken) replaces its file: the replaced
// file's key is destroyed, so a copy of it (a disk block, a backup) opens
// no more and the key store keeps no live key of a file gone.
func TestReviewSnapshotReplacedKeyDestroyed(t *testing.T) {
	keys := projectionstest.SnapshotKeys(t)
	b := newSealedBank(t, keys)
	n := len(b.all)
	first := readFile(t, b.write(t, n, false))
	again := readFile(t, b.write(t, n, false))
	old, now := header(t, first), header(t, again)
	if old.Key == now.Key {
		t.Fatalf("both snapshots under key %s", old.Key)
	}
	if _, err := keys.DataKey(context.Background(), old.Key, false); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("the replaced snapshot's key: %v, want it destroyed", err)
	}
	if files, _ := b.dir.List(); len(files) != 1 {
		t.Fatalf("%d files, want 1", len(files))
	}
	if _, info, ok := b.load(); !ok || info.Position != b.all[n-1].Position {
		t.Fatalf("restored %v at %v: %s", ok, info.Position, b.logs.String())
	}
}

// TestReviewSnapshotTempLeftByCrash: a snapshot's temporary file left by a
// crash during its write (sealed under a key of its own, never renamed)
// is shredded by the next load: its key destroyed, the file removed. It
// was never listed, so no prune or erasure reached it: a copy of it kept
// opening, the erased customers' data with it.
func TestReviewSnapshotTempLeftByCrash(t *testing.T) {
	keys := projectionstest.SnapshotKeys(t)
	b := newSealedBank(t, keys)
	n := len(b.all)
	b.write(t, n-1, false)
	f := newFolds()
	f.apply(t, b.all)
	var sealed bytes.Buffer
	h, err := projections.SealSnapshot(context.Background(), &sealed, projections.InfoAt(&b.all[n-1], b.all[n-2].Position), f.roots(), keys, false)
	if err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(b.dir.Dir, ".snapshot-123456.tmp")
	if err := os.WriteFile(tmp, sealed.Bytes()[:sealed.Len()/2], 0o600); err != nil { // the crash came mid-write
		t.Fatal(err)
	}
	if _, info, ok := b.load(); !ok || info.Position != b.all[n-2].Position {
		t.Fatalf("restored %v at %v: %s", ok, info.Position, b.logs.String())
	}
	if _, err := keys.DataKey(context.Background(), h.Key, false); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("the temporary file's key: %v, want it destroyed", err)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("the temporary file: %v, want it removed", err)
	}
}

// crmBank folds customer C1, registered by the bank's own record (crm,
// as a branch registering through the CRM says), then evs.
func crmBank(t *testing.T, evs ...logged) *projections.Customers {
	t.Helper()
	cs := projections.NewCustomers()
	all := append([]logged{{&events.CustomerRegistered{CustomerID: "C1", Name: "김민지", Phone: "010-1111-2222", BranchID: "B1",
		Source: events.Source{System: projections.CRMSystem}}, day(1, 5)}}, evs...)
	foldC1(t, cs, all)
	return cs
}

// TestReviewCRMRegistrationOneClaimPerSystem: a customer registered by the
// CRM itself who confirmed their data keeps one claim of crm per field (the
// confirmation, its latest), not the registration's and the
// confirmation's both: the view lists each system's latest claim once, and
// a later change by the CRM replaces crm's claim rather than one of two.
func TestReviewCRMRegistrationOneClaimPerSystem(t *testing.T) {
	cs := crmBank(t,
		logged{&events.ProfileVerified{Channel: "branch"}, day(3, 1)},
		reported("card", day(4, 1), false, map[string]string{"phone": "010-3333-4444"}))
	check := func(when string) {
		t.Helper()
		v := provView(t, cs)
		for _, f := range v.Provenance {
			if s := systems(f); len(slices.Compact(slices.Sorted(slices.Values(s)))) != len(s) {
				t.Errorf("%s: %s's claims are of %v: a system twice", when, f.Field, s)
			}
		}
	}
	check("after the card's report")
	if v := provView(t, cs); v.Phone != "010-1111-2222" || field(v, "phone").System != projections.CRMSystem {
		t.Errorf("phone %q from %q: want the confirmed one", v.Phone, field(v, "phone").System)
	}
}

// snapStore is the in-memory read store restarted from a snapshot at every
// sync of the conformance suite: WaitFor lets the runner reach the
// position, stops it, writes a sealed snapshot of the folds, and starts
// fresh folds restored from it, whose runner replays the tail from there.
// Every answer the suite checks after that is of folds restored from a
// snapshot, plus the events after it.
type snapStore struct {
	projections.Queries // the current folds
	tb                  testing.TB
	log                 projections.Source
	dir                 *projections.SnapshotDir
	runner              *projections.Runner
	stop                func()
	restores            int
}

func (s *snapStore) start(from events.Position, m *projections.Memory) {
	decode := func(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }
	r := projections.NewRunner(s.log, decode, m.Projections(), nil,
		projections.RunnerOptions{From: from, Now: eventstest.Clock(projectionstest.T0)})
	m.Attach(r)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	s.Queries, s.runner = m, r
	var once sync.Once
	s.stop = func() { once.Do(func() { stopRunner(s.tb, cancel, done) }) }
}

func stopRunner(tb testing.TB, cancel func(), done <-chan error) {
	{
		cancel()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			tb.Errorf("runner: %v", err)
		}
	}
}

func (s *snapStore) WaitFor(ctx context.Context, pos events.Position) error {
	if err := s.runner.WaitFor(ctx, pos); err != nil || pos.IsZero() {
		return err // an empty log: nothing to snapshot
	}
	s.stop()
	all, err := s.log.ReadAll(ctx, events.Start, 1<<30)
	if err != nil || len(all) == 0 {
		return fmt.Errorf("read the log: %v (%d events)", err, len(all))
	}
	last, before := &all[len(all)-1], events.Position{}
	if len(all) > 1 {
		before = all[len(all)-2].Position
	}
	if _, err := s.dir.Write(projections.InfoAt(last, before), s.Queries.(*projections.Memory).Projections(), false); err != nil {
		return err
	}
	var m *projections.Memory
	_, info, ok := s.dir.Load(ctx, s.log, func() []projections.Projection {
		m = projections.NewMemory(projections.WithSearchIndex(projectionstest.SearchIndex()))
		return m.Projections()
	})
	if !ok || info.Position != last.Position {
		return fmt.Errorf("restored %v at %v, want the snapshot at %v", ok, info.Position, last.Position)
	}
	s.restores++
	s.start(info.Position, m)
	return s.runner.WaitFor(ctx, pos)
}

// TestReviewQueriesConformanceThroughSnapshots runs the read side's whole
// conformance suite (merges, chains, provenance and its conflicts on the
// worklist, likely duplicates, campaigns, QA, search, reports, the
// generated bank) on folds restored from a sealed snapshot at each of its
// syncs: snapshot plus tail answers every query as the suite's own
// expectations and the reference fold do.
func TestReviewQueriesConformanceThroughSnapshots(t *testing.T) {
	restores, stores := 0, 0
	projectionstest.TestQueries(t, func(tb testing.TB, log projections.Source) projectionstest.ReadStore {
		s := &snapStore{tb: tb, log: log, dir: &projections.SnapshotDir{Dir: tb.TempDir(), Keys: projectionstest.SnapshotKeys(tb)}}
		s.start(events.Position{}, projections.NewMemory(projections.WithSearchIndex(projectionstest.SearchIndex())))
		stores++
		tb.Cleanup(func() { s.stop(); restores += s.restores })
		return s
	})
	if restores < stores { // two cases have an empty log; most sync more than once
		t.Errorf("%d restores from a snapshot over %d read stores: the test proved little", restores, stores)
	}
}

// TestReviewMergeCycleIgnored: a CustomerMergedInto that would close a
// cycle (M2 into M1, then M1 into M2, as no API accepts but a log may hold:
// another writer, a store whose streams raced) changes nothing, as a second
// link or a link to oneself does: M1 stays the survivor, listed, on its
// advisor's worklist, and both views are M1's.
func TestReviewMergeCycleIgnored(t *testing.T) {
	m := projections.NewMemory()
	pos := uint64(0)
	add := func(id string, d events.Data) {
		t.Helper()
		pos++
		ev, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "H1", Role: "centre_head"}})
		if err != nil {
			t.Fatalf("%T: %v", d, err)
		}
		env := &events.Envelope{ID: ev.ID, Stream: events.CustomerStream(id), Position: events.At(pos), Type: ev.Type, Schema: ev.Schema,
			RecordedAt: day(2, int(pos)), Actor: ev.Actor, Data: ev.Data}
		for _, p := range m.Projections() {
			p.Apply(projections.Event{Envelope: env, Data: d})
		}
	}
	for _, id := range []string{"M1", "M2"} {
		add(id, &events.CustomerRegistered{CustomerID: id, Name: "Kim " + id, BranchID: "B1", Source: events.Source{System: "core"}})
		add(id, &events.AdvisorAssigned{AdvisorID: "R1", Kind: "call_centre_rep"})
	}
	add("M2", &events.CustomerMergedInto{SurvivorID: "M1", Reason: "same person"})
	add("M1", &events.CustomerMergedInto{SurvivorID: "M2", Reason: "the cycle"})
	now := day(3, 1)
	for _, id := range []string{"M1", "M2"} {
		v, err := m.Customer(t.Context(), id, now)
		if err != nil || v.ID != "M1" || !slices.Equal(v.MergedIDs, []string{"M2"}) {
			t.Errorf("Customer(%s) = %s merged %v (%v), want M1's view listing M2", id, v.ID, v.MergedIDs, err)
		}
	}
	list, _, _ := m.CustomerList(t.Context(), projections.CustomerFilter{}, now)
	if len(list) != 1 || list[0].ID != "M1" {
		t.Errorf("customer list %+v, want M1 alone", list)
	}
	if w, _ := m.Worklist(t.Context(), "R1", now, projections.WorklistOptions{}); len(w) != 1 || w[0].CustomerID != "M1" {
		t.Errorf("R1's worklist %+v, want M1", w)
	}
}

// TestReviewErasureSnapshotKeepsItself: the snapshot written after an
// erasure is the one kept, though the directory holds one named for a
// later position (of the log before it was restored from an older copy,
// refused at the start): that one is shredded with every other. Pruning by
// name kept the later-named file, its key live and the erased customer's
// data in it, and shredded the snapshot just written.
func TestReviewErasureSnapshotKeepsItself(t *testing.T) {
	keys := projectionstest.SnapshotKeys(t)
	b := newSealedBank(t, keys)
	n := len(b.all)
	later := header(t, readFile(t, b.write(t, n, false)))
	erasure := b.write(t, n-1, true)
	files, _ := b.dir.List()
	if len(files) != 1 || files[0] != erasure {
		t.Fatalf("files %v after the erasure's snapshot, want %s alone", files, erasure)
	}
	if _, err := keys.DataKey(context.Background(), later.Key, false); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("the later-named snapshot's key: %v, want it destroyed", err)
	}
	if _, err := keys.DataKey(context.Background(), header(t, readFile(t, erasure)).Key, false); err != nil {
		t.Fatalf("the erasure's snapshot's key: %v", err)
	}
}

// noNewKeys refuses to create keys (a key store out of space, say) and
// does the rest.
type noNewKeys struct{ projections.SnapshotKeys }

func (k noNewKeys) DataKey(ctx context.Context, id string, create bool) ([]byte, error) {
	if create {
		return nil, errors.New("no space left")
	}
	return k.SnapshotKeys.DataKey(ctx, id, false)
}

// TestReviewErasureShredsWhenSnapshotFails: when the snapshot an erasure
// calls for cannot be written, the older snapshots are shredded all the
// same (the next start replays the whole log): they hold the erased
// customer's data under live keys, which stayed so for as long as writes
// kept failing.
func TestReviewErasureShredsWhenSnapshotFails(t *testing.T) {
	keys := projectionstest.SnapshotKeys(t)
	b := newSealedBank(t, keys)
	n := len(b.all)
	old := header(t, readFile(t, b.write(t, n-1, false)))
	b.dir.Keys = noNewKeys{keys}
	f := newFolds()
	f.apply(t, b.all)
	snap := projections.NewSnapshotter(b.dir, projections.SnapshotPolicy{}, f.roots())
	snap.AfterBatch(b.all[n-2].Position, []projections.Event{{Envelope: &b.all[n-1],
		Data: &events.PersonalDataErased{Reason: "request", RequestedBy: "customer"}}}, func(g func()) { g() })
	if _, err := keys.DataKey(context.Background(), old.Key, false); !errors.Is(err, pii.ErrErased) {
		t.Fatalf("the older snapshot's key after a failed erasure snapshot: %v, want it destroyed\n%s", err, b.logs.String())
	}
	if files, _ := b.dir.List(); len(files) != 0 {
		t.Fatalf("files %v left", files)
	}
}

// TestReviewSnapshotOtherSearchIndex: the search index (the blind index's
// key) is configuration the search fold's terms were computed under: a
// snapshot taken under another is refused, as the PostgreSQL read store
// rewrites rm_search when its index changes. Restored, every customer
// registered before the snapshot was found by no term of the new index.
func TestReviewSnapshotOtherSearchIndex(t *testing.T) {
	buf := plainSnapshot(t)
	other := newFolds()
	other.mem = projections.NewMemory(projections.WithSearchIndex(func(field, value string) []string {
		return []string{"k2:" + field + ":" + strings.ToLower(value)} // another key
	}))
	_, err := projections.ReadSnapshot(bytes.NewReader(buf), other.roots())
	if err == nil || !strings.Contains(err.Error(), "search index") {
		t.Fatalf("err %v, want the search index named", err)
	}
}
