package projections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// snapEnd is the simulated "today" of the generated bank.
var snapEnd = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

// snapLog returns a real store holding a generated bank of n customers.
func snapLog(t *testing.T, n int) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: func() time.Time { return snapEnd }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	projectionstest.Generate(t, s, n, snapEnd)
	return s
}

// folds is what a server folds: the read models with a search index, then
// the reactors.
type folds struct {
	mem      *projections.Memory
	reactors []projections.Reactor
}

func testIndex(field, value string) []string {
	return strings.Fields(strings.ToLower(field + " " + value))
}

func newFolds() *folds {
	return &folds{mem: projections.NewMemory(projections.WithSearchIndex(testIndex)),
		reactors: []projections.Reactor{projections.NewSampler(samplerPolicy(), nil),
			projections.NewSegmenter(projections.DefaultTierRule(), nil)}}
}

// samplerPolicy selects a rep's first call only as a new rep's.
func samplerPolicy() projections.SamplerPolicy {
	p := projections.DefaultSamplerPolicy()
	p.NewRepCalls = 1
	return p
}

func (f *folds) roots() []projections.Projection {
	rs := f.mem.Projections()
	for _, r := range f.reactors {
		rs = append(rs, r)
	}
	return rs
}

func (f *folds) apply(t *testing.T, envs []events.Envelope) {
	t.Helper()
	for i := range envs {
		e := &envs[i]
		d, err := events.Decode(e)
		if err != nil && events.ErrorCode(err) != events.NotFound {
			t.Fatalf("decode %s@%d: %v", e.Stream, e.Version, err)
		}
		for _, p := range f.roots() {
			p.Apply(projections.Event{Envelope: e, Data: d})
		}
	}
}

// answers is every Queries answer, and what the reactors would append next.
func (f *folds) answers(t *testing.T, x projectionstest.IDs) []string {
	t.Helper()
	out := projectionstest.Answers(t, f.mem, x, snapEnd)
	for _, term := range []string{"name", "phone", "kim", "lee", "010"} {
		found, err := f.mem.FindCustomers(context.Background(), []string{term}, 50, snapEnd)
		b, _ := json.Marshal(found)
		out = append(out, "find "+term+": "+string(b)+" "+events.ErrorCode(err))
	}
	for _, r := range f.reactors {
		for _, d := range r.Due(1 << 20) {
			b, _ := json.Marshal(d)
			out = append(out, "due "+r.Name()+": "+string(b))
		}
	}
	return out
}

// reactorTail appends what the reactors decide on from what they folded
// before: a plan selecting a rep's first call, then a call by the rep with
// the most calls (the sampler counts each rep's calls: one it thought new
// would select it), and financials of a
// general customer that keep them general (the segmenter decides nothing
// when the tier in the log is the one it computes).
func reactorTail(t *testing.T, s *bolt.Store) {
	t.Helper()
	calls := map[string]int{}
	busiest, general, plan := "", "", 0
	for _, e := range readLog(t, s) {
		d, err := events.Decode(&e)
		if err != nil {
			continue
		}
		switch x := d.(type) {
		case *events.CallRecorded:
			if calls[x.StaffID]++; calls[x.StaffID] > calls[busiest] {
				busiest = x.StaffID
			}
		case *events.SamplingPlanPublished:
			plan = max(plan, x.Version)
		case *events.TierAssigned:
			if _, id := events.StreamID(e.Stream); x.Tier == "general" && general == "" {
				general = id
			}
		}
	}
	if calls[busiest] < 2 {
		t.Fatalf("the generated bank has %d calls of its busiest rep", calls[busiest])
	}
	add := func(stream string, d events.Data) {
		e, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "X2", Role: "admin"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Append(context.Background(), stream, events.Any, e); err != nil {
			t.Fatal(err)
		}
	}
	add(events.SamplingSettingsStream, &events.SamplingPlanPublished{Version: plan + 1, NewRepCalls: 1, PerRepWeek: 2, ComplaintDays: 2})
	add(events.CallStream("KTAIL"), &events.CallRecorded{CallID: "KTAIL", CustomerID: "C0000001", StaffID: busiest, Direction: "inbound",
		StartedAt: snapEnd.Add(-time.Hour), DurationSec: 60,
		Recording: events.Recording{SHA256: strings.Repeat("ab", 32), ContentType: "audio/wav", Bytes: 1}})
	if general == "" {
		t.Fatal("no general customer in the generated bank")
	}
	deposit, profit := int64(1_000_000), int64(1_000)
	add(events.CustomerStream(general), &events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: &deposit, ProfitContribution: &profit, Currency: "KRW"})
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), nil))
}

func readLog(t *testing.T, s events.Store) []events.Envelope {
	t.Helper()
	var all []events.Envelope
	from := events.Position{}
	for {
		got, err := s.ReadAll(context.Background(), from, 10000)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) == 0 {
			return all
		}
		all = append(all, got...)
		from = got[len(got)-1].Position
	}
}

