package api_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/ops/metrics"
	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	rmpg "github.com/dangol/dangol/projections/postgres"
)

// The api tests run on the embedded store with in-memory read models, and
// again on PostgreSQL (the log, the key store and the read models' tables,
// as `dangol serve --store postgres` wires them) when
// DANGOL_TEST_STORE=postgres. Each data directory a test creates gets its
// own database, so a restart on the same directory finds the same log.
var pgBackend = os.Getenv("DANGOL_TEST_STORE") == "postgres"

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	dbMu    sync.Mutex
	dbByDir = map[string]string{}
)

// dirURL returns the database of the test data directory dir.
func dirURL(t testing.TB, dir string) string {
	t.Helper()
	dbMu.Lock()
	defer dbMu.Unlock()
	if u, ok := dbByDir[dir]; ok {
		return u
	}
	u := pgtest.Database(t)
	dbByDir[dir] = u
	return u
}

// openLog opens the log of dir on the test backend.
func openLog(t testing.TB, dir string, now events.Clock) (events.Store, error) {
	if pgBackend {
		return postgres.Open(context.Background(), dirURL(t, dir), postgres.Options{Migrate: true, Now: now})
	}
	return bolt.Open(filepath.Join(dir, "events.db"), bolt.Options{Now: now})
}

// openKeys opens the customers' data keys beside the log, as serve does.
func openKeys(t testing.TB, ctx context.Context, dir string, log events.Store, master pii.MasterKey) (pii.KeyStore, error) {
	if pg, ok := log.(*postgres.Store); ok {
		return pii.OpenPostgresKeys(ctx, pg.Pool(), master)
	}
	return pii.OpenBoltKeys(filepath.Join(dir, "keys.db"), master)
}

// readSide is the read models as the server and the tests see them.
type readSide interface {
	api.Queries
	api.Progress
	metrics.Progress
}

// openReadSide returns the read models of the test backend, the function
// that keeps them up to date with the log, and their closer.
func openReadSide(t testing.TB, ctx context.Context, dir string, store events.Store, decode projections.Decoder,
	reactors func() []projections.Reactor, sealer *pii.Sealer, logger *slog.Logger) (readSide, func(context.Context) error, func() error, error) {
	if !pgBackend {
		mem := projections.NewMemory()
		runner := projections.NewRunner(store, decode, mem.Projections(), reactors(), projections.RunnerOptions{Logger: logger})
		mem.Attach(runner)
		return readModels{mem, runner}, runner.Run, func() error { return nil }, nil
	}
	rm, err := rmpg.Open(ctx, dirURL(t, dir), rmpg.Options{Logger: logger, Cipher: pii.RowSealer{Sealer: sealer, Purpose: "rm_customers"}})
	if err != nil {
		return nil, nil, nil, err
	}
	log := rmpg.Log{Source: store, Decode: decode, Reactors: reactors}
	return rm, func(ctx context.Context) error { return rm.Run(ctx, log) }, func() error { rm.Close(); return nil }, nil
}

// readModels are the in-memory read models with the runner that feeds them.
type readModels struct {
	*projections.Memory
	*projections.Runner
}
