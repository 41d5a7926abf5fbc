package projectionstest

import (
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dangol/dangol/events/bolt"
)

// MovingLog returns an empty embedded store in a temporary directory whose
// clock moves on by step at every append, from start: registrations (and
// every recordedAt) then spread over time as a bank's do, where a fixed
// clock would stamp them all at one instant. It is closed when tb ends.
func MovingLog(tb testing.TB, start time.Time, step time.Duration) *bolt.Store {
	tb.Helper()
	var ticks atomic.Int64
	s, err := bolt.Open(filepath.Join(tb.TempDir(), "moving.db"), bolt.Options{Now: func() time.Time {
		return start.Add(time.Duration(ticks.Add(1)) * step)
	}})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s
}
