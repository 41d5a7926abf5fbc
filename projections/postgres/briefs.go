package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/projections"
)

// Customer briefs (migration 0005): beside each customer's whole state the
// writer stores its brief (projections.CustomerRecord.MarshalBrief: what
// the worklist and the lists read, in a compact binary form), sealed the
// same way, in the same statement. The worklist and the customer list
// decode briefs (briefRows); a row without one — written before 0005, or
// rewritten since by a writer of an earlier release, whose update the
// table's trigger makes clear the brief — is read whole instead, so every
// answer is right while briefs are missing, only slower.
//
// A writer fills the missing briefs once its folds hold the tables'
// checkpoint (fillBriefs), as search does its index: rows whose briefs
// are missing are told by their columns, so a restart in the middle
// resumes where it stopped.

// briefCols are the columns briefRows decodes: the brief, and the whole
// state of a row that has none.
const briefCols = `id, brief, brief_sealed,
	CASE WHEN brief IS NULL AND brief_sealed IS NULL THEN state END,
	CASE WHEN brief IS NULL AND brief_sealed IS NULL THEN sealed END`

// briefRows loads customer records for the queries a brief answers
// (briefCols): briefs, and whole records where a row has no brief, sealed
// ones opened as customerRows opens them.
func (s *Store) briefRows(ctx context.Context, what, sql string, args ...any) ([]projections.CustomerRecord, error) {
	return s.compactRows(ctx, what, (*projections.CustomerRecord).UnmarshalBrief, sql, args...)
}

// compactRows loads customer records from rows of five columns: id, a
// compact form of the record in clear or sealed (a brief, or facts), and
// the whole state in clear or sealed where the row has no compact form.
// unmarshal decodes the compact form.
func (s *Store) compactRows(ctx context.Context, what string, unmarshal func(*projections.CustomerRecord, []byte) error,
	sql string, args ...any) ([]projections.CustomerRecord, error) {
	type row struct {
		id                                string
		brief, briefSealed, state, sealed []byte
	}
	var raw []row
	err := s.retry(ctx, func() error {
		rs, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		raw, err = pgx.CollectRows(rs, func(r pgx.CollectableRow) (row, error) {
			var v row
			return v, r.Scan(&v.id, &v.brief, &v.briefSealed, &v.state, &v.sealed)
		})
		return err
	})
	if err != nil {
		return nil, unavailable("read models: "+what, err)
	}
	out := make([]projections.CustomerRecord, len(raw))
	for i, r := range raw {
		if r.brief == nil && r.briefSealed == nil {
			js, err := s.open(ctx, r.id, r.state, r.sealed)
			if err != nil {
				return nil, err
			}
			if err := json.Unmarshal(js, &out[i]); err != nil {
				return nil, fmt.Errorf("read models: decode %s: %w", what, err)
			}
			continue
		}
		b, err := s.open(ctx, r.id, r.brief, r.briefSealed)
		if err != nil {
			return nil, err
		}
		if err := unmarshal(&out[i], b); err != nil {
			return nil, fmt.Errorf("read models: decode %s of %s: %w", what, r.id, err)
		}
	}
	return out, nil
}

// briefChunk is how many missing briefs fillBriefs writes per transaction.
const briefChunk = 2000

// earlierRows is the SQL condition of a customer row an earlier release
// wrote: without a brief (before 0005), or without facts (before 0007,
// whose records keep no balances and whose briefs are of version 1).
const earlierRows = "(brief IS NULL AND brief_sealed IS NULL) OR facts IS NULL"

// briefsMissing reports whether some customer row is of an earlier
// release (earlierRows).
func briefsMissing(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var missing bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM rm_customers WHERE "+earlierRows+")").Scan(&missing)
	if err != nil {
		return false, unavailable("read models: customer briefs", err)
	}
	return missing, nil
}

// fillBriefs rewrites every customer row of an earlier release (its
// state, brief and facts) from the folds: Commit calls it when they hold
// the tables' checkpoint, or a batch past it whose customers (the dirty
// ones, written by the batch's own commit) it skips — the others' state
// is then the one in the table. Each chunk is a transaction of its own
// that leaves the checkpoint where it is, so that a bank of 100,000 rows
// from before 0005 is not one transaction of them all.
func (w *writer) fillBriefs(ctx context.Context) error {
	if !w.briefsMissing {
		return nil
	}
	rows, err := w.conn.Query(ctx, "SELECT id FROM rm_customers WHERE "+earlierRows+" ORDER BY id")
	if err != nil {
		return &commitError{unavailable("read models: customer briefs", err)}
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return &commitError{unavailable("read models: customer briefs", err)}
	}
	missing = slices.DeleteFunc(missing, func(id string) bool { _, dirty := w.dirty.customers[id]; return dirty })
	for len(missing) > 0 {
		chunk := missing[:min(briefChunk, len(missing))]
		missing = missing[len(chunk):]
		b := &pgx.Batch{}
		if err := w.customerRows(ctx, b, chunk); err != nil { // what no fold holds stays read whole
			return err
		}
		if b.Len() == 0 {
			continue
		}
		if err := w.write(ctx, w.last, b); err != nil {
			return &commitError{err}
		}
	}
	w.briefsMissing = false
	return nil
}
