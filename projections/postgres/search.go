package postgres

import (
	"context"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// aggSearch is the rm_aggregates row naming the index rm_search was
// written with.
const aggSearch = "search"

// searchProbe is the value whose terms fingerprint an index: equal terms,
// the same key. It is no one's name, and its terms reveal nothing else.
const searchProbe = "dangol search index probe"

// fingerprint tells indexes apart without holding their keys: the terms of
// searchProbe; "none" without an index.
func fingerprint(index projections.SearchIndex) string {
	if index == nil {
		return "none"
	}
	return "v1 " + strings.Join(index("name", searchProbe), " ")
}

// searchRows keeps rm_search current for the writer: after each batch it
// rewrites the rows of the customers whose terms the batch may have
// changed (projections.SearchRelevant), from the folds' current state. The
// terms are computed from the customer records the writer holds anyway, so
// the writer keeps no term index in memory.
//
// The first time a writer meets rows written with another index (a table
// from before search, a process started without one, a rebuilt schema) it
// rewrites the table whole, once it holds the state of the tables'
// checkpoint: without an index that deletes every row, so no term outlives
// the setting that made it.
type searchRows struct {
	index   projections.SearchIndex // nil: rows are only ever deleted
	print   string                  // fingerprint(index)
	current bool                    // rm_search was written with index
	ids     map[string]struct{}     // customers the batch may have changed
}

func newSearchRows(ctx context.Context, conn *pgx.Conn, index projections.SearchIndex) (*searchRows, error) {
	s := &searchRows{index: index, print: fingerprint(index), ids: map[string]struct{}{}}
	var stored *string
	err := conn.QueryRow(ctx, "SELECT state->>'index' FROM rm_aggregates WHERE name = $1", aggSearch).Scan(&stored)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
	case err != nil:
		return nil, unavailable("read models: search index", err)
	default:
		s.current = stored != nil && *stored == s.print
	}
	return s, nil
}

// Name returns "postgres-search".
func (*searchRows) Name() string { return "postgres-search" }

// Apply notes the customer whose terms e may change.
func (s *searchRows) Apply(e projections.Event) {
	if cat, id := events.StreamID(e.Stream); cat == events.CategoryCustomer && projections.SearchRelevant(e.Data) {
		s.ids[strings.Clone(id)] = struct{}{} // envelopes share read buffers
	}
}

// queue adds to b what brings rm_search to the terms of cs: the noted
// customers' rows, or the whole table if it was written with another
// index. A failed write discards the writer, so queueing is the point
// where the rows count as written.
func (s *searchRows) queue(b *pgx.Batch, cs *projections.Customers) {
	var ids, terms []string
	add := func(id string, ts []string) {
		for _, t := range ts {
			ids, terms = append(ids, id), append(terms, t)
		}
	}
	switch {
	case !s.current:
		b.Queue("DELETE FROM rm_search")
		cs.EachSearchTerms(s.index, add)
		b.Queue(`INSERT INTO rm_aggregates (name, state) VALUES ($1, jsonb_build_object('index', $2::text))
			ON CONFLICT (name) DO UPDATE SET state = EXCLUDED.state`, aggSearch, s.print)
		s.current = true
	case len(s.ids) > 0:
		changed := sortedKeys(s.ids)
		b.Queue("DELETE FROM rm_search WHERE customer_id = ANY($1::text[])", changed)
		for _, id := range changed {
			add(id, cs.SearchTerms(id, s.index))
		}
	}
	if len(terms) > 0 {
		b.Queue("INSERT INTO rm_search (customer_id, term) SELECT * FROM unnest($1::text[], $2::text[])", ids, terms)
	}
	clear(s.ids)
}

// searchTerms is the writer's batch step for rm_search.
func (w *writer) searchTerms(b *pgx.Batch) error {
	w.search.queue(b, w.mem.Customers)
	return nil
}

// searchReplayed is Commit's step for a position the tables already hold
// (a writer replaying up to their checkpoint): the noted customers' rows
// are current. At the checkpoint itself the folds hold the tables' state,
// so rows of another index are rewritten there, in a transaction that
// leaves the checkpoint where it is; otherwise search would find nothing
// until the next event.
func (w *writer) searchReplayed(ctx context.Context, pos events.Position) error {
	clear(w.search.ids)
	if pos != w.last || w.search.current {
		return nil
	}
	b := &pgx.Batch{}
	w.search.queue(b, w.mem.Customers)
	if err := w.write(ctx, pos, b); err != nil {
		return &commitError{err}
	}
	return nil
}

// FindCustomers returns the customers holding the most of terms, best
// first; none when this store has no search index (Options.SearchIndex).
//
// A term a fifth of the bank shares (the surname Kim) must not cost a scan
// and an aggregate of its 20,000 rows, so the commonest term ("big") is set
// apart: every customer holding two terms or more holds one of the others,
// so counting exactly over the customers of the other terms (the
// candidates, few) and taking from big's list, in id order, only the first
// limit customers who are not candidates gives the exact answer. Which term
// is commonest is read first, counting each up to a cap; the answer is
// exact whichever term is taken.
func (s *Store) FindCustomers(ctx context.Context, terms []string, limit int, now time.Time) ([]projections.CustomerSummary, error) {
	if s.opt.SearchIndex == nil || len(terms) == 0 {
		return []projections.CustomerSummary{}, nil
	}
	if limit <= 0 {
		limit = projections.DefaultSearchLimit
	}
	terms = slices.Compact(slices.Sorted(slices.Values(terms)))
	big := terms[0]
	if len(terms) > 1 {
		var err error
		if big, err = s.commonestTerm(ctx, terms); err != nil {
			return nil, err
		}
	}
	others := slices.DeleteFunc(slices.Clone(terms), func(t string) bool { return t == big })
	recs, err := s.customerRows(ctx, "customer search", `WITH cand AS (
			SELECT customer_id, count(*) AS n FROM rm_search WHERE term = ANY($1::text[]) GROUP BY customer_id),
		scored AS (
			SELECT customer_id, n + (EXISTS (SELECT 1 FROM rm_search b WHERE b.term = $2 AND b.customer_id = cand.customer_id))::int AS n
			FROM cand),
		rest AS (
			SELECT customer_id, 1 AS n FROM rm_search WHERE term = $2 AND customer_id NOT IN (SELECT customer_id FROM cand)
			ORDER BY customer_id LIMIT $3),
		hits AS (
			SELECT customer_id, n FROM scored UNION ALL SELECT customer_id, n FROM rest ORDER BY n DESC, customer_id LIMIT $3)
		SELECT `+customerCols+` FROM hits JOIN rm_customers ON id = hits.customer_id ORDER BY hits.n DESC, hits.customer_id`,
		others, big, limit)
	if err != nil {
		return nil, err
	}
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID()
	}
	return projections.RestoreCustomers(recs).Summaries(ids, now), nil
}

// commonCap bounds how far commonestTerm counts each term's rows.
const commonCap = 256

// commonestTerm returns the term of terms the most customers hold, as far
// as counting each up to commonCap tells (the first of a tie).
func (s *Store) commonestTerm(ctx context.Context, terms []string) (string, error) {
	big := terms[0]
	err := s.retry(ctx, func() error {
		return s.pool.QueryRow(ctx, `SELECT t FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i),
				LATERAL (SELECT count(*) AS n FROM (SELECT 1 FROM rm_search WHERE term = u.t LIMIT $2) x) c
			ORDER BY c.n DESC, u.i LIMIT 1`, terms, commonCap).Scan(&big)
	})
	if err != nil {
		return "", unavailable("read models: customer search", err)
	}
	return big, nil
}
