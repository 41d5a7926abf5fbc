package kurrentdb

import (
	"context"
	"sync"

	"github.com/dangol/dangol/events"
)

var _ events.BatchAppender = (*Store)(nil)

// AppendBatch implements events.BatchAppender. Through the v4 client
// KurrentDB has no write across streams, so each entry is appended as
// Append would (its own round trips, durable once the server acknowledged
// it), the streams concurrently — at most Options.BatchStreams at once —
// and each stream's entries in the order given. The bulk import's rate on
// KurrentDB is therefore bound by the round trips, spread over that many
// streams at a time, not by one write per batch.
func (s *Store) AppendBatch(ctx context.Context, batch []events.StreamAppend) ([]events.AppendResult, []error) {
	return appendStreams(batch, s.opt.BatchStreams, func(a events.StreamAppend) (events.AppendResult, error) {
		return s.Append(ctx, a.Stream, a.Expected, a.Events...)
	})
}

// appendStreams runs appendOne for every entry of batch: the entries of one
// stream one after another in their order, up to width streams at once.
func appendStreams(batch []events.StreamAppend, width int, appendOne func(events.StreamAppend) (events.AppendResult, error)) ([]events.AppendResult, []error) {
	results, errs := make([]events.AppendResult, len(batch)), make([]error, len(batch))
	var streams []string
	entries := map[string][]int{}
	for i, a := range batch {
		if _, seen := entries[a.Stream]; !seen {
			streams = append(streams, a.Stream)
		}
		entries[a.Stream] = append(entries[a.Stream], i)
	}
	slots := make(chan struct{}, max(width, 1))
	var wg sync.WaitGroup
	for _, stream := range streams {
		slots <- struct{}{}
		wg.Add(1)
		go func(idx []int) {
			defer func() { <-slots; wg.Done() }()
			for _, i := range idx {
				results[i], errs[i] = appendOne(batch[i])
			}
		}(entries[stream])
	}
	wg.Wait()
	return results, errs
}
