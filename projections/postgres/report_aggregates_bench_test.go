package postgres_test

import (
	"context"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections/postgres"
)

var (
	aggBenchOnce sync.Once
	aggBenchSt   *postgres.Store
	aggBenchErr  error
)

// aggBenchNow is the clock of BenchmarkReportAggregates' reports.
var aggBenchNow = time.Date(2026, 11, 1, 12, 30, 0, 0, time.UTC)

// aggBenchStore returns a read store whose rm_customers holds
// $DANGOL_BENCH_CUSTOMERS (default 200,000) synthetic rows of about the
// 1M bank's width (≈1.7 kB: a padded state and brief) and proportions
// (1.3% VIPs in 44 private bankers' books, 1% potential VIPs in 17 reps',
// 85% with financials, heavy-tailed profits, 0.5% merged), inserted in
// one statement (the triggers count them as the writer's upserts are
// counted), analyzed.
func aggBenchStore(b *testing.B) *postgres.Store {
	aggBenchOnce.Do(func() {
		n := envInt("DANGOL_BENCH_CUSTOMERS", 200_000)
		url := pgtest.Database(b)
		ctx := context.Background()
		// Not closed when b ends: every -count round reads the same tables.
		if aggBenchSt, aggBenchErr = postgres.Open(ctx, url, postgres.Options{}); aggBenchErr != nil {
			return
		}
		db, err := pgx.Connect(ctx, url)
		if aggBenchErr = err; err != nil {
			return
		}
		defer db.Close(ctx)
		now := aggBenchNow.Unix()
		exec(b, db, "SET search_path TO "+postgres.DefaultSchema, "SELECT setseed(0.14)")
		_, aggBenchErr = db.Exec(ctx, `INSERT INTO rm_customers (id, advisor_id, tier, profit, stale_at, state, brief, brief_xact)
			SELECT 'C' || lpad(i::text, 7, '0'),
				CASE WHEN r < 0.013 THEN 'PB' || lpad((i % 44)::text, 3, '0') WHEN r < 0.023 THEN 'R' || lpad((i % 17)::text, 3, '0') ELSE '' END,
				CASE WHEN r < 0.013 THEN 'vip' WHEN r < 0.023 THEN 'potential_vip' WHEN r < 0.995 THEN (CASE WHEN i % 4 = 0 THEN 'general' ELSE '' END) ELSE '-merged' END,
				CASE WHEN random() < 0.85 THEN (1000 / power(random() + 0.0001, 1.1))::bigint - 500 END,
				$2::bigint - 86400 * 365 + (random() * 86400 * 425)::bigint,
				jsonb_build_object('pad', repeat(md5(i::text), 40)), decode(repeat(md5(i::text), 6), 'hex'), pg_current_xact_id()
			FROM (SELECT i, CASE WHEN i % 97 = 0 THEN 0.001 ELSE random() END AS r FROM generate_series(1, $1) AS i) g`, n, now)
		if aggBenchErr != nil {
			return
		}
		exec(b, db, "INSERT INTO rm_advisors (id) SELECT DISTINCT advisor_id FROM rm_customers WHERE advisor_id <> ''", "ANALYZE")
	})
	if aggBenchErr != nil {
		b.Fatal(aggBenchErr)
	}
	return aggBenchSt
}

// BenchmarkReportAggregates: the PostgreSQL tiers and freshness reports
// before migration 0009 (old: SQL over every customer row) and now (kept:
// the aggregates and the rows of the few buckets where the report stops),
// on $DANGOL_BENCH_CUSTOMERS synthetic rows, in $DANGOL_BENCH_ROUNDS
// (default 1) rounds of the four, alternating.
//
//	DANGOL_BENCH_CUSTOMERS=200000 DANGOL_BENCH_ROUNDS=3 go test -run '^$' -bench ReportAggregates ./projections/postgres/
func BenchmarkReportAggregates(b *testing.B) {
	st := aggBenchStore(b)
	ctx := context.Background()
	oldTiers, err := st.OldTierReport(ctx)
	if err != nil {
		b.Fatal(err)
	}
	if got, err := st.Report(ctx, "tiers", aggBenchNow); err != nil || !reflect.DeepEqual(got, oldTiers) {
		b.Fatalf("tiers differ: %+v, %v; old %+v", got, err, oldTiers)
	}
	oldFresh, err := st.OldFreshnessReport(ctx, aggBenchNow)
	if err != nil {
		b.Fatal(err)
	}
	if got, err := st.Report(ctx, "freshness", aggBenchNow); err != nil || !reflect.DeepEqual(got, oldFresh) {
		b.Fatalf("freshness differs: %+v, %v; old %+v", got, err, oldFresh)
	}
	for r := range envInt("DANGOL_BENCH_ROUNDS", 1) {
		for _, c := range []struct {
			name string
			f    func() error
		}{
			{"tiers/old", func() error { _, err := st.OldTierReport(ctx); return err }},
			{"tiers/kept", func() error { _, err := st.Report(ctx, "tiers", aggBenchNow); return err }},
			{"freshness/old", func() error { _, err := st.OldFreshnessReport(ctx, aggBenchNow); return err }},
			{"freshness/kept", func() error { _, err := st.Report(ctx, "freshness", aggBenchNow); return err }},
		} {
			b.Run(fmt.Sprintf("%s/round%d", c.name, r+1), func(b *testing.B) {
				for range b.N {
					if err := c.f(); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
