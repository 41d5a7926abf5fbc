package projections

import (
	"context"
	"time"

	"github.com/dangol/dangol/events"
)

// StreamReader is what as-of reconstruction needs of a store.
type StreamReader interface {
	ReadStream(ctx context.Context, stream string, from uint64, dir events.Direction, limit int) ([]events.Envelope, error)
}

// AsOf bounds a reconstruction: events recorded at or before Time (if set)
// and at or before Position (if set). The bound is on what the bank knew,
// not on when things happened: a view as of September leaves out an August
// contact entered in December, and orders what it shows by when it
// happened, as the live view does.
type AsOf struct {
	Time     time.Time
	Position events.Position
}

func (a AsOf) includes(e *events.Envelope) bool {
	if !a.Time.IsZero() && e.RecordedAt.After(a.Time) {
		return false
	}
	if !a.Position.IsZero() && a.Position.Less(e.Position) {
		return false
	}
	return true
}

// CustomerAsOf reconstructs customer id's view as it stood at a: the same
// fold as the live view over the prefix of the customer's stream (and of
// nothing else: call-derived timeline entries are not included). Flags are
// computed at a.Time when set, else at now. NotFound if the customer did not
// exist yet.
func CustomerAsOf(ctx context.Context, r StreamReader, decode Decoder, id string, a AsOf, now time.Time) (CustomerView, error) {
	cs := NewCustomers()
	err := ReplayStream(ctx, r, decode, events.CustomerStream(id), a, cs)
	if err != nil {
		return CustomerView{}, err
	}
	if !a.Time.IsZero() {
		now = a.Time
	}
	v, ok := cs.Customer(id, now)
	if !ok {
		return CustomerView{}, events.Errorf(events.NotFound, "customer did not exist at that point")
	}
	return v, nil
}

// ReplayStream folds the prefix of one stream bounded by a into p.
func ReplayStream(ctx context.Context, r StreamReader, decode Decoder, stream string, a AsOf, p Projection) error {
	var from uint64
	for {
		evs, err := r.ReadStream(ctx, stream, from, events.Forward, 512)
		if err != nil {
			return err
		}
		for i := range evs {
			e := &evs[i]
			if !a.includes(e) {
				return nil
			}
			d, err := decode(ctx, e)
			if err != nil && events.ErrorCode(err) != events.NotFound {
				return err
			}
			p.Apply(Event{Envelope: e, Data: d})
		}
		if len(evs) < 512 {
			return nil
		}
		from = evs[len(evs)-1].Version + 1
	}
}
