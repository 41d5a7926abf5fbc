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
)

// TestDuplicatesCrowdedRow: the PostgreSQL read store's likely duplicates
// over 10,000 customers sharing a phone and a birth date, and 1,000 the
// placeholder 010-0000-0000, are the three real pairs, as Memory's; the
// pairs' row holds those three (it held the crowded group's 50 million
// pairs) and is written at most three times (the writer's start, the
// group's first members, the batch it passes MaxDuplicateGroup in), not
// at each of the 110 batches the crowded group grows in (a trigger counts
// the writes).
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
	exec(t, db, `CREATE TABLE dup_writes (n int NOT NULL)`, `INSERT INTO dup_writes VALUES (0)`,
		`CREATE FUNCTION count_dup_writes() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN IF NEW.name = 'duplicates' THEN UPDATE dup_writes SET n = n + 1; END IF; RETURN NEW; END $$`,
		`CREATE TRIGGER count_dup_writes BEFORE INSERT OR UPDATE ON rm_aggregates FOR EACH ROW EXECUTE FUNCTION count_dup_writes()`)
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
	var inRow, writes int
	if err := db.QueryRow(context.Background(), `SELECT jsonb_array_length(state) FROM rm_aggregates WHERE name = 'duplicates'`).Scan(&inRow); err != nil {
		t.Fatal(err)
	}
	if err := db.QueryRow(context.Background(), `SELECT n FROM dup_writes`).Scan(&writes); err != nil {
		t.Fatal(err)
	}
	t.Logf("the pairs' row: %d pairs, written %d times over %d events in batches of at most 100", inRow, writes, crowd+1003)
	if inRow != 3 || writes < 1 || writes > 3 {
		t.Fatalf("the pairs' row holds %d pairs and was written %d times; want 3, written 1-3 times", inRow, writes)
	}
}
