package projections

import (
	"github.com/dangol/dangol/events"
)

// Event is one stored event with its data decoded (personal fields opened,
// or set to the erased marker) — what projections fold.
type Event struct {
	*events.Envelope
	Data events.Data

	// Where the runner found the stream's name to split (1 + the index
	// of its first '-', or -1 for none), once for the read models that
	// each ask (a tenth of a fold's calls went to splitting the same name
	// again); 0 where an Event is built elsewhere, and StreamID splits it.
	split int
}

// StreamID is events.StreamID of the event's stream.
func (e Event) StreamID() (category, id string) {
	switch {
	case e.split > 0:
		return e.Stream[:e.split-1], e.Stream[e.split:]
	case e.split < 0:
		return e.Stream, ""
	}
	return events.StreamID(e.Stream)
}

// Projection is a read model folded from the log. Apply must be a pure
// function of the projection's state and the event: replaying the same log
// gives the same state. Apply is called in strictly increasing position
// order, from one goroutine, and never concurrently with the projection's
// queries (the Runner holds the write side of its lock).
//
// The Event, and the *events.Envelope in it, are valid only during Apply
// (and an AfterBatch hook's batch during the hook): the Runner gives the
// batch back to the store to fill again once it is folded. A read model
// keeps values (positions, times, strings: those stay valid), never the
// Event or a pointer into its Envelope.
type Projection interface {
	// Name identifies the projection in metrics and checkpoints.
	Name() string
	// Apply folds one event into the state. Events the projection does not
	// care about are ignored.
	Apply(e Event)
}
