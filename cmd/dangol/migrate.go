package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/events/postgres"
)

// runMigrate applies the PostgreSQL schema migrations embedded in this
// build. `dangol serve --store postgres` applies them at start too; this
// command lets an operator do it ahead of a rolling upgrade.
func runMigrate(ctx context.Context, args []string, getenv env, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", "Applies the PostgreSQL schema migrations embedded in this build (each once,\n"+
		"under an advisory lock, each in its own transaction) and prints what it did.", stderr)
	url := fs.String("postgres-url", "", "PostgreSQL connection string (prefer the environment: it may hold a password)")
	if err := parse(fs, args, getenv); err != nil {
		return err
	}
	if *url == "" {
		return errors.New("migrate: --postgres-url (or DANGOL_POSTGRES_URL) is required")
	}
	pool, err := pgxpool.New(ctx, *url)
	if err != nil {
		return fmt.Errorf("migrate: invalid --postgres-url")
	}
	defer pool.Close()
	applied, err := postgres.Migrate(ctx, pool)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "schema already at version %d\n", postgres.SchemaVersion())
		return nil
	}
	fmt.Fprintf(stdout, "applied migrations %v; schema at version %d\n", applied, postgres.SchemaVersion())
	return nil
}
