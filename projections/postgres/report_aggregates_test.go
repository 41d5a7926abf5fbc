package postgres_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections/postgres"
	"github.com/dangol/dangol/projections/projectionstest"
)

// aggHandEvents are what the generated bank lacks for the tiers and
// freshness reports: merges (of a book customer, a chain), erasures, tier
// changes, reassignments, verifications, and profits that share buckets
// (the three largest of the bank in one, so that the top 1% stops inside
// it; zeros and small losses, buckets of one value).
func aggHandEvents(end time.Time) []struct {
	id string
	d  events.Data
} {
	p := func(n int64) *int64 { return &n }
	fin := func(profit int64) events.Data {
		return &events.FinancialsReported{AsOf: "2026-10-31", DepositBalance: p(1000), ProfitContribution: p(profit), Currency: "KRW"}
	}
	tier := func(t string) events.Data {
		return &events.TierAssigned{Tier: t, Basis: events.TierBasis{DepositBalance: p(1), ProfitContribution: p(1), Rule: "hand"}}
	}
	assign := func(a string) events.Data { return &events.AdvisorAssigned{AdvisorID: a, Kind: "call_centre_rep"} }
	merge := func(into string) events.Data {
		return &events.CustomerMergedInto{SurvivorID: into, Reason: "same person"}
	}
	verified := func(at time.Time) events.Data { return &events.ProfileVerified{Channel: "branch", OccurredAt: at} }
	erased := &events.PersonalDataErased{Reason: "request", RequestedBy: "customer"}
	return []struct {
		id string
		d  events.Data
	}{
		{"C0000010", fin(1 << 40)},
		{"C0000011", fin(1<<40 + 1)},
		{"C0000012", fin(1<<40 + 2)},
		{"C0000013", fin(0)},
		{"C0000014", fin(0)},
		{"C0000015", fin(-3)},
		{"C0000016", fin(-3)},
		{"C0000017", fin(-(1 << 33))},
		{"C0000010", assign("HAND1")},
		{"C0000011", assign("HAND1")},
		{"C0000011", verified(end.AddDate(0, -1, 0))},
		{"C0000012", assign("HAND2")},
		{"C0000012", tier("vip")},
		{"C0000012", tier("general")},
		{"C0000011", assign("HAND2")},
		{"C0000011", merge("C0000012")}, // a book customer merged: HAND2's book keeps C0000012
		{"C0000012", merge("C0000018")}, // a chain
		{"C0000011", fin(5)},            // merged: counted nowhere
		{"C0000013", erased},
		{"C0000013", assign("HAND1")},
		{"C0000013", verified(end.AddDate(0, 0, -2))},
		{"C0000014", tier("potential_vip")},
		{"C0000014", fin(1 << 40)},
		{"C0000010", verified(end.AddDate(0, -2, 0))},
		{"C0000010", assign("HAND2")},
	}
}