// TestSnapshotPlusTailEqualsReplay: over a generated bank, a snapshot
// written to a real file at several positions, restored into fresh folds
// and followed by the tail of the log, answers every query exactly as a
// full replay does, and its reactors would append the same decisions.
func TestSnapshotPlusTailEqualsReplay(t *testing.T) {
	s := snapLog(t, 150)
	reactorTail(t, s)
	all := readLog(t, s)
	x := projectionstest.LogIDs(t, s)
	full := newFolds()
	full.apply(t, all)
	want := full.answers(t, x)

	dir := &projections.SnapshotDir{Dir: t.TempDir(), Keys: projectionstest.SnapshotKeys(t), Logger: testLogger(t)}
	for _, cut := range []int{1, len(all) / 3, len(all) * 2 / 3, len(all)} {
		head := newFolds()
		head.apply(t, all[:cut])
		before := events.Position{}
		if cut > 1 {
			before = all[cut-2].Position
		}
		if _, err := dir.Write(projections.InfoAt(&all[cut-1], before), head.roots(), false); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		var restored *folds
		roots, info, ok := dir.Load(context.Background(), s, func() []projections.Projection { restored = newFolds(); return restored.roots() })
		if !ok || info.Position != all[cut-1].Position || len(roots) != len(restored.roots()) {
			t.Fatalf("cut %d: restored %v at %v, want the snapshot at %v", cut, ok, info.Position, all[cut-1].Position)
		}
		restored.apply(t, all[cut:])
		projectionstest.SameAnswers(t, want, restored.answers(t, x))
	}
	if files, _ := dir.List(); len(files) != 2 {
		t.Fatalf("%d snapshots kept, want 2: %v", len(files), files)
	}
}

// TestSnapshotRefused: a damaged, truncated or foreign snapshot is refused
// (Load falls back to the older one, then to a full replay) and restores
// nothing into the folds it returns.
func TestSnapshotRefused(t *testing.T) {
	s := snapLog(t, 20)
	all := readLog(t, s)
	folded := newFolds()
	folded.apply(t, all)
	info := projections.InfoAt(&all[len(all)-1], all[len(all)-2].Position)
	var buf bytes.Buffer
	if err := projections.WriteSnapshot(&buf, info, folded.roots()); err != nil {
		t.Fatal(err)
	}
	good := buf.Bytes()
	flipped := bytes.Clone(good)
	flipped[len(flipped)/2] ^= 0x40
	other := snapLog(t, 21) // another log: its event at the position has another hash
	cases := []struct {
		name string
		file []byte
		src  projections.Source
		want string
	}{
		{"flipped byte", flipped, s, ""},
		{"truncated", good[:len(good)-7], s, "checksum"},
		{"empty", nil, s, "not a read-model snapshot"},
		{"another log", good, other, "holds no event"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := projections.ReadSnapshot(bytes.NewReader(c.file), newFolds().roots())
			if c.name == "another log" {
				err = info.Check(context.Background(), c.src)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one containing %q", err, c.want)
			}
			dir := &projections.SnapshotDir{Dir: t.TempDir(), Keys: projectionstest.SnapshotKeys(t)}
			if err := os.WriteFile(filepath.Join(dir.Dir, "snapshot-00000000000000000099-00000000000000000099.rms"), c.file, 0o600); err != nil {
				t.Fatal(err)
			}
			var fresh *folds
			_, _, ok := dir.Load(context.Background(), c.src, func() []projections.Projection { fresh = newFolds(); return fresh.roots() })
			if ok || fresh.mem.Customers.Len() != 0 {
				t.Fatalf("restored %v with %d customers, want a refusal and empty folds", ok, fresh.mem.Customers.Len())
			}
		})
	}
	t.Run("another configuration", func(t *testing.T) {
		f := newFolds()
		rule := projections.DefaultTierRule()
		rule.VIPDeposit++
		f.reactors[1] = projections.NewSegmenter(rule, nil)
		_, err := projections.ReadSnapshot(bytes.NewReader(good), f.roots())
		if err == nil || !strings.Contains(err.Error(), "projections.Segmenter.rule (configuration)") {
			t.Fatalf("err %v, want the tier rule named", err)
		}
	})
	t.Run("another release", func(t *testing.T) {
		roots := newFolds().roots()
		_, err := projections.ReadSnapshot(bytes.NewReader(good), roots[:len(roots)-1])
		if err == nil || !strings.Contains(err.Error(), "this server folds") {
			t.Fatalf("err %v, want the projections named", err)
		}
	})
}

// TestSnapshotterWaitsForCatchUp: while the runner replays the log it
// found, no snapshot is written however far the count or the log's time
// goes; the batch after the catch-up writes one, and then the policy's
// count does.
func TestSnapshotterWaitsForCatchUp(t *testing.T) {
	s := snapLog(t, 20)
	all := readLog(t, s)
	dir := &projections.SnapshotDir{Dir: t.TempDir(), Keys: projectionstest.SnapshotKeys(t)}
	f := newFolds()
	snap := projections.NewSnapshotter(dir, projections.SnapshotPolicy{Every: 10, Interval: time.Minute}, f.roots())
	caughtUp := make(chan struct{})
	snap.After(caughtUp)
	view := func(g func()) { g() }
	prev := events.Position{}
	feed := func(envs []events.Envelope) {
		f.apply(t, envs)
		batch := make([]projections.Event, len(envs))
		for i := range envs {
			batch[i] = projections.Event{Envelope: &envs[i]}
		}
		snap.AfterBatch(prev, batch, view)
		prev = envs[len(envs)-1].Position
	}
	files := func() int {
		fs, err := dir.List()
		if err != nil {
			t.Fatal(err)
		}
		return len(fs)
	}
	for i := 0; i+20 < len(all)-30; i += 20 {
		feed(all[i : i+20])
	}
	if n := files(); n != 0 {
		t.Fatalf("%d snapshots written while replaying", n)
	}
	close(caughtUp)
	rest := all[len(all)-30:]
	feed(rest[:5])
	if n := files(); n != 1 {
		t.Fatalf("%d snapshots after the catch-up, want 1", n)
	}
	feed(rest[5:10])
	if n := files(); n != 1 {
		t.Fatalf("%d snapshots 5 events later (policy: every 10), want 1", n)
	}
	feed(rest[10:20])
	if n := files(); n != 2 {
		t.Fatalf("%d snapshots 15 events later, want 2", n)
	}
}
