package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

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

// tierReport counts customers per tier and collects the profits in one
// statement; projections.TierReportFrom does the rest.
func (s *Store) tierReport(ctx context.Context) (projections.TierReport, error) {
	byTier := map[string]int{}
	var profits []int64
	err := s.retry(ctx, func() error {
		clear(byTier)
		profits = profits[:0]
		rs, err := s.pool.Query(ctx, `SELECT tier, count(*), coalesce(array_agg(profit) FILTER (WHERE profit IS NOT NULL), '{}')
			FROM rm_customers WHERE tier <> $1 GROUP BY tier`, projections.MergedTier) // merge.go
		if err != nil {
			return err
		}
		defer rs.Close()
		for rs.Next() {
			var tier string
			var n int
			var ps []int64
			if err := rs.Scan(&tier, &n, &ps); err != nil {
				return err
			}
			byTier[tier] += n
			profits = append(profits, ps...)
		}
		return rs.Err()
	})
	if err != nil {
		return projections.TierReport{}, unavailable("read models: tier report", err)
	}
	return projections.TierReportFrom(byTier, profits, nil), nil
}

// freshnessReport counts, per advisor who ever had a book, the customers in
// it and those stale at now.
func (s *Store) freshnessReport(ctx context.Context, now time.Time) ([]projections.Freshness, error) {
	var out []projections.Freshness
	err := s.retry(ctx, func() error {
		out = out[:0]
		rs, err := s.pool.Query(ctx, `SELECT a.id, count(c.id), count(c.id) FILTER (WHERE c.stale_at < $1)
			FROM rm_advisors a LEFT JOIN rm_customers c ON c.advisor_id = a.id GROUP BY a.id`, staleCut(now))
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
