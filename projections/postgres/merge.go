package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/projections"
)

// A merge (docs/merge.md) lives in the customers' fold state: the merged
// customer's row names its survivor, the survivor's lists whom it absorbed;
// a merged customer's tier column holds projections.MergedTier, so that no
// tier filter or count includes them, and its advisor column is empty. The
// likely duplicate pairs are one rm_aggregates row, rewritten from the
// writer's fold when they may have changed: it holds customer ids only.

// markChains marks dirty the rows of the customers the batch's survivors
// were themselves merged into: their absorbed lists gained the same ids
// (projections.Customers.Survivors), and a merged customer's page is the
// chain's last row.
func (w *writer) markChains() {
	for id := range w.dirty.survivors {
		for _, s := range w.mem.Customers.Survivors(id) {
			w.dirty.customers[s] = struct{}{}
		}
	}
}

// aggDuplicates is the rm_aggregates row of the likely duplicate pairs.
const aggDuplicates = "duplicates"

// duplicatePairs queues the upsert of the pairs' row if they may have
// changed since the writer last wrote it.
func (w *writer) duplicatePairs(b *pgx.Batch) error {
	if !w.mem.Dups.TakeChanged() {
		return nil
	}
	return aggregate(b, true, aggDuplicates, w.mem.Dups.Pairs())
}

// aggWithheld is the rm_aggregates row of what the pairs leave out.
const aggWithheld = "duplicates-withheld"

// withheldValues queues the upsert of the withheld values' row if they may
// have changed since the writer last wrote it: a registration into a
// crowded group rewrites this row (a count and 20 ids a group), never the
// pairs'.
func (w *writer) withheldValues(b *pgx.Batch) error {
	if !w.mem.Dups.TakeWithheldChanged() {
		return nil
	}
	return aggregate(b, true, aggWithheld, w.mem.Dups.Withheld())
}

// WithheldValues returns what the pairs leave out, as the writer last
// wrote it.
func (s *Store) WithheldValues(ctx context.Context) (projections.WithheldValues, error) {
	none := projections.WithheldValues{Placeholder: projections.WithheldGroup{Sample: []string{}}, Crowded: []projections.WithheldGroup{}}
	js, err := s.aggregateRow(ctx, aggWithheld)
	if err != nil || js == nil {
		return none, err
	}
	var v projections.WithheldValues
	if err := json.Unmarshal(js, &v); err != nil {
		return none, fmt.Errorf("read models: decode withheld values: %w", err)
	}
	return v, nil
}

// Duplicates returns the likely duplicate pairs the writer last wrote.
func (s *Store) Duplicates(ctx context.Context) ([]projections.DuplicatePair, error) {
	js, err := s.aggregateRow(ctx, aggDuplicates)
	if err != nil || js == nil {
		return []projections.DuplicatePair{}, err
	}
	pairs := []projections.DuplicatePair{}
	if err := json.Unmarshal(js, &pairs); err != nil {
		return nil, fmt.Errorf("read models: decode duplicates: %w", err)
	}
	return pairs, nil
}

// withSurvivors adds to recs (one customer's record) the records of the
// customers it was merged into, following the chain as far as
// projections.Customers does, so that the restored read model answers for
// a merged customer with its survivor.
func (s *Store) withSurvivors(ctx context.Context, recs []projections.CustomerRecord) ([]projections.CustomerRecord, error) {
	seen := map[string]bool{recs[0].ID(): true}
	for last := recs[0]; len(recs) <= projections.MaxMergeHops; last = recs[len(recs)-1] {
		into := last.MergedInto()
		if into == "" || seen[into] {
			break
		}
		more, err := s.customerRows(ctx, "customer", "SELECT "+customerCols+" FROM rm_customers WHERE id = $1", into)
		if err != nil || len(more) == 0 {
			return recs, err
		}
		seen[into] = true
		recs = append(recs, more...)
	}
	return recs, nil
}
