package seglog_test

import (
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/seglog"
)

func TestConformance(t *testing.T) {
	eventstest.TestStore(t, func(tb testing.TB, now events.Clock) events.Store {
		s, err := seglog.Open(tb.TempDir(), seglog.Options{SubscriberBuffer: 1024, Now: now})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	})
}
