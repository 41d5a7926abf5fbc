package api_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/dangol/dangol/api"
	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/pii"
	"github.com/dangol/dangol/events/pii/boltkeys"
	"github.com/dangol/dangol/events/pii/pgkeys"
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

// newDatabase returns a fresh database for a new data directory on
// PostgreSQL, and "" on the embedded backend.
func newDatabase(t testing.TB) string {
	if !pgBackend {
		return ""
	}
	return pgtest.Database(t)
}

// openLog opens the log: in the PostgreSQL database at url, or in dir if
// url is "".
func openLog(dir, url string, now events.Clock) (events.Store, error) {
	if url != "" {
		return postgres.Open(context.Background(), url, postgres.Options{Migrate: true, Now: now})
	}
	return bolt.Open(filepath.Join(dir, "events.db"), bolt.Options{Now: now})
}

// openKeys opens the customers' data keys beside the log, as serve does.
func openKeys(ctx context.Context, dir string, log events.Store, master pii.MasterKey) (pii.KeyStore, error) {
	if pg, ok := log.(*postgres.Store); ok {
		return pgkeys.Open(ctx, pg.Pool(), master)
	}
	return boltkeys.Open(filepath.Join(dir, "keys.db"), master)
}

// readSide is the read models as the server and the tests see them.
type readSide interface {
	projections.Queries
	api.Progress
	metrics.Progress
}

// openReadSide returns the read models (in memory, or tables in the
// PostgreSQL database at url), the function
// that keeps them up to date with the log, and their closer.
func openReadSide(ctx context.Context, url string, store events.Store, decode projections.Decoder,
	reactors func() []projections.Reactor, sealer *pii.Sealer, index projections.SearchIndex, logger *slog.Logger) (readSide, func(context.Context) error, func() error, error) {
	if url == "" {
		mem := projections.NewMemory(projections.WithSearchIndex(index))
		runner := projections.NewRunner(store, decode, mem.Projections(), reactors(), projections.RunnerOptions{Logger: logger})
		mem.Attach(runner)
		return readModels{mem, runner}, runner.Run, func() error { return nil }, nil
	}
	rm, err := rmpg.Open(ctx, url, rmpg.Options{Logger: logger, Cipher: pii.RowSealer{Sealer: sealer, Purpose: "rm_customers"}, SearchIndex: index})
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

// TestBackendInUse proves the api tests run where they say: on PostgreSQL
// the log is in the database (no events.db) and the read models are its
// tables; otherwise the embedded log and the in-memory read models.
func TestBackendInUse(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.must("R1", "GET", "/v1/customers?limit=1", nil, 200)
	_, statErr := os.Stat(filepath.Join(s.dir, "events.db"))
	_, tables := s.queries.(*rmpg.Store)
	if pgBackend != (s.url != "") || pgBackend != tables || pgBackend != (statErr != nil) {
		t.Fatalf("DANGOL_TEST_STORE=postgres %v, but database %q, read-model tables %v, events.db: %v", pgBackend, s.url, tables, statErr)
	}
}
