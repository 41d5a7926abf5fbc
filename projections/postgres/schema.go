package postgres

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"

	"github.com/jackc/pgx/v5"

	eventspg "github.com/dangol/dangol/events/postgres"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrations returns the embedded migrations in version order.
func migrations() ([]eventspg.Migration, error) {
	return eventspg.ReadMigrations(migrationFS, "migrations")
}

// migrate creates schema if needed and applies the migrations it lacks, in
// one transaction under a transaction-level advisory lock, so processes
// starting together apply each migration exactly once.
func migrate(ctx context.Context, conn *pgx.Conn, schema string) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	tx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", lockKey(schema, "migrate")); err != nil {
		return fmt.Errorf("migrate %s: lock: %w", schema, err)
	}
	ident := pgx.Identifier{schema}.Sanitize()
	if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+ident); err != nil {
		return fmt.Errorf("migrate %s: create schema: %w", schema, err)
	}
	if _, err := tx.Exec(ctx, "SET LOCAL search_path TO "+ident); err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS rm_schema_migrations (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	applied := map[int]bool{}
	rows, err := tx.Query(ctx, "SELECT version FROM rm_schema_migrations")
	if err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return fmt.Errorf("migrate %s: %w", schema, err)
	}
	for _, v := range vs {
		applied[v] = true
	}
	for _, m := range ms {
		if applied[m.Version] {
			continue
		}
		if _, err := tx.Exec(ctx, m.SQL); err != nil {
			return fmt.Errorf("migrate %s: %s: %w", schema, m.Name, err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO rm_schema_migrations (version, name) VALUES ($1, $2)", m.Version, m.Name); err != nil {
			return fmt.Errorf("migrate %s: %w", schema, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("migrate %s: commit: %w", schema, err)
	}
	return nil
}

// lockKey returns the advisory lock key of one purpose (migrate, writer,
// rebuild) for the read models in schema: a hash, so that other users of
// advisory locks in the same database are unlikely to collide.
func lockKey(schema, purpose string) int64 {
	h := fnv.New64a()
	h.Write([]byte("dangol read models\x00" + schema + "\x00" + purpose))
	return int64(h.Sum64())
}

// channel is the NOTIFY channel the writer announces checkpoints on.
func channel(schema string) string { return schema + "_checkpoint" }
