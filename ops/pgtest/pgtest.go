// Package pgtest gives tests PostgreSQL: a throwaway cluster (ops/pgcluster)
// shared by the test binary with a fresh database per test (Database), or a
// cluster of a test's own that it may stop and restart (New). Without
// PostgreSQL binaries the tests skip, except under CI=true, where a missing
// PostgreSQL is a failure.
//
// Only tests import this package: it imports testing, which must not be
// linked into the dangol binary (commands that need a throwaway cluster use
// ops/pgcluster).
package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/dangol/dangol/ops/pgcluster"
)

// Server is one throwaway cluster (see pgcluster.Server).
type Server = pgcluster.Server

var (
	shared     *Server
	sharedErr  error
	sharedOnce sync.Once
	dbSeq      atomic.Int64
)

// Main runs a package's tests and then removes the shared cluster that
// Database started, if any. Call it from TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
func Main(m *testing.M) {
	code := m.Run()
	if shared != nil {
		shared.Remove()
	}
	os.Exit(code)
}

// unavailable skips the test, or fails it under CI=true, where a missing
// PostgreSQL must never pass silently.
func unavailable(tb testing.TB, err error) {
	tb.Helper()
	if os.Getenv("CI") == "true" || !errors.Is(err, pgcluster.ErrNoPostgres) {
		tb.Fatalf("PostgreSQL is required: %v", err)
	}
	tb.Skipf("PostgreSQL tests skipped: %v", err)
}

// Database returns the URL of a fresh, empty database on a cluster shared by
// the test binary (started on first use; the package's TestMain must call
// Main to remove it).
func Database(tb testing.TB) string {
	tb.Helper()
	sharedOnce.Do(func() { shared, sharedErr = pgcluster.Start() })
	if sharedErr != nil {
		unavailable(tb, sharedErr)
	}
	name := fmt.Sprintf("t%d_%s", dbSeq.Add(1), sanitize(tb.Name()))
	url, err := shared.CreateDatabase(context.Background(), name)
	if err != nil {
		tb.Fatal(err)
	}
	return url
}

// New starts a cluster of the test's own (for tests that stop and restart
// the server) and removes it when the test ends.
func New(tb testing.TB) *Server {
	tb.Helper()
	s, err := pgcluster.Start()
	if err != nil {
		unavailable(tb, err)
	}
	tb.Cleanup(s.Remove)
	return s
}

func sanitize(name string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if b.Len() >= 40 {
			break
		}
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	return b.String()
}
