package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections/postgres"
)

// TestRebuildSwapsWhileServing rebuilds the read models while a writer and
// a follower serve them: during the rebuild readers see the old tables
// (marked by a tampered row), the swap waits until the new tables are as
// current as the live ones, and afterwards every process answers like
// Memory and keeps applying new events.
func TestRebuildSwapsWhileServing(t *testing.T) {
	s := logStore(t, 120)
	url := pgtest.Database(t)
	a, b := openStore(t, url, postgres.Options{}), openStore(t, url, postgres.Options{})
	run(t, a, s)
	run(t, b, s)
	waitHead(t, a, s)
	waitHead(t, b, s)
	ctx := context.Background()

	// Mark the old tables: a read model that drifted (or an older schema).
	if _, err := conn(t, url).Exec(ctx, `UPDATE dangol_rm.rm_customers
		SET state = jsonb_set(state, '{branchId}', '"OLD"') WHERE id = 'C0000010'`); err != nil {
		t.Fatal(err)
	}
	branch := func(st *postgres.Store) string {
		v, err := st.Customer(ctx, "C0000010", seedEnd)
		if err != nil {
			t.Fatal(err)
		}
		return v.BranchID
	}
	if branch(b) != "OLD" {
		t.Fatal("tampering not visible")
	}
	attempts := 0
	postgres.SetBeforeSwap(func(attempt int) {
		attempts++
		for _, st := range []*postgres.Store{a, b} {
			if branch(st) != "OLD" {
				t.Errorf("attempt %d: a reader saw the new tables before the swap", attempt)
			}
		}
		if attempt == 0 {
			// The live tables move ahead of the rebuilt ones: the swap must
			// wait for the rebuild to catch up.
			appendData(t, s, events.CustomerStream("C0000011"), &events.ProfileVerified{Channel: "branch"})
			waitHead(t, a, s)
		}
	})
	defer postgres.SetBeforeSwap(nil)
	res, err := postgres.Rebuild(ctx, url, postgres.Log{Source: s, Decode: decode}, postgres.Options{MaxBatch: 500})
	if err != nil {
		t.Fatal(err)
	}
	if attempts < 2 {
		t.Fatalf("%d swap attempts; the first should have been refused (live tables ahead)", attempts)
	}
	head, _ := s.Head(ctx)
	if res.Position != head || res.Events == 0 {
		t.Fatalf("rebuild result %+v, head %v", res, head)
	}
	for _, st := range []*postgres.Store{a, b} {
		if got := branch(st); got == "OLD" {
			t.Fatal("a reader still sees the old tables after the swap")
		}
	}
	// Both processes keep working on the new tables: new events are
	// applied (the old writer was fenced out, or carried on from the same
	// checkpoint) and answers equal Memory's.
	appendData(t, s, events.CustomerStream("C0000012"), &events.ProfileVerified{Channel: "branch"})
	for _, st := range []*postgres.Store{a, b} {
		waitHead(t, st, s)
		sameAnswers(t, render(t, memory(t, s), logIDs(t, s), seedEnd), render(t, st, logIDs(t, s), seedEnd))
	}
	if n := migrationsApplied(t, url); n != postgres.MigrationCount() {
		t.Fatalf("%d migrations in the swapped-in schema", n)
	}
	var leftovers int
	if err := conn(t, url).QueryRow(ctx, `SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'dangol_rm_%'`).Scan(&leftovers); err != nil {
		t.Fatal(err)
	}
	if leftovers != 0 {
		t.Fatalf("%d leftover schemas", leftovers)
	}
}

// TestRebuildFreshDatabase rebuilds into a database no store opened yet,
// and refuses a second concurrent rebuild.
func TestRebuildFreshDatabase(t *testing.T) {
	s := logStore(t, 30)
	url := pgtest.Database(t)
	ctx := context.Background()
	postgres.SetBeforeSwap(func(int) {
		_, err := postgres.Rebuild(ctx, url, postgres.Log{Source: s, Decode: decode}, postgres.Options{})
		if events.ErrorCode(err) != events.Conflict {
			t.Errorf("concurrent rebuild: %v, want conflict", err)
		}
	})
	defer postgres.SetBeforeSwap(nil)
	if _, err := postgres.Rebuild(ctx, url, postgres.Log{Source: s, Decode: decode}, postgres.Options{}); err != nil {
		t.Fatal(err)
	}
	postgres.SetBeforeSwap(nil)
	st := openStore(t, url, postgres.Options{})
	head, _ := s.Head(ctx)
	if st.Position() != head {
		t.Fatalf("rebuilt store at %v, head %v", st.Position(), head)
	}
	sameAnswers(t, render(t, memory(t, s), logIDs(t, s), seedEnd), render(t, st, logIDs(t, s), seedEnd))
	if _, err := postgres.Rebuild(ctx, url, postgres.Log{}, postgres.Options{}); events.ErrorCode(err) != events.Invalid {
		t.Fatalf("rebuild without a log: %v", err)
	}
	_ = time.Second
}
