package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Customer briefs (migration 0005): beside each customer's whole state the
// writer stores its brief (projections.CustomerRecord.Brief), sealed the
// same way, in the same statement. The worklist and the customer list
// decode briefs (briefCols); a row without one — written before 0005, or
// rewritten since by a writer of an earlier release, whose update the
// table's trigger makes clear the brief — is read whole instead, so every
// answer is right while briefs are missing, only slower.
//
// A writer fills the missing briefs once its folds hold the tables'
// checkpoint (fillBriefs), as search does its index: rows whose briefs
// are missing are told by their columns, so a restart in the middle
// resumes where it stopped.

// briefCols are the columns customerRows decodes for the queries a brief
// answers: the brief, or the whole state of a row that has none.
const briefCols = `id,
	CASE WHEN brief IS NULL AND brief_sealed IS NULL THEN state ELSE brief END,
	CASE WHEN brief IS NULL AND brief_sealed IS NULL THEN sealed ELSE brief_sealed END`

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
			brief, blob, err := w.brief(ctx, id, r)
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
			FROM unnest($1::text[], $2::jsonb[], $3::bytea[]) AS u(id, brief, sealed) WHERE c.id = u.id`, ids, briefs, sealed)
		if err := w.write(ctx, w.last, b); err != nil {
			return &commitError{err}
		}
	}
	w.briefsMissing = false
	return nil
}
