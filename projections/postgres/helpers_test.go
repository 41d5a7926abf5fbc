package postgres_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
	"github.com/dangol/dangol/projections/projectionstest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// seedEnd is the simulated "today" of the generated bank.
var seedEnd = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func decode(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }

// logStore returns an embedded event store, its clock fixed at seedEnd,
// holding a generated bank of n customers and the hand-made events seed
// does not make (projectionstest.Generate).
func logStore(t testing.TB, n int) *bolt.Store {
	t.Helper()
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: func() time.Time { return seedEnd }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if n > 0 {
		projectionstest.Generate(t, s, n, seedEnd)
	}
	return s
}

func appendData(t testing.TB, s events.Store, stream string, ds ...events.Data) {
	t.Helper()
	evs := make([]events.Event, len(ds))
	for i, d := range ds {
		e, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "X2", Role: "admin"}})
		if err != nil {
			t.Fatalf("%T: %v", d, err)
		}
		evs[i] = e
	}
	if _, err := s.Append(context.Background(), stream, events.Any, evs...); err != nil {
		t.Fatalf("append %s: %v", stream, err)
	}
}

// memory folds the whole log of s into a projections.Memory: the reference
// answers.
func memory(t testing.TB, s events.Store) *projections.Memory { return projectionstest.Fold(t, s) }

// openStore opens a read store on url with fast polling for tests.
func openStore(t testing.TB, url string, opt postgres.Options) *postgres.Store {
	t.Helper()
	if opt.PollInterval == 0 {
		opt.PollInterval = 50 * time.Millisecond
	}
	if opt.ElectionInterval == 0 {
		opt.ElectionInterval = 100 * time.Millisecond
	}
	st, err := postgres.Open(context.Background(), url, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return st
}

// run runs st.Run over s until the test ends; it returns a stop function
// that cancels Run and waits for it.
func run(t testing.TB, st *postgres.Store, s projections.Source) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- st.Run(ctx, postgres.Log{Source: s, Decode: decode}) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}
	t.Cleanup(stop)
	return stop
}

// waitHead waits until st's checkpoint reaches the log's head.
func waitHead(t testing.TB, st *postgres.Store, s events.Store) {
	t.Helper()
	head, err := s.Head(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	if err := st.WaitFor(ctx, head); err != nil {
		t.Fatalf("read store did not reach head %v (at %v): %v", head, st.Position(), err)
	}
}

var _ projections.Queries = (*postgres.Store)(nil)

// logIDs, render and sameAnswers compare two read stores' answers to every
// query (projectionstest's Answers).
func logIDs(t testing.TB, s events.Store) projectionstest.IDs { return projectionstest.LogIDs(t, s) }

func render(t testing.TB, q projections.Queries, x projectionstest.IDs, now time.Time) []string {
	return projectionstest.Answers(t, q, x, now)
}

func sameAnswers(t testing.TB, want, got []string) { projectionstest.SameAnswers(t, want, got) }
