package projections

import (
	"context"
	"crypto/sha256"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// Reactor is a projection that also acts: its state records what it has
// decided, and Flush appends the events that are decided but not yet in the
// log, each with the causing event's id as causation id. The runner calls
// Apply for every event (replay included) and Flush only once it has caught
// up with the log, so a restart never appends a decision twice: a decision
// already in the log was folded before Flush runs. Deterministic event ids
// (DerivedID) make a racing duplicate append an idempotent no-op as well.
type Reactor interface {
	Projection
	// Flush appends what is due. It runs on the runner's goroutine, after
	// a batch was applied, never concurrently with Apply.
	Flush(ctx context.Context) error
}

// Appender is what reactors need of a store.
type Appender interface {
	Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error)
}

// DerivedID returns a ULID determined by the reactor's name and the id of
// the event that caused the decision, timestamped at the cause's time: the
// same decision always gets the same id, so appending it twice is a
// duplicate the store ignores.
func DerivedID(reactor string, cause ulid.ULID, at time.Time) ulid.ULID {
	h := sha256.Sum256(append([]byte(reactor+"\x00"), cause[:]...))
	var id ulid.ULID
	_ = id.SetTime(ulid.Timestamp(at))
	copy(id[6:], h[:10])
	return id
}
