package bolt_test

import (
	"path/filepath"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
)

func TestConformance(t *testing.T) {
	eventstest.TestStore(t, func(tb testing.TB, now events.Clock) events.Store {
		s, err := bolt.Open(filepath.Join(tb.TempDir(), "events.db"), bolt.Options{SubscriberBuffer: 1024, Now: now})
		if err != nil {
			tb.Fatal(err)
		}
		tb.Cleanup(func() { s.Close() })
		return s
	})
}