// sameReports fails unless st's tiers and freshness reports equal the old
// full computations over every row, the freshness one at clocks around
// customer id's stale instant and its day's ends; and the aggregates equal
// those of the rows.
func sameReports(t *testing.T, st *postgres.Store, db *pgx.Conn, id, at string) {
	t.Helper()
	ctx := context.Background()
	want, err := st.OldTierReport(ctx)
	ok(t, err)
	got, err := st.Report(ctx, "tiers", seedEnd)
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Fatalf("%s: tiers\n got %+v, %v\nwant %+v", at, got, err, want)
	}
	nows := []time.Time{seedEnd, seedEnd.AddDate(0, 2, 0), {}}
	var staleAt int64
	if err := db.QueryRow(ctx, "SELECT stale_at FROM rm_customers WHERE id = $1", id).Scan(&staleAt); err == nil {
		s := time.Unix(staleAt, 0).UTC()
		day := time.Date(s.Year(), s.Month(), s.Day(), 0, 0, 0, 0, time.UTC)
		nows = append(nows, s, s.Add(time.Nanosecond), s.Add(-time.Second), day, day.Add(time.Nanosecond), day.Add(-time.Nanosecond), day.AddDate(0, 0, 1))
	}
	for _, now := range nows {
		want, err := st.OldFreshnessReport(ctx, now)
		ok(t, err)
		got, err := st.Report(ctx, "freshness", now)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: freshness at %v\n got %+v, %v\nwant %+v", at, now, got, err, want)
		}
	}
	var bad int
	if err := db.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM ((SELECT tier, n FROM rm_tier_counts WHERE n <> 0
			EXCEPT SELECT tier, count(*) FROM rm_customers GROUP BY tier)
			UNION ALL (SELECT tier, count(*) FROM rm_customers GROUP BY tier
			EXCEPT SELECT tier, n FROM rm_tier_counts)) x)
		+ (SELECT count(*) FROM ((SELECT bucket, n, total FROM rm_profit_buckets WHERE n <> 0 OR total <> 0
			EXCEPT SELECT rm_profit_bucket(profit), count(*), sum(profit) FROM rm_customers WHERE profit IS NOT NULL AND tier <> '-merged' GROUP BY 1)
			UNION ALL (SELECT rm_profit_bucket(profit), count(*), sum(profit) FROM rm_customers WHERE profit IS NOT NULL AND tier <> '-merged' GROUP BY 1
			EXCEPT SELECT bucket, n, total FROM rm_profit_buckets)) x)
		+ (SELECT count(*) FROM ((SELECT advisor_id, day, n FROM rm_fresh_days WHERE n <> 0
			EXCEPT SELECT advisor_id, rm_day(stale_at), count(*) FROM rm_customers WHERE advisor_id <> '' GROUP BY 1, 2)
			UNION ALL (SELECT advisor_id, rm_day(stale_at), count(*) FROM rm_customers WHERE advisor_id <> '' GROUP BY 1, 2
			EXCEPT SELECT advisor_id, day, n FROM rm_fresh_days)) x)`).Scan(&bad); err != nil || bad != 0 {
		t.Fatalf("%s: %d aggregate rows differ from the rows' (%v)", at, bad, err)
	}
}

// TestReportAggregates: the tiers and freshness reports read from the
// aggregates migration 0009 keeps equal the old computations over every
// customer row (and the aggregates equal the rows') after every event of a
// generated bank and of hand-made merges, erasures, tier changes,
// reassignments and verifications, copied one event at a time into a log
// the writer follows; across a new writer restored from the stored
// snapshot; after a Rebuild; and after the migration runs on tables that
// predate it. The in-memory read store gives the same reports.
func TestReportAggregates(t *testing.T) {
	src := logStore(t, 60)
	for _, h := range aggHandEvents(seedEnd) {
		appendData(t, src, events.CustomerStream(h.id), h.d)
	}
	ctx := context.Background()
	var all []events.Envelope
	for from := (events.Position{}); ; {
		got, err := src.ReadAll(ctx, from, 10000)
		ok(t, err)
		if len(got) == 0 {
			break
		}
		all, from = append(all, got...), got[len(got)-1].Position
	}
	dst := projectionstest.MovingLog(t, seedEnd.AddDate(0, -3, 0), time.Hour)
	url := pgtest.Database(t)
	db := connect(t, url)
	keys := projectionstest.SnapshotKeys(t)
	opt := postgres.Options{SnapshotEvery: 40, SnapshotKeys: keys}
	st := openStore(t, url, opt)
	stop := run(t, st, dst)
	for i := range all {
		e := &all[i]
		if i == len(all)/2 { // a new writer, from the stored snapshot
			stop()
			st = openStore(t, url, opt)
			stop = run(t, st, dst)
		}
		res, err := dst.Append(ctx, e.Stream, events.Any, events.Event{ID: e.ID, Type: e.Type, Schema: e.Schema, OccurredAt: e.OccurredAt,
			Actor: e.Actor, CorrelationID: e.CorrelationID, CausationID: e.CausationID, Data: e.Data})
		ok(t, err)
		wctx, cancel := context.WithTimeout(ctx, time.Minute)
		ok(t, st.WaitFor(wctx, res.Position))
		cancel()
		_, id := events.StreamID(e.Stream)
		sameReports(t, st, db, id, fmt.Sprintf("after event %d (%s on %s)", i, e.Type, e.Stream))
	}
	stop()

	var buckets, partial int
	ok(t, db.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE n > 1 AND (bucket < -128 OR bucket > 127)) FROM rm_profit_buckets WHERE n <> 0`).Scan(&buckets, &partial))
	if partial == 0 {
		t.Fatalf("%d profit buckets, none of more than one value holding several profits: the top of a bucket was never read", buckets)
	}
	mem := projectionstest.Fold(t, dst)
	for _, now := range []time.Time{seedEnd, seedEnd.AddDate(0, 2, 0)} {
		for _, name := range []string{"tiers", "freshness"} {
			want, err := mem.Report(ctx, name, now)
			ok(t, err)
			got, err := st.Report(ctx, name, now)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%s at %v: PostgreSQL %+v, %v; memory %+v", name, now, got, err, want)
			}
		}
	}

	if _, err := postgres.Rebuild(ctx, url, postgres.Log{Source: dst, Decode: decode}, postgres.Options{}); err != nil {
		t.Fatal(err)
	}
	db = connect(t, url)
	sameReports(t, st, db, "C0000010", "after a rebuild")

	// Tables as the release before 0009 left them: the migration counts
	// their rows.
	exec(t, db, "DROP TRIGGER rm_customers_count_insert ON rm_customers", "DROP TRIGGER rm_customers_count_update ON rm_customers",
		"DROP TRIGGER rm_customers_count_delete ON rm_customers", "DROP FUNCTION rm_customers_count, rm_profit_bucket, rm_day",
		"DROP TABLE rm_tier_counts, rm_profit_buckets, rm_fresh_days", "DROP INDEX rm_customers_profit, rm_customers_stale", "DELETE FROM rm_schema_migrations WHERE version = 9")
	st = openStore(t, url, postgres.Options{})
	sameReports(t, st, db, "C0000011", "after the migration")
}

