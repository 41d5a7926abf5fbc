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
)

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
	if os.Getenv("CI") == "true" || !errors.Is(err, ErrNoPostgres) {
		tb.Fatalf("PostgreSQL is required: %v", err)
	}
	tb.Skipf("PostgreSQL tests skipped: %v", err)
}

// Database returns the URL of a fresh, empty database on a cluster shared by
// the test binary (started on first use; the package's TestMain must call
// Main to remove it).
func Database(tb testing.TB) string {
	tb.Helper()
	sharedOnce.Do(func() { shared, sharedErr = Start() })
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
	s, err := Start()
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
