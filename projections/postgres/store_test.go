package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections/postgres"
)

// TestSameAnswersAsMemory folds one generated log into projections.Memory
// and into PostgreSQL and compares every query's JSON, errors included, at
// several clocks (stale and overdue flags are computed at read time).
func TestSameAnswersAsMemory(t *testing.T) {
	s := logStore(t, 400)
	url := pgtest.Database(t)
	st := openStore(t, url, postgres.Options{MaxBatch: 97})
	run(t, st, s)
	waitHead(t, st, s)
	if !st.IsWriter() {
		t.Fatal("the only process is not the writer")
	}
	select {
	case <-st.CaughtUp():
	case <-time.After(10 * time.Second):
		t.Fatal("CaughtUp not closed at head")
	}
	m := memory(t, s)
	x := logIDs(t, s)
	for _, now := range []time.Time{seedEnd, seedEnd.Add(-45 * 24 * time.Hour).Add(time.Nanosecond), seedEnd.AddDate(0, 3, 0)} {
		want, got := render(t, m, x, now), render(t, st, x, now)
		sameAnswers(t, want, got)
		if len(want) < 900 {
			t.Fatalf("only %d answers compared", len(want))
		}
	}
	// Bad input: unknown ids give NotFound like Memory's (compared above);
	// check the code explicitly too.
	ctx := context.Background()
	for what, err := range map[string]error{
		"customer": second(st.Customer(ctx, "nope", seedEnd)),
		"call":     second(st.Call(ctx, "nope")),
		"point":    second(st.CoachingPoint(ctx, "nope", seedEnd)),
		"staff":    second(st.StaffMember(ctx, "nope")),
		"token":    second(st.Token(ctx, "nope")),
		"report":   second(st.Report(ctx, "nope", seedEnd)),
	} {
		if events.ErrorCode(err) != events.NotFound {
			t.Errorf("%s: unknown id gave %v, want not_found", what, err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// TestLiveAppendsAndResume appends while the writer runs (read-your-writes
// through WaitFor), then restarts the store: the writer resumes from the
// table checkpoint, writing only what comes after it.
func TestLiveAppendsAndResume(t *testing.T) {
	s := logStore(t, 60)
	url := pgtest.Database(t)
	st := openStore(t, url, postgres.Options{})
	stop := run(t, st, s)
	waitHead(t, st, s)

	appendData(t, s, events.CustomerStream("C0000005"), &events.ProfileVerified{Channel: "branch"})
	waitHead(t, st, s)
	v, err := st.Customer(context.Background(), "C0000005", seedEnd)
	if err != nil || v.VerifiedAt.IsZero() {
		t.Fatalf("own write not visible after WaitFor: %+v %v", v.VerifiedAt, err)
	}
	stop()
	before := checkpointRow(t, url)

	// Events appended while no writer runs are written by the next one.
	appendData(t, s, events.CustomerStream("C0000006"), &events.ProfileVerified{Channel: "branch"})
	st2 := openStore(t, url, postgres.Options{})
	if st2.Position() != before {
		t.Fatalf("reopened store at %v, table checkpoint %v", st2.Position(), before)
	}
	run(t, st2, s)
	waitHead(t, st2, s)
	sameAnswers(t, render(t, memory(t, s), logIDs(t, s), seedEnd), render(t, st2, logIDs(t, s), seedEnd))
	if n := migrationsApplied(t, url); n != postgres.MigrationCount() {
		t.Fatalf("%d migrations recorded after two opens, want %d", n, postgres.MigrationCount())
	}
}

// TestOpenConcurrently opens the same fresh database from several
// goroutines: the advisory lock applies each migration once.
func TestOpenConcurrently(t *testing.T) {
	url := pgtest.Database(t)
	errs := make(chan error, 6)
	for range 6 {
		go func() {
			st, err := postgres.Open(context.Background(), url, postgres.Options{})
			if err == nil {
				st.Close()
			}
			errs <- err
		}()
	}
	for range 6 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := migrationsApplied(t, url); n != postgres.MigrationCount() {
		t.Fatalf("%d migrations recorded, want %d", n, postgres.MigrationCount())
	}
}

// TestBadURL: an unparsable URL is Invalid; an unreachable server is
// Unavailable.
func TestBadURL(t *testing.T) {
	if _, err := postgres.Open(context.Background(), "::not a url::", postgres.Options{}); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("bad url: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := postgres.Open(ctx, "postgres://nobody@127.0.0.1:1/x?sslmode=disable&connect_timeout=2", postgres.Options{}); events.ErrorCode(err) != events.Unavailable {
		t.Fatalf("unreachable server: %v", err)
	}
	st := openStore(t, pgtest.Database(t), postgres.Options{})
	if err := st.Run(context.Background(), postgres.Log{}); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("run without a source: %v", err)
	}
}

func conn(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	c, err := pgx.Connect(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func checkpointRow(t testing.TB, url string) events.Position {
	t.Helper()
	var c, p int64
	if err := conn(t, url).QueryRow(context.Background(), "SELECT commit_pos, prepare_pos FROM dangol_rm.rm_checkpoint").Scan(&c, &p); err != nil {
		t.Fatal(err)
	}
	return events.Position{Commit: uint64(c), Prepare: uint64(p)}
}

func migrationsApplied(t testing.TB, url string) int {
	t.Helper()
	var n int
	if err := conn(t, url).QueryRow(context.Background(), "SELECT count(*) FROM dangol_rm.rm_schema_migrations").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