// TestProfitBuckets: profitBucketMax is the largest profit of each bucket
// rm_profit_bucket makes, and the buckets are in the profits' order.
func TestProfitBuckets(t *testing.T) {
	db := connect(t, pgtestDatabase(t))
	ps := []int64{math.MinInt64, math.MinInt64 + 1, math.MaxInt64, math.MaxInt64 - 1, 0, 1, -1, 127, 128, -128, -129, 129, 191, 192, 255, 256}
	for sh := range 63 {
		v := int64(1) << sh
		ps = append(ps, v-1, v, v+1, -v, -v-1, -v+1, v+v/3, -(v + v/3))
	}
	var keys []int64
	rows, err := db.Query(context.Background(), "SELECT rm_profit_bucket(p)::int8 FROM unnest($1::int8[]) WITH ORDINALITY AS u(p, i) ORDER BY i", ps)
	ok(t, err)
	keys, err = pgx.CollectRows(rows, pgx.RowTo[int64])
	ok(t, err)
	var maxes, nexts []int64
	for _, k := range keys {
		m := postgres.ProfitBucketMax(k)
		maxes = append(maxes, m)
		if m < math.MaxInt64 {
			nexts = append(nexts, m+1)
		}
	}
	rows, err = db.Query(context.Background(), "SELECT rm_profit_bucket(p)::int8 FROM unnest($1::int8[]) WITH ORDINALITY AS u(p, i) ORDER BY i", maxes)
	ok(t, err)
	ofMax, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	ok(t, err)
	rows, err = db.Query(context.Background(), "SELECT rm_profit_bucket(p)::int8 FROM unnest($1::int8[]) WITH ORDINALITY AS u(p, i) ORDER BY i", nexts)
	ok(t, err)
	ofNext, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	ok(t, err)
	j := 0
	for i, p := range ps {
		if maxes[i] < p || ofMax[i] != keys[i] {
			t.Errorf("profit %d: bucket %d, whose max is %d (in bucket %d)", p, keys[i], maxes[i], ofMax[i])
		}
		if maxes[i] < math.MaxInt64 {
			if ofNext[j] != keys[i]+1 {
				t.Errorf("profit %d: bucket %d ends at %d, but %d is in bucket %d", p, keys[i], maxes[i], nexts[j], ofNext[j])
			}
			j++
		}
	}
}

// pgtestDatabase returns a fresh migrated database's URL.
func pgtestDatabase(t *testing.T) string {
	url := pgtest.Database(t)
	openStore(t, url, postgres.Options{})
	return url
}
