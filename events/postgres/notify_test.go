package postgres_test

import (
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/postgres"
)

// TestSpacedNotify: a writer whose NOTIFYs are spaced far apart commits
// appends back to back, most of them announced by no NOTIFY of their own; a
// subscriber in another store, which never polls in the test's time, still
// receives every one of them, woken by the NOTIFY sent when the interval
// ends.
func TestSpacedNotify(t *testing.T) {
	ctx := t.Context()
	_, writer, sub := notifyPair(t, func(o *postgres.Options) { o.NotifyInterval = 200 * time.Millisecond })
	for round := range 3 {
		var last events.AppendResult
		var err error
		next := events.NoStream
		for range 10 {
			if last, err = writer.Append(ctx, "customer-NT"+string(rune('a'+round)), next, eventstest.NewEvent("ContactLogged", `{}`)); err != nil {
				t.Fatal(err)
			}
			next = events.Exact(last.Version)
		}
		for got := 0; got < 10; got++ {
			select {
			case e := <-sub.Events():
				if got == 9 && e.Position != last.Position {
					t.Fatalf("round %d: last event at %s, want %s", round, e.Position, last.Position)
				}
			case <-time.After(time.Minute):
				t.Fatalf("round %d: the subscriber in another store received %d of 10 events: a commit without a NOTIFY was never announced", round, got)
			}
		}
	}
}
