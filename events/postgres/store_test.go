package postgres_test

import (
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/postgres"
	"github.com/dangol/dangol/ops/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func open(tb testing.TB, url string) *postgres.Store {
	return openWithClock(tb, url, eventstest.Clock(eventstest.Epoch))
}

func openWithClock(tb testing.TB, url string, now events.Clock) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), url, postgres.Options{Migrate: true, PollInterval: 200 * time.Millisecond, Now: now})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	eventstest.TestStore(t, func(tb testing.TB, now events.Clock) events.Store {
		return openWithClock(tb, pgtest.Database(tb), now)
	})
}
