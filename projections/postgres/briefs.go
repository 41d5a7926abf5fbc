package postgres

import (
	"context"
	"encoding/json"
	"fmt"

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
		if err := out[i].UnmarshalBrief(b); err != nil {
			return nil, fmt.Errorf("read models: decode %s of %s: %w", what, r.id, err)
		}
	}
	return out, nil
}

// briefChunk is how many missing briefs fillBriefs writes per transaction.
const briefChunk = 2000

// briefsMissing reports whether some customer row lacks its brief.
func briefsMissing(ctx context.Context, conn *pgx.Conn) (bool, error) {
	var missing bool
	err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM rm_customers WHERE brief IS NULL AND brief_sealed IS NULL)").Scan(&missing)
	if err != nil {
		return false, unavailable("read models: customer briefs", err)
	}
	return missing, nil
}

// fillBriefs writes the brief of every customer row that lacks one, from
// the folds: Commit calls it when they hold the tables' checkpoint, or a
// batch past it whose customers (the dirty ones, written by the batch's
// own commit) it skips — the others' state is then the one in the table.
// Each chunk is a transaction of its own that leaves the checkpoint where
// it is, so that a bank of 100,000 rows from before 0005 is not one
// transaction of them all.
func (w *writer) fillBriefs(ctx context.Context) error {
	if !w.briefsMissing {
		return nil
	}
	rows, err := w.conn.Query(ctx, "SELECT id FROM rm_customers WHERE brief IS NULL AND brief_sealed IS NULL ORDER BY id")
	if err != nil {
		return &commitError{unavailable("read models: customer briefs", err)}
	}
	missing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return &commitError{unavailable("read models: customer briefs", err)}
	}
	for len(missing) > 0 {
		chunk := missing[:min(briefChunk, len(missing))]
		missing = missing[len(chunk):]
		var ids []string
		var briefs, sealed [][]byte
		for _, id := range chunk {
			if _, dirty := w.dirty.customers[id]; dirty {
				continue
			}
			r, ok := w.mem.Customers.Record(id)
			if !ok {
				continue // no fold holds it: it stays read whole
			}
			brief, blob, err := w.seal(ctx, id, r.MarshalBrief())
			if err != nil {
				return err
			}
			ids, briefs, sealed = append(ids, id), append(briefs, brief), append(sealed, blob)
		}
		if len(ids) == 0 {
			continue
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE rm_customers AS c SET brief = u.brief, brief_sealed = u.sealed, brief_xact = pg_current_xact_id()
			FROM unnest($1::text[], $2::bytea[], $3::bytea[]) AS u(id, brief, sealed) WHERE c.id = u.id`, ids, briefs, sealed)
		if err := w.write(ctx, w.last, b); err != nil {
			return &commitError{err}
		}
	}
	w.briefsMissing = false
	return nil
}
