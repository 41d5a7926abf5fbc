package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// Every query reads rows with one SQL statement (one snapshot), decodes the
// fold state they hold, loads it into the read-model types of package
// projections and runs the same query method projections.Memory runs, so
// the answers — time-dependent flags included — are the same. SQL only
// narrows which rows are loaded: where a column cannot decide a filter
// exactly, it selects a superset and the Go method decides.

func notFound(what string) error { return events.Errorf(events.NotFound, "%s not found", what) }

// rows runs sql and decodes each row's single JSONB column into a T.
func rows[T any](ctx context.Context, s *Store, what, sql string, args ...any) ([]T, error) {
	var out []T
	err := s.retry(ctx, func() error {
		out = out[:0]
		rs, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rs, func(r pgx.CollectableRow) (T, error) {
			var v T
			var b []byte
			if err := r.Scan(&b); err != nil {
				return v, err
			}
			if err := json.Unmarshal(b, &v); err != nil {
				return v, fmt.Errorf("decode %s: %w", what, err)
			}
			return v, nil
		})
		return err
	})
	if err != nil {
		return nil, unavailable("read models: "+what, err)
	}
	return out, nil
}

// one returns the single row rows found, or NotFound.
func one[T any](ctx context.Context, s *Store, what, sql string, args ...any) (T, error) {
	vs, err := rows[T](ctx, s, what, sql, args...)
	if err != nil {
		var zero T
		return zero, err
	}
	if len(vs) == 0 {
		var zero T
		return zero, notFound(what)
	}
	return vs[0], nil
}

// customerCols are the columns customerRows decodes.
const customerCols = "id, state, sealed"

// customerRows loads customer records, opening sealed rows with the
// customer's data key. A row sealed under a key destroyed since (the
// writer has not yet rewritten it) is Unavailable: retry.
func (s *Store) customerRows(ctx context.Context, what, sql string, args ...any) ([]projections.CustomerRecord, error) {
	type row struct {
		id            string
		state, sealed []byte
	}
	var raw []row
	err := s.retry(ctx, func() error {
		rs, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		raw, err = pgx.CollectRows(rs, func(r pgx.CollectableRow) (row, error) {
			var v row
			return v, r.Scan(&v.id, &v.state, &v.sealed)
		})
		return err
	})
	if err != nil {
		return nil, unavailable("read models: "+what, err)
	}
	out := make([]projections.CustomerRecord, len(raw))
	for i, r := range raw {
		js, err := s.open(ctx, r.id, r.state, r.sealed)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(js, &out[i]); err != nil {
			return nil, fmt.Errorf("read models: decode %s: %w", what, err)
		}
	}
	return out, nil
}

// open returns a customer row's data: plain, or sealed opened with the
// customer's data key.
func (s *Store) open(ctx context.Context, id string, plain, sealed []byte) ([]byte, error) {
	if sealed == nil {
		return plain, nil
	}
	if s.opt.Cipher == nil {
		return nil, events.Errorf(events.Internal, "read models: customer rows are sealed but this process has no cipher")
	}
	js, err := s.opt.Cipher.Open(ctx, id, sealed)
	if err != nil {
		return nil, &events.Error{Code: events.Unavailable, Message: "read models: open a customer row; retry", Err: err}
	}
	return js, nil
}

// retry runs f again once if it failed the way a concurrent Rebuild swap
// can make a statement fail (deadlock with the swap, or a table dropped
// between planning and execution). A text argument PostgreSQL cannot hold
// (a NUL byte, invalid UTF-8) names no row it stores: f found nothing,
// which is Memory's answer too, rather than an error.
func (s *Store) retry(ctx context.Context, f func() error) error {
	err := f()
	var pe *pgconn.PgError
	if err != nil && ctx.Err() == nil && errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "42P01" || pe.Code == "XX000") {
		err = f()
	}
	if errors.As(err, &pe) && pe.Code == "22021" { // character_not_in_repertoire
		return nil
	}
	return err
}

// Customer returns the 360 view of customer id at now; NotFound if unknown.
func (s *Store) Customer(ctx context.Context, id string, now time.Time) (projections.CustomerView, error) {
	rs, err := s.customerRows(ctx, "customer", "SELECT "+customerCols+" FROM rm_customers WHERE id = $1", id)
	if err != nil {
		return projections.CustomerView{}, err
	}
	if len(rs) == 0 {
		return projections.CustomerView{}, notFound("customer")
	}
	if rs, err = s.withSurvivors(ctx, rs); err != nil { // merge.go
		return projections.CustomerView{}, err
	}
	v, _ := projections.RestoreCustomers(rs).Customer(id, now)
	return v, nil
}

// CustomerExists reports whether customer id is registered.
func (s *Store) CustomerExists(ctx context.Context, id string) (bool, error) {
	var ok bool
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM rm_customers WHERE id = $1)", id).Scan(&ok)
	})
	if err != nil {
		return false, unavailable("read models: customer exists", err)
	}
	return ok, nil
}

