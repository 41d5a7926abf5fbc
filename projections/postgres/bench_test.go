package postgres_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
)

// BenchmarkRebuild rebuilds the read models into PostgreSQL from a
// generated bank of $DANGOL_BENCH_CUSTOMERS customers (default 2,000; 8,000
// make about 100k events) and reports events/s. Generating the log is not
// timed. $DANGOL_BENCH_BATCH sets the events per transaction (default 4096).
//
//	DANGOL_BENCH_CUSTOMERS=8000 go test -run '^$' -bench Rebuild -benchtime 1x ./projections/postgres/
func BenchmarkRebuild(b *testing.B) {
	n := envInt("DANGOL_BENCH_CUSTOMERS", 2000)
	batch := envInt("DANGOL_BENCH_BATCH", 4096)
	s := logStore(b, n)
	url := pgtest.Database(b)
	ctx := context.Background()
	var events uint64
	var secs float64
	b.ResetTimer()
	for b.Loop() {
		res, err := postgres.Rebuild(ctx, url, postgres.Log{Source: s, Decode: decode}, postgres.Options{MaxBatch: batch})
		if err != nil {
			b.Fatal(err)
		}
		events += res.Events
		secs += res.Elapsed.Seconds()
	}
	b.ReportMetric(float64(events)/secs, "events/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
}

// BenchmarkWorklist measures Worklist on a book of $DANGOL_BENCH_BOOK
// customers (default 600, a rep's) of a generated bank of
// $DANGOL_BENCH_CUSTOMERS (default 2,000), rows sealed as dangol serve
// seals them: from the customers' briefs ("briefs"), then with the briefs
// cleared, as rows from before migration 0005 are read ("whole-rows": the
// statement and decoding Worklist used before briefs), in one run.
//
//	go test -run '^$' -bench Worklist -benchmem ./projections/postgres/
func BenchmarkWorklist(b *testing.B) {
	n := envInt("DANGOL_BENCH_CUSTOMERS", 2000)
	book := min(envInt("DANGOL_BENCH_BOOK", 600), n)
	s := logStore(b, n)
	for i := range book {
		appendData(b, s, events.CustomerStream(fmt.Sprintf("C%07d", i+1)),
			&events.AdvisorAssigned{AdvisorID: "BENCH-R", Kind: "call_centre_rep"},
			&events.LifeEventRecorded{Kind: "birth", ExpectedOn: seedEnd.AddDate(0, 0, i%90).Format("2006-01-02")},
			&events.ProductPitched{Product: "loan-a", Channel: "branch", Outcome: "considering", FollowUpOn: seedEnd.AddDate(0, 0, i%30-15).Format("2006-01-02")})
	}
	cipher, _ := testCipher(b)
	url := pgtest.Database(b)
	ctx := context.Background()
	if _, err := postgres.Rebuild(ctx, url, postgres.Log{Source: s, Decode: decode}, postgres.Options{Cipher: cipher}); err != nil {
		b.Fatal(err)
	}
	st := openStore(b, url, postgres.Options{Cipher: cipher})
	db := conn(b, url)
	var whole, brief float64
	if err := db.QueryRow(ctx, `SELECT avg(length(sealed)), avg(length(brief_sealed)) FROM dangol_rm.rm_customers WHERE advisor_id = 'BENCH-R'`).
		Scan(&whole, &brief); err != nil {
		b.Fatal(err)
	}
	worklist := func(b *testing.B, rowBytes float64) {
		for b.Loop() {
			items, err := st.Worklist(ctx, "BENCH-R", seedEnd, projections.WorklistOptions{})
			if err != nil || len(items) != book {
				b.Fatalf("worklist: %d items, %v; want %d", len(items), err, book)
			}
		}
		b.ReportMetric(rowBytes, "row-bytes")
	}
	b.Run("briefs", func(b *testing.B) { worklist(b, brief) })
	if _, err := db.Exec(ctx, "UPDATE dangol_rm.rm_customers SET brief = NULL, brief_sealed = NULL"); err != nil {
		b.Fatal(err)
	}
	b.Run("whole-rows", func(b *testing.B) { worklist(b, whole) })
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
