package postgres_test

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/dangol/dangol/ops/pgtest"
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

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}
