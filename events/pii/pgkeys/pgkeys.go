package pii

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/events"
)

// PostgresKeys is the KeyStore of the PostgreSQL deployment: every `dangol
// serve` process shares the tables dangol_keys, dangol_keys_erased and
// dangol_keys_meta (created by events/postgres's migrations). Rows hold
// keys wrapped by the master key only, as BoltKeys does.
//
// Across processes: a key destroyed by one process may stay in another's
// cache until that process applies the PersonalDataErased event, which
// calls Destroy there too (Sealer.EnforceErasure) — a window of the
// projection lag. Deleted rows may survive in PostgreSQL's dead tuples
// until vacuum, and in WAL and base backups (docs/personal-data.md).
type PostgresKeys struct {
	pool   *pgxpool.Pool
	master MasterKey
	cache  *keyCache
}

var _ KeyStore = (*PostgresKeys)(nil)

// OpenPostgresKeys checks the master key against the database's check blob
// (writing it on first use) and returns the key store. It does not own pool.
func OpenPostgresKeys(ctx context.Context, pool *pgxpool.Pool, master MasterKey) (*PostgresKeys, error) {
	if master.IsZero() {
		return nil, events.Errorf(events.Invalid, "open key store: no master key")
	}
	gcm, err := master.aead()
	if err != nil {
		return nil, err
	}
	blob, err := seal(gcm, checkPlain, []byte(aadCheck))
	if err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `INSERT INTO dangol_keys_meta (master_key_id, check_blob) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		master.ID(), blob); err != nil {
		return nil, pgKeysError("open key store", err)
	}
	var id string
	var check []byte
	if err := pool.QueryRow(ctx, `SELECT master_key_id, check_blob FROM dangol_keys_meta`).Scan(&id, &check); err != nil {
		return nil, pgKeysError("open key store", err)
	}
	if plain, err := open(gcm, check, []byte(aadCheck)); err != nil || !bytes.Equal(plain, checkPlain) {
		return nil, &events.Error{Code: ErrWrongMasterKey.Code, Message: ErrWrongMasterKey.Message,
			Err: fmt.Errorf("the database's keys were created under master key %s, this is master key %s", id, master.ID())}
	}
	return &PostgresKeys{pool: pool, master: master, cache: newKeyCache(DefaultCacheSize)}, nil
}

// DataKey implements KeyStore.
func (k *PostgresKeys) DataKey(ctx context.Context, customerID string, create bool) ([]byte, error) {
	return cachedDataKey(ctx, k.cache, customerID, create,
		func() ([]byte, bool, error) { return k.lookup(ctx, customerID) },
		func() ([]byte, bool, error) { return k.create(ctx, customerID) })
}

func (k *PostgresKeys) lookup(ctx context.Context, id string) (key []byte, erased bool, err error) {
	var wrapped []byte
	err = k.pool.QueryRow(ctx, `SELECT k.wrapped, e.customer_id IS NOT NULL
		FROM (SELECT $1::text AS id) q
		LEFT JOIN dangol_keys k ON k.customer_id = q.id
		LEFT JOIN dangol_keys_erased e ON e.customer_id = q.id`, id).Scan(&wrapped, &erased)
	if err != nil {
		return nil, false, pgKeysError("read data key", err)
	}
	if erased || wrapped == nil {
		return nil, erased, nil
	}
	key, err = unwrapKey(k.master, id, wrapped)
	return key, false, err
}

// create inserts a new key unless one exists or the customer was erased,
// in one transaction that locks the erasure record's key space, so a key
// is never created after (or concurrently with) its destruction.
func (k *PostgresKeys) create(ctx context.Context, id string) (key []byte, erased bool, err error) {
	key, wrapped, err := newWrappedKey(k.master, id)
	if err != nil {
		return nil, false, err
	}
	err = pgx.BeginFunc(ctx, k.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 7))`, id); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM dangol_keys_erased WHERE customer_id = $1)`, id).Scan(&erased); err != nil || erased {
			return err
		}
		var stored []byte
		err := tx.QueryRow(ctx, `INSERT INTO dangol_keys (customer_id, wrapped) VALUES ($1, $2)
			ON CONFLICT (customer_id) DO UPDATE SET customer_id = EXCLUDED.customer_id RETURNING wrapped`, id, wrapped).Scan(&stored)
		if err != nil {
			return err
		}
		if !bytes.Equal(stored, wrapped) { // another process created it first
			clear(key)
			key, err = unwrapKey(k.master, id, stored)
		}
		return err
	})
	if err != nil {
		var e *events.Error
		if errors.As(err, &e) {
			return nil, false, err
		}
		return nil, false, pgKeysError("create data key", err)
	}
	if erased {
		return nil, true, nil
	}
	return key, false, nil
}

// Destroy implements KeyStore: the row is deleted and the erasure recorded
// in one transaction, committed when Destroy returns.
func (k *PostgresKeys) Destroy(ctx context.Context, customerID string) error {
	if err := checkCustomer(ctx, customerID); err != nil {
		return err
	}
	err := pgx.BeginFunc(ctx, k.pool, func(tx pgx.Tx) error {
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
		return pgKeysError("destroy data key", err)
	}
	k.cache.destroyed(customerID)
	return nil
}

// CacheStats returns the data key cache counters.
func (k *PostgresKeys) CacheStats() CacheStats { return k.cache.snapshot() }

// Close implements KeyStore: it wipes the cache (the pool is the caller's).
func (k *PostgresKeys) Close() error {
	k.cache.wipe()
	return nil
}

func pgKeysError(op string, err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code[:2] != "08" && pgErr.Code[:2] != "57" && pgErr.Code[:2] != "53" {
		return &events.Error{Code: events.Internal, Message: op + " in key store", Err: err}
	}
	return &events.Error{Code: events.Unavailable, Message: op + ": key store unavailable", Err: err}
}
