package projections

import (
	"github.com/dangol/dangol/events"
)

// Event is one stored event with its data decoded (personal fields opened,
// or set to the erased marker) — what projections fold.
type Event struct {
	*events.Envelope
	Data events.Data
}

// Projection is a read model folded from the log. Apply must be a pure
// function of the projection's state and the event: replaying the same log
// gives the same state. Apply is called in strictly increasing position
// order, from one goroutine, and never concurrently with the projection's
// queries (the Runner holds the write side of its lock).
type Projection interface {
	// Name identifies the projection in metrics and checkpoints.
	Name() string
	// Apply folds one event into the state. Events the projection does not
	// care about are ignored.
	Apply(e Event)
}
