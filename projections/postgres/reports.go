package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/projections"
)

// Report returns the named report at now (one of projections.ReportNames);
// NotFound for an unknown name.
func (s *Store) Report(ctx context.Context, name string, now time.Time) (any, error) {
	switch name {
	case "tiers":
		return s.tierReport(ctx)
	case "pitches", "requests":
		c, err := s.counters(ctx)
		if err != nil {
			return nil, err
		}
		if name == "pitches" {
			return c.PitchReport(), nil
		}
		return c.RequestReport(), nil
	case "qa":
		rs, err := rows[projections.ReviewScore](ctx, s, "reviews", "SELECT state FROM rm_reviews ORDER BY seq")
		if err != nil {
			return nil, err
		}
		return projections.RestoreCalls(nil, nil, nil, rs, nil).QAReport(), nil
	case "coaching":
		return s.coachingReport(ctx, now)
	case "freshness":
		return s.freshnessReport(ctx, now)
	case "calibration":
		q, err := s.qa(ctx)
		if err != nil {
			return nil, err
		}
		return q.CalibrationReport(), nil
	case "tier-migration":
		return s.tierMigration(ctx)
	}
	return nil, notFound("report")
}

// tierReport reads the per-tier counts and the profit buckets that
// migration 0009's triggers keep as customer rows are written, and the top
// of the few buckets where a top percentage stops (rm_customers_profit),
// all in one snapshot: a few rows, not one per customer.
func (s *Store) tierReport(ctx context.Context) (projections.TierReport, error) {
	var r projections.TierReport
	err := s.retry(ctx, func() error {
		tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		byTier := map[string]int{}
		var buckets []profitBucket // largest first
		var withFin int
		var total int64
		rs, err := tx.Query(ctx, `SELECT tier, n, 0, 0 FROM rm_tier_counts WHERE n <> 0 AND tier <> $1
			UNION ALL SELECT NULL, bucket, n, total FROM rm_profit_buckets WHERE n <> 0
			ORDER BY 2 DESC`, projections.MergedTier)
		if err != nil {
			return err
		}
		for rs.Next() {
			var tier *string
			var a, n, sum int64
			if err := rs.Scan(&tier, &a, &n, &sum); err != nil {
				rs.Close()
				return err
			}
			if tier != nil {
				byTier[*tier] += int(a)
				continue
			}
			buckets = append(buckets, profitBucket{key: a, n: n, total: sum})
			withFin, total = withFin+int(n), total+sum
		}
		rs.Close()
		if err := rs.Err(); err != nil {
			return err
		}
		r, err = projections.TierReportOf(byTier, withFin, total, func(n int) (int64, error) {
			return topProfits(ctx, tx, buckets, int64(n))
		}, nil)
		return err
	})
	if err != nil {
		return projections.TierReport{}, unavailable("read models: tier report", err)
	}
	return r, nil
}

// profitBucket is one row of rm_profit_buckets.
type profitBucket struct{ key, n, total int64 }

// topProfits returns the sum of the n largest profits the tiers report
// counts: the whole buckets from the largest down, then the largest of the
// bucket where n is reached, read through rm_customers_profit (a bucket of
// one value, within [-128, 127], is that value n times).
func topProfits(ctx context.Context, tx pgx.Tx, buckets []profitBucket, n int64) (int64, error) {
	var sum int64
	for _, b := range buckets {
		if n <= 0 {
			break
		}
		if n >= b.n {
			sum, n = sum+b.total, n-b.n
			continue
		}
		if b.key >= -128 && b.key <= 127 {
			return sum + n*b.key, nil
		}
		var part int64
		err := tx.QueryRow(ctx, `SELECT coalesce(sum(profit), 0)::bigint FROM (SELECT profit FROM rm_customers
			WHERE profit IS NOT NULL AND tier <> '`+projections.MergedTier+`' AND profit <= $1 ORDER BY profit DESC LIMIT $2) top`,
			profitBucketMax(b.key), n).Scan(&part)
		return sum + part, err
	}
	return sum, nil
}

