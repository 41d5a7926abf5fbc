package postgres

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/projections"
)

// Quality assurance (migration 0006). A call's evaluations, its rep's
// acknowledgements and disputes are part of the call's row; the columns
// rep_id, reviewer_id, reviewed_at, open_dispute and dispute_ids narrow
// the evaluation and dispute queries. Scorecard forms, sampling plans and
// calibration sessions are the QA aggregate (projections.QA), one
// rm_aggregates row written whole.
//
// Rows written before 0006 (or since by a writer of an earlier release)
// have the state of that release: a call without its evaluations, a
// coaching point and a review score without the evaluation that raised
// them. SQL cannot rebuild those (the log may hold several reviews of a
// call, of which the row keeps the last), so a writer of this release
// rewrites them from its folds once they hold the tables' checkpoint
// (fillQA), as it does customers' briefs; the row's own JSON tells whether
// it is done, so a restart resumes where it stopped. Until then the
// queries read such a call whatever its columns say (the migration set
// them from its state, but an older writer leaves them as they were), with
// its one known review as its only evaluation (upgradeCall).

// oldShape is the SQL condition of a call row written without
// evaluations.
const oldShape = "NOT state ? 'evaluations'"

// aggQA is the rm_aggregates row of the QA read model.
const aggQA = "qa"

// callQA collects the QA columns of the call rows one statement writes.
type callQA struct {
	reps, reviewers []string
	reviewed        []*time.Time
	open            []bool
	disputes        [][]byte // JSON arrays of dispute ids
}

func (c *callQA) add(v projections.CallView) error {
	reviewer, reviewed := "", (*time.Time)(nil)
	if v.Review != nil {
		at := v.Review.ReviewedAt
		reviewer, reviewed = v.Review.ReviewerID, &at
	}
	ids := make([]string, 0, len(v.Disputes))
	open := false
	for _, d := range v.Disputes {
		ids = append(ids, d.ID)
		open = open || d.Status == projections.DisputeOpen
	}
	js, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	c.reps, c.reviewers, c.reviewed = append(c.reps, v.StaffID), append(c.reviewers, reviewer), append(c.reviewed, reviewed)
	c.open, c.disputes = append(c.open, open), append(c.disputes, js)
	return nil
}

// qaAggregate queues the QA aggregate's row if the batch touched it.
func (w *writer) qaAggregate(b *pgx.Batch) error { return aggregate(b, w.dirty.qa, aggQA, w.mem.QA) }

