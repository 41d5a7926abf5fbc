package events

import (
	"context"
	"strconv"
)

// Store is the append-only log. Every backend implements it and passes
// events/eventstest.
type Store interface {
	// Append writes evs to the end of stream atomically (all or none) if the
	// stream is at the expected version, and returns only once they are on
	// stable storage. Appending events whose ids were already appended to the
	// same stream returns the original result and writes nothing. Errors:
	// Conflict (with the actual version), Invalid, Unavailable, Internal.
	Append(ctx context.Context, stream string, expected ExpectedVersion, evs ...Event) (AppendResult, error)

	// ReadStream returns up to limit events of one stream starting at version
	// from, in the given direction (Backward from the last event when from is
	// LastVersion). A stream that does not exist returns NotFound.
	ReadStream(ctx context.Context, stream string, from uint64, dir Direction, limit int) ([]Envelope, error)

	// ReadAll returns up to limit events of the whole log with position
	// strictly after from, in position order.
	ReadAll(ctx context.Context, from Position, limit int) ([]Envelope, error)

	// Subscribe delivers every event with position strictly after from,
	// exactly once and in position order: first what is stored, then live
	// appends, without a gap or duplicate. It ends when ctx is done, the
	// store closes, or the consumer falls behind (ErrFellBehind).
	Subscribe(ctx context.Context, from Position) (Subscription, error)

	// Head returns the position of the last event in the log (Start if empty).
	Head(ctx context.Context) (Position, error)

	// Close releases the store. Subscriptions end with ErrClosed.
	Close() error
}

// Subscription is a live feed of events.
type Subscription interface {
	// Events delivers the events; it is closed when the subscription ends.
	Events() <-chan Envelope
	// Err tells why Events was closed: ctx.Err(), ErrFellBehind, ErrClosed,
	// or a backend error. It is nil while the subscription runs.
	Err() error
	// Close ends the subscription and waits for its goroutines.
	Close()
}

// AppendResult tells where an append landed.
type AppendResult struct {
	Stream   string   `json:"stream"`
	Version  uint64   `json:"version"`  // version of the last event appended
	Position Position `json:"position"` // position of the last event appended
	EventIDs []string `json:"eventIds"`
	// Duplicate is true when every event was already stored and nothing was written.
	Duplicate bool `json:"-"`
}

// Direction is the order of ReadStream.
type Direction int

// Read directions.
const (
	Forward Direction = iota
	Backward
)

// LastVersion as ReadStream's from with Backward starts at the last event.
const LastVersion = ^uint64(0)

// ExpectedVersion is what an append requires of the stream.
type ExpectedVersion int64

// Expected version forms. A value >= 0 is an exact version (see Exact).
const (
	Any          ExpectedVersion = -1 // no check
	NoStream     ExpectedVersion = -2 // the stream must not exist
	StreamExists ExpectedVersion = -3 // the stream must have at least one event
)

// Exact returns the expected version "the stream's last event is at version v".
func Exact(v uint64) ExpectedVersion { return ExpectedVersion(v) }

// Allows reports whether a stream whose last version is actual (NoStreamVersion
// when it does not exist) satisfies e.
func (e ExpectedVersion) Allows(actual int64) bool {
	switch e {
	case Any:
		return true
	case NoStream:
		return actual == NoStreamVersion
	case StreamExists:
		return actual != NoStreamVersion
	default:
		return e >= 0 && int64(e) == actual
	}
}

// String names the form.
func (e ExpectedVersion) String() string {
	switch e {
	case Any:
		return "any"
	case NoStream:
		return "no stream"
	case StreamExists:
		return "stream exists"
	}
	return strconv.FormatInt(int64(e), 10)
}
