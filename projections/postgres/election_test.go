package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections/postgres"
)

// eventually polls cond until it holds or the deadline passes.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func writers(sts ...*postgres.Store) (n int, w *postgres.Store) {
	for _, st := range sts {
		if st.IsWriter() {
			n++
			w = st
		}
	}
	return n, w
}

// TestSingleWriterAndTakeover runs three processes' read stores on one
// database: exactly one writes; the others follow the checkpoint, serve
// their own writes after WaitFor and the same answers; when the writer
// stops, or its connection is killed, another takes over from the table
// checkpoint.
func TestSingleWriterAndTakeover(t *testing.T) {
	s := logStore(t, 80)
	url := pgtest.Database(t)
	sts := []*postgres.Store{openStore(t, url, postgres.Options{}), openStore(t, url, postgres.Options{}), openStore(t, url, postgres.Options{})}
	stops := map[*postgres.Store]func(){}
	for _, st := range sts {
		stops[st] = run(t, st, s)
	}
	for _, st := range sts {
		waitHead(t, st, s)
	}
	eventually(t, "one writer", func() bool { n, _ := writers(sts...); return n == 1 })
	// Let every follower try for the lock a few times: still one writer.
	time.Sleep(300 * time.Millisecond)
	n, first := writers(sts...)
	if n != 1 {
		t.Fatalf("%d writers", n)
	}
	want := func() []string { return render(t, memory(t, s), logIDs(t, s), seedEnd) }
	check := func(st *postgres.Store) {
		t.Helper()
		waitHead(t, st, s)
		sameAnswers(t, want(), render(t, st, logIDs(t, s), seedEnd))
	}
	// A follower sees a write once WaitFor returns.
	var follower *postgres.Store
	for _, st := range sts {
		if st != first {
			follower = st
		}
	}
	appendData(t, s, events.CustomerStream("C0000007"), &events.ProfileVerified{Channel: "phone_inbound"})
	check(follower)

	// The writer stops: another process takes over.
	stops[first]()
	eventually(t, "a new writer", func() bool { n, _ := writers(sts...); return n == 1 })
	_, second := writers(sts...)
	if second == first {
		t.Fatal("the stopped store is still the writer")
	}
	appendData(t, s, events.CustomerStream("C0000008"), &events.ProfileVerified{Channel: "phone_inbound"})
	for _, st := range sts {
		if st != first {
			check(st)
		}
	}

	// The writer's connection is killed (a network cut, a crashed
	// backend): its lock is released and a writer is elected again.
	var killed int
	if err := conn(t, url).QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_locks
		WHERE locktype = 'advisory' AND granted AND database = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&killed); err != nil {
		t.Fatal(err)
	}
	if killed != 1 {
		t.Fatalf("terminated %d lock holders, want 1", killed)
	}
	appendData(t, s, events.CustomerStream("C0000009"), &events.ProfileVerified{Channel: "phone_inbound"})
	eventually(t, "a writer after the kill", func() bool { n, _ := writers(sts[0], sts[1], sts[2]); return n == 1 && second != nil })
	for _, st := range sts {
		if st != first {
			check(st)
		}
	}
}