// staleCut returns the bound c such that a customer is stale at now exactly
// when stale_at < c (stale_at is whole seconds; StaleAt().Before(now)).
func staleCut(now time.Time) int64 {
	c := now.Unix()
	if now.Nanosecond() > 0 {
		c++
	}
	return c
}

// CustomerList returns a page of customer summaries and the next cursor,
// from the customers' briefs.
func (s *Store) CustomerList(ctx context.Context, f projections.CustomerFilter, now time.Time) ([]projections.CustomerSummary, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	where := []string{"id > $1", "tier <> '" + projections.MergedTier + "'"} // a merged customer is listed as their survivor
	args := []any{f.After}
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if f.Tier != "" {
		arg("tier = $?", f.Tier)
	}
	if f.Advisor != "" {
		arg("advisor_id = $?", f.Advisor)
	}
	if f.Stale != nil {
		if *f.Stale {
			arg("stale_at < $?", staleCut(now))
		} else {
			arg("stale_at >= $?", staleCut(now))
		}
	}
	args = append(args, limit+1) // one more tells List there is a next page
	sql := "SELECT " + briefCols + " FROM rm_customers WHERE " + strings.Join(where, " AND ") + " ORDER BY id LIMIT $" + strconv.Itoa(len(args))
	recs, err := s.briefRows(ctx, "customers", sql, args...)
	if err != nil {
		return nil, "", err
	}
	page, next := projections.RestoreCustomers(recs).List(f, now)
	return page, next, nil
}

// Worklist returns the advisor's worklist at now, from the book's
// customer briefs (briefs.go), with the campaign reasons of their active
// targets (campaigns.go), read by a second statement: a target row
// written after the briefs were read names a customer of the book all the
// same, or none.
func (s *Store) Worklist(ctx context.Context, advisor string, now time.Time, opt projections.WorklistOptions) ([]projections.WorkItem, error) {
	recs, err := s.briefRows(ctx, "worklist",
		"SELECT "+briefCols+" FROM rm_customers WHERE advisor_id = $1 AND advisor_id <> ''", advisor)
	if err != nil {
		return nil, err
	}
	items := projections.RestoreCustomers(recs).Worklist(advisor, now, opt)
	if err := s.campaignReasons(ctx, items, now); err != nil {
		return nil, err
	}
	return items, nil
}

// Call returns a call with its review; NotFound if unknown.
func (s *Store) Call(ctx context.Context, id string) (projections.CallView, error) {
	cs, err := s.callRows(ctx, "call", "SELECT state FROM rm_calls WHERE id = $1", id)
	if err != nil || len(cs) == 0 {
		return projections.CallView{}, cmp.Or(err, notFound("call"))
	}
	return cs[0], nil
}

// QAQueue returns the calls awaiting review, oldest first.
func (s *Store) QAQueue(ctx context.Context, supervisor string) ([]projections.QueueItem, error) {
	calls, err := rows[projections.CallView](ctx, s, "qa queue",
		"SELECT state FROM rm_calls WHERE queued AND ($1 = '' OR supervisor_id IN ('', $1))", supervisor)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(calls))
	for i, c := range calls {
		ids[i] = c.ID
	}
	return projections.RestoreCalls(calls, ids, nil, nil, nil).Queue(supervisor), nil
}

// Coaching returns the coaching points matching f at now.
func (s *Store) Coaching(ctx context.Context, f projections.CoachingFilter, now time.Time) ([]projections.CoachingPoint, error) {
	where := []string{"true"}
	var args []any
	arg := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$?", "$"+strconv.Itoa(len(args))))
	}
	if f.Rep != "" {
		arg("rep_id = $?", f.Rep)
	}
	if f.Status != "" {
		arg("status = $?", f.Status)
	}
	if f.Checker != "" {
		arg("last_checker = $?", f.Checker)
	}
	if !f.DueBefore.IsZero() {
		// timestamptz keeps microseconds: <= selects a superset of Before,
		// which Calls.Coaching then decides exactly.
		arg("due_at <= $?", f.DueBefore)
	}
	ps, err := rows[projections.CoachingPoint](ctx, s, "coaching points",
		"SELECT state FROM rm_coaching_points WHERE "+strings.Join(where, " AND "), args...)
	if err != nil {
		return nil, err
	}
	return projections.RestoreCalls(nil, nil, ps, nil, nil).Coaching(f, now), nil
}

// CoachingPoint returns one coaching point at now; NotFound if unknown.
func (s *Store) CoachingPoint(ctx context.Context, id string, now time.Time) (projections.CoachingPoint, error) {
	p, err := one[projections.CoachingPoint](ctx, s, "coaching point", "SELECT state FROM rm_coaching_points WHERE id = $1", id)
	if err != nil {
		return p, err
	}
	p, _ = projections.RestoreCalls(nil, nil, []projections.CoachingPoint{p}, nil, nil).Point(id, now)
	return p, nil
}
