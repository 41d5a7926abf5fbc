package projections

import (
	"container/heap"
	"context"
	"slices"
	"time"

	"github.com/dangol/dangol/events"
)

// A customer's timeline is in the order things happened, not the order they
// were recorded: a contact typed up in December that took place in August
// sits among August's entries. Every timeline (the recent one of the
// customer view, in memory and in PostgreSQL, and the full one read from the
// stream) orders by When, newest first, the log position breaking ties
// (the later recorded first), so all of them agree.

// When returns when the fact of e happened: its occurredAt if the event
// reported one (see events.CheckOccurred and docs/events.md), else its
// recordedAt.
func When(e *events.Envelope) time.Time {
	if !e.OccurredAt.IsZero() {
		return e.OccurredAt
	}
	return e.RecordedAt
}

// compareTimeline orders timeline entries oldest first: by time, then by
// log position.
func compareTimeline(a, b TimelineEntry) int {
	return timelineOrder(a.At, b.At, a.Position, b.Position)
}

// timelineOrder compares two timeline entries, one at time a and log
// position pa, the other at b and pb: oldest first, then by position.
func timelineOrder(a, b time.Time, pa, pb uint64) int {
	if c := a.Compare(b); c != 0 {
		return c
	}
	switch {
	case pa < pb:
		return -1
	case pa > pb:
		return 1
	}
	return 0
}

// newestFirst orders envelopes as a timeline shows them: latest When
// first, the later log position first among equal times.
func newestFirst(a, b *events.Envelope) int {
	if c := When(b).Compare(When(a)); c != 0 {
		return c
	}
	switch {
	case b.Position.Less(a.Position):
		return -1
	case a.Position.Less(b.Position):
		return 1
	}
	return 0
}

// timelineScanBatch is how many events TimelinePage reads per call.
const timelineScanBatch = 512

// TimelinePage returns up to limit events of stream in timeline order,
// newest first (When, then log position): from the newest if after is nil,
// else those that come after the event at version *after in that order,
// and whether more follow the page. The cursor is an event, not a version
// range, because an event recorded late sits among older ones.
//
// Each page reads the whole stream once (a late entry may be anywhere in
// it) but holds only limit+1 events in memory. Errors: NotFound if there is
// no such stream; Invalid naming "before" (the API's query parameter) if
// the stream has no event at version *after; the store's errors.
func TimelinePage(ctx context.Context, r StreamReader, stream string, after *uint64, limit int) ([]events.Envelope, bool, error) {
	if limit <= 0 {
		return nil, false, nil
	}
	var cursor *events.Envelope
	if after != nil {
		evs, err := r.ReadStream(ctx, stream, *after, events.Forward, 1)
		if err != nil {
			return nil, false, err
		}
		if len(evs) == 0 || evs[0].Version != *after {
			return nil, false, events.InvalidField("before", "is not a version of an event in this timeline")
		}
		cursor = &evs[0]
	}
	page := &worstFirst{}
	for from := uint64(0); ; {
		evs, err := r.ReadStream(ctx, stream, from, events.Forward, timelineScanBatch)
		if err != nil {
			return nil, false, err
		}
		for i := range evs {
			e := &evs[i]
			if cursor != nil && newestFirst(cursor, e) >= 0 {
				continue // on an earlier page
			}
			if page.Len() <= limit {
				heap.Push(page, *e)
			} else if newestFirst(e, &(*page)[0]) < 0 {
				(*page)[0] = *e
				heap.Fix(page, 0)
			}
		}
		if len(evs) < timelineScanBatch {
			break
		}
		from = evs[len(evs)-1].Version + 1
	}
	out := []events.Envelope(*page)
	slices.SortFunc(out, func(a, b events.Envelope) int { return newestFirst(&a, &b) })
	if len(out) > limit {
		return out[:limit], true, nil
	}
	return out, false, nil
}

// worstFirst is a heap of envelopes whose root is the one furthest down
// the timeline: the page keeps the limit+1 nearest the top.
type worstFirst []events.Envelope

func (h worstFirst) Len() int           { return len(h) }
func (h worstFirst) Less(i, j int) bool { return newestFirst(&h[i], &h[j]) > 0 }
func (h worstFirst) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *worstFirst) Push(x any)        { *h = append(*h, x.(events.Envelope)) }
func (h *worstFirst) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
