package postgres_test

import (
	"testing"

	"github.com/dangol/dangol/ops/pgtest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/postgres"
	"github.com/dangol/dangol/projections/projectionstest"
)

// TestQueriesConformance runs the read side's conformance suite on the
// PostgreSQL read store: each subtest gets a fresh database of a throwaway
// cluster, and this process is its only (so elected) writer.
func TestQueriesConformance(t *testing.T) {
	projectionstest.TestQueries(t, func(tb testing.TB, log projections.Source) projectionstest.ReadStore {
		st := openStore(tb, pgtest.Database(tb), postgres.Options{MaxBatch: 97, SearchIndex: projectionstest.SearchIndex()})
		run(tb, st, log)
		return st
	})
}
