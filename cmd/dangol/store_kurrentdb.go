package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/kurrentdb"
	"github.com/dangol/dangol/events/postgres"
)

// kurrentFlags are the flags of --store kurrentdb: the log in a KurrentDB
// cluster, the data keys (and, with serve, the read models) in the
// PostgreSQL database of --postgres-url.
//
// NOT RUN BY THIS PROJECT'S CI: no KurrentDB server can run where dangol is
// developed. Prove the adapter on your cluster first (ops/conformance.sh).
type kurrentFlags struct {
	url    string
	prefix string
}

// kurrentNotRun is what -h says of --store kurrentdb.
const kurrentNotRun = "NOT run by this project's CI (no KurrentDB server there): prove it on your cluster first with ops/conformance.sh"

func (k *kurrentFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&k.url, "kurrentdb-url", "", "KurrentDB connection string for --store kurrentdb, e.g. esdb://kurrentdb:2113?tls=false (kurrentdb:// is read as esdb://); "+kurrentNotRun)
	fs.StringVar(&k.prefix, "kurrentdb-prefix", "dangol-", "put before every stream name in KurrentDB: this ledger reads only streams with it, so several ledgers (and conformance runs) can share one cluster; never change it on a ledger that has events (empty: every stream but the system's, for a cluster where nothing else ever wrote)")
}

// kurrentLog is the KurrentDB log with the PostgreSQL pool that holds the
// data keys: Pool is what openKeys looks for, as on the PostgreSQL store.
type kurrentLog struct {
	events.Store
	pool *pgxpool.Pool
}

// LagUnit is what the log's positions count (metrics.LagOf): KurrentDB's
// are byte offsets in $all.
func (l *kurrentLog) LagUnit() string {
	if u, ok := l.Store.(interface{ LagUnit() string }); ok {
		return u.LagUnit()
	}
	return "events"
}

// Pool returns the database of the data keys.
func (l *kurrentLog) Pool() *pgxpool.Pool { return l.pool }

// AppendBatch is the log's (the KurrentDB store appends many streams at
// once): embedding the log as an events.Store would hide it.
func (l *kurrentLog) AppendBatch(ctx context.Context, batch []events.StreamAppend) ([]events.AppendResult, []error) {
	return events.AppendBatch(ctx, l.Store, batch)
}

// Close closes the log, then the pool.
func (l *kurrentLog) Close() error {
	err := l.Store.Close()
	l.pool.Close()
	return err
}

// kurrentClientLog takes the KurrentDB client library's warnings and
// errors (connection trouble, leader changes) as JSON lines on stderr, the
// form of serve's own log, instead of the library's plain text.
var kurrentClientLog = slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

// openKurrentLog opens the KurrentDB store; tests put another log in its
// place, since no KurrentDB server runs where dangol is developed.
var openKurrentLog = func(url string, opt kurrentdb.Options) (events.Store, error) {
	return kurrentdb.Open(url, opt)
}

// openKurrentDB opens --store kurrentdb: the PostgreSQL database first
// (unless existing is set, with its migrations, which create the key
// tables; the PostgreSQL store's event tables come with them and stay
// empty), then the log. Errors never carry the PostgreSQL password.
func openKurrentDB(ctx context.Context, sf storeFlags, existing bool) (events.Store, error) {
	switch {
	case sf.kurrentdb.url == "":
		return nil, errors.New("--store kurrentdb needs --kurrentdb-url (or DANGOL_KURRENTDB_URL), e.g. esdb://kurrentdb:2113?tls=false")
	case sf.postgresURL == "":
		return nil, errors.New("--store kurrentdb needs --postgres-url (or DANGOL_POSTGRES_URL): the data keys and the read models live in PostgreSQL")
	}
	cfg, err := pgxpool.ParseConfig(sf.postgresURL)
	if err != nil {
		return nil, errors.New("--postgres-url is not a PostgreSQL connection string")
	}
	where := fmt.Sprintf("%s@%s:%d/%s", cfg.ConnConfig.User, cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err == nil {
		if err = pool.Ping(ctx); err != nil {
			pool.Close()
		}
	}
	if err != nil {
		return nil, fmt.Errorf("--store kurrentdb: cannot connect to the PostgreSQL of the keys and read models (%s): %w", where, redactPassword(err, cfg.ConnConfig.Password))
	}
	if !existing {
		if _, err := postgres.Migrate(ctx, pool); err != nil {
			pool.Close()
			return nil, fmt.Errorf("--store kurrentdb: the schema of the keys' database (%s): %w", where, redactPassword(err, cfg.ConnConfig.Password))
		}
	}
	log, err := openKurrentLog(sf.kurrentdb.url, kurrentdb.Options{Prefix: sf.kurrentdb.prefix, Now: now, Logger: kurrentClientLog})
	if err != nil {
		pool.Close()
		return nil, err
	}
	return &kurrentLog{Store: log, pool: pool}, nil
}

// staffAddHint is what the empty ledger's first-admin hint adds for
// --store kurrentdb: the flag, and a line naming the URLs the command needs
// too (not their values, which may hold passwords). Without them `dangol
// staff add` would put the admin in an embedded ledger the server never
// reads.
func staffAddHint(sf storeFlags) (flags, note string) {
	if sf.backend != "kurrentdb" {
		return "", ""
	}
	return " --store kurrentdb", "  with this server's --kurrentdb-url and --postgres-url (or DANGOL_KURRENTDB_URL and DANGOL_POSTGRES_URL)\n"
}

// redactPassword replaces err by a note that it was withheld if its text
// holds the password.
func redactPassword(err error, password string) error {
	if password != "" && strings.Contains(err.Error(), password) {
		return errors.New("(details withheld: they name the password)")
	}
	return err
}
