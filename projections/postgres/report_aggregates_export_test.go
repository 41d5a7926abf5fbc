package postgres

import (
	"context"
	"time"

	"github.com/dangol/dangol/projections"
)

// OldTierReport is the tiers report as the store computed it before
// migration 0009: every customer row's tier counted and its profit
// collected in one statement, projections.TierReportFrom doing the rest.
func (s *Store) OldTierReport(ctx context.Context) (projections.TierReport, error) {
	byTier := map[string]int{}
	var profits []int64
	rs, err := s.pool.Query(ctx, `SELECT tier, count(*), coalesce(array_agg(profit) FILTER (WHERE profit IS NOT NULL), '{}')
		FROM rm_customers WHERE tier <> $1 GROUP BY tier`, projections.MergedTier)
	if err != nil {
		return projections.TierReport{}, err
	}
	defer rs.Close()
	for rs.Next() {
		var tier string
		var n int
		var ps []int64
		if err := rs.Scan(&tier, &n, &ps); err != nil {
			return projections.TierReport{}, err
		}
		byTier[tier] += n
		profits = append(profits, ps...)
	}
	if err := rs.Err(); err != nil {
		return projections.TierReport{}, err
	}
	return projections.TierReportFrom(byTier, profits, nil), nil
}

// OldFreshnessReport is the freshness report as the store computed it
// before migration 0009: every book customer's row joined to its advisor.
func (s *Store) OldFreshnessReport(ctx context.Context, now time.Time) ([]projections.Freshness, error) {
	out := []projections.Freshness{}
	rs, err := s.pool.Query(ctx, `SELECT a.id, count(c.id), count(c.id) FILTER (WHERE c.stale_at < $1)
		FROM rm_advisors a LEFT JOIN rm_customers c ON c.advisor_id = a.id GROUP BY a.id`, staleCut(now))
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	for rs.Next() {
		var f projections.Freshness
		if err := rs.Scan(&f.AdvisorID, &f.Customers, &f.Stale); err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	if err := rs.Err(); err != nil {
		return nil, err
	}
	return projections.FreshnessFrom(out), nil
}

// ProfitBucketMax is profitBucketMax.
func ProfitBucketMax(k int64) int64 { return profitBucketMax(k) }
