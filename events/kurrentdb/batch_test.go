package kurrentdb

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// TestAppendStreams runs everywhere (no server: appendOne stands in for
// Append): every entry is answered in its place, a stream's entries go in
// their order one at a time, an entry's error leaves the others alone, and
// width streams are under way at once (the first width appends wait for
// one another, so fewer at once would hang, which the deadline reports).
func TestAppendStreams(t *testing.T) {
	const width, streams, perStream = 4, 9, 3
	var batch []events.StreamAppend
	for round := range perStream {
		for s := range streams {
			batch = append(batch, events.StreamAppend{Stream: fmt.Sprintf("customer-%d", s), Expected: events.Any, Events: make([]events.Event, round+1)})
		}
	}
	var (
		mu       sync.Mutex
		next     = map[string]int{}
		inFlight = map[string]bool{}
		started  int
	)
	barrier := make(chan struct{})
	results, errs := appendStreams(batch, width, func(a events.StreamAppend) (events.AppendResult, error) {
		mu.Lock()
		if inFlight[a.Stream] {
			mu.Unlock()
			return events.AppendResult{}, fmt.Errorf("%s: two appends at once", a.Stream)
		}
		inFlight[a.Stream] = true
		if started++; started == width {
			close(barrier)
		}
		first := started <= width
		mu.Unlock()
		if first {
			select {
			case <-barrier:
			case <-time.After(time.Minute):
				t.Error("hang: fewer than width streams under way at once")
			}
		}
		mu.Lock()
		defer mu.Unlock()
		inFlight[a.Stream] = false
		round := len(a.Events) - 1
		if round != next[a.Stream] {
			return events.AppendResult{}, fmt.Errorf("%s: entry %d before %d", a.Stream, round, next[a.Stream])
		}
		next[a.Stream]++
		if a.Stream == "customer-5" && round == 1 {
			return events.AppendResult{}, events.ConflictError(a.Stream, events.NoStream, 7)
		}
		return events.AppendResult{Stream: a.Stream, Version: uint64(round)}, nil
	})
	for i, a := range batch {
		switch {
		case a.Stream == "customer-5" && len(a.Events) == 2:
			if events.ErrorCode(errs[i]) != events.Conflict {
				t.Errorf("entry %d: %v, want its own conflict", i, errs[i])
			}
		case errs[i] != nil:
			t.Errorf("entry %d: %v", i, errs[i])
		case results[i].Stream != a.Stream || results[i].Version != uint64(len(a.Events)-1):
			t.Errorf("entry %d answered %+v, want %s@%d", i, results[i], a.Stream, len(a.Events)-1)
		}
	}
}
