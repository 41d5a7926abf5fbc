package postgres_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections/postgres"
	"github.com/jackc/pgx/v5"
)

// TestDuplicatesCrowdedRow: the PostgreSQL read store's likely duplicates
// over 10,000 customers sharing a phone and a birth date, and 1,000 the
// placeholder 010-0000-0000, are the three real pairs, as Memory's; the
// pairs' row holds those three (it held the crowded group's 50 million
// pairs) and is written only in the writer's first commit and in commits
// holding one of the log's first 54 events (G2, G3 and the crowded group's
// first 51 members change the pairs; later members do not), never in the
// 100+ commits the crowded group goes on growing in. Triggers record which
// transaction wrote the row and each commit's checkpoint, so the bound
// holds however the runner cut the log into batches (it takes what the
// subscription has ready, at most MaxBatch: on a loaded machine the first
// commits hold a few events each).
func TestDuplicatesCrowdedRow(t *testing.T) {
	const crowd = 10_000
	s := logStore(t, 0)
	reg := func(id, phone, birth string) error { // from any goroutine
		ev, err := events.NewEvent(&events.CustomerRegistered{CustomerID: id, Name: "Customer " + id,
			Phone: phone, BirthDate: birth, BranchID: "B01", Source: events.Source{System: "core"}}, events.Meta{Actor: events.System("core")})
		if err == nil {
			_, err = s.Append(context.Background(), events.CustomerStream(id), events.NoStream, ev)
		}
		return err
	}
	for _, id := range []string{"G1", "G2", "G3"} {
		if err := reg(id, "+82 10-7777-1235", "1990-01-02"); err != nil {
			t.Fatal(err)
		}
	}
	ids := make(chan int)
	errs := make(chan error, 32)
	var wg sync.WaitGroup
	for range 32 { // concurrent appends share the store's commits
		wg.Go(func() {
			var err error
			for i := range ids {
				if err != nil {
					continue
				}
				if i < crowd {
					err = reg(fmt.Sprintf("K%05d", i), "010-5550-1234", "1980-05-17")
				} else {
					err = reg(fmt.Sprintf("P%05d", i), "010-0000-0000", "1980-05-17")
				}
			}
			errs <- err
		})
	}
	for i := range crowd + 1000 {
		ids <- i
	}
	close(ids)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}

	url := pgtest.Database(t)
	db := connect(t, url)
	st := openStore(t, url, postgres.Options{MaxBatch: 100})
	exec(t, db, `CREATE TABLE dup_writes (tx bigint NOT NULL)`, `CREATE TABLE ckpt_trail (tx bigint NOT NULL, pos bigint NOT NULL)`,
		`CREATE FUNCTION count_dup_writes() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.name = 'duplicates' THEN INSERT INTO dup_writes VALUES (txid_current()); END IF; RETURN NEW; END $$`,
		`CREATE TRIGGER count_dup_writes BEFORE INSERT OR UPDATE ON rm_aggregates FOR EACH ROW EXECUTE FUNCTION count_dup_writes()`,
		`CREATE FUNCTION trail_ckpt() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN INSERT INTO ckpt_trail VALUES (txid_current(), NEW.commit_pos); RETURN NEW; END $$`,
		`CREATE TRIGGER trail_ckpt AFTER UPDATE ON rm_checkpoint FOR EACH ROW EXECUTE FUNCTION trail_ckpt()`)
	run(t, st, s)
	waitHead(t, st, s)

	want, err := memory(t, s).Duplicates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Duplicates(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for _, p := range got {
		pairs = append(pairs, p.CustomerIDs[0]+"+"+p.CustomerIDs[1])
	}
	if !slices.Equal(pairs, []string{"G1+G2", "G1+G3", "G2+G3"}) || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("PostgreSQL lists %d pairs (%v), Memory %d; want the three of G1-G3", len(got), pairs[:min(5, len(pairs))], len(want))
	}
	var inRow int
	if err := db.QueryRow(context.Background(), `SELECT jsonb_array_length(state) FROM rm_aggregates WHERE name = 'duplicates'`).Scan(&inRow); err != nil {
		t.Fatal(err)
	}
	if inRow != 3 {
		t.Fatalf("the pairs' row holds %d pairs; want 3", inRow)
	}

	// Each commit's range of the log: (the checkpoint before, its own].
	all, err := s.ReadAll(context.Background(), events.Start, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != crowd+1003 {
		t.Fatalf("the log holds %d events; want %d", len(all), crowd+1003)
	}
	changers := int64(all[53].Position.Commit) // the 54th event: the last that can change the pairs
	rows, err := db.Query(context.Background(), `SELECT tx, pos FROM ckpt_trail ORDER BY pos`)
	if err != nil {
		t.Fatal(err)
	}
	type span struct{ from, to int64 } // (from, to]
	commits, prev, first := map[int64]span{}, int64(0), int64(-1)
	for rows.Next() {
		var tx, pos int64
		if err := rows.Scan(&tx, &pos); err != nil {
			t.Fatal(err)
		}
		if first < 0 {
			first = tx
		}
		commits[tx], prev = span{prev, pos}, pos
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if need := (crowd + 1003 + 99) / 100; len(commits) < need {
		t.Fatalf("the writer committed %d times; batches of at most 100 need %d", len(commits), need)
	}
	rows, err = db.Query(context.Background(), `SELECT tx FROM dup_writes`)
	if err != nil {
		t.Fatal(err)
	}
	writes, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("the pairs' row: %d pairs, written %d times in %d commits of %d events (batches of at most 100)", inRow, len(writes), len(commits), crowd+1003)
	if len(writes) == 0 {
		t.Fatal("the pairs' row was never written")
	}
	for _, tx := range writes {
		c, ok := commits[tx]
		switch {
		case !ok:
			t.Fatalf("the pairs' row was written in transaction %d, which moved no checkpoint", tx)
		case tx != first && c.from >= changers:
			t.Fatalf("the pairs' row was written in the commit of events (%d, %d], after the last event that can change the pairs (%d): the crowded group's growth rewrote it", c.from, c.to, changers)
		}
	}
}