// qaMissing reports whether some call, coaching point or review score row
// lacks what 0006's release adds to its state.
func qaMissing(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var missing bool
	err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM rm_calls WHERE `+oldShape+`)
		OR EXISTS (SELECT 1 FROM rm_coaching_points WHERE NOT state ? 'evaluation')
		OR EXISTS (SELECT 1 FROM rm_reviews WHERE NOT state ? 'CallID')`).Scan(&missing)
	if err != nil {
		return false, unavailable("read models: qa rows", err)
	}
	return missing, nil
}

// fillQA rewrites, from the folds, every call, coaching point and review
// score row that lacks its evaluations: Commit calls it where it calls
// fillBriefs, and like fillBriefs it skips the batch's dirty entities and
// writes chunks in transactions that leave the checkpoint where it is.
// What no fold holds stays as it is.
func (w *writer) fillQA(ctx context.Context) error {
	if !w.qaMissing {
		return nil
	}
	for _, t := range []struct {
		sql   string
		dirty map[string]struct{}
		queue func(*pgx.Batch, []string) error
	}{
		{"SELECT id FROM rm_calls WHERE " + oldShape + " ORDER BY id", w.dirty.calls, w.callRows},
		{"SELECT id FROM rm_coaching_points WHERE NOT state ? 'evaluation' ORDER BY id", w.dirty.points, w.pointRows},
		{"SELECT seq::text FROM rm_reviews WHERE NOT state ? 'CallID' ORDER BY seq", nil, w.reviewRows},
	} {
		ids, err := w.missingRows(ctx, t.sql)
		if err != nil {
			return err
		}
		ids = slices.DeleteFunc(ids, func(id string) bool { _, ok := t.dirty[id]; return ok })
		for len(ids) > 0 {
			chunk := ids[:min(briefChunk, len(ids))]
			ids = ids[len(chunk):]
			b := &pgx.Batch{}
			if err := t.queue(b, chunk); err != nil {
				return err
			}
			if b.Len() == 0 {
				continue
			}
			if err := w.write(ctx, w.last, b); err != nil {
				return &commitError{err}
			}
		}
	}
	w.qaMissing = false
	return nil
}

// missingRows returns the ids sql selects.
func (w *writer) missingRows(ctx context.Context, sql string) ([]string, error) {
	rows, err := w.conn.Query(ctx, sql)
	if err != nil {
		return nil, &commitError{unavailable("read models: qa rows", err)}
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, &commitError{unavailable("read models: qa rows", err)}
	}
	return ids, nil
}

// reviewRows queues the rewrite of the review scores at seqs (decimal),
// those the folds hold; the scores only ever grow, so entry seq of the
// folds is the row's.
func (w *writer) reviewRows(b *pgx.Batch, seqs []string) error {
	rs := w.mem.Calls.Reviews()
	var at []int64
	var states [][]byte
	for _, s := range seqs {
		i, err := strconv.Atoi(s)
		if err != nil || i < 0 || i >= len(rs) {
			continue
		}
		js, err := json.Marshal(rs[i])
		if err != nil {
			return err
		}
		at, states = append(at, int64(i)), append(states, js)
	}
	if len(at) > 0 {
		b.Queue(`UPDATE rm_reviews AS r SET state = u.state FROM unnest($1::int8[], $2::jsonb[]) AS u(seq, state)
			WHERE r.seq = u.seq`, at, states)
	}
	return nil
}

// upgradeCall gives a call decoded from its row what the folds' Call
// gives: empty lists rather than null, and for a row of an earlier
// release, its review as its one evaluation.
func upgradeCall(v *projections.CallView) {
	if v.Evaluations == nil && v.Review != nil {
		if v.Review.Evaluation == 0 {
			v.Review.Evaluation = 1
		}
		v.Evaluations = []projections.Review{*v.Review}
	}
	if v.Evaluations == nil {
		v.Evaluations = []projections.Review{}
	}
	if v.Disputes == nil {
		v.Disputes = []projections.Dispute{}
	}
}

// callRows loads calls with rows and upgrades each (upgradeCall).
func (s *Store) callRows(ctx context.Context, what, sql string, args ...any) ([]projections.CallView, error) {
	cs, err := rows[projections.CallView](ctx, s, what, sql, args...)
	for i := range cs {
		upgradeCall(&cs[i])
	}
	return cs, err
}

// calls returns a Calls read model of the calls sql selects.
func (s *Store) calls(ctx context.Context, what, sql string, args ...any) (*projections.Calls, error) {
	cs, err := s.callRows(ctx, what, sql, args...)
	if err != nil {
		return nil, err
	}
	return projections.RestoreCalls(cs, nil, nil, nil, nil), nil
}

// conds builds a conjunction of conditions with numbered arguments.
type conds struct {
	conds []string
	args  []any
}

// add appends cond, whose "$?" stands for v.
func (c *conds) add(cond string, v ...any) {
	for _, x := range v {
		c.args = append(c.args, x)
		cond = strings.Replace(cond, "$?", "$"+strconv.Itoa(len(c.args)), 1)
	}
	c.conds = append(c.conds, cond)
}

// String returns the conjunction.
func (c *conds) String() string { return strings.Join(c.conds, " AND ") }

// Evaluations returns the reviewed calls matching f, from the rows the
// columns select and those of an earlier release.
func (s *Store) Evaluations(ctx context.Context, f projections.EvaluationFilter) ([]projections.CallView, error) {
	w := &conds{}
	w.add("reviewed_at IS NOT NULL")
	if f.Rep != "" {
		w.add("rep_id = $?", f.Rep)
	}
	if f.Reviewer != "" {
		w.add("reviewer_id = $?", f.Reviewer)
	}
	if f.Disputed {
		w.add("open_dispute")
	}
	cs, err := s.calls(ctx, "evaluations", "SELECT state FROM rm_calls WHERE ("+w.String()+") OR "+oldShape, w.args...)
	if err != nil {
		return nil, err
	}
	return cs.Evaluations(f), nil
}

// Disputes returns the disputes matching f. Rows of an earlier release
// hold no dispute.
func (s *Store) Disputes(ctx context.Context, f projections.DisputeFilter) ([]projections.Dispute, error) {
	w := &conds{}
	w.add("cardinality(dispute_ids) > 0")
	if f.Rep != "" {
		w.add("state->'disputes' @> jsonb_build_array(jsonb_build_object('repId', $?::text))", f.Rep)
	}
	if f.Status == projections.DisputeOpen {
		w.add("open_dispute")
	}
	cs, err := s.calls(ctx, "disputes", "SELECT state FROM rm_calls WHERE "+w.String(), w.args...)
	if err != nil {
		return nil, err
	}
	return cs.Disputes(f), nil
}

// Dispute returns one dispute; NotFound if unknown.
func (s *Store) Dispute(ctx context.Context, id string) (projections.Dispute, error) {
	cs, err := s.calls(ctx, "dispute", "SELECT state FROM rm_calls WHERE dispute_ids @> ARRAY[$1::text]", id)
	if err != nil {
		return projections.Dispute{}, err
	}
	d, ok := cs.Dispute(id)
	if !ok {
		return d, notFound("dispute")
	}
	return d, nil
}

// qa loads the QA aggregate: empty before its first event.
func (s *Store) qa(ctx context.Context) (*projections.QA, error) {
	js, err := s.aggregateRow(ctx, aggQA)
	if err != nil {
		return nil, err
	}
	if js == nil {
		return projections.NewQA(), nil
	}
	q, err := projections.RestoreQA(js)
	if err != nil {
		return nil, unavailable("read models: qa", err)
	}
	return q, nil
}

// ScorecardForm returns a form's version (0: latest); NotFound if unknown.
func (s *Store) ScorecardForm(ctx context.Context, id string, version int) (projections.ScorecardForm, error) {
	q, err := s.qa(ctx)
	if err != nil {
		return projections.ScorecardForm{}, err
	}
	f, ok := q.Form(id, version)
	if !ok {
		return f, notFound("scorecard form")
	}
	return f, nil
}

// ScorecardForms returns the latest version of every form.
func (s *Store) ScorecardForms(ctx context.Context) ([]projections.ScorecardForm, error) {
	q, err := s.qa(ctx)
	if err != nil {
		return nil, err
	}
	return q.Forms(), nil
}

// SamplingPlans returns the sampling plan's versions, newest first.
func (s *Store) SamplingPlans(ctx context.Context) ([]projections.SamplingPlan, error) {
	q, err := s.qa(ctx)
	if err != nil {
		return nil, err
	}
	return q.Plans(), nil
}

// Calibration returns one session; NotFound if unknown.
func (s *Store) Calibration(ctx context.Context, id string) (projections.CalibrationSession, error) {
	q, err := s.qa(ctx)
	if err != nil {
		return projections.CalibrationSession{}, err
	}
	c, ok := q.Calibration(id)
	if !ok {
		return c, notFound("calibration session")
	}
	return c, nil
}

// Calibrations returns the sessions matching f.
func (s *Store) Calibrations(ctx context.Context, f projections.CalibrationFilter) ([]projections.CalibrationSession, error) {
	q, err := s.qa(ctx)
	if err != nil {
		return nil, err
	}
	return q.Calibrations(f), nil
}
