package projections

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"

	"github.com/dangol/dangol/events"
)

// Reactor is a projection that also decides: its fold records what it has
// decided and which of those decisions are already in the log, and Due
// hands out the ones that are not, for someone else to append.
//
// A reactor never appends from Apply, and its decisions are a function of
// the log alone, so the guarantees hold however slowly the appends go:
//   - The Runner folds a reactor in its Apply, with the read models, and
//     asks Due only once it has caught up with the log it found at start:
//     every decision already in the log has then been folded and cleared,
//     so a restart never appends a decision twice.
//   - A decision's event id is DerivedID(reactor, cause): two servers
//     racing on the same decision, or a retry after an append whose
//     outcome was unknown, append it once; the second is a duplicate the
//     store ignores.
//   - A decision handed out and lost (the process stopped before the
//     append landed) is not in the log, so the next start decides it again.
//
// Apply and Due are called from one goroutine (the Runner's), never
// concurrently with each other.
type Reactor interface {
	Projection
	// Due returns up to max decisions that are folded, not in the log and
	// not returned by an earlier call, and marks them handed out: each
	// stays handed out until its event comes back through Apply, and is
	// then forgotten. A reactor hands out at most one decision per stream
	// at a time, so concurrent appends never reorder a stream's decisions.
	Due(max int) []Decision
}

// Decision is one event a reactor decided to append: Data with Meta (the
// derived id, the reactor's system actor, the cause as causation id) at the
// end of Stream, which exists (the decision was made from one of its
// events).
//
// Expected is what the append requires of the stream. A reactor whose
// decision holds only for the stream as it folded it sets Exact(v), v being
// the stream's last version it had folded: any later event on the stream
// (a merge, new figures) makes the append conflict, and the reactor, which
// folds that event, drops or decides again as its rules say (see
// Segmenter). Such a conflict is counted as overtaken, not refused. The
// zero value (Any) is taken as StreamExists, for a reactor whose decision
// stands whatever followed on the stream (Sampler).
type Decision struct {
	Stream   string
	Data     events.Data
	Meta     events.Meta
	Expected events.ExpectedVersion
}

// expected is the expected version to append the decision with.
func (d Decision) expected() events.ExpectedVersion {
	if d.Expected == events.Any {
		return events.StreamExists
	}
	return d.Expected
}

// overtaken reports whether err is the conflict of a decision made against
// an exact stream version that a later event moved on.
func (d Decision) overtaken(err error) bool {
	_, exact := d.Expected.IsExact()
	return exact && events.ErrorCode(err) == events.Conflict
}

// Event builds the event to append.
func (d Decision) Event() (events.Event, error) { return events.NewEvent(d.Data, d.Meta) }

// Appender is what reactors' decisions are appended through.
type Appender interface {
	Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error)
}

// Flush appends every decision r has due through store, with up to 64
// appends at a time (which the store coalesces into group commits), and
// returns the errors joined. It is for callers that drive a reactor by
// hand, on the goroutine that calls Apply; decisions whose append failed
// stay handed out, so they are appended again only after a restart. A
// decision overtaken by a later event on its stream (see Decision) is no
// error: the reactor decides again, if it should, when it folds that event,
// and a later Flush appends that. The
// Runner does not use it: it appends on its own goroutines (see
// RunnerOptions.Appender).
func Flush(ctx context.Context, store Appender, r Reactor) error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
		sem  = make(chan struct{}, 64)
	)
	for {
		ds := r.Due(1024)
		if len(ds) == 0 {
			break
		}
		for _, d := range ds {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				if err := appendDecision(ctx, store, d); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", r.Name(), err))
					mu.Unlock()
				}
			})
		}
	}
	wg.Wait()
	return errors.Join(errs...)
}

func appendDecision(ctx context.Context, store Appender, d Decision) error {
	ev, err := d.Event()
	if err != nil {
		return fmt.Errorf("decision %s: %w", ulid.ULID(d.Meta.ID), err)
	}
	if _, err := store.Append(ctx, d.Stream, d.expected(), ev); err != nil && !d.overtaken(err) {
		return fmt.Errorf("append decision %s: %w", ulid.ULID(d.Meta.ID), err)
	}
	return nil
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