// profitBucketMax returns the largest profit in bucket k of migration
// 0009's rm_profit_bucket: k itself within [-128, 127]; beyond, bucket
// (s+1)·64 + m - 64 holds the profits whose seven leading bits are m
// (64 <= m < 128) followed by s more, negative profits p mirrored as
// -(p+1).
func profitBucketMax(k int64) int64 {
	if k < 0 {
		return -1 - profitBucketMin(-1-k)
	}
	if k < 128 {
		return k
	}
	shift, m := uint(k/64-1), uint64(k%64+64)
	return int64((m+1)<<shift - 1)
}

// profitBucketMin returns the least profit in bucket k >= 0.
func profitBucketMin(k int64) int64 {
	if k < 128 {
		return k
	}
	shift, m := uint(k/64-1), uint64(k%64+64)
	return int64(m << shift)
}

// freshnessReport counts, per advisor who ever had a book, the customers in
// it and those stale at now, from the per-day counts migration 0009's
// triggers keep (the days before now's whole) and the customers of now's
// day read through rm_customers_stale, in one statement: O(advisors ×
// days), not one row per customer.
func (s *Store) freshnessReport(ctx context.Context, now time.Time) ([]projections.Freshness, error) {
	var out []projections.Freshness
	cut := staleCut(now)
	day := cut / 86400
	if cut%86400 < 0 {
		day--
	}
	err := s.retry(ctx, func() error {
		out = out[:0]
		rs, err := s.pool.Query(ctx, `SELECT a.id, coalesce(d.n, 0), coalesce(d.stale, 0) + coalesce(b.n, 0)
			FROM rm_advisors a
			LEFT JOIN (SELECT advisor_id, sum(n) AS n, coalesce(sum(n) FILTER (WHERE day < $2), 0) AS stale
				FROM rm_fresh_days GROUP BY advisor_id) d ON d.advisor_id = a.id
			LEFT JOIN (SELECT advisor_id, count(*) AS n FROM rm_customers
				WHERE advisor_id <> '' AND stale_at >= $3 AND stale_at < $1 GROUP BY advisor_id) b ON b.advisor_id = a.id`,
			cut, day, day*86400)
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var f projections.Freshness
			if err := rs.Scan(&f.AdvisorID, &f.Customers, &f.Stale); err != nil {
				return err
			}
			out = append(out, f)
		}
		return rs.Err()
	})
	if err != nil {
		return nil, unavailable("read models: freshness report", err)
	}
	if out == nil {
		out = []projections.Freshness{}
	}
	return projections.FreshnessFrom(out), nil
}

// coachingReport loads every point and follow-up check in one statement
// (one snapshot) and runs Calls.CoachingReport.
func (s *Store) coachingReport(ctx context.Context, now time.Time) (projections.CoachingReport, error) {
	var ps []projections.CoachingPoint
	var fs []projections.FollowUpResult
	err := s.retry(ctx, func() error {
		var pj, fj []byte
		err := s.pool.QueryRow(ctx, `SELECT
			(SELECT coalesce(json_agg(state), '[]') FROM rm_coaching_points),
			(SELECT coalesce(json_agg(state ORDER BY seq), '[]') FROM rm_followups)`).Scan(&pj, &fj)
		if err != nil {
			return err
		}
		var stored []followUp
		if err := json.Unmarshal(pj, &ps); err != nil {
			return fmt.Errorf("decode coaching points: %w", err)
		}
		if err := json.Unmarshal(fj, &stored); err != nil {
			return fmt.Errorf("decode follow-ups: %w", err)
		}
		fs = make([]projections.FollowUpResult, len(stored))
		for i, f := range stored {
			fs[i] = f.FollowUpResult
			fs[i].RepID = f.RepID
		}
		return nil
	})
	if err != nil {
		return projections.CoachingReport{}, unavailable("read models: coaching report", err)
	}
	return projections.RestoreCalls(nil, nil, ps, nil, fs).CoachingReport(now), nil
}

// counters loads the pitch and request counters.
func (s *Store) counters(ctx context.Context) (*projections.Counters, error) {
	cs, err := rows[*projections.Counters](ctx, s, "counters", "SELECT state FROM rm_aggregates WHERE name = $1", aggCounters)
	if err != nil {
		return nil, err
	}
	if len(cs) == 0 {
		return projections.NewCounters(), nil
	}
	return cs[0], nil
}
