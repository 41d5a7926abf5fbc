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

// BatchSubscriber is a Store that can also deliver a subscription's events
// a batch at a time: a reader that takes them in batches anyway (the
// projections' runner catching up with millions of events) then receives
// each batch as one slice instead of one envelope per channel receive,
// copied on the way at every step. The events, their order and the ends of
// the subscription are Subscribe's: every event after from exactly once, in
// log order; Err says why Batches was closed, ErrFellBehind included.
type BatchSubscriber interface {
	// SubscribeBatches is Subscribe delivering batches of 1 to size events.
	SubscribeBatches(ctx context.Context, from Position, size int) (BatchSubscription, error)
}

// BatchRecycler is a BatchSubscription that takes back a batch its
// receiver is done with and fills it again instead of allocating another
// (a replay of millions of events allocated a fifth of its bytes in
// batches, docs/replay.md). After Recycle the receiver must not touch b,
// its envelopes or pointers to them; the strings and Data the envelopes
// held stay valid (they are not in b).
type BatchRecycler interface {
	Recycle(b []Envelope)
}

// StreamCounter is a store that knows how many streams it holds without
// reading them (the embedded log keeps them in its index). A replay of the
// read models from the start sizes its per-customer maps by it, so that they
// are not rehashed over and over as millions of customers arrive.
type StreamCounter interface {
	// Streams is how many streams the store holds now.
	Streams() int
}

// BatchSubscription is a live feed of events in batches (BatchSubscriber).
type BatchSubscription interface {
	// Batches delivers the events, each batch non-empty and the receiver's
	// to keep; it is closed when the subscription ends.
	Batches() <-chan []Envelope
	// Err and Close are Subscription's.
	Err() error
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

// ExpectedVersion is what an append requires of the stream: Any,
// NoStream, StreamExists, or Exact(v). Its zero value is Any. Only these
// four forms can be made, so no version number can silently mean another
// form (an exact version of 2^64-1 used to read as Any).
type ExpectedVersion struct {
	form    expectForm
	version uint64 // for exactVersion only
}

type expectForm uint8

const (
	anyVersion expectForm = iota
	noStream
	streamExists
	exactVersion
)

// Expected version forms.
var (
	Any          = ExpectedVersion{form: anyVersion}   // no check
	NoStream     = ExpectedVersion{form: noStream}     // the stream must not exist
	StreamExists = ExpectedVersion{form: streamExists} // the stream must have at least one event
)

// Exact returns the expected version "the stream's last event is at version v".
func Exact(v uint64) ExpectedVersion { return ExpectedVersion{form: exactVersion, version: v} }

// IsExact reports whether e is Exact(v), and v.
func (e ExpectedVersion) IsExact() (v uint64, ok bool) { return e.version, e.form == exactVersion }

// Allows reports whether a stream whose last version is actual (NoStreamVersion
// when it does not exist) satisfies e.
func (e ExpectedVersion) Allows(actual int64) bool {
	switch e.form {
	case anyVersion:
		return true
	case noStream:
		return actual == NoStreamVersion
	case streamExists:
		return actual != NoStreamVersion
	default:
		return actual >= 0 && uint64(actual) == e.version
	}
}

// String names the form.
func (e ExpectedVersion) String() string {
	switch e.form {
	case anyVersion:
		return "any"
	case noStream:
		return "no stream"
	case streamExists:
		return "stream exists"
	}
	return strconv.FormatUint(e.version, 10)
}

// StreamAppend is one stream's part of a batch (AppendBatch): the events to
// append to Stream if it is at Expected.
type StreamAppend struct {
	Stream   string
	Expected ExpectedVersion
	Events   []Event
}

// BatchAppender is a Store that can make the appends of many streams
// durable together, in one write of its own (the bulk import's path).
type BatchAppender interface {
	// AppendBatch applies each entry as Append would — all of an entry's
	// events or none, against its own expected version; entries to the same
	// stream in the order given — and returns once every applied entry is
	// on stable storage. results[i] and errs[i] answer entry i; one entry's
	// conflict or invalid event leaves the others alone. A storage failure
	// fails every entry not yet durable with Unavailable.
	AppendBatch(ctx context.Context, batch []StreamAppend) (results []AppendResult, errs []error)
}

// AppendBatch appends batch to s: in one durable write where s is a
// BatchAppender, otherwise with one Append per entry, in order. Its answers
// are BatchAppender.AppendBatch's.
func AppendBatch(ctx context.Context, s Store, batch []StreamAppend) ([]AppendResult, []error) {
	if b, ok := s.(BatchAppender); ok {
		return b.AppendBatch(ctx, batch)
	}
	results := make([]AppendResult, len(batch))
	errs := make([]error, len(batch))
	for i, a := range batch {
		results[i], errs[i] = s.Append(ctx, a.Stream, a.Expected, a.Events...)
	}
	return results, errs
}
