// Package pgkeys is the key store of the PostgreSQL deployment: every `dangol
// serve` process shares the tables dangol_keys, dangol_keys_erased and
// dangol_keys_meta (created by events/postgres's migrations). Rows hold keys
// wrapped by the master key only. It is a pii.Vault; Open returns it behind
// pii.Keys, which does the wrapping and the caching.
//
// Across processes: a key destroyed by one process may stay in another's
// cache until that process applies the PersonalDataErased event, which
// calls Destroy there too (pii.Sealer.EnforceErasure) — a window of the
// projection lag. Deleted rows may survive in PostgreSQL's dead tuples until
// vacuum, and in WAL and base backups (docs/personal-data.md).
package pgkeys

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/pii"
)

// Vault keeps wrapped data keys in PostgreSQL tables. It is safe for
// concurrent use, by this process and others on the same database.
type Vault struct {
	pool *pgxpool.Pool
}

var _ pii.Vault = (*Vault)(nil)

// Open checks master against the database's check blob (writing it on
// first use) and returns the key store over pool, which it does not own:
// closing the key store leaves the pool open. Errors: pii.ErrWrongMasterKey
// (Invalid), Unavailable (the database cannot be reached), Internal.
func Open(ctx context.Context, pool *pgxpool.Pool, master pii.MasterKey) (*pii.Keys, error) {
	return pii.OpenKeys(ctx, &Vault{pool: pool}, master)
}

// MasterCheck implements pii.Vault.
func (v *Vault) MasterCheck(ctx context.Context, keyID string, check []byte) (storedID string, stored []byte, err error) {
	if _, err := v.pool.Exec(ctx, `INSERT INTO dangol_keys_meta (master_key_id, check_blob) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		keyID, check); err != nil {
		return "", nil, pgError("open key store", err)
	}
	if err := v.pool.QueryRow(ctx, `SELECT master_key_id, check_blob FROM dangol_keys_meta`).Scan(&storedID, &stored); err != nil {
		return "", nil, pgError("open key store", err)
	}
	return storedID, stored, nil
}

// Wrapped implements pii.Vault.
func (v *Vault) Wrapped(ctx context.Context, customerID string) (wrapped []byte, erased bool, err error) {
	err = v.pool.QueryRow(ctx, `SELECT k.wrapped, e.customer_id IS NOT NULL
		FROM (SELECT $1::text AS id) q
		LEFT JOIN dangol_keys k ON k.customer_id = q.id
		LEFT JOIN dangol_keys_erased e ON e.customer_id = q.id`, customerID).Scan(&wrapped, &erased)
	if err != nil {
		return nil, false, pgError("read data key", err)
	}
	if erased {
		return nil, true, nil
	}
	return wrapped, false, nil
}

// PutWrapped implements pii.Vault in one transaction that locks the
// customer's key space (the advisory lock Destroy takes too), so a key is
// never created after, or concurrently with, its destruction.
func (v *Vault) PutWrapped(ctx context.Context, customerID string, wrapped []byte) (stored []byte, erased bool, err error) {
	err = pgx.BeginFunc(ctx, v.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 7))`, customerID); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM dangol_keys_erased WHERE customer_id = $1)`, customerID).Scan(&erased); err != nil || erased {
			return err
		}
		// On a conflict the no-op update makes RETURNING give the row that
		// another process stored first.
		return tx.QueryRow(ctx, `INSERT INTO dangol_keys (customer_id, wrapped) VALUES ($1, $2)
			ON CONFLICT (customer_id) DO UPDATE SET customer_id = EXCLUDED.customer_id RETURNING wrapped`, customerID, wrapped).Scan(&stored)
	})
	if err != nil {
		return nil, false, pgError("create data key", err)
	}
	if erased {
		return nil, true, nil
	}
	return stored, false, nil
}

// Destroy implements pii.Vault: the row is deleted and the erasure recorded
// in one transaction, committed when Destroy returns.
func (v *Vault) Destroy(ctx context.Context, customerID string) error {
	err := pgx.BeginFunc(ctx, v.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 7))`, customerID); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM dangol_keys WHERE customer_id = $1`, customerID); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO dangol_keys_erased (customer_id, erased_at) VALUES ($1, now()) ON CONFLICT DO NOTHING`, customerID)
		return err
	})
	if err != nil {
		return pgError("destroy data key", err)
	}
	return nil
}

// Close implements pii.Vault: the pool is the caller's, so it does nothing.
func (v *Vault) Close() error { return nil }

// pgError is Unavailable for connection, shutdown and resource errors (and
// anything that is not a PostgreSQL error, such as a closed pool or a
// cancelled context), Internal for the rest.
func pgError(op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code[:2] != "08" && pgErr.Code[:2] != "57" && pgErr.Code[:2] != "53" {
		return &events.Error{Code: events.Internal, Message: op + " in key store", Err: err}
	}
	return &events.Error{Code: events.Unavailable, Message: op + ": key store unavailable", Err: err}
}
