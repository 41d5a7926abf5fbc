package main

import (
	"os"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/ops/pgtest"
)

// The cmd tests run on the embedded store, and again on PostgreSQL when
// DANGOL_TEST_STORE=postgres (ops/test.sh runs both). Each data directory a
// test creates gets its own database, so a restart on the same directory
// finds the same log.
var pgBackend = os.Getenv("DANGOL_TEST_STORE") == "postgres"

// TestMain pins the binary's clock to a fixed day that advances with real
// time, so no test depends on the date it runs on.
func TestMain(m *testing.M) {
	now = eventstest.Clock(eventstest.Epoch)
	pgtest.Main(m)
}

var (
	dbMu    sync.Mutex
	dbByDir = map[string]string{}
)

// dirURL returns the database of the test data directory dir ("" on the
// embedded backend).
func dirURL(t testing.TB, dir string) string {
	t.Helper()
	if !pgBackend {
		return ""
	}
	dbMu.Lock()
	defer dbMu.Unlock()
	if u, ok := dbByDir[dir]; ok {
		return u
	}
	u := pgtest.Database(t)
	dbByDir[dir] = u
	return u
}

// envFor is the environment of a dangol command run on dir: empty on the
// embedded backend, the store and its URL on PostgreSQL.
func envFor(t testing.TB, dir string) env { return storeEnv(dirURL(t, dir)) }

// storeEnv selects PostgreSQL at url, or the embedded store if url is "",
// in an otherwise empty environment.
func storeEnv(url string) env { return withStoreEnv(noEnv, url) }

// TestBackendInUse proves the suites run where they say: on PostgreSQL the
// log is in the database and no embedded log is created.
func TestBackendInUse(t *testing.T) {
	s := bootStack(t)
	s.json("R1", "GET", "/v1/customers?limit=1", nil, 200)
	_, statErr := os.Stat(segLogDir(storeFlags{data: s.dir}))
	if !pgBackend {
		if statErr != nil {
			t.Fatalf("embedded backend without its log: %v", statErr)
		}
		return
	}
	if statErr == nil {
		t.Fatal("the PostgreSQL run created an embedded log")
	}
	conn, err := pgx.Connect(t.Context(), s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(t.Context())
	var n int
	if err := conn.QueryRow(t.Context(), `SELECT count(*) FROM dangol_events`).Scan(&n); err != nil || n < len(cmdStaff) {
		t.Fatalf("dangol_events holds %d rows (%v), want the %d staff registrations at least", n, err, len(cmdStaff))
	}
}
