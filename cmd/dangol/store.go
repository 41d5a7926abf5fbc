package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/pii/boltkeys"
	"github.com/dangol/dangol/events/pii/pgkeys"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/events/seglog"
	rmpg "github.com/dangol/dangol/projections/postgres"
)

// openEventStore opens the log named by sf: the embedded store under
// sf.data (openEmbedded), or PostgreSQL at sf.postgresURL. With existing set it refuses to
// create an empty embedded store (a mistyped --data is an error rather than
// an empty log that "verifies") and does not migrate a PostgreSQL schema.
func openEventStore(ctx context.Context, sf storeFlags, existing bool) (events.Store, error) {
	switch sf.backend {
	case "embedded", "bolt", "seglog", "":
	case "postgres":
		if sf.postgresURL == "" {
			return nil, fmt.Errorf("--store postgres needs --postgres-url (or DANGOL_POSTGRES_URL)")
		}
		return postgres.Open(ctx, sf.postgresURL, postgres.Options{Migrate: !existing, Now: now})
	case "kurrentdb":
		return openKurrentDB(ctx, sf, existing)
	default:
		return nil, fmt.Errorf("--store %q: want embedded, postgres or kurrentdb", sf.backend)
	}
	return openEmbedded(sf, existing)
}

// openEmbedded opens the embedded log under sf.data: the segment log in
// <data>/log/, unless the data dir holds the bbolt file of earlier
// releases (events.db), which keeps opening with bbolt, or --store bolt
// asks for bbolt. A new data dir gets the segment log.
func openEmbedded(sf storeFlags, existing bool) (events.Store, error) {
	boltPath, logDir := sf.eventsPath(), segLogDir(sf)
	_, boltErr := os.Stat(boltPath)
	useBolt := sf.backend == "bolt" || sf.backend != "seglog" && boltErr == nil
	path := logDir
	if useBolt {
		path = boltPath
	}
	if sf.backend == "seglog" && boltErr == nil {
		return nil, fmt.Errorf("--store seglog: %s holds the bbolt log of an earlier release; open it with --store embedded or bolt, or move it with dangol migrate-store", sf.data)
	}
	if existing {
		if _, err := os.Stat(path); err != nil {
			return nil, fmt.Errorf("no ledger at %s (is --data right?): %w", path, err)
		}
	} else if err := os.MkdirAll(sf.data, 0o700); err != nil {
		return nil, fmt.Errorf("create data dir: %w", err)
	}
	if useBolt {
		return bolt.Open(path, bolt.Options{Now: now})
	}
	return seglog.Open(path, seglog.Options{Now: now})
}

// segLogDir is the segment log's directory under the data dir.
func segLogDir(sf storeFlags) string { return filepath.Join(sf.data, "log") }

// hasEmbeddedLog reports whether the data dir holds an embedded log, of
// either store.
func hasEmbeddedLog(sf storeFlags) bool {
	for _, p := range []string{segLogDir(sf), sf.eventsPath()} {
		if _, err := os.Stat(p); err == nil {
			return true
		}
	}
	return false
}

// now is the clock of every store the binary opens, of the server and of
// the tokens it issues; its tests pin it (main_test.go).
var now events.Clock = events.SystemClock

// withStoreEnv returns base with the store set to PostgreSQL at url
// (unchanged if url is "").
func withStoreEnv(base env, url string) env {
	if url == "" {
		return base
	}
	return func(k string) string {
		switch k {
		case "DANGOL_STORE":
			return "postgres"
		case "DANGOL_POSTGRES_URL":
			return url
		}
		return base(k)
	}
}

// usedBytes is the store's size on disk, where the backend knows it.
func usedBytes(s events.Store) int64 {
	if u, ok := s.(interface{ UsedBytes() (int64, error) }); ok {
		n, _ := u.UsedBytes()
		return n
	}
	return 0
}

// openKeys loads the master key (environment, flag, or file, created on
// first start) and opens the key store --store names: keys.db beside the
// embedded log, or the key tables in the database of log, which must then
// be the PostgreSQL store itself (not a decorator of it).
func openKeys(ctx context.Context, sf storeFlags, log events.Store, getenv env, logger *slog.Logger) (pii.KeyStore, *pii.Sealer, error) {
	keys, sealer, _, err := openKeysMaster(ctx, sf, log, getenv, logger)
	return keys, sealer, err
}

// openKeysMaster is openKeys that also returns the master key, for the keys
// derived from it (the search index's).
func openKeysMaster(ctx context.Context, sf storeFlags, log events.Store, getenv env, logger *slog.Logger) (pii.KeyStore, *pii.Sealer, pii.MasterKey, error) {
	envKey := sf.masterKey
	if envKey == "" {
		envKey = getenv(pii.EnvMasterKey)
	}
	master, created, err := pii.LoadMasterKey(envKey, sf.keyFile(), true)
	if err != nil {
		return nil, nil, pii.MasterKey{}, fmt.Errorf("master key: %w", err)
	}
	if created {
		logger.Warn("created a new master key; back it up apart from the data", "file", sf.keyFile(), "key_id", master.ID())
	}
	var keys pii.KeyStore
	switch sf.backend {
	case "postgres", "kurrentdb":
		pg, ok := log.(interface{ Pool() *pgxpool.Pool })
		if !ok {
			return nil, nil, pii.MasterKey{}, fmt.Errorf("--store postgres: the data keys live in the log's database, and the log (%T) is not the PostgreSQL store", log)
		}
		k, err := pgkeys.Open(ctx, pg.Pool(), master)
		if err != nil {
			return nil, nil, pii.MasterKey{}, err
		}
		keys = k
	default:
		k, err := boltkeys.Open(sf.keysPath(), master)
		if err != nil {
			return nil, nil, pii.MasterKey{}, err
		}
		keys = k
	}
	return keys, pii.NewSealer(keys), master, nil
}

// rowCipher seals the PostgreSQL read models' customer rows with each
// customer's data key, so an erasure shreds every stored copy of the row.
func rowCipher(s *pii.Sealer) rmpg.RowCipher {
	return pii.RowSealer{Sealer: s, Purpose: "rm_customers"}
}
